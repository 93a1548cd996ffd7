"""SQLite access that never blocks the event loop.

Each worker thread owns its own connection (a sqlite3 connection belongs to the
thread that opened it); coroutines hand work to those threads with `run`.
"""
from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from db import faults, schema

T = TypeVar("T")
BUSY_TIMEOUT_MS = 10_000
CACHE_KIB = 32_768  # per connection


class WriterLock:
    """One writer at a time on a database file. Threads of this process queue on a lock
    and processes on an flock of a file beside the database; both wake the moment it is
    free. Queueing in SQLite instead means its busy handler's sleeps (1, 2, 5 ... 100 ms),
    which cost more than the writes. SQLite's own locking still guards every write, so
    a process that does not take this lock (a CLI import) is merely slower to get in."""

    def __init__(self, path: Path) -> None:
        self._threads = threading.RLock()
        self._path = Path(f"{path}-writer")
        self._fd: int | None = None
        self._depth = 0

    def __enter__(self) -> WriterLock:
        self._threads.acquire()
        try:
            if self._depth == 0:
                fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        self._depth += 1
        return self

    def __exit__(self, *_exc: object) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        return self._fd


class Connection(sqlite3.Connection):
    """A connection that knows its file's writer lock."""

    write_lock: WriterLock


# Per process and file: a forked worker must open its own lock file, since an flock
# held through a descriptor inherited across fork would be shared, not exclusive.
_WRITE_LOCKS: dict[tuple[int, str], WriterLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(path: Path) -> WriterLock:
    key = (os.getpid(), str(path.resolve()))
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, WriterLock(path.resolve()))


def connect(path: str | Path) -> sqlite3.Connection:
    """Open a connection in autocommit mode; callers open transactions explicitly."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # check_same_thread is off only so close() can run at shutdown; work stays on its thread.
    conn = sqlite3.connect(
        str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False,
        factory=Connection,
    )
    conn.write_lock = _write_lock(Path(path))
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    # A bigger page cache keeps the hot parts of a large FTS index in memory.
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE so concurrent writers queue on the busy timeout, not fail mid-way;
    writers of our own processes queue on the file's WriterLock first."""
    with getattr(conn, "write_lock", None) or nullcontext():
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        faults.hit("before_commit")
        conn.execute("COMMIT")


class Database:
    """A pool of per-thread connections to one SQLite file."""

    def __init__(self, path: str | Path, workers: int = 4,
                 background_checkpoints: bool = False) -> None:
        """background_checkpoints: commits never copy the WAL back into the file (an
        fsync, half of a commit's cost under load); the owner calls checkpoint() on a
        timer instead. For the server; the CLI keeps SQLite's automatic checkpoints."""
        self.path = Path(path)
        self.background_checkpoints = background_checkpoints
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sqlite")
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def migrate(self) -> int:
        """Bring the file to the current schema version; safe to call from any process."""
        return schema.migrate(self.connection())

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            if self.background_checkpoints:
                conn.execute("PRAGMA wal_autocheckpoint = 0")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run fn(conn, ...) on the current thread; for the CLI and worker threads."""
        return fn(self.connection(), *args, **kwargs)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run fn(conn, ...) on a database thread and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(self.call, fn, *args, **kwargs))

    async def checkpoint(self) -> None:
        """Copy committed pages from the WAL into the file, without blocking writers."""
        await self.run(_checkpoint)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()


def _checkpoint(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()


def backup(conn: sqlite3.Connection, target: str | Path, pages: int = 4096) -> None:
    """Copy the live database to target through SQLite's online backup API.

    Writers keep going meanwhile (the copy restarts the step that a write touched);
    the copy is checked, then moved into place, so target is whole or absent.
    """
    target = Path(target)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    copy = sqlite3.connect(str(partial))
    try:
        conn.backup(copy, pages=pages)
        check = copy.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise sqlite3.DatabaseError(f"the copy failed its check: {check}")
    except BaseException:
        copy.close()
        partial.unlink(missing_ok=True)
        raise
    copy.close()
    partial.replace(target)
