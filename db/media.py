"""Photos fetched from WeChat's media API, kept as files under media/ beside the database."""
from __future__ import annotations

import re
import sqlite3

# What bot/media.py writes: the sha256 of the bytes and an image extension.
NAME = re.compile(r"^[0-9a-f]{64}\.(?:jpg|png|gif|webp)$")
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}


def record(conn: sqlite3.Connection, name: str, content_type: str, size: int, now: float) -> None:
    """Note a stored photo; the same bytes twice are one file and one row."""
    conn.execute("INSERT INTO media (name, content_type, bytes, created_at) VALUES (?, ?, ?, ?)"
                 " ON CONFLICT(name) DO NOTHING", (name, content_type, size, now))


def content_type(conn: sqlite3.Connection, name: str) -> str | None:
    """The type recorded for a stored photo; None for anything we did not store."""
    if not NAME.match(name):
        return None
    row = conn.execute("SELECT content_type FROM media WHERE name = ?", (name,)).fetchone()
    return row[0] if row else None


def url_path(name: str | None) -> str | None:
    """The path our own server serves a photo at."""
    return f"/media/{name}" if name else None
