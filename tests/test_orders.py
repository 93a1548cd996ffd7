"""Orders by chat and page through the real server: the whole flow, every transition by
the right and the wrong party, notices to both sides, the automatic transitions,
unsubscribe erasure at close."""
from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from bot import wire
from bot.server import housekeep
from db import Database, listings, orders, schema
from db.orders import Changed, NewOrder, Notice, Placed
from handlers import links
from handlers.notices import stock_out_notice
from handlers.order import notify_seller_backlog
from tests.conftest import ROOT, Bot
from tests.orders_kit import BUYER, LINK, base, get, link_seller, order, post, sql

SELLER = "金米村合作社"          # sells 柞水木耳 (¥39.90 a 袋, 120 in stock) in tests/data
SELLER_ID = "seller_jm"
STOCK = 120


def _stock(bot: Bot) -> int:
    return sql(bot.config, "SELECT stock FROM listings WHERE sku = 'T-MUER-1'")[0][0]


def _status(bot: Bot, order_no: str) -> str:
    return sql(bot.config, "SELECT status FROM orders WHERE order_no = ?", order_no)[0][0]


def _events(bot: Bot, order_no: str) -> list[tuple]:
    return sql(bot.config, "SELECT e.from_status, e.to_status, e.actor FROM order_events e"
               " JOIN orders o ON o.id = e.order_id WHERE o.order_no = ? ORDER BY e.id", order_no)


# -- the whole flow ----------------------------------------------------------------------

async def test_a_buyer_orders_and_follows_while_the_seller_confirms_and_ships(bot: Bot) -> None:
    link_seller(bot.config, SELLER, SELLER_ID)
    await bot.say("我想买木耳", openid="buyer_1")
    chosen = await bot.say("要第1个 两袋", openid="buyer_1")
    path = LINK.findall(chosen)[0]
    form = await get(bot.session, base(bot), path)
    assert form.status == 200 and re.search(r'id="quantity"[^>]*value="2"', form.html)
    assert "¥79.80" in form.html  # the total for the prefilled quantity
    page = await post(bot.session, base(bot), path, {
        "form": form.field, "quantity": "2", "name": "张三", "phone": "+86 138-1234-5678",
        "address": BUYER["address"], "note": "下午送"})
    assert page.status == 200 and page.order_no
    assert "已通知卖家「金米村合作社」" in page.html and "13812345678" in page.html
    number, code = page.order_no, page.order_no[-6:]
    assert _stock(bot) == STOCK - 2

    notice = await bot.say("在吗", openid=SELLER_ID)
    assert f"新订单 {number}" in notice and "13812345678" in notice
    assert BUYER["address"] in notice and "下午送" in notice and "¥79.80" in notice
    assert "已确认订单" in await bot.say(f"确认订单 {code}", openid=SELLER_ID)
    assert _status(bot, number) == "confirmed"
    listed = await bot.say("我的订单", openid="buyer_1")
    assert "卖家已确认" in listed and f"1. {number} 已确认" in listed

    shipped = await bot.say(f"发货 {code} 顺丰SF1234567890", openid=SELLER_ID)
    assert "已登记发货" in shipped and "顺丰 SF1234567890" in shipped
    shown = await bot.say("订单 1", openid="buyer_1")
    assert "已发货：顺丰 SF1234567890" in shown and "收到了" in shown
    assert "138****5678" in shown and "13812345678" not in shown
    url = json.loads(sql(bot.config, "SELECT fields FROM outbox WHERE idem_key = ?",
                         f"order_status:{number}:shipped:buyer")[0][0])["url"]
    view = await get(bot.session, base(bot), url.removeprefix("http://shop.example"))
    assert view.status == 200 and "订单已发货" in view.html and "顺丰 SF1234567890" in view.html
    assert re.findall(r"<strong>(\S+)</strong> <span", view.html) == ["待确认", "已确认", "已发货"]
    assert "13812345678" in view.html  # the buyer's own page
    assert (await get(bot.session, base(bot), url.removeprefix("http://shop.example")[:-2] + "xx")
            ).status == 403

    done = await bot.say("收到了 1", openid="buyer_1")
    assert "已确认收货" in done and _status(bot, number) == "completed"
    seller_view = await bot.say("我的订单", openid=SELLER_ID)
    assert "买家已确认收货" in seller_view and f"{number} 已完成" in seller_view

    assert _events(bot, number) == [(None, "placed", "buyer"), ("placed", "confirmed", "seller"),
                                    ("confirmed", "shipped", "seller"),
                                    ("shipped", "completed", "buyer")]
    assert sql(bot.config, "SELECT kind, openid, state FROM outbox ORDER BY id") == [
        ("order_new", SELLER_ID, "shown"), ("order_status", "buyer_1", "shown"),
        ("order_status", "buyer_1", "shown"), ("order_status", SELLER_ID, "shown")]
    assert [kind for kind, text in sql(bot.config, "SELECT kind, text FROM outbox")
            if "13812345678" in text] == ["order_new"]  # the phone, whole, to the seller only
    assert _stock(bot) == STOCK - 2


async def test_the_menu_and_commands_without_an_order_never_guess(bot: Bot) -> None:
    link_seller(bot.config, SELLER, SELLER_ID)
    empty = await bot.send_xml(wire.event_xml("buyer_m", "CLICK", "ORDERS"), "buyer_m")
    assert "还没有订单" in empty["Content"]
    first = await order(bot, "buyer_m", 1)
    second = await order(bot, "buyer_m", 1)
    assert "请先发「我的订单」" in await bot.say("取消订单 1", openid="buyer_m")
    which = await bot.say("取消订单", openid="buyer_m")
    assert first in which and second in which and "取消订单 订单号" in which
    assert {_status(bot, first), _status(bot, second)} == {"placed"}
    menu = await bot.send_xml(wire.event_xml("buyer_m", "CLICK", "ORDERS",
                                             created_at=int(time.time()) + 1), "buyer_m")
    assert f"1. {second} 待确认" in menu["Content"] and f"2. {first} 待确认" in menu["Content"]
    assert "需要卖家" not in await bot.say("取消订单 2", openid="buyer_m")
    assert _status(bot, first) == "cancelled" and _status(bot, second) == "placed"
    assert "没有找到订单「9」" in await bot.say("订单 9", openid="buyer_m")
    # A seller must give a reason, and a tracking number (or say they deliver themselves).
    code = second[-6:]
    assert "说明原因" in await bot.say(f"取消订单 {code}", openid=SELLER_ID)
    assert "已确认订单" in await bot.say(f"确认订单 {code}", openid=SELLER_ID)
    assert "单号" in await bot.say(f"发货 {code}", openid=SELLER_ID)
    assert _status(bot, second) == "confirmed"
    assert "卖家自己送货" in await bot.say(f"发货 {code} 自己送", openid=SELLER_ID)
    assert _status(bot, second) == "shipped"


# -- who may do what -------------------------------------------------------------------------

COMMANDS = {"confirm": "确认订单 {code}", "ship": "发货 {code} 顺丰SF1234567890",
            "cancel": "取消订单 {code} 缺货了", "received": "收到了 {code}"}
# The issue's rules, written out here rather than read from the code under test.
ALLOWED = {("placed", "seller", "confirm"): "confirmed", ("placed", "buyer", "cancel"): "cancelled",
           ("placed", "seller", "cancel"): "cancelled", ("confirmed", "seller", "ship"): "shipped",
           ("confirmed", "buyer", "cancel"): "cancelled",
           ("confirmed", "seller", "cancel"): "cancelled",
           ("shipped", "buyer", "received"): "completed"}
DONE_MARKS = ("✅ 已确认订单", "🚚 已登记发货", "🎉 已确认收货", "❎ 已取消订单")
ROUTE = {"placed": [], "confirmed": ["confirmed"], "shipped": ["confirmed", "shipped"],
         "completed": ["confirmed", "shipped", "completed"], "cancelled": ["cancelled"]}


def _drive(bot: Bot, number: str, status: str) -> None:
    """Bring an order to a status the way an operator would."""
    db = Database(bot.config.db.path)
    try:
        order_id = db.call(orders.by_number, number)[0].id
        for step in ROUTE[status]:
            result = db.call(orders.change, order_id, step, "operator", time.time(),
                             lambda o, e: [], None, None, None, "test")
            assert isinstance(result, Changed)
    finally:
        db.close()


async def test_every_transition_by_the_right_and_the_wrong_party(bot: Bot) -> None:
    link_seller(bot.config, SELLER, SELLER_ID)
    who = {"buyer": "buyer_t", "seller": SELLER_ID, "stranger": "someone_else"}
    for status in orders.STATUSES:
        for party, openid in who.items():
            for action, command in COMMANDS.items():
                number = await order(bot, "buyer_t", 1)
                _drive(bot, number, status)
                stock = _stock(bot)
                reply = await bot.say(command.format(code=number[-6:]), openid=openid)
                expected = ALLOWED.get((status, party, action), status)
                case = (status, party, action, reply)
                assert _status(bot, number) == expected, case
                restored = 1 if expected == "cancelled" != status else 0
                assert _stock(bot) == stock + restored, case
                if party == "stranger":
                    assert "没有找到订单" in reply, case
                elif expected == status:  # refused, saying why, and nothing claimed done
                    assert number in reply or "要由" in reply, case
                    assert not any(done in reply for done in DONE_MARKS), case
                else:
                    assert any(done in reply for done in DONE_MARKS), case


def test_operators_and_the_system_have_their_own_rights(tmp_path: Path) -> None:
    assert orders.allowed("placed", "confirmed", "operator")
    assert orders.allowed("shipped", "completed", "system")
    assert orders.allowed("placed", "cancelled", "system")
    assert not orders.allowed("placed", "confirmed", "system")
    assert not orders.allowed("confirmed", "cancelled", "system")
    assert not orders.allowed("shipped", "cancelled", "operator")
    assert not any(orders.allowed(closed, to, actor) for closed in orders.CLOSED
                   for to in orders.STATUSES for actor in orders.ACTORS)


async def test_cancelling_restores_stock_exactly_once_under_a_race(bot: Bot) -> None:
    number = await order(bot, "buyer_r", 5)
    order_id = sql(bot.config, "SELECT id FROM orders WHERE order_no = ?", number)[0][0]
    results: list[object] = []
    start = threading.Barrier(8)

    def cancel(actor: str) -> None:
        db = Database(bot.config.db.path)  # its own connection, like another process
        try:
            start.wait()
            results.append(db.call(orders.change, order_id, "cancelled", actor, time.time(),
                                   lambda o, e: [Notice("order_status", "x", "取消", f"k:{actor}")],
                                   "race"))
        finally:
            db.close()

    threads = [threading.Thread(target=cancel, args=(["buyer", "seller"][n % 2],))
               for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(isinstance(r, Changed) for r in results) == 1
    assert _stock(bot) == STOCK
    assert sql(bot.config, "SELECT count(*) FROM order_events WHERE to_status = 'cancelled'") == [(1,)]
    assert sql(bot.config, "SELECT count(*) FROM outbox WHERE idem_key LIKE 'k:%'") == [(1,)]


# -- notices --------------------------------------------------------------------------------

async def test_a_seller_without_wechat_is_told_later_and_the_page_says_so(bot: Bot) -> None:
    path = LINK.findall(await bot.say("我想买木耳", openid="buyer_b"))[0]
    form = await get(bot.session, base(bot), path)
    page = await post(bot.session, base(bot), path, {"form": form.field, "quantity": "1", **BUYER})
    assert "还没有开通微信通知" in page.html and "已通知卖家" not in page.html
    cancelled = await order(bot, "buyer_b", 1)
    await bot.say("我的订单", openid="buyer_b")
    await bot.say(f"取消订单 {cancelled[-6:]}", openid="buyer_b")
    assert sql(bot.config, "SELECT count(*) FROM outbox") == [(0,)]

    link_seller(bot.config, SELLER, SELLER_ID)
    seller_id = sql(bot.config, "SELECT id FROM sellers WHERE name = ?", SELLER)[0][0]
    services = bot.state.pipeline.services
    assert await notify_seller_backlog(services, seller_id) == 1  # the cancelled one is moot
    assert await notify_seller_backlog(services, seller_id) == 0
    notice = await bot.say("在吗", openid=SELLER_ID)
    assert f"新订单 {page.order_no}" in notice and "13812345678" in notice
    assert cancelled not in notice


# -- automatic transitions ---------------------------------------------------------------------

def _backdate(bot: Bot, number: str, hours: float) -> None:
    sql(bot.config, "UPDATE orders SET status_at = status_at - ? WHERE order_no = ?",
        hours * 3600, number)


def _jobs(db_path: str, go: Path) -> subprocess.Popen[str]:
    script = (
        "import asyncio, sys, time\nfrom pathlib import Path\n"
        "from db import Database\nfrom handlers.context import Services\n"
        "from handlers.order import close_due\n"
        "async def main():\n"
        "    db = Database(sys.argv[1])\n"
        "    services = Services(db, 'http://shop.example', 'test-link-secret')\n"
        "    while not Path(sys.argv[2]).exists():\n        await asyncio.sleep(0.005)\n"
        "    done = [await close_due(services) for _ in range(3)]\n"
        "    db.close()\n    print(done)\n"
        "asyncio.run(main())\n")
    return subprocess.Popen([sys.executable, "-c", script, db_path, str(go)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


async def test_automatic_transitions_run_once_across_processes(bot: Bot, tmp_path: Path) -> None:
    link_seller(bot.config, SELLER, SELLER_ID)
    late, fresh, delivered, travelling = [await order(bot, "buyer_a", q) for q in (1, 2, 3, 4)]
    for number in (delivered, travelling):
        _drive(bot, number, "shipped")
    _backdate(bot, late, 48.1)
    _backdate(bot, fresh, 47.9)
    _backdate(bot, delivered, 10 * 24 + 0.1)
    _backdate(bot, travelling, 9 * 24 + 23.9)
    go = tmp_path / "go"
    workers = [_jobs(bot.config.db.path, go) for _ in range(2)]
    await asyncio.sleep(0.5)  # both workers loaded and waiting on the go file
    go.touch()
    await asyncio.gather(*(housekeep(bot.state) for _ in range(3)))
    outputs = [await asyncio.to_thread(worker.communicate) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs

    assert [_status(bot, n) for n in (late, fresh, delivered, travelling)] == [
        "cancelled", "placed", "completed", "shipped"]
    assert _events(bot, late)[-1] == ("placed", "cancelled", "system")
    assert _events(bot, delivered)[-1] == ("shipped", "completed", "system")
    assert sql(bot.config, "SELECT count(*) FROM order_events WHERE actor = 'system'") == [(2,)]
    assert _stock(bot) == STOCK - 2 - 3 - 4  # the late order's 1 came back, once
    assert sql(bot.config, "SELECT cancelled_by FROM orders WHERE order_no = ?", late) == [
        ("system",)]
    buyer = await bot.say("我的订单", openid="buyer_a")
    seller = await bot.say("我的订单", openid=SELLER_ID)
    assert "48小时内没有确认，已自动取消" in buyer and "已自动确认收货" in buyer
    assert "库存已退回" in seller and "已自动确认收货" in seller


# -- privacy --------------------------------------------------------------------------------------

def _mentions(bot: Bot, needle: str) -> list[tuple[str, str]]:
    found = []
    for (table,) in sql(bot.config, "SELECT name FROM sqlite_master WHERE type = 'table'"):
        for column in [row[1] for row in sql(bot.config, f"PRAGMA table_info('{table}')")]:
            if sql(bot.config, f'SELECT count(*) FROM "{table}" WHERE instr("{column}", ?) > 0',
                   needle)[0][0]:
                found.append((table, column))
    return found


async def test_unsubscribe_erases_delivery_details_when_each_order_closes(bot: Bot) -> None:
    link_seller(bot.config, SELLER, SELLER_ID)
    leaver = "o_leaving_buyer"
    closed = await order(bot, leaver, 1, phone="13900001111", address="上海市浦东新区世纪大道100号")
    await bot.say("我的订单", openid=leaver)
    await bot.say(f"取消订单 {closed[-6:]} 买多了", openid=leaver)
    still_open = await order(bot, leaver, 2, phone="13900001111", address="上海市浦东新区世纪大道100号")
    await bot.say(f"确认订单 {still_open[-6:]}", openid=SELLER_ID)

    view = "/order/" + links.sign_order("test-link-secret", closed, leaver)
    assert (await get(bot.session, base(bot), view)).status == 200

    await bot.send_xml(wire.event_xml(leaver, "unsubscribe"), leaver)

    assert _mentions(bot, leaver) == []
    assert (await get(bot.session, base(bot), view)).status == 404  # no longer anyone's page
    rows = dict((n, rest) for n, *rest in sql(
        bot.config, "SELECT order_no, name, phone, address, buyer, total_fen FROM orders"))
    assert rows[closed][:3] == [None, None, None] and rows[closed][3].startswith("anon_")
    assert rows[still_open][:3] == ["张三", "13900001111", "上海市浦东新区世纪大道100号"]
    assert rows[closed][3] == rows[still_open][3]  # one pseudonym for the seller's accounts
    texts = dict(sql(bot.config, "SELECT idem_key, text FROM outbox WHERE kind = 'order_new'"))
    assert texts[f"order_new:{closed}"] == "" and "13900001111" in texts[f"order_new:{still_open}"]

    # The seller still delivers the open one; it closes, and its details go with it.
    await bot.say(f"发货 {still_open[-6:]} 中通 78123456789012", openid=SELLER_ID)
    assert sql(bot.config, "SELECT count(*) FROM outbox WHERE openid LIKE 'anon_%'"
               " AND state IN ('queued', 'pending')") == [(0,)]  # nobody to tell
    _backdate(bot, still_open, 10 * 24 + 1)
    await housekeep(bot.state)
    assert _status(bot, still_open) == "completed"
    assert _mentions(bot, "13900001111") == [] and _mentions(bot, "世纪大道") == []
    assert sql(bot.config, "SELECT count(*), sum(total_fen) FROM orders") == [(2, 3 * 3990)]
    assert len(_events(bot, still_open)) == 4 and len(_events(bot, closed)) == 2


# -- storage rules ----------------------------------------------------------------------------------

def test_order_numbers_are_readable_and_a_clash_draws_again(tmp_path: Path) -> None:
    number = orders.order_number(1796169600.0)  # 2026-12-02 00:00 in China
    assert re.fullmatch(r"20261202-[2-9A-HJKMNP-Z]{6}", number)
    assert {orders.order_number(0)[-6:] for _ in range(200)}.__len__() == 200
    db = Database(tmp_path / "n.db")
    try:
        db.call(schema.migrate)
        db.call(lambda c: c.execute("INSERT INTO sellers (ident, name, created_at) VALUES ('s', 'S', 0)"))
        db.call(lambda c: c.execute(
            "INSERT INTO listings (sku, seller_id, title, price_fen, unit, stock, status, created_at,"
            " updated_at) VALUES ('a', 1, '土豆', 150, '斤', 10, 'live', 0, 0)"))
        drawn = iter(["20261202-AAAA22", "20261202-AAAA22", "20261202-BBBB33"])
        placed = [db.call(orders.place, NewOrder(1, "b", 1, "张三", "13812345678", "某地某路1号",
                                                 "", f"key{n}"), 0.0, lambda o, e: [],
                          stock_out_notice, lambda now: next(drawn)) for n in range(2)]
        assert [p.order.order_no for p in placed if isinstance(p, Placed)] == [
            "20261202-AAAA22", "20261202-BBBB33"]
        assert db.call(lambda c: c.execute("SELECT stock FROM listings").fetchone()[0]) == 8
    finally:
        db.close()


def test_stock_never_goes_negative_and_orders_are_never_deleted(bot: Bot) -> None:
    import sqlite3

    import pytest

    with pytest.raises(sqlite3.IntegrityError):
        sql(bot.config, "UPDATE listings SET stock = -1 WHERE sku = 'T-MUER-1'")
    sql(bot.config, "INSERT INTO orders (order_no, listing_id, seller_id, buyer, title, unit,"
        " price_fen, quantity, total_fen, status, created_at, status_at)"
        " VALUES ('20261202-K7K7K7', 1, 1, 'b', 't', '斤', 1, 1, 1, 'placed', 0, 0)")
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        sql(bot.config, "DELETE FROM orders")


def test_reliability_counts_completed_against_seller_and_system_cancellations(
        tmp_path: Path) -> None:
    db = Database(tmp_path / "r.db")
    try:
        db.call(schema.migrate)
        rows = [("completed", None)] * 3 + [("cancelled", "seller"), ("cancelled", "system")] + [
            ("cancelled", "buyer")] * 5 + [("cancelled", "operator"), ("placed", None)]
        db.call(lambda c: c.execute("INSERT INTO sellers (ident, name, created_at) VALUES ('s', 'S', 0)"))
        db.call(lambda c: c.execute(
            "INSERT INTO listings (sku, seller_id, title, price_fen, unit, stock, status, created_at,"
            " updated_at) VALUES ('a', 1, '土豆', 150, '斤', 10, 'live', 0, 0)"))
        db.call(lambda c: c.executemany(
            "INSERT INTO orders (order_no, listing_id, seller_id, buyer, title, unit, price_fen,"
            " quantity, total_fen, status, cancelled_by, created_at, status_at)"
            " VALUES (?, 1, 1, 'b', 't', '斤', 1, 1, 1, ?, ?, 0, 0)",
            [(f"20261202-R{n:05d}", s, b) for n, (s, b) in enumerate(rows)]))
        assert db.call(listings.reliability, [1, 2]) == {1: 3 / 5}
    finally:
        db.close()


async def test_the_order_that_takes_the_last_unit_tells_the_seller(bot: Bot) -> None:
    link_seller(bot.config, SELLER, SELLER_ID)
    sql(bot.config, "UPDATE listings SET stock = 3 WHERE sku = 'T-MUER-1'")
    await order(bot, "buyer_last", quantity=2)
    assert sql(bot.config, "SELECT count(*) FROM outbox WHERE kind = 'stock_out'") == [(0,)]
    await order(bot, "buyer_last2", quantity=1)
    assert _stock(bot) == 0
    assert sql(bot.config, "SELECT openid FROM outbox WHERE kind = 'stock_out'") == [
        (SELLER_ID,)]
    notice = await bot.say("在吗", openid=SELLER_ID)
    assert "卖完" in notice or "库存" in notice


async def test_orders_placed_before_a_claim_reach_the_seller_who_claims(bot: Bot) -> None:
    from db import sellers

    number = await order(bot, "buyer_early", quantity=1)
    assert sql(bot.config, "SELECT count(*) FROM outbox") == [(0,)]  # nobody to tell yet
    db = Database(bot.config.db.path)
    try:
        codes = {c.name: c.code for c in db.call(sellers.issue_claim_codes)}
    finally:
        db.close()
    claimed = await bot.say(f"认领 {codes[SELLER]}", openid=SELLER_ID)
    assert "认领成功" in claimed
    told = claimed + await bot.say("在吗", openid=SELLER_ID)
    assert f"新订单 {number}" in told and "13812345678" in told
