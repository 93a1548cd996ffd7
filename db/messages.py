"""The message log: every inbound message with its reply and outcome, what the bot
understood and which offers it showed; its full-text index and daily counts.

The log is read in arrival order (id). Live entries get an `at` that never goes
backwards (a tie with the newest row at worst), so a time range is also an id range:
pages are keyset pages over id, fast at any depth.
"""
from __future__ import annotations

import json
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from db import jsontext, meta, users
from db.database import transaction
from db.listings import fts_query
from nlp import segment

OUTCOMES = ("answered", "no_match", "error", "deadline", "rejected", "rate_limited")
PAGE_SIZE = 50
_COLUMNS = ("m.id, m.at, m.openid, m.msg_type, m.text, m.intent, m.reply, m.latency_ms,"
            " m.outcome, m.understood, m.offers")
# Ordering links and markup say nothing an operator searches for.
_MARKUP = re.compile(r"<[^>]*>|https?://\S+")


@dataclass(frozen=True)
class LogEntry:
    openid: str | None
    msg_type: str
    text: str | None
    intent: str | None
    reply: str | None
    latency_ms: int | None
    outcome: str
    understood: dict[str, Any] | None = None   # intent, slots, flags, words
    offers: tuple[int, ...] = ()                 # listing ids shown, in order


@dataclass(frozen=True)
class LogRow:
    id: int
    at: float
    openid: str | None
    msg_type: str
    text: str | None
    intent: str | None
    reply: str | None
    latency_ms: int | None
    outcome: str
    understood: dict[str, Any] | None
    offers: tuple[int, ...]

    @classmethod
    def of(cls, row: sqlite3.Row) -> LogRow:
        return cls(row["id"], row["at"], row["openid"], row["msg_type"], row["text"],
                   row["intent"], row["reply"], row["latency_ms"], row["outcome"],
                   json.loads(row["understood"]) if row["understood"] else None,
                   tuple(json.loads(row["offers"])) if row["offers"] else ())

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at, "openid": self.openid, "msg_type": self.msg_type,
                "text": self.text, "intent": self.intent, "outcome": self.outcome,
                "latency_ms": self.latency_ms, "reply": self.reply,
                "understood": self.understood, "offers": list(self.offers)}


# -- writing ---------------------------------------------------------------

def record(conn: sqlite3.Connection, entry: LogEntry, at: float | None = None,
           anonymous: bool = False) -> int:
    """Append one entry with its index terms and daily count; returns its id.

    Anonymous entries keep only the user's pseudonym. An explicit `at` (imports,
    benchmarks) is taken as given; callers write such entries in time order.
    """
    with transaction(conn):
        salt = meta.secret(conn, "pseudonym_salt")
        return _write_rows(conn, [(entry, at, anonymous, None)], salt, live=at is None)[0]


@dataclass(frozen=True)
class LiveLine:
    """A live entry ready to write: when it was answered, whether its user is anonymous,
    and its index terms, segmented before the write transaction opens."""
    entry: LogEntry
    at: float
    anonymous: bool
    terms: tuple[str, str]  # (text, reply)


def prepare_live(entries: Iterable[tuple[LogEntry, float, bool]]) -> list[LiveLine]:
    """Segment each entry's text and reply: CPU work kept out of the write lock."""
    return [LiveLine(entry, at, anonymous, (searchable(entry.text), searchable(entry.reply)))
            for entry, at, anonymous in entries]


def record_live(conn: sqlite3.Connection, lines: Sequence[LiveLine]) -> int:
    """Append prepared live lines inside the caller's transaction, in order: the server's
    batched log writer (bot.logbook). Each `at` is kept unless a row already stored is
    newer, so ids stay in time order. A line of a user erased after it was answered is
    written under the pseudonym."""
    salt = meta.secret(conn, "pseudonym_salt")
    aliases = {line.entry.openid: users.alias(salt, line.entry.openid) for line in lines
               if line.entry.openid and not line.anonymous
               and not line.entry.openid.startswith(users.PSEUDONYM_PREFIX)}
    erased = users.erased_among(conn, aliases.values())

    def gone(line: LiveLine) -> bool:
        when = erased.get(aliases.get(line.entry.openid or "", ""))
        return when is not None and line.at <= when
    rows = [(line.entry, line.at, line.anonymous or gone(line), line.terms) for line in lines]
    return len(_write_rows(conn, rows, salt, live=True))


def record_many(conn: sqlite3.Connection, entries: Iterable[tuple[LogEntry, float]]) -> int:
    """Append entries stamped with their own times, in one transaction."""
    with transaction(conn):
        salt = meta.secret(conn, "pseudonym_salt")
        rows = [(entry, at, False, None) for entry, at in entries]
        return len(_write_rows(conn, rows, salt, live=False))


_Row = tuple[LogEntry, "float | None", bool, "tuple[str, str] | None"]
_LOG_COLUMNS = ("id", "at", "openid", "msg_type", "text", "intent", "reply", "latency_ms",
                "outcome", "understood", "offers")
_ROWS_PER_INSERT = 200  # 11 values a row: well within SQLite's bound-parameter limit


def _write_rows(conn: sqlite3.Connection, lines: Sequence[_Row], salt: str,
                live: bool) -> list[int]:
    """Entries (entry, at or None for now, anonymous, index terms or None) with their
    full-text rows and daily counts, in a few multi-row statements: a statement per
    line cost more in hand-offs than the rows do. The caller holds the write
    transaction, so the ids after the newest row are this batch's."""
    newest_id, newest_at = conn.execute(
        "SELECT (SELECT max(id) FROM message_log), (SELECT max(at) FROM message_log)").fetchone()
    first, newest = (newest_id or 0) + 1, newest_at or 0.0
    rows, index, daily = [], [], Counter()
    for log_id, (entry, at, anonymous, terms) in enumerate(lines, first):
        stamp = time.time() if at is None else at
        if live or at is None:  # never earlier than the newest row: ids stay in time order
            stamp = newest = max(stamp, newest)
        openid = users.alias(salt, entry.openid) if anonymous and entry.openid else entry.openid
        rows.append((log_id, stamp, openid, entry.msg_type, entry.text, entry.intent,
                     entry.reply, entry.latency_ms, entry.outcome, _dump(entry.understood),
                     _dump(list(entry.offers) or None)))
        text_terms, reply_terms = terms or (searchable(entry.text), searchable(entry.reply))
        index.append((log_id, text_terms, reply_terms, _who(salt, openid)))
        daily[(day_of(stamp), entry.intent or "", entry.outcome, _product(entry.understood),
               int(bool(entry.offers)))] += 1
    _insert_rows(conn, "message_log", _LOG_COLUMNS, rows)
    _insert_rows(conn, "message_log_fts", ("rowid", "text", "reply", "who"), index)
    conn.executemany("INSERT INTO log_daily (day, intent, outcome, product, matched, n)"
                     " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n",
                     [(*key, n) for key, n in daily.items()])
    return [row[0] for row in rows]


def _insert_rows(conn: sqlite3.Connection, table: str, columns: Sequence[str],
                 rows: Sequence[tuple[Any, ...]]) -> None:
    names = ", ".join(columns)
    one = "(" + ", ".join("?" * len(columns)) + ")"
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        part = rows[start:start + _ROWS_PER_INSERT]
        conn.execute(f"INSERT INTO {table} ({names}) VALUES {', '.join([one] * len(part))}",
                     [value for row in part for value in row])


def _dump(value: Any) -> str | None:
    return None if value is None else jsontext.dumps(value)


def _product(understood: dict[str, Any] | None) -> str:
    slots = (understood or {}).get("slots") or {}
    return str(slots.get("product") or slots.get("category") or "")


def day_of(at: float) -> str:
    """The local calendar day of a time: what the dashboard counts by."""
    return time.strftime("%Y-%m-%d", time.localtime(at))


def searchable(text: str | None) -> str:
    """Index terms of a message or reply. Replies are made of a few thousand phrases
    (titles, prices, places, sellers) in ever new mixes, so each whitespace-separated
    chunk is segmented once; jieba never joins words across whitespace, so the terms
    are those of the whole text."""
    if not text:
        return ""
    chunks = _MARKUP.sub(" ", text).split()  # links differ per buyer: strip them first
    return " ".join(terms for terms in map(_chunk_terms, chunks) if terms)


@lru_cache(maxsize=65_536)
def _chunk_terms(chunk: str) -> str:
    return segment.index_text(chunk)


def _who(salt: str, openid: str | None) -> str:
    """A user's token in the index: the hash their pseudonym shows, so the rows of a user
    who left (logged under the pseudonym) carry the same token as before."""
    if not openid:
        return ""
    alias = openid if openid.startswith(users.PSEUDONYM_PREFIX) else users.alias(salt, openid)
    return "u" + alias[len(users.PSEUDONYM_PREFIX):]


def reindex(conn: sqlite3.Connection, ids: list[int]) -> None:
    """Index these rows again from what they say now (after erasure rewrote them)."""
    salt = meta.secret(conn, "pseudonym_salt")
    for log_id in ids:
        row = conn.execute("SELECT openid, text, reply FROM message_log WHERE id = ?",
                           (log_id,)).fetchone()
        conn.execute("DELETE FROM message_log_fts WHERE rowid = ?", (log_id,))
        if row is not None:
            conn.execute("INSERT INTO message_log_fts (rowid, text, reply, who) VALUES (?, ?, ?, ?)",
                         (log_id, searchable(row["text"]), searchable(row["reply"]),
                          _who(salt, row["openid"])))


def backfill_index(conn: sqlite3.Connection, batch: int = 5_000) -> int:
    """Index rows logged before the full-text index existed; returns how many."""
    below = meta.get(conn, "log_fts_backfill_below")
    if below is None:
        return 0
    done, low = 0, 0
    while True:
        rows = conn.execute("SELECT id, openid, text, reply FROM message_log WHERE id > ?"
                            " AND id < ? ORDER BY id LIMIT ?", (low, int(below), batch)).fetchall()
        if not rows:
            break
        with transaction(conn):
            salt = meta.secret(conn, "pseudonym_salt")
            conn.executemany(
                "INSERT INTO message_log_fts (rowid, text, reply, who) VALUES (?, ?, ?, ?)",
                [(r["id"], searchable(r["text"]), searchable(r["reply"]), _who(salt, r["openid"]))
                 for r in rows])
        done, low = done + len(rows), rows[-1]["id"]
    with transaction(conn):
        conn.execute("DELETE FROM meta WHERE key = 'log_fts_backfill_below'")
    return done


# -- reading ---------------------------------------------------------------

@dataclass(frozen=True)
class LogFilter:
    since: float | None = None
    until: float | None = None
    openid: str | None = None
    intent: str | None = None
    outcome: str | None = None
    text: str | None = None       # words that must all appear in the message or its reply

    @property
    def match(self) -> str:
        return fts_query(segment.words(self.text)) if self.text else ""


@dataclass(frozen=True)
class LogPage:
    rows: list[LogRow]
    older: int | None             # `before` for the next (older) page; None at the end


def page(conn: sqlite3.Connection, filters: LogFilter, before: int | None = None,
         limit: int = PAGE_SIZE) -> LogPage:
    """Newest first: the `limit` rows matching every filter with id < before."""
    rows = _select(conn, filters, before=before, after=None, limit=limit + 1, newest_first=True)
    older = rows[limit - 1].id if len(rows) > limit else None
    return LogPage(rows[:limit], older)


def newer(conn: sqlite3.Connection, filters: LogFilter, after: int,
          limit: int = PAGE_SIZE) -> list[LogRow]:
    """Oldest first: rows matching every filter with id > after (for following the log)."""
    return _select(conn, filters, before=None, after=after, limit=limit, newest_first=False)


def _select(conn: sqlite3.Connection, filters: LogFilter, before: int | None,
            after: int | None, limit: int, newest_first: bool) -> list[LogRow]:
    bounds = _id_bounds(conn, filters.since, filters.until)
    if bounds is None:
        return []
    match = filters.match
    if filters.text and not match:
        return []  # only punctuation: nothing can match
    if match and filters.openid is not None:
        # The index intersects the user's token with the words (see _who).
        salt = meta.get(conn, "pseudonym_salt") or ""
        match = f'who : "{_who(salt, filters.openid)}" AND ({match})'
    per_user = filters.openid is not None and not match
    key = "f.rowid" if match else "m.id"
    clauses, params = [], {"limit": limit}
    for op, name, value in (("<", "before", before), (">", "after", after),
                            (">=", "low", bounds[0]), ("<=", "high", bounds[1])):
        if value is not None:
            clauses.append(f"{key} {op} :{name}")
            params[name] = value
    # A unary + keeps the planner off an index: the id range instead of `at`, and the
    # user's own rows instead of every row of an intent.
    other = "+" if per_user else ""
    for sql, name, value in (("+m.at >= :since", "since", filters.since),
                             ("+m.at < :until", "until", filters.until),
                             ("m.openid = :openid", "openid", filters.openid),
                             (f"{other}m.intent = :intent", "intent", filters.intent),
                             (f"{other}m.outcome = :outcome", "outcome", filters.outcome)):
        if value is not None:
            clauses.append(sql)
            params[name] = value
    source = "message_log AS m"
    if match:
        source = "message_log_fts AS f CROSS JOIN message_log AS m ON m.id = f.rowid"
        clauses.insert(0, "message_log_fts MATCH :match")
    if match:
        params["match"] = match
    where = " AND ".join(clauses) or "1"
    order = "DESC" if newest_first else "ASC"
    sql = f"SELECT {_COLUMNS} FROM {source} WHERE {where} ORDER BY {key} {order} LIMIT :limit"
    return [LogRow.of(row) for row in conn.execute(sql, params)]


def _id_bounds(conn: sqlite3.Connection, since: float | None,
               until: float | None) -> tuple[int | None, int | None] | None:
    """The id range of a time range (through the `at` index); None when it is empty."""
    low = high = None
    if since is not None:
        row = conn.execute("SELECT id FROM message_log WHERE at >= ? ORDER BY at, id LIMIT 1",
                           (since,)).fetchone()
        if row is None:
            return None
        low = row[0]
    if until is not None:
        row = conn.execute("SELECT id FROM message_log WHERE at < ? ORDER BY at DESC, id DESC"
                           " LIMIT 1", (until,)).fetchone()
        if row is None:
            return None
        high = row[0]
    if low is not None and high is not None and low > high:
        return None
    return low, high


def get(conn: sqlite3.Connection, log_id: int) -> LogRow | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM message_log AS m WHERE m.id = ?",
                       (log_id,)).fetchone()
    return LogRow.of(row) if row else None


@dataclass(frozen=True)
class Transcript:
    rows: list[LogRow]            # oldest first
    earlier: int | None           # `before` for the page before this one
    later: int | None             # `after` for the page after this one


def transcript(conn: sqlite3.Connection, openid: str, before: int | None = None,
               after: int | None = None, limit: int = 100) -> Transcript:
    """One user's messages in order: the latest `limit`, or those around a cursor."""
    if after is not None:
        rows = _select(conn, LogFilter(openid=openid), None, after, limit + 1, False)
        more_later = len(rows) > limit
        rows = rows[:limit]
        more_earlier = bool(rows) and bool(
            _select(conn, LogFilter(openid=openid), rows[0].id, None, 1, True))
    else:
        rows = _select(conn, LogFilter(openid=openid), before, None, limit + 1, True)
        more_earlier = len(rows) > limit
        rows = list(reversed(rows[:limit]))
        more_later = before is not None and bool(
            _select(conn, LogFilter(openid=openid), None, before - 1, 1, False))
    return Transcript(rows, rows[0].id if rows and more_earlier else None,
                      rows[-1].id if rows and more_later else None)


def recent(conn: sqlite3.Connection, since: float | None = None, user: str | None = None,
           outcome: str | None = None, limit: int = 50) -> list[LogRow]:
    """Newest first, filtered; each filter is optional."""
    return page(conn, LogFilter(since=since, openid=user, outcome=outcome), limit=limit).rows


def last_seen(conn: sqlite3.Connection, openid: str) -> float | None:
    """When the user last wrote to us: the customer-service window runs from then."""
    row = conn.execute("SELECT max(at) FROM message_log WHERE openid = ? AND outcome != 'rejected'",
                       (openid,)).fetchone()
    return row[0] if row else None


# -- daily counts (the dashboard) ------------------------------------------

@dataclass(frozen=True)
class Day:
    day: str
    messages: int      # everything but rejected requests
    searches: int      # messages the buyer handler answered as a search
    matched: int       # searches that showed offers
    no_match: int      # searches that found nothing


def days(conn: sqlite3.Connection, first: str, last: str) -> dict[str, Day]:
    rows = conn.execute(
        "SELECT day, sum(n) FILTER (WHERE outcome != 'rejected'),"
        " sum(n) FILTER (WHERE intent = 'search'),"
        " sum(n) FILTER (WHERE intent = 'search' AND matched),"
        " sum(n) FILTER (WHERE intent = 'search' AND outcome = 'no_match')"
        " FROM log_daily WHERE day BETWEEN ? AND ? GROUP BY day", (first, last))
    return {r[0]: Day(r[0], *(value or 0 for value in r[1:])) for r in rows}


def top_searched(conn: sqlite3.Connection, first: str, last: str,
                 limit: int = 10) -> list[tuple[str, int]]:
    rows = conn.execute(
        "SELECT product, sum(n) AS total FROM log_daily WHERE day BETWEEN ? AND ?"
        " AND intent = 'search' AND product != '' GROUP BY product"
        " ORDER BY total DESC, product LIMIT ?", (first, last, limit))
    return [(r[0], r[1]) for r in rows]


def intents(conn: sqlite3.Connection) -> list[str]:
    """Every intent the log has seen: a skip scan of the daily counts' intent index,
    one seek per distinct intent."""
    return [r[0] for r in conn.execute(
        "WITH RECURSIVE seen(intent) AS ("
        " SELECT min(intent) FROM log_daily WHERE intent > ''"
        " UNION ALL SELECT (SELECT min(intent) FROM log_daily WHERE intent > seen.intent)"
        " FROM seen WHERE seen.intent IS NOT NULL)"
        " SELECT intent FROM seen WHERE intent IS NOT NULL")]
