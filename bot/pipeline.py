"""The middleware around the handlers: de-duplication, the reply deadline, the
outbox's pending messages in replies, and the message log (through bot.logbook).

respond() returns the plain reply XML ('' means answer `success`).
"""
from __future__ import annotations

import asyncio
import copy
import logging
import os
import socket
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from wechatpy.messages import BaseMessage

import handlers
from bot import limits
from bot.config import Config, banned_words
from bot.logbook import LogBook
from bot.outbox import simulated
from bot.protocol import text_reply
from db import Database, dedupe, faults, listings, messages, outbox, quota, users
from db import limits as rate_limits
from db.database import transaction
from db.outbox import Message
from handlers.context import PhotoStore
from handlers.types import MAX_REPLY_BYTES, Inbound, Reply, utf8_len
from nlp import Understanding, understand

log = logging.getLogger("bot.pipeline")

POLL_SECONDS = 0.05
PENDING_HEAD = "刚才的消息回复晚了，补在这里："
MORE_WAITING = "（还有{count}条消息，回复「消息」查看）"
ERROR_TEXT = "抱歉，系统开小差了😣 请稍后再试一次。"


def owner_name() -> str:
    """Who holds a lease: host, process and a random part, unique across restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_dead(owner: str) -> bool:
    """Whether a lease's holder is a process of this host that no longer runs (killed
    or crashed). Another host's, this process's, or an unreadable owner counts as alive:
    its lease ends by time as before. A reused process id only delays the take-over."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by another user
        return False
    return False


def describe(inbound: Inbound) -> str:
    """What the log shows as the inbound text."""
    if inbound.kind == "event":
        return f"[{inbound.event}{':' + inbound.event_key if inbound.event_key else ''}]"
    if inbound.kind in ("text", "voice"):
        return inbound.text
    return f"[{inbound.kind}]"


def shown_text(message: Message) -> str:
    """How a pending message reads at the head of a reply."""
    return f"{PENDING_HEAD}\n{message.text}" if message.kind == "late_reply" else message.text


def _joined(parts: list[str]) -> str:
    return "\n\n".join(part for part in parts if part)


def compose(reply_text: str, waiting: list[Message]) -> tuple[str, list[int]]:
    """Pending messages, oldest first and each whole, ahead of the reply, within 2,000 bytes.

    The reply itself is never cut; messages that do not fit wait for a later reply,
    announced by one line.
    """
    blocks: list[str] = []
    shown: list[int] = []
    for position, message in enumerate(waiting):
        left = len(waiting) - position - 1
        more = [MORE_WAITING.format(count=left)] if left else []
        if utf8_len(_joined([*blocks, shown_text(message), *more, reply_text])) > MAX_REPLY_BYTES:
            break
        blocks.append(shown_text(message))
        shown.append(message.id)
    left = len(waiting) - len(shown)
    more_line = MORE_WAITING.format(count=left)
    if left and utf8_len(_joined([*blocks, more_line, reply_text])) <= MAX_REPLY_BYTES:
        blocks.append(more_line)
    return _joined([*blocks, reply_text]), shown


@dataclass(frozen=True)
class Opened:
    claim: dedupe.Claim
    session: dict[str, Any] | None = None  # loaded when this process acquired the message
    rate: str = "ok"                       # the rate limit's verdict (db.limits.count)
    versions: listings.Versions | None = None  # read with the session


def claim_turn(conn: Any, key: str, openid: str, owner: str, now: float,
               window: tuple[str, float] | None, rate: tuple[float, int] | None) -> Opened:
    """Claim the message and, when acquired, count it against the user's rate limit
    ((window seconds, messages), or None) and open the customer-service window: the
    body of a group-committed write (Database.write). Retries of a message are never
    acquired, so they are not counted again."""
    claim = dedupe.claim_within(conn, key, openid, owner, now, holder_dead)
    if claim.state != "acquired":
        return Opened(claim)
    verdict = rate_limits.count_within(conn, openid, now, *rate) if rate else "ok"
    if window is not None:
        quota.register(conn, key, openid, window[0], window[1])
    return Opened(claim, None, verdict)


def with_session(conn: Any, opened: Opened, openid: str, now: float) -> Opened:
    """The session of an acquired message, read once its claim has committed: the
    claim, not this read, makes the message ours."""
    if opened.claim.state != "acquired":
        return opened
    return replace(opened, session=users.load_session(conn, openid, now),
                   versions=listings.versions(conn))


@dataclass(frozen=True)
class Closing:
    """Everything a handled message leaves behind: the reply's transaction, then its
    log line and views through the log book."""
    key: str
    openid: str
    reply_text: str
    session: dict[str, Any] | None   # None: nothing to save (an error, an erased user)
    views: tuple[int, ...]
    entry: messages.LogEntry         # reply text and latency are filled in when logged
    anonymous: bool
    started: float                   # monotonic, for the latency


def finish_reply(conn: Any, closing: Closing, message: BaseMessage, alone: str,
                 stored: users.StoredSession | None, now: float) -> tuple[str, str]:
    """Compose the reply with pending messages, mark them shown, store the reply for
    retries and save the session: the body of a group-committed write. `alone` is the
    reply's XML as it goes when nothing waits and `stored` the session's row, both built
    before any lock is taken. Returns the plain XML and the text.

    A crash before the commit leaves the pending messages pending and the message
    claimed (a retry takes over when the lease ends); after it, a retry gets this exact
    reply back. The log line follows through the log book.
    """
    waiting = outbox.pending_for(conn, closing.openid) if closing.reply_text else []
    text, shown = compose(closing.reply_text, waiting)
    plain = text_reply(message, text) if waiting else alone
    outbox.mark_shown(conn, shown, now)
    dedupe.finish(conn, closing.key, plain)
    if stored is not None:
        users.save_session(conn, closing.openid, stored, now)
    return plain, text


def save_late_session(conn: Any, closing: Closing, now: float) -> None:
    """A late reply went to the outbox: its session is saved as a reply's would be."""
    if closing.session is not None:
        with transaction(conn):
            users.save_session(conn, closing.openid, closing.session, now)


def _understood(understanding: Understanding | None) -> dict[str, Any] | None:
    """What the log keeps of an understanding (slots hold Decimals and dicts)."""
    if understanding is None:
        return None
    return {"intent": understanding.intent, "slots": understanding.slots,
            "flags": sorted(understanding.flags), "words": list(understanding.words)}


UNDERSTOOD_CACHE = 16_384
_understood_texts: OrderedDict[tuple[str, bool], Understanding] = OrderedDict()


def understood_text(text: str, session: dict[str, Any]) -> Understanding:
    """understand(), once per distinct text: buyers send the same few requests all day.

    understand() is pure over the text and the lexicons loaded at start; of the session
    it reads only whether a page of offers is showing (a bare 2 then chooses), so that
    is part of the key. Each caller gets its own slots dict.
    """
    key = (text, bool(session.get("page")))
    found = _understood_texts.get(key)
    if found is None:
        found = understand(text, session)
        _understood_texts[key] = found
        if len(_understood_texts) > UNDERSTOOD_CACHE:
            _understood_texts.popitem(last=False)
    else:
        _understood_texts.move_to_end(key)
    copied = copy.copy(found)  # dataclasses.replace re-runs __init__: dearer than the lookup
    object.__setattr__(copied, "slots", dict(found.slots))
    return copied


HandleFn = Callable[[handlers.Turn], Awaitable[Reply]]


async def finished_within(work: asyncio.Future[Any], seconds: float) -> bool:
    """Whether work finished within seconds; it goes on either way. asyncio.wait's job
    for one task, with one waiter and one timer instead of its sets and callbacks."""
    if work.done():
        return True
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()

    def wake(_: object = None) -> None:
        if not waiter.done():
            waiter.set_result(None)
    work.add_done_callback(wake)
    timer = loop.call_later(seconds, wake)
    try:
        await waiter
    finally:
        timer.cancel()
        work.remove_done_callback(wake)
    return work.done()


class Leases:
    """The leases of the messages this process is working on, renewed together: every
    sixth of a lease, one trip renews those held for a third of one. Nearly every
    message is answered long before that, so holding a lease costs a dict entry, not a
    timer per message."""

    def __init__(self, db: Database, owner: str) -> None:
        self.db = db
        self.owner = owner
        self._held: dict[str, float] = {}  # key -> when taken or last renewed (monotonic)
        self._sweeper: asyncio.Task[None] | None = None

    def hold(self, key: str) -> None:
        self._held[key] = time.monotonic()
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep())

    def release(self, key: str) -> None:
        self._held.pop(key, None)

    def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()

    async def _sweep(self) -> None:
        """Keep the leases alive while working, so only a crash lets a retry take over."""
        while True:
            await asyncio.sleep(dedupe.LEASE_SECONDS / 6)
            started = time.monotonic()
            due = [key for key, since in self._held.items()
                   if started - since >= dedupe.LEASE_SECONDS / 3]
            if not due:
                continue
            try:
                await self.db.write(dedupe.renew_within, due, self.owner, time.time())
            except Exception:  # a busy database: try again at the next sweep
                log.exception("renewing %d leases failed", len(due))
                continue
            for key in due:
                if key in self._held:
                    self._held[key] = started


class Pipeline:
    def __init__(self, config: Config, db: Database, handle: HandleFn = handlers.handle,
                 wake_outbox: Callable[[], None] = lambda: None,
                 photos: PhotoStore | None = None) -> None:
        self.config = config
        self.db = db
        self.logbook = LogBook(db, config.db.log_flush_seconds)
        self.handle = handle
        # How each delivery was resolved (acquired, done, busy, deadline): for operators and tests.
        self.stats: Counter[str] = Counter()
        self.owner = owner_name()
        self.wake_outbox = wake_outbox
        self.services = handlers.Services(
            db, config.server.public_url, config.server.link_secret, ranking=config.ranking,
            orders=config.orders, wake_outbox=wake_outbox,
            require_review=config.listings.require_review, banned_words=banned_words(config),
            photos=photos)
        self._background: set[asyncio.Task[Any]] = set()
        self.leases = Leases(db, self.owner)
        self._late: set[asyncio.Task[Any]] = set()

    # -- entry point -------------------------------------------------------

    async def respond(self, inbound: Inbound, message: BaseMessage, started: float) -> str:
        key = inbound.dedupe_key
        limit = self.config.limits
        rate = (limit.window_seconds, limit.messages) if limit.messages > 0 else None
        now = time.time()
        opened = await self.db.write(claim_turn, key, inbound.openid, self.owner, now,
                                     self._window(inbound), rate,
                                     then=partial(with_session, openid=inbound.openid, now=now))
        self.stats[opened.claim.state] += 1
        if opened.claim.state == "done":
            return opened.claim.reply or ""
        if opened.claim.state == "busy":
            return await self._wait_for_other(key, started)
        faults.hit("after_claim")
        return await self._run_leased(inbound, message, started, opened)

    async def _wait_for_other(self, key: str, started: float) -> str:
        """A retry while the first attempt works: poll its row until the deadline."""
        while time.monotonic() - started < self.config.deadline.seconds:
            reply = await self.db.run(dedupe.peek, key)
            if reply is not None:
                return reply
            await asyncio.sleep(POLL_SECONDS)
        return ""  # the first attempt still owns delivery

    async def _run_leased(self, inbound: Inbound, message: BaseMessage, started: float,
                          opened: Opened) -> str:
        key = inbound.dedupe_key
        self.leases.hold(key)
        work = asyncio.create_task(self._handle(inbound, opened))
        remaining = self.config.deadline.seconds - (time.monotonic() - started)
        if not await finished_within(work, max(remaining, 0.0)):
            # The work goes on; its reply leaves through the outbox.
            await self.db.run(dedupe.finish, key, "")
            self.stats["deadline"] += 1
            late = self._spawn(self._finish_late(work, inbound, started))
            self._late.add(late)
            late.add_done_callback(self._late.discard)
            return ""
        faults.hit("after_commit")
        try:
            reply, saved = work.result()
            closing = self._closing(inbound, reply, reply.render(), saved, started, reply.outcome)
            alone = text_reply(message, closing.reply_text)
            stored = users.stored_session(closing.session) if closing.session is not None else None
            plain, text = await self.db.write(finish_reply, closing, message, alone, stored,
                                              time.time())
            self._log(closing, text)
            return plain
        finally:
            self.leases.release(key)

    # -- handling ----------------------------------------------------------

    async def _handle(self, inbound: Inbound,
                      opened: Opened) -> tuple[Reply, dict[str, Any] | None]:
        """The reply, and the session to save (None after an error, an erasure or when
        rate-limited)."""
        try:
            if limited := limits.reply_for(opened.rate):
                return limited, None
            session = opened.session or {}
            understanding = self._understand(inbound, session)
            turn = handlers.Turn(inbound, understanding, self.services, session, time.time(),
                                 versions=opened.versions)
            reply = await self.handle(turn)
            reply.understood = understanding
            return reply, None if reply.erase_user else turn.session
        except Exception:
            log.exception("handler failed for %s", describe(inbound))
            return Reply(ERROR_TEXT, intent="error", outcome="error"), None

    @staticmethod
    def _understand(inbound: Inbound, session: dict[str, Any]) -> Understanding:
        if inbound.kind in ("text", "voice") and inbound.text:
            return understood_text(inbound.text, session)
        return Understanding("event" if inbound.kind == "event" else "other")

    def _window(self, inbound: Inbound) -> tuple[str, float] | None:
        """A user message or trigger event lets customer-service messages out for a while:
        (kind, since), or None."""
        if not self.config.wechat.customer_service or simulated(inbound.openid):
            return None
        if inbound.kind == "event" and not inbound.is_trigger_event:
            return None
        return ("event" if inbound.is_trigger_event else "message", float(inbound.created_at))

    # -- past the deadline -------------------------------------------------

    async def _finish_late(self, work: asyncio.Task[tuple[Reply, dict[str, Any] | None]],
                           inbound: Inbound, started: float) -> None:
        """The reply is late: it leaves through the outbox, whatever channel that finds."""
        try:
            reply, saved = await work
        finally:
            self.leases.release(inbound.dedupe_key)
        text = reply.render(outbox.MAX_TEXT_BYTES)
        if text:
            await self.db.run(outbox.enqueue, "late_reply", inbound.openid, text,
                              f"late:{inbound.dedupe_key}")
            self.wake_outbox()
        closing = self._closing(inbound, reply, text, saved, started, "deadline")
        await self.db.run(save_late_session, closing, time.time())
        self._log(closing, text)

    # -- plumbing ----------------------------------------------------------

    @staticmethod
    def _closing(inbound: Inbound, reply: Reply, text: str, session: dict[str, Any] | None,
                 started: float, outcome: str) -> Closing:
        entry = messages.LogEntry(
            openid=inbound.openid, msg_type=inbound.kind if inbound.kind != "event" else "event",
            text=describe(inbound), intent=reply.intent, reply=text, latency_ms=None,
            outcome=outcome, understood=_understood(reply.understood), offers=reply.offers,
        )
        return Closing(inbound.dedupe_key, inbound.openid, text, session, reply.views, entry,
                       reply.erase_user, started)

    def _log(self, closing: Closing, text: str) -> None:
        latency_ms = int((time.monotonic() - closing.started) * 1000)
        self.logbook.add(replace(closing.entry, reply=text, latency_ms=latency_ms),
                         closing.anonymous, closing.views)

    def log_rejected(self, reason: str, started: float) -> None:
        self.logbook.add(messages.LogEntry(None, "rejected", reason, None, None,
                                           int((time.monotonic() - started) * 1000), "rejected"))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def drain(self, timeout: float = 30.0) -> None:
        """Let late replies finish before shutdown so nothing acknowledged is lost."""
        if self._late:
            await asyncio.wait(list(self._late), timeout=timeout)
        self.leases.stop()
        for task in list(self._background):
            task.cancel()
        await self.logbook.close()
