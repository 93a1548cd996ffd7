"""Per-user state: sessions, and erasure when a user unsubscribes."""
from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from db import jsontext, meta, orders, outbox
from db.database import transaction

SESSION_IDLE_SECONDS = 30 * 60
# An expired session comes back once under this key, so a handler can tell the user
# what was dropped (a half-filled form); it is never saved.
EXPIRED_KEY = "expired"


def load_session(conn: sqlite3.Connection, openid: str, now: float | None = None) -> dict[str, Any]:
    """The user's session state; an idle one has expired (its old state is handed back
    once under EXPIRED_KEY) but keeps the location."""
    now = time.time() if now is None else now
    row = conn.execute("SELECT state, latitude, longitude, updated_at FROM sessions "
                       "WHERE openid = ?", (openid,)).fetchone()
    if row is None:
        return {}
    saved = jsontext.loads(row["state"])
    if now - row["updated_at"] <= SESSION_IDLE_SECONDS:
        state = saved
    else:
        state = {EXPIRED_KEY: saved} if saved else {}
    if row["latitude"] is not None:
        state["location"] = [row["latitude"], row["longitude"]]
    return state


@dataclass(frozen=True)
class StoredSession:
    """A session as its row holds it: the state's JSON and the location apart."""
    state: str
    latitude: float | None
    longitude: float | None


def stored_session(state: dict[str, Any]) -> StoredSession:
    """The row's values for a session: done before a write transaction, so the JSON is
    not built while other writers wait."""
    state = dict(state)
    state.pop(EXPIRED_KEY, None)
    location = state.pop("location", None) or [None, None]
    return StoredSession(jsontext.dumps(state),
                         location[0], location[1])


def save_session(conn: sqlite3.Connection, openid: str, state: dict[str, Any] | StoredSession,
                 now: float | None = None) -> None:
    now = time.time() if now is None else now
    stored = state if isinstance(state, StoredSession) else stored_session(state)
    conn.execute(
        "INSERT INTO sessions (openid, state, latitude, longitude, updated_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(openid) DO UPDATE SET state = excluded.state, latitude = excluded.latitude,"
        " longitude = excluded.longitude, updated_at = excluded.updated_at",
        (openid, stored.state, stored.latitude, stored.longitude, now),
    )


PSEUDONYM_PREFIX = "anon_"


def pseudonym(conn: sqlite3.Connection, openid: str) -> str:
    """A one-way, salted stand-in for an openid; the salt never leaves the database."""
    return alias(meta.secret(conn, "pseudonym_salt"), openid)


def alias(salt: str, openid: str) -> str:
    return PSEUDONYM_PREFIX + hashlib.sha256((salt + openid).encode()).hexdigest()[:24]


# Every table that holds rows keyed to a user; the log is pseudonymised instead.
_ERASE = (
    "DELETE FROM sessions WHERE openid = ?",
    "DELETE FROM dedupe WHERE openid = ?",
    "DELETE FROM unmet_demand WHERE openid = ?",
    "DELETE FROM restock_alerts WHERE openid = ?",
    "DELETE FROM cs_quota WHERE openid = ?",
    "DELETE FROM rate_limits WHERE openid = ?",
    "UPDATE sellers SET openid = NULL WHERE openid = ?",
    "DELETE FROM claim_failures WHERE openid = ?",
)


# Log lines wait at most db.log_flush_seconds (≤ 60 s) for the batch writer; an erasure
# is remembered well past that, then forgotten.
ERASURE_KEPT_SECONDS = 3600


def erase(conn: sqlite3.Connection, openid: str, now: float | None = None) -> str:
    """Delete everything keyed to the openid and pseudonymise its log; returns the
    pseudonym. Lines of this user still on their way to the log are pseudonymised when
    written (erased_among)."""
    now = time.time() if now is None else now
    with transaction(conn):
        alias = pseudonym(conn, openid)
        for statement in _ERASE:
            conn.execute(statement, (openid,))
        conn.execute("INSERT INTO erasures (alias, at) VALUES (?, ?)"
                     " ON CONFLICT(alias) DO UPDATE SET at = excluded.at", (alias, now))
        outbox.erase_user(conn, openid, alias, now)
        conn.execute("UPDATE message_log SET openid = ? WHERE openid = ?", (alias, openid))
        orders.erase_buyer(conn, openid, alias, now)
    return alias


def erased_among(conn: sqlite3.Connection, aliases: Iterable[str]) -> dict[str, float]:
    """When each of these pseudonyms' users was erased, for those erased lately."""
    wanted = sorted(set(aliases))
    if not wanted:
        return {}
    marks = ", ".join("?" * len(wanted))
    return dict(conn.execute(f"SELECT alias, at FROM erasures WHERE alias IN ({marks})", wanted))


def prune_erasures(conn: sqlite3.Connection, now: float) -> None:
    with transaction(conn):
        conn.execute("DELETE FROM erasures WHERE at < ?", (now - ERASURE_KEPT_SECONDS,))
