"""Exactly-once handling of WeChat's retries, shared by every process on one file.

A row per message key holds a lease while the first attempt works, then the
rendered reply. Retries wait for the reply; an expired lease can be taken over.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from db.database import transaction

LEASE_SECONDS = 10.0
KEEP_SECONDS = 15 * 60  # the platform retries within seconds; keep keys well past 10 min


@dataclass(frozen=True)
class Claim:
    state: str  # acquired | done | busy
    reply: str | None = None


def claim(conn: sqlite3.Connection, key: str, openid: str, owner: str, now: float,
          holder_dead: Callable[[str], bool] | None = None) -> Claim:
    """Take the lease on key, or report the stored reply, or that another holds it."""
    with transaction(conn):
        return claim_within(conn, key, openid, owner, now, holder_dead)


def claim_within(conn: sqlite3.Connection, key: str, openid: str, owner: str,
                 now: float, holder_dead: Callable[[str], bool] | None = None) -> Claim:
    """claim() inside the caller's write transaction (BEGIN IMMEDIATE: no other process
    can claim the same key between the read and the write). A lease whose holder is
    known dead (`holder_dead(owner)`) is taken over at once rather than when it ends:
    WeChat's retries come 5 s apart, inside the lease, and the last one would otherwise
    only wait and the message go unanswered."""
    row = conn.execute("SELECT owner, lease_until, reply FROM dedupe WHERE key = ?",
                       (key,)).fetchone()
    if row is None:
        conn.execute("INSERT INTO dedupe (key, openid, owner, lease_until, created_at)"
                     " VALUES (?, ?, ?, ?, ?)", (key, openid, owner, now + LEASE_SECONDS, now))
        return Claim("acquired")
    if row["reply"] is not None:
        return Claim("done", row["reply"])
    if row["lease_until"] < now or (holder_dead is not None and holder_dead(row["owner"])):
        conn.execute("UPDATE dedupe SET owner = ?, lease_until = ? WHERE key = ?",
                     (owner, now + LEASE_SECONDS, key))
        return Claim("acquired")
    return Claim("busy")


def peek(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT reply FROM dedupe WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def renew_within(conn: sqlite3.Connection, keys: list[str], owner: str, now: float) -> None:
    """Extend the leases this owner still holds on keys, inside the caller's transaction."""
    for start in range(0, len(keys), 500):
        part = keys[start:start + 500]
        marks = ", ".join("?" * len(part))
        conn.execute(f"UPDATE dedupe SET lease_until = ? WHERE key IN ({marks}) AND owner = ?"
                     " AND reply IS NULL", (now + LEASE_SECONDS, *part, owner))


def finish(conn: sqlite3.Connection, key: str, reply: str) -> None:
    """Store the answer; a row erased meanwhile (unsubscribe) stays erased."""
    conn.execute("UPDATE dedupe SET reply = ? WHERE key = ?", (reply, key))


def release(conn: sqlite3.Connection, key: str, owner: str) -> None:
    """Give the lease up after a failure, so a retry may try again at once."""
    conn.execute("DELETE FROM dedupe WHERE key = ? AND owner = ? AND reply IS NULL", (key, owner))


def prune(conn: sqlite3.Connection, now: float) -> int:
    cursor = conn.execute("DELETE FROM dedupe WHERE created_at < ? AND lease_until < ?",
                          (now - KEEP_SECONDS, now))
    return cursor.rowcount
