"""Per-user message counts in fixed windows, shared by every process on one file."""
from __future__ import annotations

import sqlite3

from db.database import transaction


def count(conn: sqlite3.Connection, openid: str, now: float, window: float, limit: int) -> str:
    """Count one message from openid: 'ok' within the limit, 'warn' for the first one
    over it in this window (the user is told once), 'quiet' for the rest."""
    with transaction(conn):
        return count_within(conn, openid, now, window, limit)


def count_within(conn: sqlite3.Connection, openid: str, now: float, window: float,
                 limit: int) -> str:
    """count() inside the caller's write transaction (the pipeline's claim)."""
    row = conn.execute("SELECT window_start, n FROM rate_limits WHERE openid = ?",
                       (openid,)).fetchone()
    if row is None or row["window_start"] + window <= now:
        conn.execute("INSERT INTO rate_limits (openid, window_start, n) VALUES (?, ?, 1)"
                     " ON CONFLICT (openid) DO UPDATE SET window_start = excluded.window_start,"
                     " n = 1", (openid, now))
        return "ok" if limit >= 1 else "warn"
    n = row["n"] + 1
    conn.execute("UPDATE rate_limits SET n = ? WHERE openid = ?", (n, openid))
    if n <= limit:
        return "ok"
    return "warn" if n == limit + 1 else "quiet"


def prune(conn: sqlite3.Connection, now: float, window: float) -> int:
    """Forget windows that have passed."""
    return conn.execute("DELETE FROM rate_limits WHERE window_start + ? <= ?",
                        (window, now)).rowcount
