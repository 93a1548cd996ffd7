"""A fake WeChat API on 127.0.0.1: the only part of the world tests fake.

    fake = await FakeWeChat().start()        # or: async with FakeWeChat() as fake:
    config ... api_base = fake.api_base      # "http://127.0.0.1:PORT"
    fake.fail("message/custom/send", 45047)  # next call of that path answers errcode 45047
    fake.expire_token()                      # the current token now answers 42001
    fake.break_token()                       # 40001 until the client forces a refresh
    fake.answer_garbage(path); fake.hang(path)  # non-JSON answer; no answer until close()
    fake.delay = 0.05                        # every send answers this much later
    fake.sent, fake.templates, fake.menus, fake.calls[path], fake.token_requests, fake.force_requests,
    fake.requests  # [(path, content type, raw body)] in arrival order
    await fake.close()

Paths are written without "/cgi-bin/": "stable_token", "message/custom/send",
"message/template/send", "menu/create", "media/get".

    fake.add_media("MEDIA_ID", jpeg_bytes)   # GET media/get answers these bytes;
                                             # an unknown id answers errcode 40007
"""
from __future__ import annotations

import asyncio
import json
from collections import defaultdict, deque
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

GARBAGE = "garbage"  # scripted: answer an HTML error page instead of JSON
HANG = "hang"        # scripted: never answer (until close), to exercise client timeouts


class FakeWeChat:
    """Issues stable tokens TOKEN-1, TOKEN-2..., records customer-service messages and menus."""

    def __init__(self, app_id: str = "wx1234567890abcdef", secret: str = "test-secret",
                 expires_in: int = 7200) -> None:
        self.app_id, self.secret, self.expires_in = app_id, secret, expires_in
        self.token_number = 0
        self.valid_token: str | None = None
        self.broken_token: str | None = None
        self.token_requests = 0   # every stable_token request, forced or not
        self.force_requests = 0   # those with force_refresh: true
        self.sent: list[dict[str, Any]] = []    # accepted customer-service messages
        self.templates: list[dict[str, Any]] = []  # accepted template messages
        self.delay = 0.0                        # seconds before a send answers
        self.menus: list[dict[str, Any]] = []   # accepted menu/create bodies
        self.media: dict[str, tuple[bytes, str]] = {}  # media_id -> (bytes, content type)
        self.calls: dict[str, int] = defaultdict(int)            # requests per path
        self.requests: list[tuple[str, str, str]] = []           # (path, content type, raw body)
        self._scripts: dict[str, deque[int | str]] = defaultdict(deque)
        self._release = asyncio.Event()
        app = web.Application()
        for path, handler in (("stable_token", self._stable_token),
                              ("message/custom/send", self._custom_send),
                              ("message/template/send", self._template_send),
                              ("menu/create", self._menu_create)):
            app.router.add_post(f"/cgi-bin/{path}", self._endpoint(path, handler))
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        self.server = TestServer(app, host="127.0.0.1")  # port 0: a random free port

    async def start(self) -> FakeWeChat:
        await self.server.start_server()
        return self

    async def close(self) -> None:
        self._release.set()  # let hanging handlers finish so the server can stop
        await self.server.close()

    async def __aenter__(self) -> FakeWeChat:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def api_base(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    # -- scripting ---------------------------------------------------------

    def fail(self, path: str, errcode: int, times: int = 1) -> None:
        """The next `times` calls of `path` answer {"errcode": errcode} and do nothing else."""
        self._scripts[path].extend([errcode] * times)

    def answer_garbage(self, path: str, times: int = 1) -> None:
        self._scripts[path].extend([GARBAGE] * times)

    def hang(self, path: str, times: int = 1) -> None:
        self._scripts[path].extend([HANG] * times)

    def add_media(self, media_id: str, body: bytes, content_type: str = "image/jpeg") -> None:
        self.media[media_id] = (body, content_type)

    def break_token(self) -> None:
        """Normal fetches keep handing out the current token but calls with it get 40001;
        only a force_refresh gets out (the case force_refresh exists for)."""
        self.broken_token = self.valid_token

    def expire_token(self) -> None:
        """The current token stops working (42001); the next normal fetch issues a new one."""
        self.valid_token = None

    # -- endpoints ---------------------------------------------------------

    def _endpoint(self, path: str, handler: Any) -> Any:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            raw = await request.text()
            self.calls[path] += 1
            self.requests.append((path, request.headers.get("Content-Type", ""), raw))
            scripted = await self._scripted(path)
            if scripted is not None:
                return scripted
            return await handler(request, json.loads(raw))
        return endpoint

    async def _scripted(self, path: str) -> web.Response | None:
        if not self._scripts[path]:
            return None
        action = self._scripts[path].popleft()
        if action == HANG:
            await self._release.wait()
        if action in (HANG, GARBAGE):
            return web.Response(status=502, text="<html>502 Bad Gateway</html>",
                                content_type="text/html")
        return web.json_response({"errcode": action, "errmsg": f"scripted {action}"})

    async def _stable_token(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        self.token_requests += 1
        if body.get("grant_type") != "client_credential":
            return _answer(40002, "invalid grant_type")
        if (body.get("appid"), body.get("secret")) != (self.app_id, self.secret):
            return _answer(40125, "invalid appsecret")
        if body.get("force_refresh") is True:
            self.force_requests += 1
            token = self._new_token()
        else:
            token = self.valid_token or self._new_token()  # normal mode reuses the live token
        return web.json_response({"access_token": token, "expires_in": self.expires_in})

    def _new_token(self) -> str:
        self.token_number += 1
        self.valid_token = f"TOKEN-{self.token_number}"
        return self.valid_token

    def _token_refusal(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token", "")
        if token == self.valid_token and token != self.broken_token:
            return None
        if token != self.valid_token and token in self._issued():
            return _answer(42001, "access_token expired")  # one we issued, since replaced
        return _answer(40001, "invalid credential")

    def _issued(self) -> set[str]:
        return {f"TOKEN-{n}" for n in range(1, self.token_number + 1)}

    async def _custom_send(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        refusal = self._token_refusal(request)
        if refusal:
            return refusal
        if self.delay:
            await asyncio.sleep(self.delay)
        self.sent.append(body)
        return _answer(0, "ok")

    async def _template_send(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        refusal = self._token_refusal(request)
        if refusal:
            return refusal
        if self.delay:
            await asyncio.sleep(self.delay)
        if not body.get("template_id") or not isinstance(body.get("data"), dict):
            return _answer(47003, "argument invalid")
        self.templates.append(body)
        return _answer(0, "ok")

    async def _media_get(self, request: web.Request) -> web.StreamResponse:
        """Raw bytes on success, a JSON errcode on failure: the real API's two shapes."""
        self.calls["media/get"] += 1
        self.requests.append(("media/get", "", request.query_string))
        scripted = await self._scripted("media/get")
        if scripted is not None:
            return scripted
        refusal = self._token_refusal(request)
        if refusal:
            return refusal
        found = self.media.get(request.query.get("media_id", ""))
        if found is None:
            return _answer(40007, "invalid media_id")
        body, content_type = found
        return web.Response(body=body, content_type=content_type)

    async def _menu_create(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        refusal = self._token_refusal(request)
        if refusal:
            return refusal
        self.menus.append(body)
        return _answer(0, "ok")


def _answer(errcode: int, errmsg: str) -> web.Response:
    return web.json_response({"errcode": errcode, "errmsg": errmsg})
