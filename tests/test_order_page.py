"""The order page at /o/{token}: links, the signed form, validation, double submits, and
stock under concurrency and a crash, through real servers on one SQLite file."""
from __future__ import annotations

import asyncio
import html
import os
import signal
import time
from pathlib import Path

import aiohttp
import pytest

from handlers import links
from tests.conftest import Bot, free_port, make_config, ready, seed, serve, start_bot, stop_bot
from tests.gate import until
from tests.orders_kit import BUYER, LINK, Page, base, get, link, post, sql, write_config

SECRET = "test-link-secret"


def _listing_id(bot: Bot, sku: str = "T-MUER-1") -> int:
    return sql(bot.config, "SELECT id FROM listings WHERE sku = ?", sku)[0][0]


def _orders(bot: Bot) -> int:
    return sql(bot.config, "SELECT count(*) FROM orders")[0][0]


# -- links ------------------------------------------------------------------------------------

async def test_tampered_links_get_403_and_expired_ones_410(bot: Bot) -> None:
    listing = _listing_id(bot)
    now = int(time.time())
    good = links.sign(SECRET, listing, "buyer_l", now - 6 * 86400)
    old = links.sign(SECRET, listing, "buyer_l", now - 7 * 86400 - 60)
    other_listing = links.sign(SECRET, listing + 1, "buyer_l", now)
    forged = other_listing.split(".")[0] + "." + good.split(".")[1]
    assert (await get(bot.session, base(bot), f"/o/{good}")).status == 200
    for token in (forged, good[:-3] + "xyz", "garbage", good.split(".")[0], "a.b.c"):
        page = await get(bot.session, base(bot), f"/o/{token}")
        assert page.status == 403 and "链接无效" in page.html, token
    page = await get(bot.session, base(bot), f"/o/{old}")
    assert page.status == 410 and "链接已过期" in page.html and "返回公众号" in page.html
    expired_post = await post(bot.session, base(bot), f"/o/{old}", {
        "form": links.form_field(SECRET, old), "quantity": "1", **BUYER})
    assert expired_post.status == 410 and _orders(bot) == 0


async def test_link_days_is_configurable(tmp_path: Path) -> None:
    config = make_config(tmp_path, orders={"link_days": 1})
    seed(config)
    running = await start_bot(config)
    try:
        token = links.sign(SECRET, 1, "buyer_d", int(time.time()) - 2 * 86400)
        page = await get(running.session, base(running), f"/o/{token}")
        assert page.status == 410 and "1天内有效" in page.html
    finally:
        await stop_bot(running)


async def test_a_link_with_a_quantity_prefills_the_form(bot: Bot) -> None:
    await bot.say("有没有土鸡蛋", openid="buyer_q")
    chosen = await bot.say("要第1个 三盒", openid="buyer_q")
    path = LINK.findall(chosen)[0]
    page = await get(bot.session, base(bot), path)
    assert 'value="3"' in page.html and "¥135.00" in page.html  # 3 × ¥45.00
    plain = await get(bot.session, base(bot), await link(bot, "buyer_q", "有没有土鸡蛋"))
    assert 'id="quantity"' in plain.html and "¥45.00" in plain.html


# -- the form ------------------------------------------------------------------------------------

async def test_the_form_needs_its_signed_field_for_this_link(bot: Bot) -> None:
    path = await link(bot, "buyer_c")
    other = await link(bot, "buyer_other")
    form = await get(bot.session, base(bot), path)
    foreign = (await get(bot.session, base(bot), other)).field
    nonce, _, mac = form.field.partition(".")
    for field in ("", "nonsense", foreign, f"{nonce}x.{mac}", f"{nonce}.{mac[:-2]}AA"):
        page = await post(bot.session, base(bot), path, {"form": field, "quantity": "1", **BUYER})
        assert page.status == 403 and "页面已失效" in page.html, field
    assert _orders(bot) == 0
    assert sql(bot.config, "SELECT stock FROM listings WHERE sku = 'T-MUER-1'") == [(120,)]


async def test_submitting_twice_creates_one_order(bot: Bot) -> None:
    path = await link(bot, "buyer_2")
    form = await get(bot.session, base(bot), path)
    data = {"form": form.field, "quantity": "2", **BUYER}
    first = await post(bot.session, base(bot), path, data)
    again = await post(bot.session, base(bot), path, data)
    assert first.status == again.status == 200 and first.order_no == again.order_no
    assert "已经提交过了" in again.html and "已经提交过了" not in first.html
    racing = (await get(bot.session, base(bot), path)).field
    pages = await asyncio.gather(*(post(bot.session, base(bot), path,
                                        {**data, "form": racing}) for _ in range(8)))
    assert {p.status for p in pages} == {200} and len({p.order_no for p in pages}) == 1
    assert _orders(bot) == 2
    assert sql(bot.config, "SELECT stock FROM listings WHERE sku = 'T-MUER-1'") == [(116,)]


async def test_errors_show_in_the_form_with_the_values_kept(bot: Bot) -> None:
    path = await link(bot, "buyer_v")
    field = (await get(bot.session, base(bot), path)).field
    cases = {
        "phone": ({"phone": "12345"}, "11位手机号"),
        "phone landline": ({"phone": "010-12345678"}, "11位手机号"),
        "quantity zero": ({"quantity": "0"}, "请填写购买数量"),
        "quantity text": ({"quantity": "两袋"}, "请填写购买数量"),
        "quantity huge": ({"quantity": "9" * 5000}, "请填写购买数量"),
        "over stock": ({"quantity": "121"}, "库存不足：最多还能买120袋"),
        "short address": ({"address": "北京"}, "详细地址"),
        "long address": ({"address": "北" * 121}, "详细地址"),
        "no name": ({"name": " "}, "收货人姓名"),
    }
    for case, (change, message) in cases.items():
        data = {"form": field, "quantity": "1", **BUYER, "note": "<b>轻拿</b>", **change}
        page = await post(bot.session, base(bot), path, data)
        assert page.status == 400 and message in page.html, case
        assert 'aria-invalid="true"' in page.html, case
        assert html.escape(data["address"], quote=True) in page.html, case
        assert "&lt;b&gt;轻拿&lt;/b&gt;" in page.html and "<b>轻拿" not in page.html, case
    assert _orders(bot) == 0
    ok = await post(bot.session, base(bot), path, {
        "form": field, "quantity": "1", **BUYER, "phone": "+86 139 0000 1111"})
    assert ok.status == 200 and "13900001111" in ok.html
    assert sql(bot.config, "SELECT phone FROM orders") == [("13900001111",)]


async def test_delisted_and_sold_out_listings_say_so(bot: Bot) -> None:
    path = await link(bot, "buyer_s")
    field = (await get(bot.session, base(bot), path)).field
    sql(bot.config, "UPDATE listings SET stock = 0 WHERE sku = 'T-MUER-1'")
    page = await get(bot.session, base(bot), path)
    assert page.status == 200 and "库存不足" in page.html and 'name="form"' not in page.html
    sold_out = await post(bot.session, base(bot), path, {"form": field, "quantity": "1", **BUYER})
    assert sold_out.status == 409 and "库存不足" in sold_out.html
    sql(bot.config, "UPDATE listings SET stock = 5, status = 'delisted' WHERE sku = 'T-MUER-1'")
    gone = await post(bot.session, base(bot), path, {"form": field, "quantity": "1", **BUYER})
    assert gone.status == 404 and "已下架" in gone.html
    assert _orders(bot) == 0


# -- stock under concurrency, and a crash ------------------------------------------------------------

async def _forms(session: aiohttp.ClientSession, url: str, path: str, count: int) -> list[str]:
    pages = await asyncio.gather(*(get(session, url, path) for _ in range(count)))
    return [page.field for page in pages]


async def test_50_concurrent_orders_from_two_processes_for_10_units(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    seed(config)
    sql(config, "UPDATE listings SET stock = 10 WHERE sku = 'T-MUER-1'")
    here = await start_bot(config)
    port = free_port()
    other = await serve(write_config(config, tmp_path / "other.toml"), port, tmp_path / "other.log")
    try:
        await ready(here.session, port)
        path = await link(here, "buyer_rush")
        urls = [base(here), f"http://127.0.0.1:{port}"]
        fields = [f for url in urls for f in await _forms(here.session, url, path, 25)]
        pages = await asyncio.gather(*(
            post(here.session, urls[n % 2], path, {"form": field, "quantity": "1", **BUYER})
            for n, field in enumerate(fields)))
    finally:
        other.terminate()
        await other.wait()
        await stop_bot(here)
    won = [p for p in pages if p.status == 200]
    lost = [p for p in pages if p.status != 200]
    assert len(won) == 10 and len({p.order_no for p in won}) == 10
    assert len(lost) == 40 and all(p.status == 409 and "库存不足" in p.html for p in lost)
    assert sql(config, "SELECT stock FROM listings WHERE sku = 'T-MUER-1'") == [(0,)]
    assert sql(config, "SELECT count(*), sum(quantity) FROM orders") == [(10, 10)]


async def test_every_order_acknowledged_before_a_crash_is_there_after_it(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    seed(config)
    config_path = write_config(config, tmp_path / "crash.toml")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = await serve(config_path, port, tmp_path / "crash.log")
    acknowledged: list[tuple[str, int, str]] = []
    async with aiohttp.ClientSession() as session:
        await ready(session, port)
        here = await start_bot(config)  # only to get a link through the webhook
        path = await link(here, "buyer_crash")
        await stop_bot(here)
        fields = await _forms(session, url, path, 60)

        async def buy(n: int, field: str) -> None:
            quantity, name = 1 + n % 3, f"买家{n}"
            try:
                page = await post(session, url, path, {
                    "form": field, "quantity": str(quantity), **BUYER, "name": name})
            except aiohttp.ClientError:
                return  # never answered: the buyer saw nothing
            if page.status == 200 and page.order_no:
                acknowledged.append((page.order_no, quantity, name))

        tasks = [asyncio.create_task(buy(n, f)) for n, f in enumerate(fields)]
        await until(lambda: len(acknowledged) >= 8, limit=30)
        os.kill(server.pid, signal.SIGKILL)  # mid-stream: some requests are in flight
        await asyncio.gather(*tasks)
        await server.wait()
    assert 8 <= len(acknowledged) < 60

    restarted = await start_bot(config)  # a new process would do the same: same file
    try:
        rows = {row[0]: row[1:] for row in sql(
            config, "SELECT order_no, quantity, name, status, phone FROM orders")}
        for number, quantity, name in acknowledged:
            assert rows[number] == (quantity, name, "placed", BUYER["phone"]), number
        stock = sql(config, "SELECT stock FROM listings WHERE sku = 'T-MUER-1'")[0][0]
        assert stock + sum(q for q, *_ in rows.values()) == 120  # nothing half-written
        assert sql(config, "PRAGMA integrity_check") == [("ok",)]
        assert sql(config, "SELECT count(*) FROM order_events") == [(len(rows),)]
    finally:
        await stop_bot(restarted)


@pytest.mark.parametrize("raw,expected", [("13812345678", "13812345678"),
                                           ("+86 138-1234-5678", "13812345678"),
                                           ("8613812345678", "13812345678"),
                                           ("１３８１２３４５６７８", "13812345678"),
                                           ("12812345678", None), ("1381234567", None),
                                           ("138123456789", None), ("", None)])
def test_mainland_mobile_numbers(raw: str, expected: str | None) -> None:
    from handlers.order_form import _text, mobile

    assert mobile(_text({"p": raw}, "p")) == expected


def test_page_helpers_read_what_the_templates_write() -> None:
    page = Page(200, '<input type="hidden" name="form" value="n.m">订单号 <strong>'
                     '20261202-7K3F9Q</strong>')
    assert page.field == "n.m" and page.order_no == "20261202-7K3F9Q"


@pytest.mark.parametrize("text,unit,expected", [
    ("要第1个 两袋", "袋", 2), ("要第1个 三斤", "斤", 3), ("要第1个 4斤", "公斤", 2),
    ("要第1个 3斤", "公斤", None), ("要第1个 三斤", "袋", None), ("要第1个 半斤", "斤", None),
    ("要第1个", "斤", None), ("买2号 两箱", "箱", 2)])
def test_the_amount_asked_in_chat_in_the_listings_units(text: str, unit: str,
                                                         expected: int | None) -> None:
    from handlers.order_form import link_quantity
    from nlp import understand

    assert link_quantity(understand(text, {"page": [1]}).slots, unit) == expected


def test_link_signatures_are_hmac_sha256_of_the_payload() -> None:
    """Links signed before the keyed state was reused still verify: same MAC, same token."""
    import base64
    import hmac

    token = links.sign(SECRET, 42, "buyer_m", 1_764_700_000, 3)
    payload, _, signature = token.partition(".")
    expected = hmac.digest(SECRET.encode(), payload.encode(), "sha256")[:16]
    assert base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)) == expected
    assert links.verify(SECRET, token, 1_764_700_000).quantity == 3
