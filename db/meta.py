"""Small key-value facts about this database (salts, shared timestamps)."""
from __future__ import annotations

import secrets
import sqlite3


def get(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def put(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))


def secret(conn: sqlite3.Connection, key: str) -> str:
    """A random value created once per database; concurrent first calls agree."""
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                 (key, secrets.token_hex(32)))
    return get(conn, key) or ""
