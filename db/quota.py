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
