"""SQLite access that never blocks the event loop.

Each worker thread owns its own connection (a sqlite3 connection belongs to the
thread that opened it); coroutines hand work to those threads with `run`.
"""
from __future__ import annotations

import asyncio
import fcntl
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
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
    file: str  # the database file, as caches keyed per file name it


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
    conn.file = str(Path(path).resolve())
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
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # a refused commit (a deferred constraint) leaves it open
                conn.execute("ROLLBACK")
            raise


_Job = tuple[Callable[[], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class _Grouped:
    """What a group's token job returns: its writes' futures are settled one by one."""


_GROUPED = _Grouped()


@dataclass(frozen=True)
class Write:
    """A short write for a group commit: body(conn) runs inside the group's transaction,
    in a savepoint of its own; then(conn, body's result), if given, runs after the
    commit and its value is the result (reads that must see the committed write)."""
    body: Callable[[sqlite3.Connection], Any]
    then: Callable[[sqlite3.Connection, Any], Any] | None = None


def commit_group(conn: sqlite3.Connection, writes: list[Write]
                 ) -> list[tuple[Any, BaseException | None]]:
    """Run writes in one transaction, each in a savepoint: a write that raises is undone
    alone and gets its error; the rest commit together. Nothing is reported before the
    commit, so a crash before it loses only writes nobody was told of."""
    bodies: list[tuple[Any, BaseException | None]] = []
    try:
        with transaction(conn):
            for write in writes:
                bodies.append(_in_savepoint(conn, write))
    except BaseException as exc:  # no commit: every write of the group failed
        return [(None, exc)] * len(writes)
    return [_after_commit(conn, write, body) for write, body in zip(writes, bodies)]


def _in_savepoint(conn: sqlite3.Connection, write: Write) -> tuple[Any, BaseException | None]:
    conn.execute("SAVEPOINT grouped")
    try:
        result = write.body(conn)
    except Exception as exc:
        if not conn.in_transaction:  # SQLite rolled the whole transaction back
            raise
        conn.execute("ROLLBACK TO grouped")
        conn.execute("RELEASE grouped")
        return None, exc
    conn.execute("RELEASE grouped")
    return result, None


def _after_commit(conn: sqlite3.Connection, write: Write,
                  body: tuple[Any, BaseException | None]) -> tuple[Any, BaseException | None]:
    result, error = body
    if error is not None or write.then is None:
        return body
    try:
        return write.then(conn, result), None
    except Exception as exc:
        return None, exc


class _Threads:
    """A few threads running database work for coroutines. Leaner than a
    ThreadPoolExecutor plus run_in_executor for our many short calls: asyncio futures
    are settled directly (no concurrent Future chained to each), and results finished
    while the event loop is busy wake it once, not once each."""

    def __init__(self, count: int,
                 run_group: Callable[[list[Write]], list[tuple[Any, BaseException | None]]],
                 name: str = "sqlite") -> None:
        self._count = count
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._guard = threading.Lock()
        self._done: dict[asyncio.AbstractEventLoop, list[tuple[Any, ...]]] = {}
        self._closed = False
        self._writes: list[tuple[Write, asyncio.AbstractEventLoop, asyncio.Future[Any]]] = []
        self._run_group = run_group

    def submit(self, work: Callable[[], Any], loop: asyncio.AbstractEventLoop,
               future: asyncio.Future[Any]) -> None:
        self._start()
        self._jobs.put((work, loop, future))

    def submit_write(self, write: Write, loop: asyncio.AbstractEventLoop,
                     future: asyncio.Future[Any]) -> None:
        """Queue a write for the next group: whichever thread wakes first commits every
        write waiting by then in one transaction."""
        self._start()
        with self._guard:
            self._writes.append((write, loop, future))
        self._jobs.put((self._commit_group, loop, future))

    def _start(self) -> None:
        with self._guard:
            if self._closed:
                raise RuntimeError("the database is closed")
            if not self._threads:
                self._threads = [threading.Thread(target=self._serve, name=f"{self._name}_{n}",
                                                  daemon=True) for n in range(self._count)]
                for thread in self._threads:
                    thread.start()

    def _commit_group(self) -> _Grouped:
        with self._guard:
            group, self._writes = self._writes, []
        if group:
            outcomes = self._run_group([write for write, _, _ in group])
            for (_, loop, future), (result, error) in zip(group, outcomes):
                self._finished(loop, (future, result, error))
        return _GROUPED

    def close(self) -> None:
        """Let every queued job finish, then stop the threads."""
        with self._guard:
            self._closed = True
            threads, self._threads = self._threads, []
        for _ in threads:
            self._jobs.put(None)
        for thread in threads:
            thread.join()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            work, loop, future = job
            try:
                result = work()
                if result is _GROUPED:  # each write of the group is settled already
                    continue
                outcome: tuple[Any, ...] = (future, result, None)
            except BaseException as exc:  # handed to the awaiting coroutine
                outcome = (future, None, exc)
            self._finished(loop, outcome)

    def _finished(self, loop: asyncio.AbstractEventLoop, outcome: tuple[Any, ...]) -> None:
        with self._guard:
            waiting = self._done.setdefault(loop, [])
            waiting.append(outcome)
            if len(waiting) > 1:
                return  # the loop is already called to settle this list
        try:
            loop.call_soon_threadsafe(self._settle, loop)
        except RuntimeError:  # the loop has closed; nobody awaits these any more
            with self._guard:
                self._done.pop(loop, None)

    def _settle(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._guard:
            finished = self._done.pop(loop, [])
        for future, result, error in finished:
            if future.done():  # cancelled by its awaiter
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)


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
        group = lambda writes: commit_group(self.connection(), writes)  # noqa: E731
        self._threads = _Threads(workers, group)
        # Work nobody waits on to answer (log batches, checkpoints) on a thread of its
        # own, so that a reply's reads and writes never queue behind it for a thread.
        self._background = _Threads(1, group, name="sqlite_background")
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
        future = loop.create_future()
        self._threads.submit(partial(self.call, fn, *args, **kwargs), loop, future)
        return await future

    async def write(self, body: Callable[..., T], *args: Any,
                    then: Callable[[sqlite3.Connection, T], Any] | None = None) -> Any:
        """Run body(conn, *args) in a write transaction shared with whatever other writes
        are waiting (a group commit: one BEGIN/COMMIT and one wake-up for a burst of
        messages) and await its result, or then(conn, result) read after the commit.
        body must not open a transaction of its own."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._threads.submit_write(Write(lambda conn: body(conn, *args), then), loop, future)
        return await future

    async def run_background(self, fn: Callable[..., T], *args: Any) -> T:
        """run(), on the background thread: for work no reply waits on."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._background.submit(partial(self.call, fn, *args), loop, future)
        return await future

    async def checkpoint(self) -> None:
        """Copy committed pages from the WAL into the file, without blocking writers."""
        await self.run_background(_checkpoint)

    def close(self) -> None:
        self._background.close()
        self._threads.close()
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
