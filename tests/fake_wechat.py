"""A fake WeChat API on 127.0.0.1: the only part of the world tests fake."""
from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


class FakeWeChat:
    """Issues stable tokens, records customer-service messages and menus.

    Script failures with `fail(path, errcode, times)`; expire the current token
    with `expire_token()`.
    """

    def __init__(self, app_id: str = "wx1234567890abcdef", secret: str = "test-secret") -> None:
        self.app_id, self.secret = app_id, secret
        self.token_number = 0
        self.valid_token: str | None = None
        self.token_requests = 0
        self.force_requests = 0
        self.sent: list[dict[str, Any]] = []
        self.menus: list[dict[str, Any]] = []
        self.calls: dict[str, int] = defaultdict(int)
        self._failures: dict[str, deque[int]] = defaultdict(deque)
        app = web.Application()
        app.router.add_post("/cgi-bin/stable_token", self._stable_token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        app.router.add_post("/cgi-bin/menu/create", self._menu_create)
        self.server = TestServer(app, host="127.0.0.1")

    async def start(self) -> FakeWeChat:
        await self.server.start_server()
        return self

    async def close(self) -> None:
        await self.server.close()

    @property
    def api_base(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def fail(self, path: str, errcode: int, times: int = 1) -> None:
        self._failures[path].extend([errcode] * times)

    def expire_token(self) -> None:
        self.valid_token = None

    def _new_token(self) -> str:
        self.token_number += 1
        self.valid_token = f"TOKEN-{self.token_number}"
        return self.valid_token

    async def _stable_token(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.token_requests += 1
        if (body.get("appid"), body.get("secret")) != (self.app_id, self.secret):
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        if body.get("force_refresh"):
            self.force_requests += 1
            token = self._new_token()
        else:
            token = self.valid_token or self._new_token()
        return web.json_response({"access_token": token, "expires_in": 7200})

    def _refusal(self, request: web.Request, path: str) -> web.Response | None:
        self.calls[path] += 1
        if self._failures[path]:
            code = self._failures[path].popleft()
            return web.json_response({"errcode": code, "errmsg": f"scripted {code}"})
        if request.query.get("access_token") != self.valid_token:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        return None

    async def _custom_send(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request, "message/custom/send")
        if refusal:
            return refusal
        self.sent.append(await request.json())
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _menu_create(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request, "menu/create")
        if refusal:
            return refusal
        self.menus.append(await request.json())
        return web.json_response({"errcode": 0, "errmsg": "ok"})
