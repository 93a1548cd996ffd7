"""The console's second half: the moderation queue, delisting that tells the seller,
orders (keyset pages, history, status changes by the transition table, masked
delivery details) and the orders CLI. Real server, real SQLite, real forms."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

from db import Database, audit, listing_admin, orders, schema
from db.orders import NewOrder, Placed
from handlers.context import Services
from handlers.notices import stock_out_notice
from handlers.order_notices import composer
from tests.conftest import Bot, make_config, seed, start_bot, stop_bot
from tests.console import JPEG, db_call, page_as, signed_in, store_photo
from tests.orders_kit import BUYER, link_seller, order, sql
from tests.test_console_pages import _marks, _noon
from tests.test_import import run_cli

SELLER = "seller_liu"
BUYER_ID = "buyer_zhang"
MUER_SELLER, MUER_SELLER_ID = "金米村合作社", "seller_jm"   # sells 柞水木耳 (listing 5)


def _outbox(bot: Bot, kind: str) -> list[tuple[str, str]]:
    return bot.db_rows("SELECT openid, text FROM outbox WHERE kind = ? ORDER BY id", kind)


async def _review_bot(tmp_path: Path) -> Bot:
    config = make_config(tmp_path, listings={"require_review": True})
    seed(config)
    return await start_bot(config)


async def _pending(bot: Bot, text: str, openid: str) -> int:
    """A listing a seller created by chat, waiting for review; its id."""
    await bot.say(text, openid=openid)
    assert "已提交审核" in await bot.say("确认", openid=openid)
    await bot.say("跳过", openid=openid)
    return bot.db_rows("SELECT l.id FROM listings l JOIN sellers s ON s.id = l.seller_id"
                       " WHERE s.openid = ? ORDER BY l.id DESC", openid)[0][0]


# -- moderation --------------------------------------------------------------------------

async def test_moderation_in_the_console_tells_sellers_and_answers_waiting_buyers(
        tmp_path: Path) -> None:
    running = await _review_bot(tmp_path)
    admin = await signed_in(running, "wang", "admin")
    try:
        await running.say("我想买榛子", openid=BUYER_ID)
        await running.say("要", openid=BUYER_ID)  # a restock alert now waits for 榛子
        hazel = await _pending(running, "我要卖榛子，二十五一斤，有500斤，黑龙江的", SELLER)
        walnut = await _pending(running, "我要卖核桃，十二块一斤，有200斤，云南的", "seller_wu")
        photo = store_photo(running.config, hazel)

        viewer = await signed_in(running, "li", "viewer")
        try:
            status, page = await viewer.get("/admin/moderation")
            assert status == 200 and "榛子" in page and "approve-form" not in page
            status, page, _ = await viewer.post(f"/admin/moderation/{hazel}/approve")
            assert status == 403 and "管理员权限" in page
        finally:
            await viewer.close()
        status, page = await admin.get("/admin/moderation")
        assert status == 200 and "待审核 2 件" in page
        assert page.index(f'id="r{hazel}"') < page.index(f'id="r{walnut}"')  # oldest first
        assert f'<img class="thumb" src="/media/{photo}"' in page and "没有照片" in page
        async with admin.session.get(admin.url(f"/media/{photo}")) as response:
            assert response.status == 200 and await response.read() == JPEG

        status, page, _ = await admin.post(f"/admin/moderation/{walnut}/reject", {"reason": "  "})
        assert status == 400 and "请写明不通过的原因" in page
        status, _, headers = await admin.post(f"/admin/moderation/{walnut}/reject",
                                              {"reason": "价格写错了吧"})
        assert status == 303 and "done=rejected" in headers["Location"]
        status, _, headers = await admin.post(f"/admin/moderation/{hazel}/approve")
        assert status == 303 and "alerts=1" in headers["Location"]
        status, page = await admin.get(headers["Location"])
        assert "已通过" in page and "已通知卖家" in page and "1 位买家的到货提醒已发出" in page
        assert "没有待审核的商品" in page
        status, page, _ = await admin.post(f"/admin/moderation/{hazel}/approve")
        assert status == 409  # decided once
        status, _, _ = await admin.post("/admin/moderation/999/approve")
        assert status == 404
        assert "榛子" in await running.say("我想买榛子", openid="buyer_late")
        assert "审核通过" in await running.say("你好", openid=SELLER)  # no API: in the next reply
    finally:
        await admin.close()
        await stop_bot(running)
    assert running.db_rows("SELECT id, status, review, review_note FROM listings WHERE id IN (?, ?)"
                           " ORDER BY id", hazel, walnut) == [
        (hazel, "live", "approved", None), (walnut, "delisted", "rejected", "价格写错了吧")]
    reviews = _outbox(running, "listing_review")
    assert [who for who, _ in reviews] == ["seller_wu", SELLER]
    assert "没有通过审核：价格写错了吧" in reviews[0][1] and "审核通过" in reviews[1][1]
    assert [who for who, _ in _outbox(running, "restock")] == [BUYER_ID]
    entries = db_call(running.config, audit.recent)
    assert [(e.operator, e.action, e.target_id, e.reason, e.client) for e in entries] == [
        ("wang", "listing.approve", str(hazel), "", "127.0.0.1"),
        ("wang", "listing.reject", str(walnut), "价格写错了吧", "127.0.0.1")]


async def test_the_cli_and_the_console_decide_through_the_same_path(tmp_path: Path) -> None:
    running = await _review_bot(tmp_path)
    cli = tmp_path / "cli.toml"
    cli.write_text(f'[db]\npath = "{running.config.db.path}"\n', encoding="utf-8")
    try:
        listing = await _pending(running, "我要卖榛子，二十五一斤，有500斤，黑龙江的", SELLER)
        done = run_cli("listings", "approve", str(listing), "--config", str(cli))
        assert done.returncode == 0, done.stderr
    finally:
        await stop_bot(running)
    (entry,) = db_call(running.config, audit.recent)
    assert entry.action == "listing.approve" and entry.operator.startswith("cli:")
    assert [who for who, _ in _outbox(running, "listing_review")] == [SELLER]


async def test_delisting_tells_the_seller_and_a_relist_waits_for_review(bot: Bot) -> None:
    link_seller(bot.config, "寻乌果农刘大姐", SELLER)   # listing 1; listing 2's seller has no chat
    admin = await signed_in(bot, "wang", "admin")
    try:
        status, _, headers = await admin.post("/admin/listings/1/delist", {"reason": "农药检测不合格"})
        assert status == 303 and headers["Location"] == "/admin/listings/1?saved=delisted"
        status, _, headers = await admin.post("/admin/listings/2/delist", {"reason": "卖家来电说卖完了"})
        assert headers["Location"] == "/admin/listings/2?saved=delisted-untold"
        status, page = await admin.get(headers["Location"])
        assert "卖家还没绑定微信" in page
        status, _, _ = await admin.post("/admin/listings/2/delist", {"reason": "again"})
        assert status == 409
        status, page, _ = await admin.post("/admin/listings/4", {  # an edit cannot delist quietly
            "title": "散养土鸡蛋 30枚", "price": "45", "stock": "80", "status": "delisted"})
        assert status == 400 and "下架请用" in page
    finally:
        await admin.close()
    ((told, text),) = _outbox(bot, "listing_review")
    assert told == SELLER
    assert "已被平台下架：农药检测不合格" in text and "赣南脐橙" in text
    assert "已被平台下架：农药检测不合格" in await bot.say("我的商品", openid=SELLER)
    assert "审核" in await bot.say("上架 1", openid=SELLER)  # not live again on its own word
    assert db_call(bot.config, listing_admin.detail, 1).status == "pending"
    assert db_call(bot.config, listing_admin.detail, 4).status == "live"


# -- orders ---------------------------------------------------------------------------

def _services(db: Database) -> Services:
    return Services(db, "http://shop.example", "test-link-secret")


def _place(db: Database, listing_id: int, buyer: str, quantity: int, at: float,
           **details: str) -> orders.Order:
    new = NewOrder(listing_id, buyer, quantity, details.get("name", "张三"),
                   details.get("phone", "13812345678"),
                   details.get("address", "北京市朝阳区建国路88号3单元"), details.get("note", ""),
                   f"form-{buyer}-{at!r}")
    placed = db.call(orders.place, new, at, composer(_services(db)), stock_out_notice)
    assert isinstance(placed, Placed)
    return placed.order


def test_orders_are_listed_by_status_and_date_in_keyset_pages(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    seed(config)
    now = time.time()
    db = Database(config.db.path)
    try:
        # Inserted out of time order: pages follow when an order was placed, not its id.
        times = [now - 5 * 86400, now - 3600, now - 2 * 86400, now - 60, now - 10 * 86400]
        placed = [_place(db, 5, f"b{n}", 1, at) for n, at in enumerate(times)]
        db.call(orders.change, placed[1].id, "cancelled", "buyer", now, composer(_services(db)))
        newest_first = [o.order_no for o in sorted(placed, key=lambda o: -o.created_at)]

        def numbers(filters: orders.OrderFilter, before: int | None = None,
                    limit: int = 50) -> tuple[list[str], int | None]:
            rows, older = db.call(orders.browse, filters, before, limit)
            return [o.order_no for o in rows], older

        assert numbers(orders.OrderFilter())[0] == newest_first
        seen, before = [], None
        while True:
            page, before = numbers(orders.OrderFilter(), before, 2)
            seen += page
            if before is None:
                break
        assert seen == newest_first
        assert numbers(orders.OrderFilter(status="cancelled"))[0] == [placed[1].order_no]
        assert numbers(orders.OrderFilter(status="placed", since=now - 3 * 86400))[0] == [
            placed[3].order_no, placed[2].order_no]
        assert numbers(orders.OrderFilter(until=now - 4 * 86400))[0] == [
            placed[0].order_no, placed[4].order_no]
        assert numbers(orders.OrderFilter(number=placed[2].code.lower()))[0] == [placed[2].order_no]
        assert numbers(orders.OrderFilter(number="NOPE99"))[0] == []
        assert db.call(orders.open_counts) == {"placed": 4, "confirmed": 0, "shipped": 0}
        # The pages' statement walks an index in order: no sort, however many orders.
        plans = [" | ".join(row[3] for row in db.call(lambda c: c.execute(
            f"EXPLAIN QUERY PLAN {orders._SELECT} WHERE {where}"
            " ORDER BY o.created_at DESC, o.id DESC LIMIT 51", params).fetchall()))
            for where, params in (
                ("o.status = ? AND (o.created_at, o.id) < (?, ?)", ("placed", now, 10**9)),
                ("o.created_at >= ?", (now - 86400,)), ("1", ()))]
        assert all(plan.startswith("SEARCH o USING INDEX orders_") or
                   plan.startswith("SCAN o USING INDEX orders_created") for plan in plans), plans
        assert not any("TEMP B-TREE" in plan for plan in plans), plans
    finally:
        db.close()


async def test_an_admin_moves_an_order_along_with_reasons_and_both_sides_are_told(bot: Bot) -> None:
    link_seller(bot.config, MUER_SELLER, MUER_SELLER_ID)
    number = await order(bot, BUYER_ID, quantity=2)
    order_id = sql(bot.config, "SELECT id FROM orders WHERE order_no = ?", number)[0][0]
    admin = await signed_in(bot, "wang", "admin")
    try:
        status, page = await admin.get("/admin/orders")
        assert status == 200 and number in page and "¥79.80" in page
        for bad in ("since=2026-13-01", "status=lost", "before=x", "q=" + "9" * 21):
            status, page = await admin.get(f"/admin/orders?{bad}")
            assert status == 400 and 'class="error-text"' in page, bad
        status, _ = await admin.get("/admin/orders/999")
        assert status == 404
        status, page = await admin.get(f"/admin/orders/{order_id}")
        assert status == 200 and re.findall(r'<option value="(\w+)"', page) == [
            "confirmed", "cancelled"]
        assert "— → 待确认" in page
        status, page, _ = await admin.post(f"/admin/orders/{order_id}/status",
                                           {"to": "confirmed", "reason": " "})
        assert status == 400 and "请写明原因" in page
        status, page, _ = await admin.post(f"/admin/orders/{order_id}/status",
                                           {"to": "completed", "reason": "跳一步"})
        assert status == 409 and "不能这样改" in page
        status, _, headers = await admin.post(f"/admin/orders/{order_id}/status",
                                              {"to": "confirmed", "reason": "卖家电话确认有货"})
        assert status == 303 and headers["Location"] == f"/admin/orders/{order_id}?saved=confirmed"
        status, page, _ = await admin.post(f"/admin/orders/{order_id}/status",
                                           {"to": "shipped", "reason": "卖家说已发"})
        assert status == 400 and "快递公司和单号" in page
        status, _, _ = await admin.post(f"/admin/orders/{order_id}/status", {
            "to": "shipped", "reason": "卖家说已发", "carrier": "顺丰", "tracking": "SF123456789"})
        assert status == 303
        status, page = await admin.get(f"/admin/orders/{order_id}")
        assert "待确认 → 已确认" in page and "平台（wang）" in page and "卖家电话确认有货" in page
        assert 'id="order-audit"' in page and page.count("order.status") == 2
    finally:
        await admin.close()
    assert sql(bot.config, "SELECT status, carrier, tracking_no FROM orders WHERE id = ?",
               order_id) == [("shipped", "顺丰", "SF123456789")]
    assert sql(bot.config, "SELECT from_status, to_status, actor, actor_name, reason FROM"
               " order_events WHERE order_id = ? ORDER BY id", order_id) == [
        (None, "placed", "buyer", None, None),
        ("placed", "confirmed", "operator", "wang", "卖家电话确认有货"),
        ("confirmed", "shipped", "operator", "wang", "卖家说已发")]
    told = bot.db_rows("SELECT openid, text FROM outbox WHERE kind = 'order_status' ORDER BY id")
    assert [who for who, _ in told] == [BUYER_ID, MUER_SELLER_ID, BUYER_ID, MUER_SELLER_ID]
    assert "已由平台确认" in told[1][1] and "顺丰 SF123456789" in told[2][1]
    entries = db_call(bot.config, audit.recent)
    assert [(e.action, e.target_kind, e.target_id, e.reason) for e in entries] == [
        ("order.status", "order", str(order_id), "卖家说已发"),
        ("order.status", "order", str(order_id), "卖家电话确认有货")]
    assert entries[0].detail == {"order_no": number, "status": ["confirmed", "shipped"],
                                 "shipment": "顺丰 SF123456789"}


async def test_delivery_details_stay_masked_until_an_admin_reveals_them(bot: Bot) -> None:
    number = await order(bot, BUYER_ID, note=f"到了打{BUYER['phone']}")
    order_id = sql(bot.config, "SELECT id FROM orders WHERE order_no = ?", number)[0][0]
    viewer = await signed_in(bot, "li", "viewer")
    admin = await signed_in(bot, "wang", "admin")
    secrets = (BUYER["phone"], "建国路", BUYER["name"])
    pages = ["/admin/orders", f"/admin/orders?q={number[-6:]}", f"/admin/orders/{order_id}",
             "/admin/orders?status=placed"]
    try:
        for client in (viewer, admin):
            for path in pages:
                status, page = await client.get(path)
                assert status == 200 and number in page, path
                assert not any(secret in page for secret in secrets), path
        _, page = await viewer.get(f"/admin/orders/{order_id}")
        assert "138****5678" in page and "北京市朝阳区****" in page and "张*" in page
        assert 'id="status-form"' not in page and "reveal-delivery" not in page
        for path, data in ((f"/admin/orders/{order_id}/reveal", {}),
                           (f"/admin/orders/{order_id}/status",
                            {"to": "cancelled", "reason": "viewer tries"})):
            status, page, _ = await viewer.post(path, data)
            assert status == 403 and "管理员权限" in page
            assert not any(secret in page for secret in secrets)
        status, page, _ = await admin.post(f"/admin/orders/{order_id}/reveal")
        assert status == 200 and all(secret in page for secret in secrets)
        _, page = await admin.get(f"/admin/orders/{order_id}")
        assert not any(secret in page for secret in secrets)  # a reveal shows once
        _, page = await admin.get("/admin/audit")
        assert f"订单 {number}" in page and BUYER["phone"] not in page
    finally:
        await viewer.close()
        await admin.close()
    assert sql(bot.config, "SELECT status FROM orders WHERE id = ?", order_id) == [("placed",)]
    entries = db_call(bot.config, audit.recent)
    assert [(e.operator, e.action, e.target_kind, e.target_id) for e in entries] == [
        ("wang", "reveal", "order", str(order_id))]


async def test_forms_without_the_csrf_token_change_nothing(tmp_path: Path) -> None:
    running = await _review_bot(tmp_path)
    admin = await signed_in(running, "wang", "admin")
    try:
        pending = await _pending(running, "我要卖榛子，二十五一斤，有500斤，黑龙江的", SELLER)
        number = await order(running, BUYER_ID)
        order_id = sql(running.config, "SELECT id FROM orders WHERE order_no = ?", number)[0][0]
        forms = [(f"/admin/moderation/{pending}/approve", {}),
                 (f"/admin/moderation/{pending}/reject", {"reason": "x"}),
                 (f"/admin/orders/{order_id}/status", {"to": "cancelled", "reason": "x"}),
                 (f"/admin/orders/{order_id}/reveal", {}),
                 ("/admin/listings/1/delist", {"reason": "x"})]
        for path, data in forms:
            for forged, headers in ((None, None), ("forged", None),
                                    (admin.csrf, {"Origin": "https://evil.example"})):
                form = dict(data, **({"csrf": forged} if forged else {}))
                status, page, _ = await admin.post(path, form, csrf=False, headers=headers)
                assert status == 403 and "CSRF" in page, (path, forged, headers)
                assert BUYER["phone"] not in page
    finally:
        await admin.close()
        await stop_bot(running)
    assert running.db_rows("SELECT status FROM listings WHERE id IN (1, ?) ORDER BY id",
                           pending) == [("live",), ("pending",)]
    assert running.db_rows("SELECT status FROM orders") == [("placed",)]
    assert running.db_rows("SELECT count(*) FROM outbox WHERE kind != 'order_new'") == [(0,)]
    assert db_call(running.config, audit.recent) == []


# -- the orders CLI -------------------------------------------------------------------

def _cli_world(tmp_path: Path) -> tuple[str, list[orders.Order]]:
    config = make_config(tmp_path)
    seed(config)
    sql(config, "UPDATE sellers SET openid = ? WHERE name = ?", MUER_SELLER_ID, MUER_SELLER)
    db = Database(config.db.path)
    try:
        db.call(schema.migrate)
        now = time.time()
        made = [_place(db, 5, "buyer_a", 2, now - 2 * 86400),
                _place(db, 6, "buyer_b", 1, now - 3600,
                       name="\x1b[2J伪造\n", note="门口\n2026-01-01 fake line\x1b[31m")]
    finally:
        db.close()
    path = tmp_path / "cli.toml"
    path.write_text(f'[db]\npath = "{config.db.path}"\n[server]\nlink_secret = "test-link-secret"\n'
                    'public_url = "http://shop.example"\n', encoding="utf-8")
    return str(path), made


def test_orders_cli_lists_shows_and_sets_a_status_with_a_reason(tmp_path: Path) -> None:
    config, (older, newer) = _cli_world(tmp_path)
    listed = run_cli("orders", "list", "--config", config)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 4 and newer.order_no in lines[2] and older.order_no in lines[3]
    assert "138****5678" in listed.stdout and "13812345678" not in listed.stdout
    assert "\x1b" not in listed.stdout
    recent = run_cli("orders", "list", "--since", "1d", "--config", config)
    assert newer.order_no in recent.stdout and older.order_no not in recent.stdout

    refused = run_cli("orders", "set-status", older.code, "confirmed", "--reason", " ",
                      "--config", config)
    assert refused.returncode == 1 and "--reason" in refused.stderr
    wrong = run_cli("orders", "set-status", older.order_no, "completed", "--reason", "跳一步",
                    "--config", config)
    assert wrong.returncode == 1 and "may set: confirmed, cancelled" in wrong.stderr
    missing = run_cli("orders", "show", "ZZZZZ9", "--config", config)
    assert missing.returncode == 1 and "no such order" in missing.stderr
    done = run_cli("orders", "set-status", older.code, "cancelled", "--reason", "买家电话要求取消",
                   "--config", config)
    assert done.returncode == 0, done.stderr
    assert "placed -> cancelled" in done.stdout and "told: buyer, seller" in done.stdout

    shown = run_cli("orders", "show", older.order_no, "--config", config)
    assert shown.returncode == 0, shown.stderr
    assert "placed -> cancelled" in shown.stdout and "operator cli:" in shown.stdout
    assert "买家电话要求取消" in shown.stdout and "北京市朝阳区****" in shown.stdout
    tricky = run_cli("orders", "show", newer.order_no, "--config", config)
    assert "\x1b" not in tricky.stdout and "\\x1b" in tricky.stdout
    assert not any(line.startswith("2026-01-01") for line in tricky.stdout.splitlines())
    cancelled = run_cli("orders", "list", "--status", "cancelled", "--config", config).stdout
    assert older.order_no in cancelled and newer.order_no not in cancelled

    db = Database(tmp_path / "bot.db")
    try:
        (entry,) = db.call(audit.recent)
        assert (entry.action, entry.target_id, entry.reason) == (
            "order.status", str(older.id), "买家电话要求取消")
        notices = db.call(lambda c: c.execute(
            "SELECT openid, fields FROM outbox WHERE kind = 'order_status' ORDER BY id").fetchall())
        assert [row[0] for row in notices] == ["buyer_a", MUER_SELLER_ID]
        url = json.loads(notices[0][1])["url"]
        assert url.startswith("http://shop.example/order/")
        assert db.call(lambda c: c.execute("SELECT stock FROM listings WHERE id = 5").fetchone()[0]) == 120
    finally:
        db.close()


# -- the dashboard's orders -------------------------------------------------------------

async def test_the_dashboard_charts_orders_and_their_value_per_day(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    seed(config)
    db = Database(config.db.path)
    try:
        # days ago: (listing, quantity, what became of it). Older placed orders are confirmed:
        # the server cancels the ones left unconfirmed past orders.confirm_hours at start.
        plan: dict[int, list[tuple[int, int, str]]] = {
            0: [(5, 2, "placed"), (6, 1, "cancelled"), (1, 3, "placed")],
            2: [(4, 1, "confirmed")], 6: [(5, 1, "cancelled")], 9: [(6, 5, "confirmed")]}
        for days_ago, placed in plan.items():
            for n, (listing, quantity, fate) in enumerate(placed):
                made = _place(db, listing, f"b{days_ago}{n}", quantity, _noon(days_ago) + n)
                if fate != "placed":
                    actor = "buyer" if fate == "cancelled" else "seller"
                    db.call(orders.change, made.id, fate, actor, _noon(days_ago) + 30,
                            composer(_services(db)))
    finally:
        db.close()
    status, page = await page_as(config, "viewer", "/admin?days=7")
    assert status == 200
    days = [time.strftime("%Y-%m-%d", time.localtime(_noon(n))) for n in range(6, -1, -1)]
    counts = dict(_marks(page, "orders-per-day"))
    values = dict(_marks(page, "order-value-per-day"))
    assert counts == {days[0]: 1.0, days[1]: 0.0, days[2]: 0.0, days[3]: 0.0, days[4]: 1.0,
                      days[5]: 0.0, days[6]: 3.0}
    # today: 2 x ¥39.90 + 3 x ¥8.80 (the ¥89.00 rice was cancelled); two days ago 1 x ¥45.00
    assert values == {days[0]: 0.0, days[1]: 0.0, days[2]: 0.0, days[3]: 0.0, days[4]: 45.0,
                      days[5]: 0.0, days[6]: 106.2}
    kpis = dict(re.findall(r'id="kpi-([\w-]+)">([^<]+)<', page))
    assert kpis["orders"] == "5" and kpis["order-value"] == "¥151.20"
