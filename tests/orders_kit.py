"""Helpers for the order tests: the order page as a buyer's phone uses it, and a
second server process on the same database."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bot.config import Config
from db import Database
from tests.conftest import Bot

LINK = re.compile(r'<a href="http://shop\.example(/o/[^"]+)">')
FIELD = re.compile(r'name="form" value="([^"]+)"')
ORDER_NO = re.compile(r"订单号 <strong>(\d{8}-[0-9A-Z]{6})</strong>")
BUYER = {"name": "张三", "phone": "13812345678", "address": "北京市朝阳区建国路88号3单元"}


@dataclass
class Page:
    status: int
    html: str

    @property
    def field(self) -> str:
        return FIELD.findall(self.html)[0]

    @property
    def order_no(self) -> str | None:
        found = ORDER_NO.findall(self.html)
        return found[0] if found else None


async def link(bot: Bot, openid: str, query: str = "我想买木耳") -> str:
    """The path of the first 下单 link the buyer gets for a query."""
    reply = await bot.say(query, openid=openid)
    return LINK.findall(reply)[0]


async def get(session: aiohttp.ClientSession, base: str, path: str) -> Page:
    async with session.get(base + path) as response:
        return Page(response.status, await response.text())


async def post(session: aiohttp.ClientSession, base: str, path: str,
               data: dict[str, str]) -> Page:
    async with session.post(base + path, data=data) as response:
        return Page(response.status, await response.text())


def base(bot: Bot) -> str:
    return str(bot.server.make_url("/")).rstrip("/")


async def order(bot: Bot, openid: str, quantity: int = 2, query: str = "我想买木耳",
                **values: str) -> str:
    """Place an order through the link and the page; returns its number."""
    path = await link(bot, openid, query)
    form = await get(bot.session, base(bot), path)
    page = await post(bot.session, base(bot), path, {
        "form": form.field, "quantity": str(quantity), **BUYER, "note": "", **values})
    assert page.status == 200 and page.order_no, page.html
    return page.order_no


def sql(config: Config, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    db = Database(config.db.path)
    try:
        return [tuple(row) for row in db.call(
            lambda c: c.execute(statement, params).fetchall())]
    finally:
        db.close()


def link_seller(config: Config, seller: str, openid: str) -> None:
    sql(config, "UPDATE sellers SET openid = ? WHERE name = ?", openid, seller)


def write_config(config: Config, path: Path, **orders: int) -> Path:
    """The same settings as a TOML file, for `python -m bot serve` in another process."""
    lines = [f'[server]\nlink_secret = "{config.server.link_secret}"\n'
             f'public_url = "{config.server.public_url}"\n',
             f'[wechat]\ntoken = "{config.wechat.token}"\napp_id = "{config.wechat.app_id}"\n'
             f'encoding_aes_key = "{config.wechat.encoding_aes_key}"\n',
             f'[db]\npath = "{config.db.path}"\n']
    if orders:
        lines.append("[orders]\n" + "".join(f"{k} = {v}\n" for k, v in orders.items()))
    path.write_text("".join(lines), encoding="utf-8")
    return path
