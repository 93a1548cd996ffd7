"""The outbound WeChat API client: stable access token, customer-service text, menu.

Tokens come from /cgi-bin/stable_token in normal mode, which hands every caller
the same token while it is valid, so several processes never invalidate each
other's. force_refresh does invalidate them and the platform allows only 20 a
day, so it is the last resort and is rationed through SQLite across processes.
"""
from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Iterable
from time import monotonic
from typing import Any

import aiohttp

from bot.config import Config
from db import Database, meta, transaction

log = logging.getLogger("bot.wechat_api")

TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid, malformed, expired token
# Reply window over, customer-service quota, not following, bad openid: logged, never retried.
LOGGED_NOT_RETRIED = frozenset({45015, 45047, 43004, 40003})
NETWORK_ERROR = -1
FORCE_REFRESH_KEY = "force_refresh_at"
FORCE_REFRESH_GAP_SECONDS = 30.0
EARLY_REFRESH_SECONDS = 300
TIMEOUT = aiohttp.ClientTimeout(total=5)


class MediaTooLarge(Exception):
    """A media file over the caller's limit; reading stopped there."""


class WeChatAPIError(Exception):
    """A refusal or failure. `unknown` is set when the request may have reached WeChat
    but no answer came back (a timeout, a dropped connection, a garbled answer): the
    message may or may not have been delivered, so it must not be sent again."""

    def __init__(self, errcode: int, errmsg: str = "", unknown: bool = False) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.unknown = unknown


def claim_force_refresh(conn: sqlite3.Connection, now: float) -> bool:
    """True for at most one caller per gap, across every process on this database."""
    with transaction(conn):  # BEGIN IMMEDIATE: the check and the set cannot interleave
        last = float(meta.get(conn, FORCE_REFRESH_KEY) or 0)
        # A stamp in the future means the wall clock went back; do not let it block for hours.
        if 0 <= now - last < FORCE_REFRESH_GAP_SECONDS:
            return False
        meta.put(conn, FORCE_REFRESH_KEY, repr(now))
        return True


def errcode_of(data: dict[str, Any]) -> int:
    """The answer's errcode; a missing one means success, a garbled one a bad answer."""
    try:
        return int(data.get("errcode", 0))
    except (TypeError, ValueError):
        return NETWORK_ERROR


def lifetime_of(data: dict[str, Any]) -> float:
    """expires_in in seconds; the documented 7200 when it is missing or garbled."""
    try:
        return max(float(data.get("expires_in") or 7200), 0.0)
    except (TypeError, ValueError):
        return 7200.0


class WeChatAPI:
    def __init__(self, config: Config, db: Database,
                 session: aiohttp.ClientSession | None = None) -> None:
        self.config = config
        self.db = db
        self._session = session
        self._owns_session = session is None
        self._token: str | None = None
        self._generation = 0  # bumped on every fetch
        self._expires_at = 0.0  # monotonic, so wall-clock jumps do not keep a dead token
        self._lock = asyncio.Lock()

    @property
    def base(self) -> str:
        return self.config.wechat.api_base.rstrip("/") + "/cgi-bin"

    async def close(self) -> None:
        """Close the session only if we made it; a caller's session is the caller's."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        # Created lazily: a ClientSession wants a running loop, __init__ may not have one.
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._session

    async def _post(self, url: str, payload: dict[str, Any],
                    params: dict[str, str] | None = None) -> dict[str, Any]:
        """POST JSON; every transport or format failure becomes errcode -1."""
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        try:
            # timeout here too: a caller's session may have none.
            async with self._http().post(url, data=body, params=params, headers=headers,
                                         timeout=TIMEOUT) as response:
                data = json.loads(await response.read())
        except aiohttp.ClientConnectorError as exc:  # never connected: nothing was sent
            raise WeChatAPIError(NETWORK_ERROR, f"{type(exc).__name__} calling {url}") from None
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise WeChatAPIError(NETWORK_ERROR, f"{type(exc).__name__} calling {url}",
                                 unknown=True) from None
        if not isinstance(data, dict):
            raise WeChatAPIError(NETWORK_ERROR, f"unexpected answer from {url}", unknown=True)
        return data

    # -- access token ------------------------------------------------------

    async def access_token(self) -> str:
        """The cached token, fetched in normal mode when missing or about to expire."""
        token, _ = await self._current_token()
        return token

    async def _current_token(self, refused: int | None = None) -> tuple[str, int]:
        """(token, generation); `refused` is the generation of a token the API refused.

        One refresh at a time: callers that waited on the lock see the generation
        moved on and reuse the new token instead of fetching again. Generations,
        not token strings, because a normal refetch may hand back the same string.
        """
        async with self._lock:
            if refused == self._generation:
                self._token = None
            if not self._fresh():
                await self._fetch_token(force=False)
            return self._token, self._generation  # type: ignore[return-value]

    async def _forced_token(self, refused: int) -> tuple[str, int] | None:
        """A token replacing generation `refused` via force_refresh; None when rationed out."""
        async with self._lock:
            if self._fresh() and self._generation != refused:
                return self._token, self._generation  # type: ignore[return-value]
            if not await self.db.run(claim_force_refresh, time.time()):
                return None
            log.warning("token still refused after a normal refetch; forcing a refresh")
            await self._fetch_token(force=True)
            return self._token, self._generation  # type: ignore[return-value]

    def _fresh(self) -> bool:
        return self._token is not None and monotonic() < self._expires_at

    async def _fetch_token(self, force: bool) -> None:
        wechat = self.config.wechat
        try:
            data = await self._post(f"{self.base}/stable_token", {
                "grant_type": "client_credential", "appid": wechat.app_id,
                "secret": wechat.app_secret, "force_refresh": force})
        except WeChatAPIError as exc:  # no message went out while we had no token
            raise WeChatAPIError(exc.errcode, exc.errmsg) from None
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            code = errcode_of(data) or NETWORK_ERROR
            raise WeChatAPIError(code, str(data.get("errmsg", "no access_token in answer")))
        lifetime = lifetime_of(data)
        # Refresh a few minutes early so a token never dies between our check and WeChat's.
        self._token = token
        self._generation += 1
        self._expires_at = monotonic() + max(lifetime - EARLY_REFRESH_SECONDS, lifetime / 2)

    # -- calls -------------------------------------------------------------

    async def call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST with the token: refetch on a token error, force a refresh only as a last step."""
        token, generation = await self._current_token()
        data = await self._authorised(path, payload, token)
        if errcode_of(data) in TOKEN_ERRORS:
            token, generation = await self._current_token(refused=generation)
            data = await self._authorised(path, payload, token)
        if errcode_of(data) in TOKEN_ERRORS:
            forced = await self._forced_token(refused=generation)
            if forced is not None:
                data = await self._authorised(path, payload, forced[0])
        return self._checked(path, data)

    async def _authorised(self, path: str, payload: dict[str, Any], token: str) -> dict[str, Any]:
        return await self._post(f"{self.base}/{path.lstrip('/')}", payload,
                                params={"access_token": token})

    @staticmethod
    def _checked(path: str, data: dict[str, Any]) -> dict[str, Any]:
        code = errcode_of(data)
        if code == 0:
            return data
        message = str(data.get("errmsg", ""))
        if code == NETWORK_ERROR:  # a garbled errcode: what happened is not known
            raise WeChatAPIError(code, message or "garbled errcode", unknown=True)
        if code in LOGGED_NOT_RETRIED:
            log.warning("%s refused with %s (%s); not retried", path, code, message)
        raise WeChatAPIError(code, message)

    async def send_text(self, openid: str, content: str) -> None:
        """A customer-service text message (only inside the 48 h window after the user wrote)."""
        await self.call("message/custom/send",
                        {"touser": openid, "msgtype": "text", "text": {"content": content}})

    async def send_template(self, openid: str, template_id: str, data: dict[str, str],
                            url: str = "") -> None:
        """A template message: no 48 h window, but only templates the account has chosen."""
        payload: dict[str, Any] = {"touser": openid, "template_id": template_id,
                                   "data": {key: {"value": value} for key, value in data.items()}}
        if url:
            payload["url"] = url
        await self.call("message/template/send", payload)

    async def create_menu(self, buttons: Iterable[dict[str, str]]) -> None:
        """Replace the account's menu with one click button per {name, key}."""
        await self.call("menu/create", {"button": [
            {"type": "click", "name": button["name"], "key": button["key"]} for button in buttons]})

    # -- media -------------------------------------------------------------

    async def get_media(self, media_id: str, max_bytes: int) -> bytes:
        """A temporary media file's bytes (an image message's MediaId lives 3 days).

        The API answers raw bytes on success and a JSON errcode on failure; a token
        error refetches the token once, like call(). Raises MediaTooLarge past max_bytes.
        """
        token, generation = await self._current_token()
        body = await self._get_bytes("media/get", token, media_id, max_bytes)
        data = self._json_error(body)
        if data is not None and errcode_of(data) in TOKEN_ERRORS:
            token, _ = await self._current_token(refused=generation)
            body = await self._get_bytes("media/get", token, media_id, max_bytes)
            data = self._json_error(body)
        if data is not None:
            self._checked("media/get", data if errcode_of(data) else {**data, "errcode": -1})
        return body

    @staticmethod
    def _json_error(body: bytes) -> dict[str, Any] | None:
        """An image never starts with '{': such a body is the API's JSON error answer."""
        if not body.lstrip().startswith(b"{"):
            return None
        try:
            data = json.loads(body)
        except ValueError:
            return {"errcode": NETWORK_ERROR, "errmsg": "garbled media answer"}
        return data if isinstance(data, dict) else {"errcode": NETWORK_ERROR}

    async def _get_bytes(self, path: str, token: str, media_id: str, max_bytes: int) -> bytes:
        url = f"{self.base}/{path}"
        try:
            async with self._http().get(url, params={"access_token": token, "media_id": media_id},
                                        timeout=TIMEOUT) as response:
                if (response.content_length or 0) > max_bytes:
                    raise MediaTooLarge(f"{response.content_length} bytes")
                body = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    body.extend(chunk)
                    if len(body) > max_bytes:
                        raise MediaTooLarge(f"over {max_bytes} bytes")
                return bytes(body)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise WeChatAPIError(NETWORK_ERROR, f"{type(exc).__name__} calling {url}") from None
