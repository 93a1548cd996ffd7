"""The message log: every inbound message with its reply and outcome."""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from db import users

OUTCOMES = ("answered", "no_match", "error", "deadline", "rejected")


@dataclass(frozen=True)
class LogEntry:
    openid: str | None
    msg_type: str
    text: str | None
    intent: str | None
    reply: str | None
    latency_ms: int | None
    outcome: str


def record(conn: sqlite3.Connection, entry: LogEntry, at: float | None = None,
           anonymous: bool = False) -> None:
    """Append one entry; anonymous entries keep only the user's pseudonym."""
    openid = users.pseudonym(conn, entry.openid) if anonymous and entry.openid else entry.openid
    conn.execute(
        "INSERT INTO message_log (at, openid, msg_type, text, intent, reply, latency_ms, outcome)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (time.time() if at is None else at, openid, entry.msg_type, entry.text,
         entry.intent, entry.reply, entry.latency_ms, entry.outcome),
    )


def recent(conn: sqlite3.Connection, since: float | None = None, user: str | None = None,
           outcome: str | None = None, limit: int = 50) -> list[sqlite3.Row]:
    """Newest first, filtered; each filter is optional."""
    rows = conn.execute(
        "SELECT id, at, openid, msg_type, text, intent, reply, latency_ms, outcome FROM message_log"
        " WHERE (:since IS NULL OR at >= :since) AND (:user IS NULL OR openid = :user)"
        " AND (:outcome IS NULL OR outcome = :outcome) ORDER BY at DESC, id DESC LIMIT :limit",
        {"since": since, "user": user, "outcome": outcome, "limit": limit},
    )
    return list(rows)


def last_seen(conn: sqlite3.Connection, openid: str) -> float | None:
    """When the user last wrote to us: the customer-service window runs from then."""
    row = conn.execute("SELECT max(at) FROM message_log WHERE openid = ? AND outcome != 'rejected'",
                       (openid,)).fetchone()
    return row[0] if row else None
