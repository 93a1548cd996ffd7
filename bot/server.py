"""The aiohttp application: /wechat and /healthz here; browser pages come from web/."""
from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from bot import protocol
from bot.config import Config
from bot.limits import CappedSite, body_deadline, server_options
from bot.media import MediaStore, media_folder
from bot.outbox import Sender
from bot.pipeline import HandleFn, Pipeline, owner_name
from bot.protocol import MAX_BODY_BYTES, Rejected
from bot.state import STATE, AppState
from bot.wechat_api import WeChatAPI
import web as web_pages
from db import Database, dedupe, limits, listings, messages, quota, schema, users
from db.catalogue import read as read_catalogue
from handlers.notices import notify_restocks
from handlers.order import close_due as close_due_orders
from nlp import segment

log = logging.getLogger("bot.server")
DEMO_CATALOGUE = Path(__file__).resolve().parent.parent / "db" / "demo_catalogue.json"
PRUNE_SECONDS = 60.0
CHECKPOINT_SECONDS = 1.0
# Database threads: the event loop needs the GIL too, and more threads on a core only
# queue for it (issue 13 measured 2 against 1 and 4).
DB_THREADS = 2
STATUS_TEXT = {400: "bad request", 403: "forbidden", 413: "request body too large"}


def create_app(config: Config, db: Database | None = None,
               handle: HandleFn | None = None) -> web.Application:
    """The app; `handle` replaces the root router, for tests that gate its timing."""
    # Leave room above our own limit so we answer 413 ourselves, as plain text.
    app = web.Application(client_max_size=MAX_BODY_BYTES * 4, middlewares=[body_deadline])
    app[STATE] = AppState(config, db or Database(config.db.path, workers=DB_THREADS,
                                                  background_checkpoints=True),
                          owns_db=db is None, handle=handle)
    app.router.add_get("/wechat", verify)
    app.router.add_post("/wechat", receive)
    app.router.add_get("/healthz", healthz)
    web_pages.setup(app, config)
    app.on_startup.append(_startup)
    app.on_cleanup.append(_cleanup)
    return app


async def serve(config: Config, reuse_port: bool = False) -> None:
    """Listen until SIGTERM or SIGINT, then shut down as web.run_app would: stop taking
    connections, let requests in flight finish, run the app's cleanup (which drains)."""
    runner = web.AppRunner(create_app(config), access_log=None, **server_options(config))
    await runner.setup()
    try:
        site = CappedSite(runner, config.server.host, config.server.port,
                          cap=config.limits.max_connections, reuse_port=reuse_port)
        await site.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


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
    state.sender = Sender(state.config, state.db, state.api, owner=owner_name())
    photos = MediaStore(media_folder(state.config.db.path), state.api)
    state.pipeline = Pipeline(state.config, state.db, wake_outbox=state.sender.wake,
                              photos=photos, **({"handle": state.handle} if state.handle else {}))
    await state.db.run(listings.reindex_stale)
    await state.db.run(messages.backfill_index)
    state.sender.start()
    state.tasks.append(asyncio.create_task(_housekeeping(state)))
    if state.db.background_checkpoints:
        state.tasks.append(asyncio.create_task(_checkpoints(state)))
    state.ready = True


async def _cleanup(app: web.Application) -> None:
    state = app[STATE]
    state.ready = False
    for task in state.tasks:
        task.cancel()
    if state.pipeline:
        await state.pipeline.drain()
    if state.sender:  # after the pipeline, so late replies it just queued still go out
        await state.sender.stop()
    if state.api:
        await state.api.close()
    if state.owns_db:
        state.db.close()


async def housekeep(state: AppState) -> None:
    """Drop old keys and quota windows, close overdue orders, tell buyers about restocks."""
    await state.db.run(dedupe.prune, time.time())
    await state.db.run(quota.prune, time.time())
    await state.db.run(limits.prune, time.time(), state.config.limits.window_seconds)
    await state.db.run(users.prune_erasures, time.time())
    await close_due_orders(state.pipeline.services)  # may restock: before restock alerts
    await notify_restocks(state.pipeline.services)


async def _housekeeping(state: AppState) -> None:
    """Every minute, in every process: each step is safe to run concurrently."""
    while True:
        try:
            await housekeep(state)
        except Exception:  # a busy database must not end the loop
            log.exception("housekeeping failed")
        await asyncio.sleep(PRUNE_SECONDS)


async def _checkpoints(state: AppState) -> None:
    """The WAL goes back into the file every second here, off the reply path."""
    while True:
        await asyncio.sleep(CHECKPOINT_SECONDS)
        try:
            await state.db.checkpoint()
        except Exception:  # a busy database must not end the loop
            log.exception("checkpoint failed")


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
    """At most MAX_BODY_BYTES; anything longer is refused before other work.

    bot.limits.body_deadline has read it (within client_max_size) by now."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise Rejected(413, "body too large")
    body = await request.read()
    if len(body) > MAX_BODY_BYTES:
        raise Rejected(413, "body too large")
    return body


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
            state.pipeline.log_rejected(exc.reason, started)
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
