"""Console operators: accounts with scrypt password hashes, sessions, and the
failed-login counts that rate-limit guessing."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from functools import cache

from db.database import transaction

ROLES = ("admin", "viewer")
NAME = re.compile(r"^[\w.@-]{1,32}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
# scrypt at n=2^14, r=8, p=1 takes ~16 MiB and tens of milliseconds per guess.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
SESSION_IDLE = 2 * 3600          # seconds without a request before a session ends
SESSION_MAX = 12 * 3600          # seconds after login before a session ends regardless
SEEN_EVERY = 60                  # refresh a session's last-seen time at most this often
# Failed logins: at most USER_LIMIT per operator name and IP_LIMIT per client address
# within FAILURE_WINDOW seconds; past that, logins from there wait for the window.
USER_LIMIT = 5
IP_LIMIT = 20
FAILURE_WINDOW = 15 * 60


class OperatorError(Exception):
    """A refused change to operators, in words for the person at the terminal."""


@dataclass(frozen=True)
class Operator:
    id: int
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class Session:
    operator: Operator
    csrf: str


# -- passwords -------------------------------------------------------------

def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32,
                          maxmem=2 * 128 * n * r * p)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_password(stored: str, password: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = _scrypt(password, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, _unb64(digest))


@cache
def _decoy() -> str:
    """Checked when the name is unknown, so a miss costs as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


def validate(name: str, role: str, password: str) -> None:
    if not NAME.match(name):
        raise OperatorError("name: 1–32 letters, digits, or . _ @ -")
    if role not in ROLES:
        raise OperatorError(f"role: must be one of {', '.join(ROLES)}")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise OperatorError(f"password: at least {MIN_PASSWORD} characters")


# -- accounts --------------------------------------------------------------

def add(conn: sqlite3.Connection, name: str, role: str, password: str, replace: bool = False,
        now: float | None = None) -> Operator:
    """Create an operator; with replace, an existing one gets the new role and password
    (and loses its sessions)."""
    validate(name, role, password)
    now = time.time() if now is None else now
    hashed = hash_password(password)
    with transaction(conn):
        row = conn.execute("SELECT id FROM operators WHERE name = ?", (name,)).fetchone()
        if row and not replace:
            raise OperatorError(f"operator {name!r} exists (use --replace to reset it)")
        if row:
            conn.execute("UPDATE operators SET role = ?, password_hash = ?, updated_at = ?"
                         " WHERE id = ?", (role, hashed, now, row[0]))
            conn.execute("DELETE FROM operator_sessions WHERE operator_id = ?", (row[0],))
            operator_id = row[0]
        else:
            operator_id = conn.execute(
                "INSERT INTO operators (name, role, password_hash, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id", (name, role, hashed, now, now)
            ).fetchone()[0]
    return Operator(operator_id, name, role)


def ensure(conn: sqlite3.Connection, name: str, role: str, password: str) -> bool:
    """Create the operator unless one of that name exists; True when created."""
    try:
        add(conn, name, role, password)
    except OperatorError:
        if conn.execute("SELECT 1 FROM operators WHERE name = ?", (name,)).fetchone():
            return False
        raise
    return True


def authenticate(conn: sqlite3.Connection, name: str, password: str) -> Operator | None:
    """The operator when the password is right. Slow on purpose: run it off the loop."""
    row = conn.execute("SELECT id, name, role, password_hash FROM operators WHERE name = ?",
                       (name,)).fetchone()
    if row is None:
        check_password(_decoy(), password[:MAX_PASSWORD])
        return None
    if not check_password(row["password_hash"], password[:MAX_PASSWORD]):
        return None
    return Operator(row["id"], row["name"], row["role"])


def names(conn: sqlite3.Connection) -> list[Operator]:
    return [Operator(r["id"], r["name"], r["role"])
            for r in conn.execute("SELECT id, name, role FROM operators ORDER BY name")]


# -- sessions --------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(conn: sqlite3.Connection, operator: Operator, client: str,
                 now: float | None = None) -> tuple[str, str]:
    """A new session: (cookie token, CSRF token). Only a hash of the cookie is kept."""
    now = time.time() if now is None else now
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with transaction(conn):
        conn.execute("DELETE FROM operator_sessions WHERE seen_at < ? OR created_at < ?",
                     (now - SESSION_IDLE, now - SESSION_MAX))
        conn.execute("INSERT INTO operator_sessions (token_hash, operator_id, csrf, client,"
                     " created_at, seen_at) VALUES (?, ?, ?, ?, ?, ?)",
                     (_token_hash(token), operator.id, csrf, client, now, now))
    return token, csrf


def session(conn: sqlite3.Connection, token: str, now: float | None = None) -> Session | None:
    """The live session of a cookie token, or None (unknown, idle too long, too old)."""
    now = time.time() if now is None else now
    row = conn.execute(
        "SELECT s.csrf, s.created_at, s.seen_at, o.id, o.name, o.role"
        " FROM operator_sessions AS s JOIN operators AS o ON o.id = s.operator_id"
        " WHERE s.token_hash = ?", (_token_hash(token),)).fetchone()
    if row is None or now - row["seen_at"] > SESSION_IDLE or now - row["created_at"] > SESSION_MAX:
        return None
    if now - row["seen_at"] > SEEN_EVERY:
        conn.execute("UPDATE operator_sessions SET seen_at = ? WHERE token_hash = ?",
                     (now, _token_hash(token)))
    return Session(Operator(row["id"], row["name"], row["role"]), row["csrf"])


def close_session(conn: sqlite3.Connection, token: str) -> None:
    conn.execute("DELETE FROM operator_sessions WHERE token_hash = ?", (_token_hash(token),))


# -- failed logins -----------------------------------------------------------

@dataclass(frozen=True)
class Attempt:
    wait: float                   # > 0: refused, retry after this many seconds
    ids: tuple[int, ...] = ()     # the failures counted in advance for this attempt


def begin_attempt(conn: sqlite3.Connection, client: str, name: str,
                  now: float | None = None) -> Attempt:
    """Count a login attempt as failed before checking its password, so a burst of
    concurrent guesses cannot outrun the limits; a right password takes it back."""
    now = time.time() if now is None else now
    with transaction(conn):
        conn.execute("DELETE FROM login_failures WHERE at <= ?", (now - FAILURE_WINDOW,))
        waits = []
        for key, limit in ((_key("ip", client), IP_LIMIT), (_key("user", name), USER_LIMIT)):
            rows = conn.execute("SELECT at FROM login_failures WHERE key = ?"
                                " ORDER BY at DESC LIMIT ?", (key, limit)).fetchall()
            if len(rows) >= limit:
                waits.append(rows[-1][0] + FAILURE_WINDOW - now)
        if waits:
            return Attempt(max(max(waits), 1.0))
        ids = tuple(conn.execute("INSERT INTO login_failures (key, at) VALUES (?, ?) RETURNING id",
                                 (key, now)).fetchone()[0]
                    for key in (_key("ip", client), _key("user", name)))
    return Attempt(0.0, ids)


def succeeded(conn: sqlite3.Connection, attempt: Attempt, name: str) -> None:
    """A right password: the attempt was no failure, and the operator's count restarts."""
    with transaction(conn):
        conn.executemany("DELETE FROM login_failures WHERE id = ?", [(i,) for i in attempt.ids])
        conn.execute("DELETE FROM login_failures WHERE key = ?", (_key("user", name),))


def _key(kind: str, value: str) -> str:
    return f"{kind}:{value[:64]}"
