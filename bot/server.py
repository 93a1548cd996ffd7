"""The aiohttp application: /wechat, /healthz and the ordering-link page."""
from __future__ import annotations

import asyncio
import html
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from bot import protocol
from bot.config import Config
from bot.pipeline import HandleFn, Pipeline
from bot.protocol import MAX_BODY_BYTES, Rejected
from bot.wechat_api import WeChatAPI
from db import Database, dedupe, listings, schema
from db.catalogue import read as read_catalogue
from handlers import links
from nlp import segment

log = logging.getLogger("bot.server")
DEMO_CATALOGUE = Path(__file__).resolve().parent.parent / "db" / "demo_catalogue.json"
PRUNE_SECONDS = 60.0
STATUS_TEXT = {400: "bad request", 403: "forbidden", 413: "request body too large"}


@dataclass
class AppState:
    config: Config
    db: Database
    owns_db: bool
    api: WeChatAPI | None = None
    pipeline: Pipeline | None = None
    handle: HandleFn | None = None
    ready: bool = False
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)


STATE = web.AppKey("state", AppState)


def create_app(config: Config, db: Database | None = None,
               handle: HandleFn | None = None) -> web.Application:
    """The app; `handle` replaces the root router, for tests that gate its timing."""
    # Leave room above our own limit so we answer 413 ourselves, as plain text.
    app = web.Application(client_max_size=MAX_BODY_BYTES * 4)
    app[STATE] = AppState(config, db or Database(config.db.path), owns_db=db is None,
                          handle=handle)
    app.router.add_get("/wechat", verify)
    app.router.add_post("/wechat", receive)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/o/{token}", order_page)
    if config.simulator_on:
        from bot import simulator  # it builds on this module

        simulator.add_routes(app)
    app.on_startup.append(_startup)
    app.on_cleanup.append(_cleanup)
    return app


def load_demo_catalogue(conn: Any) -> int:
    """Fill an empty demo database with the bundled catalogue."""
    if listings.count_live(conn):
        return 0
    return listings.import_rows(conn, read_catalogue(DEMO_CATALOGUE)).created


async def _startup(app: web.Application) -> None:
    state = app[STATE]
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, segment.load)
    await state.db.run(schema.migrate)
    if state.config.demo:
        await state.db.run(load_demo_catalogue)
    wechat = state.config.wechat
    if wechat.app_id and wechat.app_secret:
        state.api = WeChatAPI(state.config, state.db)
    state.pipeline = Pipeline(state.config, state.db, state.api,
                              **({"handle": state.handle} if state.handle else {}))
    await state.db.run(listings.reindex_stale)
    state.tasks.append(asyncio.create_task(_housekeeping(state)))
    state.ready = True


async def _cleanup(app: web.Application) -> None:
    state = app[STATE]
    state.ready = False
    for task in state.tasks:
        task.cancel()
    if state.pipeline:
        await state.pipeline.drain()
    if state.api:
        await state.api.close()
    if state.owns_db:
        state.db.close()


async def _housekeeping(state: AppState) -> None:
    """Every minute: drop old de-duplication keys, tell buyers about restocked goods."""
    while True:
        try:
            await state.db.run(dedupe.prune, time.time())
            await state.pipeline.notify_restocks()
        except Exception:  # a busy database must not end the loop
            log.exception("housekeeping failed")
        await asyncio.sleep(PRUNE_SECONDS)


async def healthz(request: web.Request) -> web.Response:
    if request.app[STATE].ready:
        return web.Response(text="ok")
    return web.Response(status=503, text="starting")


async def verify(request: web.Request) -> web.Response:
    try:
        echo = protocol.verify_get(request.app[STATE].config, dict(request.query))
    except Rejected as exc:
        return web.Response(status=exc.status, text=STATUS_TEXT[exc.status])
    return web.Response(text=echo)


async def _read_body(request: web.Request) -> bytes:
    """Read at most MAX_BODY_BYTES; anything longer is refused before other work."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise Rejected(413, "body too large")
    body = bytearray()
    while chunk := await request.content.read(MAX_BODY_BYTES + 1 - len(body)):
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise Rejected(413, "body too large")
    return bytes(body)


async def receive(request: web.Request) -> web.Response:
    started = time.monotonic()
    try:
        body = await _read_body(request)
    except Rejected as exc:
        return web.Response(status=exc.status, text=STATUS_TEXT[exc.status])
    status, text = await deliver(request.app[STATE], dict(request.query), body, started)
    content_type = "application/xml" if status == 200 and text != "success" else "text/plain"
    return web.Response(status=status, text=text, content_type=content_type)


async def deliver(state: AppState, query: dict[str, str], body: bytes,
                  started: float | None = None) -> tuple[int, str]:
    """Everything /wechat does with a body: verify, decrypt, parse, dedupe, handle, seal.

    The simulator's bridge calls this too, so it can never skip a step.
    """
    started = time.monotonic() if started is None else started
    if len(body) > MAX_BODY_BYTES:
        return 413, STATUS_TEXT[413]
    try:
        envelope = protocol.open_post(state.config, query, body)
        message = protocol.parse(envelope.xml)
    except Rejected as exc:
        if exc.status == 400:
            await state.pipeline.log_rejected(exc.reason, started)
        return exc.status, STATUS_TEXT[exc.status]
    inbound = protocol.to_inbound(message)
    if inbound is None:
        return 200, "success"
    try:
        plain = await state.pipeline.respond(inbound, message, started)
    except Exception:  # never a 500 to the platform: it would only retry
        log.exception("responding failed")
        plain = ""
    return 200, envelope.wrap(plain, query.get("nonce") or str(int(time.time())))


ORDER_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:sans-serif;margin:0;padding:24px;background:#f5f5f5}}
.card{{background:#fff;border-radius:12px;padding:20px;max-width:480px;margin:auto}}
h1{{font-size:20px}} .price{{color:#e4393c;font-size:22px}} .muted{{color:#888}}</style>
</head><body><div class="card">{body}</div></body></html>"""


def _page(title: str, body: str, status: int = 200) -> web.Response:
    text = ORDER_PAGE.format(title=html.escape(title), body=body)
    return web.Response(status=status, text=text, content_type="text/html")


async def order_page(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        claims = links.verify(state.config.server.link_secret, request.match_info["token"],
                              time.time())
    except links.InvalidLink as exc:
        return _page("链接无效", f"<h1>{html.escape(str(exc))}</h1>", status=400)
    offer = await state.db.run(listings.get, claims.listing_id)
    if offer is None or offer.status != "live":
        return _page("商品已下架", "<h1>这个商品已下架</h1><p>回到公众号看看别的好货吧。</p>", 404)
    price = f"¥{offer.price_fen / 100:.2f}/{html.escape(offer.unit)}"
    body = (
        f"<h1>{html.escape(offer.title)}</h1><p class='price'>{price}</p>"
        f"<p>产地：{html.escape(offer.origin)}</p><p>卖家：{html.escape(offer.seller)}</p>"
        f"<p>库存：{offer.stock}</p>"
        "<p class='muted'>在线下单即将上线。请回到公众号继续咨询。</p>"
    )
    return _page(offer.title, body)
