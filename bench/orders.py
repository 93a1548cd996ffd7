"""Placing orders through the order page: throughput and latency of the POST that takes
stock, and a check that stock and orders still add up.

An in-process demo server; one listing is given `stock` units and `orders` buyers'
forms (each its own page view, so its own idempotency key) are submitted with
`concurrency` in flight, one unit each. With stock below orders the rest get 库存不足.
"""
from __future__ import annotations

import asyncio
import re
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from aiohttp import web

from bot import wire
from bot.config import Config, load_demo
from bot.server import create_app
from db import Database

LINK = re.compile(r'<a href="https?://[^/"]+(/o/[^"]+)">')
FIELD = re.compile(r'name="form" value="([^"]+)"')
BUYER = {"name": "测试", "phone": "13812345678", "address": "北京市朝阳区建国路88号"}


async def _start_demo_server(folder: Path) -> tuple[web.AppRunner, Config, str]:
    """The demo app on a free loopback port, its database under `folder`."""
    config = load_demo(env={}, data_dir=folder)
    runner = web.AppRunner(create_app(config))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, config, f"http://127.0.0.1:{runner.addresses[0][1]}/wechat"


async def _link(session: aiohttp.ClientSession, config, url: str) -> str:
    query, body = wire.seal(config, wire.text_xml("bench_buyer", "我想买蜂蜜"), "bench_buyer")
    async with session.post(url, params=query, data=body) as response:
        reply = wire.open_reply(config, await response.text()).get("Content", "")
    return LINK.findall(reply)[0]


def _sql(path: str, statement: str, *params: object) -> list[tuple]:
    db = Database(path)
    try:
        return [tuple(r) for r in db.call(lambda c: c.execute(statement, params).fetchall())]
    finally:
        db.close()


async def _drive(base: str, path: str, orders: int, concurrency: int,
                 session: aiohttp.ClientSession) -> tuple[list[float], dict[int, int], float]:
    async def form() -> str:
        async with session.get(base + path) as response:
            return FIELD.findall(await response.text())[0]

    fields = await asyncio.gather(*(form() for _ in range(orders)))
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def submit(field: str) -> None:
        async with gate:
            started = time.perf_counter()
            async with session.post(base + path, data={"form": field, "quantity": "1",
                                                       **BUYER}) as response:
                await response.read()
            latencies.append(time.perf_counter() - started)
            statuses[response.status] = statuses.get(response.status, 0) + 1

    began = time.perf_counter()
    await asyncio.gather(*(submit(field) for field in fields))
    return latencies, statuses, time.perf_counter() - began


async def run_orders_bench(orders: int, concurrency: int, stock: int | None) -> int:
    stock = orders if stock is None else stock
    with tempfile.TemporaryDirectory() as folder:
        runner, config, url = await _start_demo_server(Path(folder))
        base = url.removesuffix("/wechat")
        try:
            connector = aiohttp.TCPConnector(limit=concurrency)
            async with aiohttp.ClientSession(connector=connector) as session:
                path = await _link(session, config, url)
                _sql(config.db.path, "UPDATE listings SET stock = ? WHERE title LIKE '神农架土蜂蜜%'",
                     stock)
                latencies, statuses, elapsed = await _drive(base, path, orders, concurrency,
                                                            session)
            left = _sql(config.db.path, "SELECT stock FROM listings WHERE title LIKE"
                        " '神农架土蜂蜜%'")[0][0]
            placed = _sql(config.db.path, "SELECT count(*), coalesce(sum(quantity), 0)"
                          " FROM orders")[0]
        finally:
            await runner.cleanup()
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    consistent = left + placed[1] == stock and placed[0] == statuses.get(200, 0)
    print(f"orders bench: {orders} order forms, concurrency {concurrency}, stock {stock},"
          " in-process demo (safe mode)")
    print(f"  throughput: {orders / elapsed:.1f} submits/s ({elapsed:.2f} s)")
    print(f"  latency of the POST: p50 {cuts[49] * 1000:.1f} ms, p95 {cuts[94] * 1000:.1f} ms,"
          f" p99 {cuts[98] * 1000:.1f} ms")
    print(f"  answers: {statuses.get(200, 0)} placed (200), {statuses.get(409, 0)} 库存不足 (409),"
          f" {sum(n for s, n in statuses.items() if s not in (200, 409))} other")
    print(f"  stock left {left}, orders {placed[0]} for {placed[1]} units:"
          f" {'consistent' if consistent else 'INCONSISTENT'}")
    return 0 if consistent else 1
