"""The middleware around the handlers: de-duplication, the reply deadline, the
outbox's pending messages in replies, and the message log.

respond() returns the plain reply XML ('' means answer `success`).
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from wechatpy.messages import BaseMessage

import handlers
from bot import limits
from bot.config import Config, banned_words
from bot.outbox import simulated
from bot.protocol import text_reply
from db import Database, dedupe, faults, messages, outbox, quota, users
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


def finish_reply(conn: Any, key: str, openid: str, reply_text: str,
                 message: BaseMessage, now: float) -> tuple[str, str]:
    """Compose, mark what was shown and store the reply in one transaction.

    Returns (plain XML, text). A crash before the commit leaves the pending
    messages pending; after it, a retry gets this exact reply back.
    """
    with transaction(conn):
        waiting = outbox.pending_for(conn, openid) if reply_text else []
        text, shown = compose(reply_text, waiting)
        plain = text_reply(message, text)
        outbox.mark_shown(conn, shown, now)
        dedupe.finish(conn, key, plain)
    return plain, text


def _understood(understanding: Understanding | None) -> dict[str, Any] | None:
    """What the log keeps of an understanding (slots hold Decimals and dicts)."""
    if understanding is None:
        return None
    return {"intent": understanding.intent, "slots": understanding.slots,
            "flags": sorted(understanding.flags), "words": list(understanding.words)}


HandleFn = Callable[[handlers.Turn], Awaitable[Reply]]


class Pipeline:
    def __init__(self, config: Config, db: Database, handle: HandleFn = handlers.handle,
                 wake_outbox: Callable[[], None] = lambda: None,
                 photos: PhotoStore | None = None) -> None:
        self.config = config
        self.db = db
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
        self._late: set[asyncio.Task[Any]] = set()

    # -- entry point -------------------------------------------------------

    async def respond(self, inbound: Inbound, message: BaseMessage, started: float) -> str:
        key = inbound.dedupe_key
        claim = await self.db.run(dedupe.claim, key, inbound.openid, self.owner, time.time())
        self.stats[claim.state] += 1
        if claim.state == "done":
            return claim.reply or ""
        if claim.state == "busy":
            return await self._wait_for_other(key, started)
        faults.hit("after_claim")
        return await self._run_leased(inbound, message, started)

    async def _wait_for_other(self, key: str, started: float) -> str:
        """A retry while the first attempt works: poll its row until the deadline."""
        while time.monotonic() - started < self.config.deadline.seconds:
            reply = await self.db.run(dedupe.peek, key)
            if reply is not None:
                return reply
            await asyncio.sleep(POLL_SECONDS)
        return ""  # the first attempt still owns delivery

    async def _run_leased(self, inbound: Inbound, message: BaseMessage, started: float) -> str:
        key = inbound.dedupe_key
        await self._open_window(inbound)
        renewer = self._spawn(self._renew(key))
        work = asyncio.create_task(self._handle(inbound))
        remaining = self.config.deadline.seconds - (time.monotonic() - started)
        try:
            reply = await asyncio.wait_for(asyncio.shield(work), max(remaining, 0.0))
        except TimeoutError:
            await self.db.run(dedupe.finish, key, "")
            self.stats["deadline"] += 1
            late = self._spawn(self._finish_late(work, inbound, started, renewer))
            self._late.add(late)
            late.add_done_callback(self._late.discard)
            return ""
        faults.hit("after_commit")
        try:
            plain, text = await self.db.run(finish_reply, key, inbound.openid, reply.render(),
                                            message, time.time())
        finally:
            renewer.cancel()
        await self._log(inbound, reply, text, started, reply.outcome)
        return plain

    # -- handling ----------------------------------------------------------

    async def _handle(self, inbound: Inbound) -> Reply:
        try:
            if limited := await limits.rate_limited(self.db, self.config.limits, inbound):
                return limited
            session = await self.db.run(users.load_session, inbound.openid)
            understanding = self._understand(inbound, session)
            turn = handlers.Turn(inbound, understanding, self.services, session, time.time())
            reply = await self.handle(turn)
            reply.understood = understanding
            if not reply.erase_user:
                await self.db.run(users.save_session, inbound.openid, turn.session)
            return reply
        except Exception:
            log.exception("handler failed for %s", describe(inbound))
            return Reply(ERROR_TEXT, intent="error", outcome="error")

    @staticmethod
    def _understand(inbound: Inbound, session: dict[str, Any]) -> Understanding:
        if inbound.kind in ("text", "voice") and inbound.text:
            return understand(inbound.text, session)
        return Understanding("event" if inbound.kind == "event" else "other")

    async def _open_window(self, inbound: Inbound) -> None:
        """A user message or trigger event lets customer-service messages out for a while."""
        if not self.config.wechat.customer_service or simulated(inbound.openid):
            return
        if inbound.kind == "event" and not inbound.is_trigger_event:
            return
        kind = "event" if inbound.is_trigger_event else "message"
        await self.db.run(quota.register, inbound.dedupe_key, inbound.openid, kind,
                          float(inbound.created_at))

    # -- past the deadline -------------------------------------------------

    async def _finish_late(self, work: asyncio.Task[Reply], inbound: Inbound, started: float,
                           renewer: asyncio.Task[Any]) -> None:
        """The reply is late: it leaves through the outbox, whatever channel that finds."""
        try:
            reply = await work
        finally:
            renewer.cancel()
        text = reply.render(outbox.MAX_TEXT_BYTES)
        if text:
            await self.db.run(outbox.enqueue, "late_reply", inbound.openid, text,
                              f"late:{inbound.dedupe_key}")
            self.wake_outbox()
        await self._log(inbound, reply, text, started, "deadline")

    # -- plumbing ----------------------------------------------------------

    async def _renew(self, key: str) -> None:
        """Keep the lease alive while working, so only a crash lets a retry take over."""
        while True:
            await asyncio.sleep(dedupe.LEASE_SECONDS / 3)
            await self.db.run(dedupe.renew, key, self.owner, time.time())

    async def _log(self, inbound: Inbound, reply: Reply, text: str, started: float,
                   outcome: str) -> None:
        entry = messages.LogEntry(
            openid=inbound.openid, msg_type=inbound.kind if inbound.kind != "event" else "event",
            text=describe(inbound), intent=reply.intent, reply=text,
            latency_ms=int((time.monotonic() - started) * 1000), outcome=outcome,
            understood=_understood(reply.understood), offers=reply.offers,
        )
        await self.db.run(messages.record, entry, None, reply.erase_user)

    async def log_rejected(self, reason: str, started: float) -> None:
        entry = messages.LogEntry(None, "rejected", reason, None, None,
                                  int((time.monotonic() - started) * 1000), "rejected")
        await self.db.run(messages.record, entry)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def drain(self, timeout: float = 30.0) -> None:
        """Let late replies finish before shutdown so nothing acknowledged is lost."""
        if self._late:
            await asyncio.wait(list(self._late), timeout=timeout)
        for task in list(self._background):
            task.cancel()
