"""Webhook throughput and latency with distinct, signed, safe-mode buyer queries."""
from __future__ import annotations

import asyncio
import itertools
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from bot import wire
from bot.config import Config, load_demo
from bot.server import create_app

PRODUCTS = ["脐橙", "苹果", "土鸡蛋", "木耳", "大米", "核桃", "蜂蜜", "马铃薯", "苦荞", "枸杞",
            "红枣", "香菇", "茶叶", "小米", "花椒", "猕猴桃", "榴莲", "腊肉", "红薯", "笋干"]
PHRASES = ["我想买{p}", "有没有{p}", "{p}多少钱", "来点{p}", "帮我找找{p}", "{p}五十块以内"]


def queries() -> itertools.cycle[str]:
    return itertools.cycle([ph.format(p=p) for p in PRODUCTS for ph in PHRASES])


async def _start_demo_server(folder: Path) -> tuple[web.AppRunner, Config, str]:
    config = load_demo(env={}, data_dir=folder)
    runner = web.AppRunner(create_app(config))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, config, f"http://127.0.0.1:{port}/wechat"


async def _drive(config: Config, url: str, messages: int, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    failures = 0
    texts = queries()
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def one(n: int) -> None:
            nonlocal failures
            openid = f"bench_user_{n % 97}"
            query, body = wire.seal(config, wire.text_xml(openid, next(texts)), openid)
            async with gate:
                started = time.perf_counter()
                async with session.post(url, params=query, data=body) as response:
                    reply = await response.text()
                latencies.append(time.perf_counter() - started)
            if response.status != 200 or not wire.open_reply(config, reply).get("Content"):
                failures += 1

        began = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(messages)))
        elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {"elapsed": elapsed, "throughput": messages / elapsed, "p50": cuts[49] * 1000,
            "p95": cuts[94] * 1000, "p99": cuts[98] * 1000, "failures": failures}


async def run_webhook_bench(messages: int, concurrency: int, url: str | None,
                            config: Config | None) -> int:
    with tempfile.TemporaryDirectory() as folder:
        runner = None
        if url is None or config is None:
            runner, config, url = await _start_demo_server(Path(folder))
        try:
            figures = await _drive(config, url, messages, concurrency)
        finally:
            if runner:
                await runner.cleanup()
    print(f"webhook bench: {messages} messages, concurrency {concurrency}, "
          f"{'safe' if config.safe_mode else 'plain'} mode, {url if runner is None else 'in-process demo'}")
    print(f"  throughput: {figures['throughput']:.1f} msg/s ({figures['elapsed']:.2f} s)")
    print(f"  latency: p50 {figures['p50']:.1f} ms, p95 {figures['p95']:.1f} ms, "
          f"p99 {figures['p99']:.1f} ms")
    print(f"  failures (non-200 or empty reply): {int(figures['failures'])}")
    return 0 if figures["failures"] == 0 else 1
