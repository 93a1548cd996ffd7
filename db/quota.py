"""Customer-service message quotas, counted in SQLite so every process agrees.

The platform allows 5 messages within 48 h of a user message, and 3 within one
minute of a menu click, subscribe or scan.
"""
from __future__ import annotations

import sqlite3

from db.database import transaction

LIMITS = {"message": (5, 48 * 3600.0), "event": (3, 60.0)}


def take(conn: sqlite3.Connection, inbound_key: str, openid: str, kind: str,
         trigger_at: float, now: float) -> bool:
    """Count one send against the trigger; False when the window or quota is spent."""
    limit, window = LIMITS[kind]
    if now - trigger_at > window:
        return False
    with transaction(conn):
        conn.execute("INSERT OR IGNORE INTO cs_quota (inbound_key, openid, kind, trigger_at)"
                     " VALUES (?, ?, ?, ?)", (inbound_key, openid, kind, trigger_at))
        cursor = conn.execute("UPDATE cs_quota SET sent = sent + 1 WHERE inbound_key = ?"
                              " AND sent < ?", (inbound_key, limit))
        return cursor.rowcount == 1


def refund(conn: sqlite3.Connection, inbound_key: str) -> None:
    """The API refused the message, so it did not count."""
    conn.execute("UPDATE cs_quota SET sent = sent - 1 WHERE inbound_key = ? AND sent > 0",
                 (inbound_key,))


def register(conn: sqlite3.Connection, inbound_key: str, openid: str, kind: str,
             trigger_at: float) -> None:
    """Note a user message or trigger event: it opens a window for customer-service sends."""
    conn.execute("INSERT OR IGNORE INTO cs_quota (inbound_key, openid, kind, trigger_at)"
                 " VALUES (?, ?, ?, ?)", (inbound_key, openid, kind, trigger_at))


def open_trigger_sql(openid_column: str) -> str:
    """SQL true when the user has a trigger whose window and quota still allow a send;
    takes the named parameters :now, :event_since, :event_limit, :message_since, :message_limit."""
    return (f"EXISTS (SELECT 1 FROM cs_quota AS q WHERE q.openid = {openid_column} AND ("
            " (q.kind = 'event' AND q.trigger_at >= :event_since AND q.sent < :event_limit)"
            " OR (q.kind = 'message' AND q.trigger_at >= :message_since"
            " AND q.sent < :message_limit)))")


def window_params(now: float) -> dict[str, float]:
    (event_limit, event_window), (message_limit, message_window) = (
        LIMITS["event"], LIMITS["message"])
    return {"now": now, "event_since": now - event_window, "event_limit": event_limit,
            "message_since": now - message_window, "message_limit": message_limit}


def take_any(conn: sqlite3.Connection, openid: str, now: float) -> str | None:
    """Count one send against the user's best open trigger; its key, or None when none is left.

    A trigger event's short window is used first, so the 48-hour allowance of the
    user's messages lasts longer.
    """
    with transaction(conn):
        row = conn.execute(
            "SELECT inbound_key FROM cs_quota WHERE openid = :openid AND ("
            " (kind = 'event' AND trigger_at >= :event_since AND sent < :event_limit)"
            " OR (kind = 'message' AND trigger_at >= :message_since AND sent < :message_limit))"
            " ORDER BY kind = 'event' DESC, trigger_at DESC LIMIT 1",
            {"openid": openid, **window_params(now)}).fetchone()
        if row is None:
            return None
        conn.execute("UPDATE cs_quota SET sent = sent + 1 WHERE inbound_key = ?", (row[0],))
        return row[0]


def prune(conn: sqlite3.Connection, now: float) -> int:
    """Triggers older than the longest window can never allow a send again."""
    longest = max(window for _, window in LIMITS.values())
    return conn.execute("DELETE FROM cs_quota WHERE trigger_at < ?", (now - longest,)).rowcount
