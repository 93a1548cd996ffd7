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
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from db import meta, users
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
        return _write(conn, entry, at, anonymous, meta.secret(conn, "pseudonym_salt"))


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


def record_live(conn: sqlite3.Connection, lines: Iterable[LiveLine]) -> int:
    """Append prepared live lines inside the caller's transaction, in order: the server's
    batched log writer (bot.logbook). Each `at` is kept unless a row already stored is
    newer, so ids stay in time order."""
    salt = meta.secret(conn, "pseudonym_salt")
    written = 0
    for line in lines:
        anonymous = line.anonymous or _erased_since(conn, salt, line.entry.openid, line.at)
        _write(conn, line.entry, line.at, anonymous, salt, live=True, terms=line.terms)
        written += 1
    return written


def _erased_since(conn: sqlite3.Connection, salt: str, openid: str | None, at: float) -> bool:
    """The user was erased after this line was answered: it is written under the pseudonym."""
    if not openid or openid.startswith(users.PSEUDONYM_PREFIX):
        return False
    erased = users.erased_at(conn, users.alias(salt, openid))
    return erased is not None and at <= erased


def record_many(conn: sqlite3.Connection, entries: Iterable[tuple[LogEntry, float]]) -> int:
    """Append entries stamped with their own times, in one transaction."""
    written = 0
    with transaction(conn):
        salt = meta.secret(conn, "pseudonym_salt")
        for entry, at in entries:
            _write(conn, entry, at, False, salt)
            written += 1
    return written


def _write(conn: sqlite3.Connection, entry: LogEntry, at: float | None, anonymous: bool,
           salt: str, live: bool = False, terms: tuple[str, str] | None = None) -> int:
    openid = users.alias(salt, entry.openid) if anonymous and entry.openid else entry.openid
    # Live entries: never earlier than the newest row (threads and processes race between
    # clock and insert).
    live = live or at is None
    stamp = "max(:at, coalesce((SELECT max(at) FROM message_log), 0))" if live else ":at"
    row = conn.execute(
        "INSERT INTO message_log (at, openid, msg_type, text, intent, reply, latency_ms, outcome,"
        f" understood, offers) VALUES ({stamp}, :openid, :msg_type, :text, :intent, :reply,"
        " :latency_ms, :outcome, :understood, :offers) RETURNING id, at",
        {"at": time.time() if at is None else at, "openid": openid,
         "msg_type": entry.msg_type, "text": entry.text, "intent": entry.intent,
         "reply": entry.reply, "latency_ms": entry.latency_ms, "outcome": entry.outcome,
         "understood": _dump(entry.understood), "offers": _dump(list(entry.offers) or None)},
    ).fetchone()
    log_id, stamped = row[0], row[1]
    text_terms, reply_terms = terms or (searchable(entry.text), searchable(entry.reply))
    conn.execute("INSERT INTO message_log_fts (rowid, text, reply, who) VALUES (?, ?, ?, ?)",
                 (log_id, text_terms, reply_terms, _who(salt, openid)))
    conn.execute(
        "INSERT INTO log_daily (day, intent, outcome, product, matched, n) VALUES (?, ?, ?, ?, ?, 1)"
        " ON CONFLICT DO UPDATE SET n = n + 1",
        (day_of(stamped), entry.intent or "", entry.outcome, _product(entry.understood),
         int(bool(entry.offers))))
    return log_id


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


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
