"""Who may use the console: login, logout, sessions, CSRF and the client's address.

Every console route is registered through `guard`, which refuses anyone without a
live session (GET: to the login page; anything else: 401), checks the CSRF token of
every POST, and refuses viewers on admin-only routes.
"""
from __future__ import annotations

import functools
import hmac
import ipaddress
import math
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from aiohttp import web

from bot.state import STATE
from db import operators
from db.operators import Session
from web.admin.common import SESSION, redirect, refuse, render

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SESSION_COOKIE = "nh_console"
LOGIN_COOKIE = "nh_console_login"   # double-submit token of the login form
COOKIE_PATH = "/admin"
LOGIN_PATH = "/admin/login"
HOME = "/admin"
MAX_NAME = 64


# -- the client's address ----------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _networks(trusted: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in trusted)


def _is_trusted(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
                ) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: web.Request) -> str:
    """The peer's address, or, when the peer is a trusted proxy, the nearest address in
    X-Forwarded-For that is not itself a trusted proxy. Nobody else's header is believed."""
    peer = request.remote or ""
    networks = _networks(request.app[STATE].config.server.trusted_proxies)
    if not networks or not _is_trusted(peer, networks):
        return peer
    hops = [hop.strip() for header in request.headers.getall("X-Forwarded-For", ())
            for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, networks):
            return hop[:64]
    return hops[0][:64] if hops else peer


# -- sessions ------------------------------------------------------------------------

def _secure(request: web.Request) -> bool:
    return request.app[STATE].config.server.public_url.lower().startswith("https://")


def _set_cookie(request: web.Request, response: web.StreamResponse, name: str,
                value: str) -> None:
    response.set_cookie(name, value, path=COOKIE_PATH, httponly=True, samesite="Strict",
                        secure=_secure(request) or None)


async def current_session(request: web.Request) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 128:
        return None
    return await request.app[STATE].db.run(operators.session, token)


def _same_origin(request: web.Request) -> bool:
    """Browsers send Origin on POST; when present it must be this host."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return origin != "null" and urlsplit(origin).netloc == request.host


def _tokens_match(given: object, expected: str | None) -> bool:
    return (isinstance(given, str) and bool(expected)
            and hmac.compare_digest(given.encode(), (expected or "").encode()))


def guard(handler: Handler, role: str = "viewer") -> Handler:
    """Wrap a console handler: a session, a valid CSRF token on POST, and the role."""
    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        session = await current_session(request)
        if session is None:
            if request.method in ("GET", "HEAD"):
                location = f"{LOGIN_PATH}?next={quote(request.path_qs, safe='')}"
                return redirect(location)
            return refuse(request, 401, "请先登录。")
        request[SESSION] = session
        if request.method not in ("GET", "HEAD"):
            form = await request.post()
            if not (_same_origin(request) and _tokens_match(form.get("csrf"), session.csrf)):
                return refuse(request, 403, "页面已过期或来源不明（CSRF 校验失败），请刷新后再试。")
        if role == "admin" and not session.operator.is_admin:
            return refuse(request, 403, "这个操作需要管理员权限。")
        return await handler(request)

    guarded.console_role = role  # type: ignore[attr-defined]
    return guarded


# -- login and logout ------------------------------------------------------------------

def _next_path(value: object) -> str:
    """Only a path inside the console: never an open redirect."""
    if isinstance(value, str) and value.startswith("/admin") and "//" not in value \
            and "\\" not in value and len(value) < 2000:
        return value
    return HOME


def _login_page(request: web.Request, error: str = "", status: int = 200, name: str = "",
                next_path: str = HOME) -> web.Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "admin/login.html", {
        "error": error, "name": name, "login_token": token, "next": next_path}, status)
    _set_cookie(request, response, LOGIN_COOKIE, token)
    return response


async def login_page(request: web.Request) -> web.StreamResponse:
    if await current_session(request):
        return redirect(_next_path(request.query.get("next")))
    return _login_page(request, next_path=_next_path(request.query.get("next")))


async def login(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    form = await request.post()
    next_path = _next_path(form.get("next"))
    name = str(form.get("name") or "").strip()[:MAX_NAME]
    password = str(form.get("password") or "")
    if not (_same_origin(request)
            and _tokens_match(form.get("login_token"), request.cookies.get(LOGIN_COOKIE))):
        return _login_page(request, "页面已过期，请重新登录。", 403, name, next_path)
    client = client_address(request)
    attempt = await state.db.run(operators.begin_attempt, client, name)
    if attempt.wait > 0:
        minutes = max(1, math.ceil(attempt.wait / 60))
        response = _login_page(request, f"登录失败次数太多，请 {minutes} 分钟后再试。", 429,
                               name, next_path)
        response.headers["Retry-After"] = str(math.ceil(attempt.wait))
        return response
    operator = await state.db.run(operators.authenticate, name, password)
    if operator is None:
        return _login_page(request, "用户名或密码不对。", 401, name, next_path)
    await state.db.run(operators.succeeded, attempt, name)
    token, _ = await state.db.run(operators.open_session, operator, client)
    response = redirect(next_path)
    _set_cookie(request, response, SESSION_COOKIE, token)
    response.del_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(SESSION_COOKIE, "")
    await request.app[STATE].db.run(operators.close_session, token)
    response = redirect(LOGIN_PATH)
    response.del_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response
