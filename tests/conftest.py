"""A small, readable world: real SQLite in tmp folders, a real server on loopback,
and messages built, signed and sealed as WeChat sends them."""
from __future__ import annotations

import asyncio
import gc
import json
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot import wire
from bot.config import Config, from_mapping
from bot.server import create_app
from bot.state import STATE
from db import Database, listings, schema
from db.catalogue import read as read_catalogue
from nlp import segment

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
OLD_AES_KEY = "A" * 43


def make_config(tmp_path: Path, safe: bool = True, **sections: dict[str, Any]) -> Config:
    data: dict[str, Any] = {
        "server": {"public_url": "http://shop.example", "link_secret": "test-link-secret"},
        "wechat": {"token": "test-token", "app_id": "wx1234567890abcdef",
                   "encoding_aes_key": AES_KEY if safe else ""},
        "db": {"path": str(tmp_path / "bot.db")},
        # Scripted users talk faster than people: tests/test_limits.py sets its own rate.
        "limits": {"messages": 1000},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return from_mapping(data, env={})


@pytest.fixture(scope="session", autouse=True)
def jieba_loaded() -> None:
    segment.load()


def seed(config: Config, catalogue: Path = DATA / "catalogue.json") -> None:
    db = Database(config.db.path)
    try:
        db.call(schema.migrate)
        db.call(listings.import_rows, read_catalogue(catalogue))
    finally:
        db.close()


@dataclass
class Bot:
    """A running server plus a WeChat-side client for it."""

    config: Config
    server: TestServer
    session: aiohttp.ClientSession

    @property
    def url(self) -> str:
        return str(self.server.make_url("/wechat"))

    @property
    def state(self) -> Any:
        return self.server.app[STATE]

    async def post_raw(self, query: dict[str, str], body: bytes) -> tuple[int, str]:
        async with self.session.post(self.url, params=query, data=body) as response:
            return response.status, await response.text()

    async def send_xml(self, xml: str, openid: str = "user_a") -> dict[str, Any]:
        query, body = wire.seal(self.config, xml, openid)
        status, text = await self.post_raw(query, body)
        assert status == 200, text
        return wire.open_reply(self.config, text)

    async def say(self, text: str, openid: str = "user_a", msg_id: int | None = None) -> str:
        reply = await self.send_xml(wire.text_xml(openid, text, msg_id), openid)
        return reply.get("Content", "")

    async def log_rows(self, sql: str, *params: Any) -> list[Any]:
        """db_rows() once the log book has written the lines it holds: the message log
        and view counts are written in batches, after the reply."""
        await self.state.pipeline.logbook.flush()
        return self.db_rows(sql, *params)

    def db_rows(self, sql: str, *params: Any) -> list[Any]:
        db = Database(self.config.db.path)
        try:
            return [tuple(row) for row in db.call(lambda c: c.execute(sql, params).fetchall())]
        finally:
            db.close()


async def start_bot(config: Config, handle: Any = None, port: int | None = None) -> Bot:
    server = TestServer(create_app(config, handle=handle), host="127.0.0.1", port=port)
    await server.start_server()
    return Bot(config, server, aiohttp.ClientSession())


async def stop_bot(bot: Bot) -> None:
    await bot.session.close()
    await bot.server.close()


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    config = make_config(tmp_path)
    seed(config)
    running = await start_bot(config)
    yield running
    await stop_bot(running)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


async def serve(config_path: Path, port: int, log: Path | None = None
                ) -> asyncio.subprocess.Process:
    """`python -m bot serve` in its own process: another server on the same database."""
    env = {**os.environ, "PORT": str(port), "PYTHONPATH": str(ROOT)}
    out = log.open("ab") if log else asyncio.subprocess.DEVNULL
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--config", str(config_path), cwd=ROOT,
            env=env, stdout=out, stderr=out)
    finally:
        if log:
            out.close()


async def ready(session: aiohttp.ClientSession, port: int, limit: float = 30.0) -> None:
    """Until the server on this port answers /healthz with 200."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + limit
    while True:
        try:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        assert loop.time() < give_up, "server never became ready"
        await asyncio.sleep(0.1)


def cpu_seconds(work: Callable[[], object]) -> float:
    """CPU time this thread spends on work(): other processes on a 2-core machine do not
    count, and neither does a full garbage collection of the whole suite's heap that
    work() happens to trigger (held off while it runs)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        started = time.thread_time()
        work()
        return time.thread_time() - started
    finally:
        if collecting:
            gc.enable()
