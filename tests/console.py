"""Operators in a browser-like HTTP client: real cookies, real forms, real tokens."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.config import Config
from db import Database, operators, schema
from tests.conftest import Bot

PASSWORD = "correct horse 9"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')


def add_operator(config: Config, name: str, role: str, password: str = PASSWORD) -> None:
    db = Database(config.db.path)
    try:
        db.call(schema.migrate)
        db.call(operators.add, name, role, password)
    finally:
        db.close()


def db_call(config: Config, fn: Any, *args: Any) -> Any:
    db = Database(config.db.path)
    try:
        return db.call(fn, *args)
    finally:
        db.close()


@dataclass
class Operator:
    """One browser: its own cookie jar (unsafe: cookies from 127.0.0.1 are kept)."""

    bot: Bot
    session: aiohttp.ClientSession
    csrf: str = ""

    def url(self, path: str) -> str:
        return str(self.bot.server.make_url(path))

    async def login_form(self) -> str:
        async with self.session.get(self.url("/admin/login")) as response:
            page = await response.text()
        return _LOGIN_TOKEN.search(page).group(1)

    async def login(self, name: str, password: str = PASSWORD,
                    headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        token = await self.login_form()
        async with self.session.post(self.url("/admin/login"), allow_redirects=False,
                                     headers=headers, data={"login_token": token, "name": name,
                                                            "password": password}) as response:
            await response.read()
        if response.status == 303:
            await self.refresh_csrf()
        return response

    async def refresh_csrf(self) -> None:
        status, page = await self.get("/admin/log")
        assert status == 200, page
        self.csrf = _CSRF.search(page).group(1)

    async def get(self, path: str, **kwargs: Any) -> tuple[int, str]:
        async with self.session.get(self.url(path), allow_redirects=False, **kwargs) as response:
            return response.status, await response.text()

    async def post(self, path: str, data: dict[str, str] | None = None, csrf: bool = True,
                   headers: dict[str, str] | None = None) -> tuple[int, str, Any]:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf", self.csrf)
        async with self.session.post(self.url(path), data=form, allow_redirects=False,
                                     headers=headers) as response:
            return response.status, await response.text(), response.headers

    async def close(self) -> None:
        await self.session.close()


def browser(bot: Bot) -> Operator:
    return Operator(bot, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))


async def signed_in(bot: Bot, name: str, role: str) -> Operator:
    add_operator(bot.config, name, role)
    client = browser(bot)
    response = await client.login(name)
    assert response.status == 303
    return client
