"""The sender: drains the outbox through the channels the account allows.

For each message, in order: a customer-service message (when enabled, inside the
user's 48-hour window and the platform's quotas), a template message (when
[notify.templates.KIND] is configured), else pending: it leads the user's next
reply. A definite refusal moves on to the next channel; an unknown answer (a
timeout, a dropped connection) goes straight to pending, because the message may
already be on the user's phone and must not go out through the API twice.

This is the only caller of the customer-service and template APIs.
"""
from __future__ import annotations

import asyncio
import logging
import time
from enum import Enum

from bot.config import Config, TemplateConfig
from bot.wechat_api import WeChatAPI, WeChatAPIError
from db import Database, faults, outbox, quota
from db.outbox import Message

log = logging.getLogger("bot.outbox")

LEASE_SECONDS = 60.0  # well past the API client's worst case (three 5 s calls)
POLL_SECONDS = 2.0    # other processes' enqueues are picked up this fast
BATCH = 20


class Outcome(Enum):
    SENT = "sent"
    REFUSED = "refused"    # WeChat said no: try the next channel
    UNKNOWN = "unknown"    # no answer: maybe delivered, so never through the API again
    SKIPPED = "skipped"    # the channel does not apply


def simulated(openid: str) -> bool:
    """The simulator's users and erased users never reach the real platform."""
    return openid.startswith(("sim_", "anon_"))


class Sender:
    def __init__(self, config: Config, db: Database, api: WeChatAPI | None, owner: str,
                 lease_seconds: float = LEASE_SECONDS, poll_seconds: float = POLL_SECONDS) -> None:
        self.config = config
        self.db = db
        self.api = api
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        """Something was enqueued: drain now instead of at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run())

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish what is in hand and what is queued now, then stop.

        A send is never cut off halfway when there is time; past the timeout the
        sender is cancelled and the leases it held expire into pending.
        """
        self._stopping = True
        self._wake.set()
        try:
            if self._task:
                await asyncio.wait_for(self._task, timeout)
            await asyncio.wait_for(self.drain(), timeout)
        except TimeoutError:
            log.warning("outbox not drained at shutdown; its leases will expire into pending")
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.drain()
            except Exception:  # a locked database or a bug must not end the sender
                log.exception("outbox drain failed")
            if self._stopping:
                return
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    async def drain(self) -> int:
        """Deliver everything queued now, a batch at a time; returns how many it tried to
        send (messages no channel can take go pending on the way, uncounted)."""
        handled = 0
        await self.db.run(outbox.expire_leases, time.time())
        reach = outbox.Reach(self.api is not None, self.config.wechat.customer_service,
                             tuple(t.kind for t in self.config.notify.templates))
        while True:
            self._wake.clear()
            batch = await self.db.run(outbox.claim, self.owner, time.time(), self.lease_seconds,
                                      BATCH, reach)
            if not batch:
                return handled
            await asyncio.gather(*(self._deliver(message) for message in batch))
            handled += len(batch)

    # -- one message -------------------------------------------------------

    async def _deliver(self, message: Message) -> None:
        errors: list[str] = []
        for channel, attempt in (("customer_service", self._customer_service),
                                 ("template", self._template)):
            outcome, error = await attempt(message)
            if error:
                errors.append(f"{channel}: {error}")
            if outcome is Outcome.SENT:
                await self.db.run(outbox.mark_sent, message.id, channel, time.time())
                return
            if outcome is Outcome.UNKNOWN:
                break
        await self.db.run(outbox.mark_pending, message.id, self.owner,
                          "; ".join(errors) or None, time.time())

    async def _customer_service(self, message: Message) -> tuple[Outcome, str]:
        if not (self.config.wechat.customer_service and self.api) or simulated(message.openid):
            return Outcome.SKIPPED, ""
        trigger = await self.db.run(quota.take_any, message.openid, time.time())
        if trigger is None:
            return Outcome.SKIPPED, "no open 48 h window or quota left"
        try:
            await self.api.send_text(message.openid, message.text)
        except WeChatAPIError as exc:
            if exc.unknown:
                return Outcome.UNKNOWN, str(exc)
            await self.db.run(quota.refund, trigger)  # refused: it did not count
            return Outcome.REFUSED, str(exc)
        faults.hit("mid_send")
        return Outcome.SENT, ""

    async def _template(self, message: Message) -> tuple[Outcome, str]:
        template = self.config.notify.template(message.kind)
        if template is None or self.api is None or simulated(message.openid):
            return Outcome.SKIPPED, ""
        try:
            data, url = render_template(template, message)
        except (KeyError, ValueError, IndexError) as exc:
            log.error("template for %s cannot be filled: %r", message.kind, exc)
            return Outcome.SKIPPED, f"template fields: {exc!r}"
        try:
            await self.api.send_template(message.openid, template.template_id, data, url)
        except WeChatAPIError as exc:
            return (Outcome.UNKNOWN if exc.unknown else Outcome.REFUSED), str(exc)
        return Outcome.SENT, ""


def render_template(template: TemplateConfig, message: Message) -> tuple[dict[str, str], str]:
    """The template's keys filled from the message's fields ({text} is the message itself)."""
    values = {"text": message.text, **message.fields}
    data = {key: pattern.format_map(values) for key, pattern in template.fields}
    return data, template.url.format_map(values) if template.url else ""
