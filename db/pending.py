"""Replies that missed the deadline, waiting for the user's next message."""
from __future__ import annotations

import sqlite3
import time

from db.database import transaction


def add(conn: sqlite3.Connection, openid: str, content: str, now: float | None = None) -> None:
    conn.execute("INSERT INTO pending_replies (openid, content, created_at) VALUES (?, ?, ?)",
                 (openid, content, time.time() if now is None else now))


def take(conn: sqlite3.Connection, openid: str, budget: int) -> list[str]:
    """Remove and return the oldest pending replies that fit in budget UTF-8 bytes."""
    with transaction(conn):
        rows = conn.execute("SELECT id, content FROM pending_replies WHERE openid = ? ORDER BY id",
                            (openid,)).fetchall()
        taken, used = [], 0
        for row in rows:
            size = len(row["content"].encode("utf-8")) + 2
            if used + size > budget:
                break
            taken.append(row)
            used += size
        conn.executemany("DELETE FROM pending_replies WHERE id = ?", [(r["id"],) for r in taken])
    return [r["content"] for r in taken]


def count(conn: sqlite3.Connection, openid: str) -> int:
    return conn.execute("SELECT count(*) FROM pending_replies WHERE openid = ?",
                        (openid,)).fetchone()[0]
