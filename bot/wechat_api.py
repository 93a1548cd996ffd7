"""The outbound WeChat API client: stable access token, customer-service text, menu.

Tokens come from /cgi-bin/stable_token in normal mode, which hands every caller
the same token while it is valid, so several processes never invalidate each
other's. force_refresh is rationed through SQLite: the platform allows 20 a day.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from typing import Any

import aiohttp

from bot.config import Config
from db import Database, meta, transaction

log = logging.getLogger("bot.wechat_api")

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
LOGGED_NOT_RETRIED = frozenset({45015, 45047})
FORCE_REFRESH_GAP_SECONDS = 30.0
EARLY_REFRESH_SECONDS = 300
TIMEOUT = aiohttp.ClientTimeout(total=5)


class WeChatAPIError(Exception):
    def __init__(self, errcode: int, errmsg: str = "") -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


def claim_force_refresh(conn: Any, now: float) -> bool:
    """True for at most one caller per gap, across every process on this database."""
    with transaction(conn):
        last = float(meta.get(conn, "force_refresh_at") or 0)
        if now - last < FORCE_REFRESH_GAP_SECONDS:
            return False
        meta.put(conn, "force_refresh_at", repr(now))
        return True


class WeChatAPI:
    def __init__(self, config: Config, db: Database,
                 session: aiohttp.ClientSession | None = None) -> None:
        self.config = config
        self.db = db
        self._session = session
        self._owns_session = session is None
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    @property
    def base(self) -> str:
        return self.config.wechat.api_base.rstrip("/") + "/cgi-bin"

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._session

    async def _post(self, url: str, payload: dict[str, Any],
                    params: dict[str, str] | None = None) -> dict[str, Any]:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        try:
            async with self._http().post(url, data=body, params=params, headers=headers,
                                         timeout=TIMEOUT) as response:
                text = await response.text()
            data = json.loads(text)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise WeChatAPIError(-1, f"{type(exc).__name__} calling {url}") from None
        if not isinstance(data, dict):
            raise WeChatAPIError(-1, f"unexpected answer from {url}")
        return data

    # -- access token ------------------------------------------------------

    async def access_token(self, force: bool = False, stale: str | None = None) -> str:
        """The cached token; one refresh at a time, and callers that waited reuse it."""
        async with self._lock:
            fresh = self._token and self._token != stale and time.time() < self._expires_at
            if fresh and not force:
                return self._token  # type: ignore[return-value]
            await self._fetch_token(force)
            return self._token  # type: ignore[return-value]

    async def _fetch_token(self, force: bool) -> None:
        wechat = self.config.wechat
        data = await self._post(f"{self.base}/stable_token", {
            "grant_type": "client_credential", "appid": wechat.app_id,
            "secret": wechat.app_secret, "force_refresh": force})
        if "access_token" not in data:
            raise WeChatAPIError(int(data.get("errcode", -1)), str(data.get("errmsg", "")))
        self._token = str(data["access_token"])
        lifetime = int(data.get("expires_in", 7200))
        self._expires_at = time.time() + max(lifetime - EARLY_REFRESH_SECONDS, 60)

    # -- calls -------------------------------------------------------------

    async def call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST with the token; refetch on a token error, force a refresh only as a last step."""
        token = await self.access_token()
        data = await self._authorised(path, payload, token)
        if self._errcode(data) in TOKEN_ERRORS:
            token = await self.access_token(stale=token)
            data = await self._authorised(path, payload, token)
        if self._errcode(data) in TOKEN_ERRORS:
            if await self.db.run(claim_force_refresh, time.time()):
                token = await self.access_token(force=True)
                data = await self._authorised(path, payload, token)
        return self._checked(path, data)

    async def _authorised(self, path: str, payload: dict[str, Any], token: str) -> dict[str, Any]:
        return await self._post(f"{self.base}/{path.lstrip('/')}", payload,
                                params={"access_token": token})

    @staticmethod
    def _errcode(data: dict[str, Any]) -> int:
        try:
            return int(data.get("errcode", 0))
        except (TypeError, ValueError):
            return -1

    def _checked(self, path: str, data: dict[str, Any]) -> dict[str, Any]:
        code = self._errcode(data)
        if code == 0:
            return data
        message = str(data.get("errmsg", ""))
        if code in LOGGED_NOT_RETRIED:
            log.warning("%s refused with %s (%s); not retried", path, code, message)
        raise WeChatAPIError(code, message)

    async def send_text(self, openid: str, content: str) -> None:
        """A customer-service text message."""
        await self.call("message/custom/send",
                        {"touser": openid, "msgtype": "text", "text": {"content": content}})

    async def create_menu(self, buttons: Iterable[dict[str, str]]) -> None:
        await self.call("menu/create", {"button": [
            {"type": "click", "name": button["name"], "key": button["key"]} for button in buttons]})
