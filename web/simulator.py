"""The browser simulator: a WeChat-style page plus a bridge that turns the page's
messages into signed (and, with a key, encrypted) XML for the real webhook path.
"""
from __future__ import annotations

import ipaddress
import json
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot import wire
from bot.server import deliver
from bot.state import STATE, AppState
from bot.pipeline import shown_text
from db import outbox

STATIC = Path(__file__).parent / "static"
FILES = {"simulator.css": "text/css", "simulator.js": "application/javascript"}
SIM_OPENID = re.compile(r"^sim_[A-Za-z0-9_-]{1,40}$")
MAX_REQUEST_BYTES = 8 * 1024
MAX_TEXT_CHARS = 600
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_routes(app: web.Application) -> None:
    app.router.add_get("/simulator", _guarded(page))
    app.router.add_get("/simulator/static/{name}", _guarded(static))
    app.router.add_post("/simulator/api/send", _guarded(send))
    app.router.add_get("/simulator/api/poll", _guarded(poll))


def is_loopback(peer: str | None) -> bool:
    try:
        return peer is not None and ipaddress.ip_address(peer.split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        config = request.app[STATE].config
        if not config.simulator.allow_remote and not is_loopback(request.remote):
            return web.Response(status=403, text="模拟器只对本机开放（simulator.allow_remote = false）",
                                content_type="text/plain", charset="utf-8")
        return await handler(request)
    return guarded


async def page(request: web.Request) -> web.Response:
    response = aiohttp_jinja2.render_template("simulator.html", request, {
        "menu": request.app[STATE].config.menu.buttons})
    response.headers["Cache-Control"] = "no-store"
    return response


async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in FILES:
        raise web.HTTPNotFound()
    return web.FileResponse(STATIC / name, headers={
        "Content-Type": f"{FILES[name]}; charset=utf-8", "Cache-Control": "no-store"})


class BadRequest(Exception):
    """A message from the page we cannot turn into WeChat XML; the text is shown."""


def _fail(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status,
                             dumps=lambda data: json.dumps(data, ensure_ascii=False))


def _openid(value: Any) -> str:
    if not isinstance(value, str) or not SIM_OPENID.match(value):
        raise BadRequest("openid 必须以 sim_ 开头（模拟用户不会是真实用户）")
    return value


def to_xml(data: dict[str, Any]) -> tuple[str, str]:
    """The XML WeChat would send for one action of the page, with a fresh MsgId."""
    openid = _openid(data.get("openid"))
    kind = data.get("kind")
    text = data.get("text", "")
    if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
        raise BadRequest(f"文字最多 {MAX_TEXT_CHARS} 字")
    if kind == "text":
        if not text.strip():
            raise BadRequest("请输入文字")
        return openid, wire.text_xml(openid, text)
    if kind == "voice":
        return openid, wire.voice_xml(openid, text)
    if kind == "click":
        key = data.get("key")
        if not isinstance(key, str) or not re.fullmatch(r"[A-Z_]{1,32}", key):
            raise BadRequest("菜单键无效")
        return openid, wire.event_xml(openid, "CLICK", key)
    if kind == "subscribe":
        return openid, wire.event_xml(openid, "subscribe", "")
    raise BadRequest("不认识的消息类型")


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()  # bot.limits.body_deadline read it in time (client_max_size)
    if len(raw) > MAX_REQUEST_BYTES:
        raise BadRequest("消息太长")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("请求不是 JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("请求不是 JSON 对象")
    return data


async def send(request: web.Request) -> web.Response:
    """The bridge: page action → sealed XML → the webhook path → decrypted reply."""
    state: AppState = request.app[STATE]
    try:
        openid, xml = to_xml(await _json_body(request))
    except BadRequest as exc:
        return _fail(400, str(exc))
    query, body = wire.seal(state.config, xml, openid)
    status, text = await deliver(state, query, body)
    if status != 200:
        return _fail(502, f"公众号接口返回 {status}")
    content = wire.open_reply(state.config, text).get("Content", "")
    return web.json_response({"replies": [content] if content else []},
                             dumps=lambda data: json.dumps(data, ensure_ascii=False))


async def poll(request: web.Request) -> web.Response:
    """Replies that arrived late (past the deadline) for a simulated user."""
    state: AppState = request.app[STATE]
    try:
        openid = _openid(request.query.get("openid"))
    except BadRequest as exc:
        return _fail(400, str(exc))
    waiting = await state.db.run(outbox.take_pending, openid, time.time())
    replies = [shown_text(message) for message in waiting]
    return web.json_response({"replies": replies},
                             dumps=lambda data: json.dumps(data, ensure_ascii=False))
