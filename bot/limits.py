"""Limits on what one client may cost: a per-user message rate (its count lives in
db/limits.py, shared by every process) and the HTTP server's time bounds against
slow or idle clients."""
from __future__ import annotations

import asyncio
import time
from typing import Any, cast

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
    return reply_for(verdict)


def reply_for(verdict: str) -> Reply | None:
    """What a rate-limit verdict (db.limits.count) answers: None lets the message on."""
    if verdict == "ok":
        return None
    return Reply(TOO_FAST if verdict == "warn" else "", intent="rate_limited",
                 outcome="rate_limited")


def server_options(config: Config) -> dict[str, Any]:
    """Keyword arguments for web.run_app / web.AppRunner: aiohttp closes a connection
    whose first or next request has not fully arrived within keepalive_timeout."""
    return {"keepalive_timeout": config.limits.idle_seconds}


BUSY_RESPONSE = (b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n"
                 b"Content-Type: text/plain\r\nContent-Length: 4\r\n\r\nbusy")


class ConnectionGate(asyncio.Protocol):
    """Admits a new connection to aiohttp's handler only while fewer than `cap` are open;
    past it the client gets 503 and is closed. The count is taken when the connection is
    made, not when it is accepted: asyncio accepts a burst before any of it is made, and
    aiohttp registers each connection synchronously in connection_made."""

    def __init__(self, server: web.Server, cap: int) -> None:
        self.server = server
        self.cap = cap

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        stream = cast(asyncio.Transport, transport)
        if len(self.server.connections) >= self.cap:
            stream.write(BUSY_RESPONSE)
            stream.close()
            return
        handler = self.server()
        stream.set_protocol(handler)
        handler.connection_made(stream)


class CappedSite(web.TCPSite):
    """A TCP site whose connections pass through a ConnectionGate (aiohttp has no cap)."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, cap: int,
                 reuse_port: bool = False, backlog: int = 128) -> None:
        super().__init__(runner, host, port, reuse_port=reuse_port, backlog=backlog)
        self.cap = cap

    async def start(self) -> None:
        self._runner._reg_site(self)  # what BaseSite.start does; TCPSite's own is replaced
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            lambda: ConnectionGate(server, self.cap), self._host, self._port,
            backlog=self._backlog, reuse_port=self._reuse_port)
        self._bound_port = self._server.sockets[0].getsockname()[1]


@web.middleware
async def body_deadline(request: web.Request, handler: Any) -> web.StreamResponse:
    """Read any request body within limits.body_seconds (aiohttp has no such timeout);
    handlers then get it from aiohttp's cache."""
    if request.body_exists and not request.content.is_eof():  # not all there yet
        seconds = request.app[STATE].config.limits.body_seconds
        try:
            await asyncio.wait_for(request.read(), seconds)
        except TimeoutError:
            return web.Response(status=408, text="request body too slow")
    return await handler(request)

