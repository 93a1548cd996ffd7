"""The middleware around the handlers: de-duplication, the reply deadline, pending
replies, customer-service delivery and the message log.

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
from bot.config import Config
from bot.protocol import text_reply
from bot.wechat_api import WeChatAPI, WeChatAPIError
from db import Database, dedupe, messages, pending, quota, restock, users
from handlers.types import MAX_REPLY_BYTES, Inbound, Reply, utf8_len
from nlp import Understanding, understand

log = logging.getLogger("bot.pipeline")

POLL_SECONDS = 0.05
PENDING_HEAD = "刚才的消息回复晚了，补在这里："
PENDING_BUDGET = 1000
ERROR_TEXT = "抱歉，系统开小差了😣 请稍后再试一次。"
RESTOCK_TEXT = "🔔 您关注的{product}到货了：{title} {price}。回复「我想买{product}」看看吧。"


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def describe(inbound: Inbound) -> str:
    """What the log shows as the inbound text."""
    if inbound.kind == "event":
        return f"[{inbound.event}{':' + inbound.event_key if inbound.event_key else ''}]"
    if inbound.kind in ("text", "voice"):
        return inbound.text
    return f"[{inbound.kind}]"


def _understood(understanding: Understanding | None) -> dict[str, Any] | None:
    """What the log keeps of an understanding (slots hold Decimals and dicts)."""
    if understanding is None:
        return None
    return {"intent": understanding.intent, "slots": understanding.slots,
            "flags": sorted(understanding.flags), "words": list(understanding.words)}


HandleFn = Callable[[handlers.Turn], Awaitable[Reply]]


class Pipeline:
    def __init__(self, config: Config, db: Database, api: WeChatAPI | None = None,
                 handle: HandleFn = handlers.handle) -> None:
        self.config = config
        self.db = db
        self.api = api
        self.handle = handle
        # How each delivery was resolved (acquired, done, busy, deadline): for operators and tests.
        self.stats: Counter[str] = Counter()
        self.owner = _owner()
        self.services = handlers.Services(db, config.server.public_url, config.server.link_secret,
                                          config.ranking)
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
        try:
            text = await self._compose(inbound, reply)
            plain = text_reply(message, text)
            await self.db.run(dedupe.finish, key, plain)
        finally:
            renewer.cancel()
        await self._log(inbound, reply, text, started, reply.outcome)
        return plain

    # -- handling ----------------------------------------------------------

    async def _handle(self, inbound: Inbound) -> Reply:
        try:
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

    async def _compose(self, inbound: Inbound, reply: Reply) -> str:
        """The reply, preceded by any replies that missed an earlier deadline."""
        if not reply.render():
            return ""
        earlier = await self.db.run(pending.take, inbound.openid, PENDING_BUDGET)
        if not earlier:
            return reply.render()
        prefix = "\n\n".join(earlier)
        return prefix + "\n\n" + reply.render(MAX_REPLY_BYTES - utf8_len(prefix) - 2)

    # -- past the deadline -------------------------------------------------

    async def _finish_late(self, work: asyncio.Task[Reply], inbound: Inbound, started: float,
                           renewer: asyncio.Task[Any]) -> None:
        try:
            reply = await work
        finally:
            renewer.cancel()
        text = reply.render()
        if text and not await self._send_customer_service(inbound, text):
            await self.db.run(pending.add, inbound.openid, f"{PENDING_HEAD}\n{text}")
        await self._log(inbound, reply, text, started, "deadline")

    async def _send_customer_service(self, inbound: Inbound, text: str) -> bool:
        kind = "event" if inbound.is_trigger_event else "message"
        return await self._customer_service(inbound.openid, text, inbound.dedupe_key, kind,
                                            float(inbound.created_at))

    async def _customer_service(self, openid: str, text: str, key: str, kind: str,
                                trigger_at: float) -> bool:
        """Deliver through the customer-service API when it is on and the quota allows."""
        if not (self.config.wechat.customer_service and self.api):
            return False
        if openid.startswith("sim_"):
            return False  # simulated users are never sent to the real platform
        allowed = await self.db.run(quota.take, key, openid, kind, trigger_at, time.time())
        if not allowed:
            return False
        try:
            await self.api.send_text(openid, text)
        except WeChatAPIError as exc:
            log.warning("customer-service send refused (%s): keeping the reply pending", exc.errcode)
            await self.db.run(quota.refund, key)
            return False
        return True

    async def notify_restocks(self) -> int:
        """Tell each buyer waiting for a product, once, that a listing of it is live."""
        told = 0
        for due in await self.db.run(restock.due):
            if not await self.db.run(restock.mark_notified, due.alert_id):
                continue  # another process told them
            price = f"¥{due.price_fen // 100}.{due.price_fen % 100:02d}/{due.unit}"
            text = RESTOCK_TEXT.format(product=due.product, title=due.title, price=price)
            last_seen = await self.db.run(messages.last_seen, due.openid)
            sent = last_seen is not None and await self._customer_service(
                due.openid, text, f"restock:{due.alert_id}", "message", last_seen)
            if not sent:
                await self.db.run(pending.add, due.openid, text)
            told += 1
        return told

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
