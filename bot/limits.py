"""Limits on what one client may cost: a per-user message rate (its count lives in
db/limits.py, shared by every process) and the HTTP server's time bounds against
slow or idle clients."""
from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from bot.config import Config, LimitsConfig
from bot.state import STATE
from db import Database, limits
from handlers.types import Inbound, Reply

TOO_FAST = "您发得太快了，请稍等一会儿再发～"


async def rate_limited(db: Database, config: LimitsConfig, inbound: Inbound) -> Reply | None:
    """None when the user may go on; else the reply: a polite word once per window,
    then nothing (`success`). Called once per message, after de-duplication, so
    WeChat's retries of a message are not counted again."""
    if config.messages <= 0:
        return None
    verdict = await db.run(limits.count, inbound.openid, time.time(), config.window_seconds,
                           config.messages)
    if verdict == "ok":
        return None
    return Reply(TOO_FAST if verdict == "warn" else "", intent="rate_limited",
                 outcome="rate_limited")


def server_options(config: Config) -> dict[str, Any]:
    """Keyword arguments for web.run_app / web.AppRunner: aiohttp closes a connection
    whose first or next request has not fully arrived within keepalive_timeout."""
    return {"keepalive_timeout": config.limits.idle_seconds}


@web.middleware
async def body_deadline(request: web.Request, handler: Any) -> web.StreamResponse:
    """Read any request body within limits.body_seconds (aiohttp has no such timeout);
    handlers then get it from aiohttp's cache."""
    if request.body_exists:
        seconds = request.app[STATE].config.limits.body_seconds
        try:
            await asyncio.wait_for(request.read(), seconds)
        except TimeoutError:
            return web.Response(status=408, text="request body too slow")
    return await handler(request)

