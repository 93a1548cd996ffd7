"""The outbox: every message the bot sends on its own, from enqueue to delivery.

A message is enqueued inside the transaction of the change that causes it, so an
order and its notice commit together. States:

    queued  -> sent                (through the customer-service or template API)
    queued  -> pending -> shown    (waiting for the user's next message, then shown in it)
    queued  -> shown               (the user wrote before any sender claimed it)
    queued | pending -> dropped    (with a reason: the user left, an operator gave up)

A sender claims queued rows with a lease. A lease that expires means the sender
died between claim and answer; the API may or may not have delivered the message,
so it becomes pending rather than being sent again: at most once through the API.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from db import quota
from db.database import transaction

# The kinds in use; [notify.templates.KIND] must name one of them.
KINDS = ("late_reply", "restock", "order_new", "order_status", "listing_review", "stock_out",
         "legacy")
STATES = ("queued", "pending", "sent", "shown", "dropped")
MAX_TEXT_BYTES = 1800  # leaves room in a 2,000-byte reply for a short answer beside it


class OutboxError(ValueError):
    """A message that cannot be enqueued (empty, too long, unknown kind)."""


@dataclass(frozen=True)
class Message:
    id: int
    kind: str
    openid: str
    text: str
    fields: dict[str, str]
    state: str
    channel: str | None
    attempts: int
    last_error: str | None
    reason: str | None
    created_at: float
    updated_at: float

    @classmethod
    def of(cls, row: sqlite3.Row) -> Message:
        return cls(row["id"], row["kind"], row["openid"], row["text"],
                   json.loads(row["fields"]) if row["fields"] else {}, row["state"],
                   row["channel"], row["attempts"], row["last_error"], row["reason"],
                   row["created_at"], row["updated_at"])


_COLUMNS = ("id, kind, openid, text, fields, state, channel, attempts, last_error, reason,"
            " created_at, updated_at")


def enqueue(conn: sqlite3.Connection, kind: str, openid: str, text: str, key: str,
            fields: dict[str, Any] | None = None, now: float | None = None) -> int | None:
    """Queue a message inside the caller's transaction; None when the key was used before."""
    if kind not in KINDS:
        raise OutboxError(f"unknown outbox kind {kind!r}")
    if not text.strip() or not openid or not key:
        raise OutboxError("an outbox message needs a recipient, a text and a key")
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise OutboxError(f"outbox text over {MAX_TEXT_BYTES} bytes")
    now = time.time() if now is None else now
    values = json.dumps({k: str(v) for k, v in (fields or {}).items()}, ensure_ascii=False)
    row = conn.execute(
        "INSERT INTO outbox (idem_key, kind, openid, text, fields, state, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 'queued', ?, ?) ON CONFLICT(idem_key) DO NOTHING RETURNING id",
        (key, kind, openid, text, values, now, now)).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class Reach:
    """The channels this account has: what decides which queued messages a sender can
    try (settle_unreachable)."""
    api: bool
    customer_service: bool
    template_kinds: tuple[str, ...]


def claim(conn: sqlite3.Connection, owner: str, now: float, lease_seconds: float,
          limit: int = 20, reach: Reach | None = None) -> list[Message]:
    """Lease up to `limit` queued messages, oldest first, to one sender. With `reach`,
    those no channel can take go pending first, in the same transaction: a message
    enqueued meanwhile is never leased only to be made pending, which would let a reply
    composed in that moment skip it."""
    with transaction(conn):
        if reach is not None:
            settle_unreachable(conn, now, reach.api, reach.customer_service,
                               reach.template_kinds)
        rows = conn.execute(
            f"UPDATE outbox SET lease_owner = ?, lease_until = ?, attempts = attempts + 1,"
            f" updated_at = ? WHERE id IN (SELECT id FROM outbox WHERE state = 'queued'"
            f" AND lease_until IS NULL ORDER BY id LIMIT ?) RETURNING {_COLUMNS}",
            (owner, now + lease_seconds, now, limit)).fetchall()
    return sorted((Message.of(row) for row in rows), key=lambda m: m.id)


def settle_unreachable(conn: sqlite3.Connection, now: float, api: bool, customer_service: bool,
                       template_kinds: tuple[str, ...]) -> int:
    """Queued messages no channel can take go pending at once, without a lease.

    No lease means no moment in which a reply could skip past them: the order
    stays oldest first. Unreachable: no API at all; simulated or erased users;
    or no template for the kind and no open customer-service window.
    """
    window = quota.open_trigger_sql("o.openid") if customer_service else "0"
    params = quota.window_params(now)
    sql = (f"UPDATE outbox AS o SET state = 'pending', updated_at = :now, last_error ="
           " 'no channel: customer service off or outside its window, and no template'"
           " WHERE o.state = 'queued' AND o.lease_until IS NULL AND (:no_api"
           r" OR o.openid LIKE 'sim\_%' ESCAPE '\' OR o.openid LIKE 'anon\_%' ESCAPE '\'"
           f" OR (o.kind NOT IN (SELECT value FROM json_each(:kinds)) AND NOT {window}))")
    cursor = conn.execute(sql, {**params, "no_api": int(not api),
                                "kinds": json.dumps(list(template_kinds))})
    return cursor.rowcount


def expire_leases(conn: sqlite3.Connection, now: float) -> int:
    """Messages whose sender died mid-send: unknown whether WeChat has them, so pending."""
    cursor = conn.execute(
        "UPDATE outbox SET state = 'pending', lease_owner = NULL, lease_until = NULL,"
        " last_error = 'sender stopped before an answer (lease expired)', updated_at = ?"
        " WHERE state = 'queued' AND lease_until < ?", (now, now))
    return cursor.rowcount


def mark_sent(conn: sqlite3.Connection, message_id: int, channel: str, now: float) -> bool:
    """Delivered by the API. Also wins over a pending state nobody has shown yet."""
    cursor = conn.execute(
        "UPDATE outbox SET state = 'sent', channel = ?, lease_owner = NULL, lease_until = NULL,"
        " updated_at = ?, done_at = ? WHERE id = ? AND state IN ('queued', 'pending')",
        (channel, now, now, message_id))
    return cursor.rowcount == 1


def mark_pending(conn: sqlite3.Connection, message_id: int, owner: str, error: str | None,
                 now: float) -> bool:
    """No channel took it: it waits for the user's next message."""
    cursor = conn.execute(
        "UPDATE outbox SET state = 'pending', last_error = coalesce(?, last_error),"
        " lease_owner = NULL, lease_until = NULL, updated_at = ?"
        " WHERE id = ? AND state = 'queued' AND lease_owner = ?",
        (error, now, message_id, owner))
    return cursor.rowcount == 1


def note_error(conn: sqlite3.Connection, message_id: int, error: str, now: float) -> None:
    conn.execute("UPDATE outbox SET last_error = ?, updated_at = ? WHERE id = ?",
                 (error, now, message_id))


# Pending, or queued and not yet claimed by a sender: a reply going out now is the
# surest channel there is, and taking the message here means no sender will.
_WAITING = "(state = 'pending' OR (state = 'queued' AND lease_until IS NULL))"


def pending_for(conn: sqlite3.Connection, openid: str) -> list[Message]:
    """What can lead this user's next reply, oldest first."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE openid = ? AND {_WAITING}"
                        " ORDER BY id", (openid,)).fetchall()
    return [Message.of(row) for row in rows]


def mark_shown(conn: sqlite3.Connection, message_ids: list[int], now: float) -> None:
    """Shown in a passive reply; call inside the transaction that stores that reply."""
    conn.executemany(
        "UPDATE outbox SET state = 'shown', channel = 'reply', updated_at = ?, done_at = ?"
        f" WHERE id = ? AND {_WAITING}", [(now, now, i) for i in message_ids])


def count_pending(conn: sqlite3.Connection, openid: str) -> int:
    return conn.execute(f"SELECT count(*) FROM outbox WHERE openid = ? AND {_WAITING}",
                        (openid,)).fetchone()[0]


def erase_user(conn: sqlite3.Connection, openid: str, alias: str, now: float) -> None:
    """Unsubscribe: undelivered messages are dropped, and no text or openid is kept."""
    conn.execute(
        "UPDATE outbox SET state = 'dropped', reason = 'unsubscribed', done_at = ?, updated_at = ?"
        " WHERE openid = ? AND state IN ('queued', 'pending')", (now, now, openid))
    conn.execute("UPDATE outbox SET openid = ?, text = '', fields = NULL, lease_owner = NULL,"
                 " lease_until = NULL WHERE openid = ?", (alias, openid))


def erase_texts(conn: sqlite3.Connection, keys: list[str], now: float) -> None:
    """Notices whose text holds someone else's personal data (a buyer's address in the
    seller's new-order notice): undelivered ones are dropped, and every one keeps only
    its history."""
    conn.executemany(
        "UPDATE outbox SET state = 'dropped', reason = 'erased', done_at = ?, updated_at = ?"
        " WHERE idem_key = ? AND state IN ('queued', 'pending')", [(now, now, k) for k in keys])
    conn.executemany("UPDATE outbox SET text = '', fields = NULL WHERE idem_key = ?",
                     [(k,) for k in keys])


def get(conn: sqlite3.Connection, message_id: int) -> Message | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (message_id,)).fetchone()
    return Message.of(row) if row else None


def listing(conn: sqlite3.Connection, state: str | None = None, kind: str | None = None,
            openid: str | None = None, limit: int = 50) -> list[Message]:
    """Newest first, each filter optional: for operators."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM outbox WHERE (:state IS NULL OR state = :state)"
        " AND (:kind IS NULL OR kind = :kind) AND (:openid IS NULL OR openid = :openid)"
        " ORDER BY id DESC LIMIT :limit",
        {"state": state, "kind": kind, "openid": openid, "limit": limit}).fetchall()
    return [Message.of(row) for row in rows]


def retry(conn: sqlite3.Connection, message_id: int, now: float) -> str:
    """Re-queue a dropped message: 'queued', or why not ('missing', 'not dropped', 'erased')."""
    with transaction(conn):
        message = get(conn, message_id)
        if message is None:
            return "missing"
        if message.state != "dropped":
            return "not dropped"
        if message.reason == "unsubscribed" or not message.text:
            return "erased"
        conn.execute("UPDATE outbox SET state = 'queued', reason = NULL, done_at = NULL,"
                     " updated_at = ? WHERE id = ?", (now, message_id))
    return "queued"


def drop(conn: sqlite3.Connection, message_id: int, reason: str, now: float) -> bool:
    cursor = conn.execute(
        "UPDATE outbox SET state = 'dropped', reason = ?, lease_owner = NULL, lease_until = NULL,"
        " updated_at = ?, done_at = ? WHERE id = ? AND state IN ('queued', 'pending')",
        (reason, now, now, message_id))
    return cursor.rowcount == 1


def take_pending(conn: sqlite3.Connection, openid: str, now: float) -> list[Message]:
    """Everything waiting for the user, marked shown: for a page that shows it at once."""
    with transaction(conn):
        waiting = pending_for(conn, openid)
        mark_shown(conn, [m.id for m in waiting], now)
    return waiting
