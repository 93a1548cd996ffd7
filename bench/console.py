"""The operator console at scale: a log of N realistic messages written through the
real log writer (index terms, daily counts), then every kind of log page fetched
over HTTP from a real server by a logged-in operator, timed p50/p99.

Query time (the db function alone) is printed beside page time (HTTP, session
check, query and template), so a slow page shows where its time goes.
"""
from __future__ import annotations

import asyncio
import itertools
import math
import os
import random
import re
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from bench.search import QUERY_TEMPLATES, _zipf_products, synthetic_rows
from bot.config import from_mapping
from bot.server import create_app
from db import Database, demand, listings, messages, operators, schema
from db.database import transaction
from db.messages import LogEntry, LogFilter

DAYS = 30
LISTINGS = 5_000
BATCH = 20_000
OPERATOR, PASSWORD = "bench", "bench-password"
FOUND = "为您找到这些好货："
FOUND_TAIL = "点「下单」查看详情；回复「还有吗」看更多，「要第2个」选一个。"
NONE = "暂时没有找到「{what}」😔 已记下您的需求。\n要到货提醒吗？有货了第一时间告诉您，回复「要」就行。"
# (share, intent, texts, reply) for messages that are not searches.
CHAT = (
    (0.08, "choose", ("要第2个", "1号 三斤", "要第一个", "3"), None),
    (0.07, "next_page", ("还有吗", "换一批", "再来几个"), FOUND),
    (0.04, "refine", ("便宜点的", "要有机的", "要云南的"), FOUND),
    (0.03, "greeting", ("你好", "在吗", "您好"), "您好！我是农货通，想买什么农货直接告诉我，比如「我想买脐橙」。"),
    (0.02, "thanks", ("谢谢", "好的谢谢"), "不客气😊 还想买什么随时说。"),
    (0.02, "help", ("怎么用", "帮助"), "怎么用农货通：\n1. 找货：直接发文字或语音。"),
    (0.04, "confirm", ("要", "好的", "嗯"), "好的，到货了第一时间通知您🔔"),
    (0.03, "event", ("[subscribe]", "[click:HELP]", "[click:FIND]"), "欢迎来到农货通🌾"),
    (0.03, "other", ("今天天气怎么样", "哈哈", "你是机器人吗", "发个红包"),
     "没太明白您的意思😅 想买东西可以直接说货名。"),
    (0.02, "sell", ("我要卖赣南脐橙，三块五一斤，有300斤", "我家有土鸡蛋要卖"),
     "卖货功能即将上线。"),
)


@dataclass(frozen=True)
class World:
    """What the generated log is made of, kept to choose realistic page parameters."""
    users: list[str]
    weights: list[float]            # cumulative: random.choices is O(n) per call otherwise
    products: list[str]
    product_weights: list[float]    # cumulative
    first_at: float
    last_at: float


def _world(count: int, rng: random.Random) -> World:
    products, weights = _zipf_products(random.Random(11))
    users = [f"o{n:07d}{rng.randrange(16 ** 6):06x}" for n in range(max(1_000, count // 25))]
    # A few heavy users, a long tail of occasional ones (capped: no single user is a bot).
    user_weights = [min(1 / (rank + 1) ** 0.8, 0.02) for rank in range(len(users))]
    now = time.time()
    return World(users, list(itertools.accumulate(user_weights)), products,
                 list(itertools.accumulate(weights)), now - DAYS * 86_400, now)


def _offer_sets(db: Database, rng: random.Random) -> dict[str, list[tuple[list[int], str]]]:
    """A few offer pages per product of the catalogue, as the buyer handler renders them."""
    rows = db.call(lambda c: c.execute(
        "SELECT l.id, l.title, l.price_fen, l.unit, l.origin, s.name, l.product FROM listings"
        " AS l JOIN sellers AS s ON s.id = l.seller_id WHERE l.product IS NOT NULL").fetchall())
    by_product: dict[str, list[tuple[int, str]]] = {}
    for listing_id, title, fen, unit, origin, seller, product in rows:
        by_product.setdefault(product, []).append(
            (listing_id, f"{title}\n¥{fen // 100}.{fen % 100:02d}/{unit} · {origin} · {seller}"))
    sets: dict[str, list[tuple[list[int], str]]] = {}
    for product, offers in by_product.items():
        pages = []
        for _ in range(6):
            page = rng.sample(offers, min(len(offers), rng.randint(3, 5)))
            items = [f'{i}. {text}\n<a href="https://shop.example/o/{rng.randrange(16 ** 12):012x}">'
                     "下单</a>" for i, (_, text) in enumerate(page, 1)]
            pages.append(([listing_id for listing_id, _ in page],
                          "\n\n".join([FOUND, *items, FOUND_TAIL])))
        sets[product] = pages
    return sets


def _entries(count: int, world: World, offer_sets: dict[str, list[tuple[list[int], str]]],
             rng: random.Random) -> Iterator[tuple[LogEntry, float, dict[str, Any] | None]]:
    """(entry, time, unmet demand) in time order."""
    from nlp.lexicon import lexicon

    lex = lexicon()
    provinces = sorted({r.province for rs in lex.regions.values() for r in rs if r.province})
    attributes = sorted(set(lex.attributes.values()))
    keys = list(offer_sets)
    step = (world.last_at - world.first_at) / count
    shares = [share for share, *_ in CHAT]
    chat_total = sum(shares)
    for n in range(count):
        at = world.first_at + n * step + rng.random() * step * 0.5
        openid = rng.choices(world.users, cum_weights=world.weights)[0]
        latency = int(min(rng.lognormvariate(3.3, 0.6), 4_500))
        roll = rng.random()
        if roll < 0.01:
            yield LogEntry(None, "rejected", "bad signature", None, None, 1, "rejected"), at, None
            continue
        if roll < 0.01 + chat_total:
            share, intent, texts, reply = rng.choices(CHAT, shares)[0]
            offers: tuple[int, ...] = ()
            if reply == FOUND or intent == "choose":
                ids, page = rng.choice(offer_sets[rng.choice(keys)])
                offers = tuple(ids) if intent != "choose" else tuple(ids[:1])
                reply = page if reply == FOUND else f"您选了：{page.split(chr(10))[2][3:]}"
            outcome = "answered" if offers or intent not in ("next_page", "refine") else "no_match"
            understood = {"intent": intent, "slots": {}, "flags": [], "words": []}
            yield (LogEntry(openid, "event" if intent == "event" else "text", rng.choice(texts),
                            intent, reply, latency, outcome, understood, offers), at, None)
            continue
        product = rng.choices(world.products, cum_weights=world.product_weights)[0]
        region = lex.short.get(rng.choice(provinces), "云南")
        price = rng.choice((None, None, rng.randint(5, 200)))
        text = rng.choice(QUERY_TEMPLATES).format(p=product, r=region, a=rng.choice(attributes),
                                                  n=price or rng.randint(5, 200))
        slots: dict[str, Any] = {"product": product}
        if "{r}" in text or region in text:
            slots["origin"] = {"province": region}
        if price:
            slots["price_max"] = str(price)
        understood = {"intent": "search", "slots": slots, "flags": [], "words": []}
        kind = "voice" if rng.random() < 0.08 else "text"
        outcome_roll = rng.random()
        if outcome_roll < 0.02:
            yield (LogEntry(openid, kind, text, "error", "抱歉，系统开小差了😣 请稍后再试一次。",
                            latency, "error", understood), at, None)
        elif outcome_roll < 0.20 or product not in offer_sets:
            what = f"{region}产的{product}" if "origin" in slots else product
            unmet = {"openid": openid, "text": text, "product": product,
                     "origin": region if "origin" in slots else None,
                     "price_max_fen": price * 100 if price else None}
            yield (LogEntry(openid, kind, text, "search", NONE.format(what=what), latency,
                            "no_match", understood), at, unmet)
        else:
            ids, page = rng.choice(offer_sets[product])
            outcome = "deadline" if outcome_roll > 0.98 else "answered"
            yield (LogEntry(openid, kind, text, "search", page,
                            latency + (4_000 if outcome == "deadline" else 0), outcome,
                            understood, tuple(ids)), at, None)


def _fill(db: Database, count: int, world: World, rng: random.Random) -> float:
    """Seconds to write `count` log rows through the log writer (plus their unmet demand)."""
    db.call(listings.import_rows, synthetic_rows(LISTINGS, seed=7))
    offer_sets = _offer_sets(db, rng)
    started = time.perf_counter()
    batch: list[tuple[LogEntry, float]] = []
    unmet: list[tuple[dict[str, Any], float]] = []

    def flush(conn: Any) -> None:
        messages.record_many(conn, batch)
        with transaction(conn):
            for row, at in unmet:
                demand.record(conn, now=at, **row)
        batch.clear()
        unmet.clear()

    for written, (entry, at, wanted) in enumerate(_entries(count, world, offer_sets, rng), 1):
        batch.append((entry, at))
        if wanted:
            unmet.append((wanted, at))
        if len(batch) >= BATCH:
            db.call(flush)
            print(f"\r  written {written}/{count}", end="", flush=True)
    if batch:
        db.call(flush)
    print()
    return time.perf_counter() - started


# -- timing ------------------------------------------------------------------

def _page_kinds(db: Database, world: World, samples: int, rng: random.Random
                ) -> dict[str, list[tuple[dict[str, str], LogFilter | None, int | None]]]:
    """Each kind of log page: (query string, the filter it means, before) per sample."""
    newest = db.call(messages.page, LogFilter(), None, 1).rows[0].id
    common = world.products[:5]
    rare = world.products[len(world.products) // 2:]

    def hour(n: int) -> tuple[float, float]:
        start = world.first_at + rng.random() * (world.last_at - world.first_at - 3600)
        return start, start + 3600

    def local(at: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M", time.localtime(at))

    def when(since: float, until: float) -> dict[str, str]:
        return {"since": local(since), "until": local(until)}

    def deep() -> int:
        return rng.randint(1, newest)

    kinds: dict[str, list[tuple[dict[str, str], LogFilter, int | None]]] = {}
    for _ in range(samples):
        user = rng.choices(world.users, cum_weights=world.weights)[0]
        since, until = hour(0)
        since, until = (time.mktime(time.strptime(local(since), "%Y-%m-%dT%H:%M")),
                        time.mktime(time.strptime(local(until), "%Y-%m-%dT%H:%M")))
        word_common, word_rare = rng.choice(common), rng.choice(rare)
        before = deep()
        for name, query, filters, cursor in (
            ("first page", {}, LogFilter(), None),
            ("deep page", {"before": str(before)}, LogFilter(), before),
            ("time range (1 h)", when(since, until), LogFilter(since=since, until=until), None),
            ("user", {"openid": user}, LogFilter(openid=user), None),
            ("intent=search", {"intent": "search"}, LogFilter(intent="search"), None),
            ("intent=search deep", {"intent": "search", "before": str(before)},
             LogFilter(intent="search"), before),
            ("intent=choose", {"intent": "choose"}, LogFilter(intent="choose"), None),
            ("outcome=no_match", {"outcome": "no_match"}, LogFilter(outcome="no_match"), None),
            ("outcome=error", {"outcome": "error"}, LogFilter(outcome="error"), None),
            ("search+deadline deep", {"intent": "search", "outcome": "deadline",
                                      "before": str(before)},
             LogFilter(intent="search", outcome="deadline"), before),
            ("text, common word", {"q": word_common}, LogFilter(text=word_common), None),
            ("text, rare word", {"q": word_rare}, LogFilter(text=word_rare), None),
            ("text, deep page", {"q": word_common, "before": str(before)},
             LogFilter(text=word_common), before),
            ("text+no_match", {"q": word_common, "outcome": "no_match"},
             LogFilter(text=word_common, outcome="no_match"), None),
            ("text+time range", {"q": word_common, **when(since, until)},
             LogFilter(text=word_common, since=since, until=until), None),
            ("text+user", {"q": word_common, "openid": user},
             LogFilter(text=word_common, openid=user), None),
            ("transcript", {"user": user}, LogFilter(openid=user), None),
            *((name, {"page": url}, None, None) for name, url in OTHER_PAGES),
        ):
            kinds.setdefault(name, []).append((query, filters, cursor))
    return kinds


# Console pages beside the log, timed over HTTP only (their queries are several).
OTHER_PAGES = (("dashboard (14 days)", "/admin?days=14"), ("unmet demand (7 days)", "/admin/demand"),
               ("demand CSV (30 days)", "/admin/demand.csv?days=30"),
               ("listings", "/admin/listings"))


def _cuts(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98], max(values)


async def _login(session: aiohttp.ClientSession, base: str) -> None:
    async with session.get(f"{base}/admin/login") as response:
        page = await response.text()
    token = re.search(r'name="login_token" value="([^"]+)"', page).group(1)
    async with session.post(f"{base}/admin/login", data={
            "login_token": token, "name": OPERATOR, "password": PASSWORD, "next": "/admin"},
            allow_redirects=False) as response:
        assert response.status == 303, await response.text()


async def _time_pages(db_path: Path, kinds: dict[str, list[tuple[dict[str, str], LogFilter,
                                                                  int | None]]],
                      folder: Path) -> dict[str, tuple[float, float, float]]:
    config = from_mapping({"db": {"path": str(db_path)},
                           "wechat": {"token": "bench"},
                           "server": {"link_secret": "bench"}}, env={})
    runner = web.AppRunner(create_app(config))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    figures = {}
    try:
        # unsafe: keep cookies from an IP-address host (127.0.0.1)
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            await _login(session, base)
            for name, samples in kinds.items():
                timings = []
                for query, _, _ in samples:
                    if "page" in query:
                        url = base + query["page"]
                    elif name == "transcript":
                        url = f"{base}/admin/log/user/{query['user']}"
                    else:
                        url = f"{base}/admin/log?{urlencode(query)}"
                    started = time.perf_counter()
                    async with session.get(url) as response:
                        await response.read()
                    timings.append((time.perf_counter() - started) * 1000)
                    assert response.status == 200, (url, response.status)
                figures[name] = _cuts(timings)
    finally:
        await runner.cleanup()
    return figures


def _time_queries(db: Database, kinds: dict[str, list[tuple[dict[str, str], LogFilter,
                                                             int | None]]]
                  ) -> dict[str, tuple[float, float, float]]:
    figures = {}
    for name, samples in kinds.items():
        timings = []
        if samples[0][1] is None:
            continue  # not a log page
        for query, filters, before in samples:
            started = time.perf_counter()
            if name == "transcript":
                db.call(messages.transcript, filters.openid)
            else:
                db.call(messages.page, filters, before)
            timings.append((time.perf_counter() - started) * 1000)
        figures[name] = _cuts(timings)
    return figures


def _row_count(path: Path) -> int:
    db = Database(path)
    try:
        db.call(schema.migrate)
        return db.call(lambda c: c.execute("SELECT coalesce(max(id), 0) FROM message_log")
                       .fetchone()[0])
    finally:
        db.close()


def run_console_bench(count: int, keep: Path | None, samples: int) -> int:
    from nlp import load

    load()
    rng = random.Random(23)
    with tempfile.TemporaryDirectory() as scratch:
        path = keep or Path(scratch) / "console.db"
        world = _world(count, rng)
        existing = _row_count(path) if path.exists() else 0
        db = Database(path)
        try:
            db.call(schema.migrate)
            db.call(operators.ensure, OPERATOR, "admin", PASSWORD)
            if existing >= count:
                print(f"console bench: reusing {path} ({existing} log rows)")
                first, last = db.call(lambda c: c.execute(
                    "SELECT min(at), max(at) FROM message_log").fetchone())
                world = replace(world, first_at=first, last_at=last)
                users = [r[0] for r in db.call(lambda c: c.execute(
                    "SELECT openid FROM message_log WHERE openid IS NOT NULL"
                    " GROUP BY openid ORDER BY count(*) DESC LIMIT 20000").fetchall())]
                world = replace(world, users=users, weights=list(itertools.accumulate(
                    1 / (rank + 1) ** 0.8 for rank in range(len(users)))))
            else:
                if existing:
                    raise SystemExit(f"{path} has {existing} log rows, fewer than {count}: "
                                     "remove it or pick another --db")
                print(f"console bench: writing {count} log rows over {DAYS} days "
                      f"({len(world.users)} users) through the log writer")
                seconds = _fill(db, count, world, rng)
                print(f"  wrote {count} rows in {seconds:.1f} s ({count / seconds:.0f} rows/s)")
            size = sum(f.stat().st_size for f in path.parent.glob(path.name + "*")) / 2 ** 20
            print(f"  database {size:.0f} MiB; load average {os.getloadavg()[0]:.2f} "
                  f"on {os.cpu_count()} cores")
            kinds = _page_kinds(db, world, samples, rng)
            queries = _time_queries(db, kinds)
        finally:
            db.close()
        pages = asyncio.run(_time_pages(path, kinds, Path(scratch)))
    print(f"{samples} samples per kind; load average now {os.getloadavg()[0]:.2f}")
    print(f"{'page kind':<23} {'query p50':>9} {'query p99':>9} {'page p50':>9} "
          f"{'page p99':>9} {'page max':>9}")
    worst = 0.0
    for name in kinds:
        p50, p99, top = pages[name]
        if name in queries:
            worst = max(worst, p99)
            q50, q99, _ = queries[name]
            print(f"{name:<23} {q50:>9.2f} {q99:>9.2f} {p50:>9.2f} {p99:>9.2f} {top:>9.1f}")
        else:
            print(f"{name:<23} {'-':>9} {'-':>9} {p50:>9.2f} {p99:>9.2f} {top:>9.1f}")
    verdict = "meets" if worst <= 50 else "misses"
    print(f"worst log page p99 {worst:.1f} ms: {verdict} the 50 ms target at {count} rows")
    return 0 if math.isfinite(worst) else 1
