"""Chaos: the real server killed with SIGKILL again and again while buyers search,
sellers list goods by chat and buyers place orders; then the database is counted.

`python -m bot bench chaos --kills 20 [--seed N] [--interval S]`

The server runs as `python -m bot serve` in its own process group (safe mode, a temp
bot.toml and database with the demo catalogue, customer-service messages on, the API
pointing at a fake WeChat in this process). Each run of it dies either at a named
fault point (db/faults.py: BOT_FAULT=NAME:N) or at a random moment (SIGKILL to the
group), and is started again at once. Clients behave like WeChat: a message that
gets no answer (refused connection, reset, 5 s without a reply) is sent again, the
same MsgId, `interval` seconds after the last try, three tries in all. The order
page's form is resubmitted the same way, as a buyer tapping again would.

Afterwards, counting rows rather than reading logs:
- every listing and order a client saw acknowledged exists exactly once (lost, double);
- each listing's stock = initial - ordered + cancelled;
- no message was handled twice (log rows per user and text; listings per seller);
- no outbox message went through the API twice (the fake's sends per user and text);
- PRAGMA integrity_check.
"""
from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bot import wire
from bot.config import Config, from_mapping
from bot.server import load_demo_catalogue
from db import Database, faults, schema

ROOT = Path(__file__).resolve().parent.parent
TRIES = 3                 # WeChat sends a message at most three times
WECHAT_WAIT = 5.0         # and waits this long for each answer
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID, APP_SECRET = "wx1234567890abcdef", "test-secret"
LINK = re.compile(r'<a href="https?://[^/"]+(/o/[^"]+)">')
FIELD = re.compile(r'name="form" value="([^"]+)"')
ORDER_NO = re.compile(r"订单号 <strong>(\d{8}-[0-9A-Z]{6})</strong>")
PUBLISHED = re.compile(r"已上架✅ (\d+)号")
CANCELLED = "已取消订单"
BUYER = {"name": "测试", "phone": "13812345678", "address": "北京市朝阳区建国路88号3单元"}
GOODS = [("土豆", "甘肃定西"), ("核桃", "云南漾濞"), ("花生", "山东临沂"), ("板栗", "河北迁西"),
         ("南瓜", "山西太谷"), ("山药", "河南焦作"), ("生姜", "山东莱芜"), ("红薯", "河南开封")]
SEARCHES = ["我想买脐橙", "有没有土鸡蛋", "木耳多少钱", "我想买蜂蜜", "来点核桃", "我想买土豆",
            "有没有花生", "我想买板栗", "帮我找找山药", "我想买大米"]


@dataclass
class Tally:
    """What the clients saw, to be checked against the rows."""
    listings: dict[str, int] = field(default_factory=dict)   # seller openid -> stock, acknowledged
    tried_listings: dict[str, int] = field(default_factory=dict)  # every seller who said 确认
    orders: list[str] = field(default_factory=list)          # order numbers seen
    cancelled: list[str] = field(default_factory=list)       # cancellations acknowledged
    forms: Counter[str] = field(default_factory=Counter)     # buyer openid -> forms submitted
    buyers: int = 0
    messages: int = 0
    resends: int = 0
    unanswered: int = 0
    success_only: int = 0     # answered `success`: late (the reply follows) or a dead lease
    kills: Counter[str] = field(default_factory=Counter)
    restarts: int = 0


@dataclass
class Setup:
    folder: Path
    config: Config
    toml: Path
    port: int
    initial_stock: dict[int, int]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(folder: Path, api_base: str, limits: dict[str, Any] | None = None) -> Setup:
    """A bot.toml and a database holding the demo catalogue."""
    port = _free_port()
    db_path = folder / "chaos.db"
    sections: dict[str, dict[str, Any]] = {
        "server": {"host": "127.0.0.1", "port": port, "public_url": "http://shop.example",
                   "link_secret": "chaos-link-secret"},
        "wechat": {"token": "chaos-token", "app_id": APP_ID, "app_secret": APP_SECRET,
                   "encoding_aes_key": AES_KEY, "api_base": api_base, "customer_service": True},
        "db": {"path": str(db_path)},
        "listings": {"require_review": False},
    }
    if limits:
        sections["limits"] = limits
    lines = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        for key, value in values.items():
            lines.append(f"{key} = {_toml(value)}")
    toml = folder / "bot.toml"
    toml.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = Database(db_path)
    try:
        db.call(schema.migrate)
        db.call(load_demo_catalogue)
        stock = dict(db.call(lambda c: c.execute("SELECT id, stock FROM listings").fetchall()))
    finally:
        db.close()
    return Setup(folder, from_mapping(sections, env={}), toml, port, stock)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- the server process -------------------------------------------------------------

class Server:
    """`python -m bot serve` in its own process group, restarted after every death."""

    def __init__(self, setup: Setup, log: Path) -> None:
        self.setup = setup
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, fault: str = "") -> None:
        env = {k: v for k, v in os.environ.items() if k != faults.ENV and not k.startswith("BOT_")}
        if fault:
            env[faults.ENV] = fault
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "serve", "--config", str(self.setup.toml),
                cwd=str(ROOT), env=env, stdout=out, stderr=out, start_new_session=True)
        await self._ready()

    async def _ready(self, limit: float = 60.0) -> None:
        deadline = time.monotonic() + limit
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process and self.process.returncode is not None:
                    return  # died while starting (a fault in a start-up transaction)
                try:
                    async with session.get(f"{self.setup.base}/healthz",
                                           timeout=aiohttp.ClientTimeout(total=1)) as response:
                        if response.status == 200:
                            return
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"the server did not start; see {self.log}")

    def kill(self) -> None:
        """SIGKILL to the whole group: nothing gets to clean up."""
        if self.process and self.process.returncode is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    async def died(self, within: float) -> bool:
        assert self.process
        try:
            await asyncio.wait_for(self.process.wait(), within)
        except asyncio.TimeoutError:
            return False
        return True

    async def stop(self) -> int:
        """SIGTERM and wait: the normal, draining shutdown."""
        assert self.process
        if self.process.returncode is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 60)


def plan(n: int, rng: random.Random) -> str:
    """The n-th run's death: every third at a random moment, the rest at the named
    points in turn, each on a random pass (commits happen at start-up too: later)."""
    if n % 3 == 2:
        return "random"
    point = faults.POINTS[(n - n // 3) % len(faults.POINTS)]
    passes = rng.randint(5, 15) if point == "before_commit" else rng.randint(1, 3)
    return f"{point}:{passes}"


async def supervise(server: Server, kills: int, rng: random.Random, tally: Tally) -> None:
    """Kill the server `kills` times, at fault points and at random, restarting each time;
    leave it running, unarmed, at the end."""
    death = plan(0, rng)
    await server.start("" if death == "random" else death)
    for n in range(kills):
        point = death.partition(":")[0]
        if point == "random":
            await server.died(rng.uniform(0.3, 2.5))
            server.kill()
        elif not await server.died(10.0):  # not reached in time: killed anyway, counted apart
            server.kill()
            point += " not reached, killed"
        await server.died(10.0)
        tally.kills[point] += 1
        death = plan(n + 1, rng) if n + 1 < kills else "random"
        tally.restarts += 1
        await server.start("" if death == "random" else death)


# -- the clients ----------------------------------------------------------------------

class Client:
    def __init__(self, setup: Setup, session: aiohttp.ClientSession, interval: float,
                 tally: Tally) -> None:
        self.setup, self.session, self.interval, self.tally = setup, session, interval, tally

    async def say(self, openid: str, text: str) -> str | None:
        """One message as WeChat sends it: same MsgId on every try. The reply text,
        '' for `success`, None when no try got an answer."""
        xml = wire.text_xml(openid, text)
        self.tally.messages += 1
        for attempt in range(TRIES):
            started = time.monotonic()
            if attempt:
                self.tally.resends += 1
            query, body = wire.seal(self.setup.config, xml, openid)
            try:
                async with self.session.post(f"{self.setup.base}/wechat", params=query, data=body,
                                             timeout=aiohttp.ClientTimeout(total=WECHAT_WAIT)
                                             ) as response:
                    if response.status == 200:
                        reply = await response.text()
                        content = str(wire.open_reply(self.setup.config, reply).get("Content", ""))
                        self.tally.success_only += not content
                        return content
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))
        self.tally.unanswered += 1
        return None

    async def page(self, method: str, path: str, data: dict[str, str] | None = None
                   ) -> str | None:
        for _ in range(TRIES):
            started = time.monotonic()
            try:
                async with self.session.request(
                        method, self.setup.base + path, data=data,
                        timeout=aiohttp.ClientTimeout(total=WECHAT_WAIT)) as response:
                    if response.status < 500:
                        return await response.text()
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))
        return None

    async def seller(self, n: int, rng: random.Random) -> None:
        openid = f"chaos_seller_{n}"
        product, origin = GOODS[n % len(GOODS)]
        stock = rng.randint(50, 500)
        await self.say(openid, f"我要卖{product}，{rng.randint(2, 9)}块一斤，有{stock}斤，{origin}的")
        self.tally.tried_listings[openid] = stock
        reply = await self.say(openid, "确认")
        if reply and PUBLISHED.search(reply):
            self.tally.listings[openid] = stock

    async def buyer(self, n: int, rng: random.Random) -> None:
        openid = f"chaos_buyer_{n}"
        self.tally.buyers += 1
        reply = await self.say(openid, rng.choice(SEARCHES))
        links = LINK.findall(reply or "")
        if not links:
            return
        path = rng.choice(links[:3])
        page = await self.page("GET", path)
        found = FIELD.findall(page or "")
        if not found:
            return
        self.tally.forms[openid] += 1
        done = await self.page("POST", path, {"form": found[0], "quantity": str(rng.randint(1, 3)),
                                              **BUYER, "note": ""})
        number = ORDER_NO.findall(done or "")
        if not number:
            return
        self.tally.orders.append(number[0])
        if rng.random() < 0.3:  # a change of mind: the stock comes back, once
            reply = await self.say(openid, f"取消订单 {number[0]}")
            if reply and CANCELLED in reply:
                self.tally.cancelled.append(number[0])


async def drive(client: Client, stop: asyncio.Event, rng: random.Random, actors: int) -> None:
    counter = iter(range(10**9))

    async def actor(kind: int) -> None:
        while not stop.is_set():
            n = next(counter)
            if kind % 3 == 0:  # two buyers to a seller: a buyer waits longer per turn
                await client.seller(n, rng)
            else:
                await client.buyer(n, rng)

    await asyncio.gather(*(actor(k) for k in range(actors)))


# -- the count ------------------------------------------------------------------------

@dataclass
class Counts:
    acknowledged_listings: int
    lost_listings: int
    double_listings: int
    acknowledged_orders: int
    lost_orders: int
    double_orders: int
    orders_over_forms: int
    acknowledged_cancellations: int
    lost_cancellations: int
    stock_mismatches: int
    units: tuple[int, int]        # (ordered, of which cancelled)
    double_handled_messages: int
    outbox_sends: int
    double_sends: int
    integrity: str

    @property
    def ok(self) -> bool:
        return (self.lost_listings == self.double_listings == self.lost_orders == self.double_orders
                == self.orders_over_forms == self.lost_cancellations == self.stock_mismatches
                == self.double_handled_messages
                == self.double_sends == 0 and self.integrity == "ok")


def count(setup: Setup, tally: Tally, sent: list[dict[str, Any]]) -> Counts:
    db = Database(setup.config.db.path)
    try:
        return db.call(_count, setup, tally, sent)
    finally:
        db.close()


def _count(conn: Any, setup: Setup, tally: Tally, sent: list[dict[str, Any]]) -> Counts:
    def scalar(sql: str, *params: Any) -> Any:
        return conn.execute(sql, params).fetchone()[0]

    per_seller = dict(conn.execute(
        "SELECT s.openid, count(l.id) FROM sellers s JOIN listings l ON l.seller_id = s.id"
        " WHERE s.openid LIKE 'chaos_seller_%' GROUP BY s.openid").fetchall())
    lost_listings = sum(1 for openid in tally.listings if per_seller.get(openid, 0) != 1)
    double_listings = sum(1 for n in per_seller.values() if n > 1)
    lost_orders = sum(1 for no in tally.orders
                      if scalar("SELECT count(*) FROM orders WHERE order_no = ?", no) == 0)
    double_orders = sum(1 for no in tally.orders
                        if scalar("SELECT count(*) FROM orders WHERE order_no = ?", no) > 1)
    double_orders += scalar("SELECT count(*) FROM (SELECT form_key FROM orders"
                            " GROUP BY form_key HAVING count(*) > 1)")
    lost_cancellations = sum(1 for no in tally.cancelled if scalar(
        "SELECT count(*) FROM orders WHERE order_no = ? AND status = 'cancelled'", no) != 1)
    per_buyer = dict(conn.execute("SELECT buyer, count(*) FROM orders GROUP BY buyer").fetchall())
    over = sum(1 for buyer, n in per_buyer.items() if n > tally.forms.get(buyer, 0))
    chat_stock = {row[0]: tally.tried_listings.get(row[1]) for row in conn.execute(
        "SELECT l.id, s.openid FROM listings l JOIN sellers s ON s.id = l.seller_id"
        " WHERE l.source = 'chat'")}
    mismatches = 0
    for listing_id, stock in conn.execute("SELECT id, stock FROM listings"):
        initial = setup.initial_stock.get(listing_id, chat_stock.get(listing_id))
        taken = scalar("SELECT coalesce(sum(quantity), 0) FROM orders"
                       " WHERE listing_id = ? AND status != 'cancelled'", listing_id)
        if initial is None or stock != initial - taken:
            mismatches += 1
    doubled = scalar("SELECT count(*) FROM (SELECT openid, text FROM message_log"
                     " WHERE openid LIKE 'chaos_%' GROUP BY openid, text HAVING count(*) > 1)")
    sends = Counter((m.get("touser"), (m.get("text") or {}).get("content")) for m in sent)
    return Counts(len(tally.listings), lost_listings, double_listings, len(tally.orders),
                  lost_orders, double_orders, over, len(tally.cancelled), lost_cancellations,
                  mismatches, tuple(conn.execute(
                      "SELECT coalesce(sum(quantity), 0), coalesce(sum(quantity) FILTER"
                      " (WHERE status = 'cancelled'), 0) FROM orders").fetchone()),
                  doubled, len(sent),
                  sum(1 for n in sends.values() if n > 1),
                  scalar("PRAGMA integrity_check"))


# -- the whole run --------------------------------------------------------------------

async def chaos(kills: int, seed: int, interval: float, actors: int = 6,
                folder: Path | None = None) -> tuple[Counts, Tally]:
    from tests.fake_wechat import FakeWeChat  # the one fake of the WeChat API

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="chaos-") as temp:
        where = folder or Path(temp)
        async with FakeWeChat(APP_ID, APP_SECRET) as fake:
            setup = prepare(where, fake.api_base)
            server = Server(setup, where / "server.log")
            tally = Tally()
            stop = asyncio.Event()
            async with aiohttp.ClientSession() as session:
                client = Client(setup, session, interval, tally)
                driving = asyncio.create_task(drive(client, stop, rng, actors))
                try:
                    await supervise(server, kills, rng, tally)
                    stop.set()
                    await driving  # the last actions finish against a healthy server
                    exit_code = await server.stop()
                finally:
                    stop.set()
                    server.kill()
            if exit_code != 0:
                raise RuntimeError(f"the last server exited {exit_code} on SIGTERM")
            return count(setup, tally, list(fake.sent)), tally


def report(counts: Counts, tally: Tally, kills: int, seed: int, interval: float,
           elapsed: float) -> str:
    kinds = ", ".join(f"{name} {n}" for name, n in sorted(tally.kills.items()))
    return "\n".join([
        f"chaos: {kills} kills (seed {seed}, resend interval {interval:g} s, {TRIES} tries)"
        f" in {elapsed:.0f} s",
        f"  kills: {kinds}; restarts {tally.restarts}",
        f"  messages {tally.messages}, resends {tally.resends}, never answered {tally.unanswered},"
        f" answered only `success` {tally.success_only}",
        f"  listings acknowledged {counts.acknowledged_listings}: lost {counts.lost_listings},"
        f" double {counts.double_listings}",
        f"  buyers {tally.buyers}, order forms submitted {sum(tally.forms.values())}",
        f"  orders acknowledged {counts.acknowledged_orders}: lost {counts.lost_orders},"
        f" double {counts.double_orders}, more orders than forms {counts.orders_over_forms}",
        f"  cancellations acknowledged {counts.acknowledged_cancellations}:"
        f" not cancelled {counts.lost_cancellations}",
        f"  stock = initial - ordered + cancelled ({counts.units[0]} units ordered,"
        f" {counts.units[1]} cancelled): {counts.stock_mismatches} listings differ",
        f"  messages handled twice: {counts.double_handled_messages}",
        f"  outbox API sends {counts.outbox_sends}: sent twice {counts.double_sends}",
        f"  integrity_check: {counts.integrity}",
        "  result: " + ("OK" if counts.ok else "FAILED"),
    ])


def run_chaos(kills: int, seed: int | None, interval: float) -> int:
    seed = seed if seed is not None else random.randrange(10**6)
    started = time.monotonic()
    counts, tally = asyncio.run(chaos(kills, seed, interval))
    print(report(counts, tally, kills, seed, interval, time.monotonic() - started))
    return 0 if counts.ok else 1
