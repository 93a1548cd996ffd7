"""The message log's writer: log lines and view counts, written in batches by one writer.

A reply's own transaction keeps what must never be lost (its de-duplication record,
the session, pending messages marked shown). Its log line, with the line's full-text
row and daily count, and the views of the offers it showed wait here and go to the
database together, a few transactions per batch (CHUNK lines each): the log's seven
B-trees and its FTS segment are then written once per chunk instead of once per message.

A crash (SIGKILL, power) loses at most the lines and views that had not been
flushed: `flush_seconds` of them. A clean shutdown flushes everything.
"""
from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from db import Database, listings, messages
from db.database import transaction

log = logging.getLogger("bot.logbook")

FLUSH_AT = 256          # lines: a batch this long is written without waiting for the timer
CHUNK = 64              # lines per write transaction
KEEP_AT_MOST = 100_000  # lines held while the database refuses writes; older ones are dropped


# A line waiting: the entry, when it was answered, and whether its user left (the line
# then keeps only a pseudonym).
Waiting = tuple[messages.LogEntry, float, bool]


@dataclass
class Batch:
    lines: list[Waiting]
    views: Counter[int]


def write_batch(conn: Any, batch: Batch) -> int:
    """A batch's lines and view counts, in transactions of at most CHUNK lines so that
    replies waiting for the write lock wait one chunk at most; the lines are segmented
    before any lock is taken. Committed lines leave `batch`, so after a failure it holds
    exactly what is still owed. Returns the lines written."""
    prepared = messages.prepare_live(batch.lines)
    done = 0
    written = 0
    while True:
        chunk = prepared[done:done + CHUNK]
        last = done + CHUNK >= len(prepared)
        try:
            with transaction(conn):
                written += messages.record_live(conn, chunk)
                if last and batch.views:
                    listings.add_view_counts(conn, batch.views)
        except sqlite3.IntegrityError:  # a line the schema refuses must not hold up the rest
            written += _one_by_one(conn, chunk)
            if last and batch.views:
                with transaction(conn):
                    listings.add_view_counts(conn, batch.views)
        done += len(chunk)
        batch.lines = batch.lines[len(chunk):]
        if last:
            batch.views = Counter()
            return written


def _one_by_one(conn: Any, chunk: list[messages.LiveLine]) -> int:
    written = 0
    for line in chunk:
        try:
            with transaction(conn):
                written += messages.record_live(conn, [line])
        except sqlite3.IntegrityError:
            log.error("log line refused by the schema, dropped: %r", line.entry)
    return written


class LogBook:
    """Collects log lines and views on the event loop; one writer flushes them in order."""

    def __init__(self, db: Database, flush_seconds: float) -> None:
        self.db = db
        self.flush_seconds = flush_seconds
        self.dropped = 0  # lines given up after the database refused them too long
        self._lines: list[Waiting] = []
        self._views: Counter[int] = Counter()
        self._writing = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()

    def add(self, entry: messages.LogEntry, anonymous: bool = False,
            views: Iterable[int] = ()) -> None:
        """Queue a line (and the views of the offers it showed); written within
        flush_seconds, or at once when the batch is full."""
        self._lines.append((entry, time.time(), anonymous))
        self._views.update(views)
        if len(self._lines) >= FLUSH_AT:
            self._start_flush()
        elif self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.flush_seconds, self._start_flush)

    @property
    def waiting(self) -> int:
        return len(self._lines)

    async def flush(self) -> None:
        """Write everything queued so far; returns once it is committed. Readers that
        must see every answered message (the console, tests) call this first."""
        async with self._writing:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            batch = Batch(self._lines, self._views)
            if not batch.lines and not batch.views:
                return
            self._lines, self._views = [], Counter()
            try:
                await self.db.run_background(write_batch, batch)
            except Exception:
                self._requeue(batch)
                raise

    async def close(self) -> None:
        """At shutdown: wait for flushes under way, then write what is left."""
        if self._flushes:
            await asyncio.wait(list(self._flushes))
        try:
            await self.flush()
        except Exception:
            log.exception("the last %d log lines could not be written", len(self._lines))

    def _start_flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        task = asyncio.get_running_loop().create_task(self._flush_logged())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush_logged(self) -> None:
        try:
            await self.flush()
        except Exception:  # a busy or full disk: keep the lines and try again later
            log.exception("writing %d log lines failed; retrying", len(self._lines))
            if self._timer is None and self._lines:
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(max(self.flush_seconds, 1.0), self._start_flush)

    def _requeue(self, batch: Batch) -> None:
        """A failed batch goes back ahead of newer lines, in order, within KEEP_AT_MOST."""
        lines = batch.lines + self._lines
        over = max(0, len(lines) - KEEP_AT_MOST)
        self.dropped += over
        self._lines = lines[over:]
        self._views = batch.views + self._views
