"""Unmet demand, listings and the dashboard: what the pages show against seeded data."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

from db import Database, audit, demand, listing_admin, listings, messages, restock, schema
from db.messages import LogEntry
from tests.conftest import make_config, seed, start_bot, stop_bot
from tests.console import db_call, signed_in

SVG = "{http://www.w3.org/2000/svg}"


def _noon(days_ago: int) -> float:
    """A time on that local day, at the same time of day for every day, never in the
    future (half way between today's midnight and now)."""
    today = dt.datetime.combine(dt.date.today(), dt.time())
    day = today - dt.timedelta(days=days_ago)
    return day.timestamp() + (time.time() - today.timestamp()) / 2


def _seed_demand(config) -> None:
    db = Database(config.db.path)
    try:
        db.call(schema.migrate)
        rows = [  # (days ago, buyer, product, origin, price_max_fen)
            (0, "b1", "榴莲", "云南", 5000), (0, "b2", "榴莲", "云南", 4000),
            (1, "b1", "榴莲", "云南", 5000), (3, "b3", "榴莲", None, None),
            (2, "b4", "山竹", "海南", 30000), (6, "b5", "牛油果", None, 1500),
            (9, "b6", "榴莲", "云南", 5000),   # outside a 7-day window
        ]
        for days_ago, buyer, product, origin, price in rows:
            db.call(demand.record, buyer, f"我想买{product}", product, origin, price,
                    "上海" if buyer == "b2" else None, now=_noon(days_ago))
        db.call(restock.subscribe, "b1", "榴莲")
        db.call(restock.subscribe, "b3", "榴莲")
    finally:
        db.close()


def test_unmet_demand_groups_by_product_region_and_price_band(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    _seed_demand(config)
    since = _noon(6) - 12 * 3600
    found = db_call(config, demand.groups, since, time.time() + 1, ("product", "region", "band"))
    summary = [(g.product, g.region, g.band, g.requests, g.buyers, g.waiting) for g in found]
    assert summary == [("榴莲", "云南", "20–50元", 3, 2, 2), ("山竹", "海南", "200元以上", 1, 1, 0),
                       ("榴莲", "不限产地", "未说价格", 1, 1, 2),
                       ("牛油果", "不限产地", "20元以内", 1, 1, 0)]
    today, yesterday = messages.day_of(_noon(0)), messages.day_of(_noon(1))
    assert found[0].trend == {today: 2, yesterday: 1}
    with_city = db_call(config, demand.groups, since, time.time() + 1)
    cities = [(g.product, g.region, g.city, g.band, g.requests) for g in with_city]
    assert cities[0] == ("榴莲", "云南", "没说在哪", "20–50元", 2)
    assert ("榴莲", "云南", "上海", "20–50元", 1) in cities and len(cities) == 5
    by_product = db_call(config, demand.groups, since, time.time() + 1, ("product",))
    assert [(g.product, g.requests, g.buyers) for g in by_product] == [
        ("榴莲", 4, 3), ("山竹", 1, 1), ("牛油果", 1, 1)]
    assert db_call(config, demand.groups, _noon(0) - 3600, time.time() + 1, ("region",))[0].region == "云南"


async def test_a_no_match_request_reaches_the_demand_page_and_its_csv(bot) -> None:
    reply = await bot.say("有没有云南的榴莲，五十块以内", openid="demand_buyer")
    assert "没有找到" in reply
    assert bot.db_rows("SELECT product, origin, price_max_fen FROM unmet_demand") == [
        ("榴莲", "云南", 5000)]
    await bot.say("要", openid="demand_buyer")  # a restock alert now waits for 榴莲
    client = await signed_in(bot, "li", "viewer")
    try:
        status, page = await client.get("/admin/demand")
        assert status == 200
        row = re.search(r'<tr id="p-[^"]*">(.*?)</tr>', page, re.S).group(1)
        assert "榴莲" in row and "云南" in row and "20–50元" in row
        assert re.search(r'class="num waiting">1<', row)
        csv_link = re.search(r'id="export-csv" href="([^"]+)"', page).group(1).replace("&amp;", "&")
        async with client.session.get(client.url(csv_link)) as response:
            body = await response.read()
            assert response.headers["Content-Type"].startswith("text/csv")
            assert "attachment" in response.headers["Content-Disposition"]
        table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert table[0][:8] == ["货品", "想要的产地", "买家所在地", "价位", "请求数", "买家数",
                                "等待到货提醒", "最近一次"]
        assert table[1][:7] == ["榴莲", "云南", "没说在哪", "20–50元", "1", "1", "1"]
        assert table[1][-1] == "1"
        status, _ = await client.get("/admin/demand?days=5")
        assert status == 400
    finally:
        await client.close()


def test_csv_cells_cannot_run_as_formulas() -> None:
    group = demand.Group("=HYPERLINK(\"x\")", "+1", "@x", "-", 1, 1, time.time())
    text = demand.to_csv([group], [])
    assert "'=HYPERLINK" in text and ",'+1," in text


def test_the_upgrade_keeps_only_the_place_of_old_demand_rows(tmp_path: Path) -> None:
    db = Database(tmp_path / "old.db")
    try:
        db.call(schema.migrate, 3)
        db.call(lambda c: c.execute(
            "INSERT INTO unmet_demand (openid, text, product, origin, created_at)"
            " VALUES ('u', '云南的有机榴莲', '榴莲', '云南产的有机榴莲', 1), ('v', '榴莲', '榴莲', NULL, 1)"))
        db.call(schema.migrate)
        assert [tuple(r) for r in db.call(lambda c: c.execute(
            "SELECT origin FROM unmet_demand ORDER BY id").fetchall())] == [("云南",), (None,)]
    finally:
        db.close()


# -- listings --------------------------------------------------------------------------

def test_listings_search_and_filter(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    seed(config)
    def browse(**kwargs) -> list[str]:
        rows, _ = db_call(config, listing_admin.browse, listing_admin.ListingFilter(**kwargs))
        return [row.sku for row in rows]
    assert browse(text="脐橙") == ["T-QC-3", "T-QC-2", "T-QC-1"]
    assert browse(text="T-QC-2") == ["T-QC-2"]
    assert browse(text="脐橙", origin="江西") == ["T-QC-1"]
    assert browse(seller="老周") == ["T-QC-2"]
    assert browse(status="delisted") == []
    first, older = db_call(config, listing_admin.browse, listing_admin.ListingFilter(), None, 4)
    rest, none = db_call(config, listing_admin.browse, listing_admin.ListingFilter(), older, 4)
    assert len(first) == 4 and none is None and {r.id for r in first}.isdisjoint(r.id for r in rest)
    assert len(first) + len(rest) == db_call(config, listings.count_live)


async def test_an_admin_edits_and_delists_with_the_audit_trail(bot) -> None:
    admin = await signed_in(bot, "wang", "admin")
    try:
        status, page, _ = await admin.post("/admin/listings/1", {
            "title": "赣南脐橙 特级果", "price": "abc", "stock": "-1", "status": "live"})
        assert status == 400 and "价格要填" in page and "库存要填" in page
        assert db_call(bot.config, listing_admin.detail, 1).title == "赣南脐橙 现摘现发 10斤装"
        status, _, headers = await admin.post("/admin/listings/1", {
            "title": "赣南脐橙 特级果", "price": "9.90", "stock": "120", "status": "live",
            "reason": "卖家来电改价"})
        assert status == 303 and headers["Location"] == "/admin/listings/1?saved=1"
        status, page, _ = await admin.post("/admin/listings/2/delist", {"reason": " "})
        assert status == 400 and "请写下架原因" in page
        status, _, _ = await admin.post("/admin/listings/2/delist", {"reason": "农药检测不合格"})
        assert status == 303
        status, page = await admin.get("/admin/listings/1")
        assert "特级果" in page and "卖家来电改价" in page and "price_fen：880 → 990" in page
    finally:
        await admin.close()
    edited = db_call(bot.config, listing_admin.detail, 1)
    assert (edited.title, edited.price_fen, edited.stock) == ("赣南脐橙 特级果", 990, 120)
    assert db_call(bot.config, listing_admin.detail, 2).status == "delisted"
    entries = db_call(bot.config, audit.recent)
    assert [(e.action, e.target_id, e.reason) for e in entries] == [
        ("listing.delist", "2", "农药检测不合格"), ("listing.edit", "1", "卖家来电改价")]
    assert entries[1].detail == {"title": ["赣南脐橙 现摘现发 10斤装", "赣南脐橙 特级果"],
                                 "price_fen": [880, 990], "stock": [500, 120]}
    reply = await bot.say("我想买脐橙", openid="after_edit")
    assert "赣南脐橙 特级果" in reply and "¥9.90" in reply   # re-indexed, new price
    assert "秭归脐橙" not in reply                          # delisted: not offered


async def test_a_pending_listing_is_not_approved_by_an_edit(bot) -> None:
    bot.db_rows("UPDATE listings SET status = 'pending' WHERE id = 3")
    admin = await signed_in(bot, "wang", "admin")
    try:
        status, page, _ = await admin.post("/admin/listings/3", {
            "title": "奉节脐橙 整箱", "price": "59", "stock": "0", "status": "live"})
        assert status == 400 and "审核" in page
    finally:
        await admin.close()
    assert db_call(bot.config, listing_admin.detail, 3).status == "pending"


# -- dashboard ----------------------------------------------------------------------------

def _marks(page: str, section: str) -> list[tuple[str, float]]:
    svg = re.search(rf'id="{section}".*?(<svg.*?</svg>)', page, re.S).group(1)
    root = ET.fromstring(svg)
    return [(mark.get("data-label"), float(mark.get("data-value")))
            for mark in root.iter() if mark.get("data-value") is not None]


def _dots(page: str, series: str) -> dict[str, float]:
    svg = re.search(r'id="rates-per-day".*?(<svg.*?</svg>)', page, re.S).group(1)
    return {m.get("data-label"): float(m.get("data-value")) for m in ET.fromstring(svg).iter()
            if m.get("data-series") == series}


async def test_dashboard_charts_show_the_seeded_figures(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    seed(config)
    _seed_demand(config)
    plan = {  # days ago: (matched searches, no-match searches, other messages, rejected)
        0: (3, 1, 2, 1), 1: (1, 1, 0, 0), 4: (0, 2, 1, 0), 10: (5, 0, 0, 0)}
    entries = []
    for days_ago in sorted(plan, reverse=True):
        matched, unmatched, other, rejected = plan[days_ago]
        at = _noon(days_ago)
        for n in range(matched):
            product = "脐橙" if n % 2 == 0 else "大米"
            entries.append((LogEntry("u", "text", f"我想买{product}", "search", "为您找到", 10,
                                     "answered", {"intent": "search", "slots": {"product": product}},
                                     (1, 2)), at))
        entries += [(LogEntry("u", "text", "我想买榴莲", "search", "没有", 10, "no_match",
                              {"intent": "search", "slots": {"product": "榴莲"}}), at)] * unmatched
        entries += [(LogEntry("u", "text", "你好", "greeting", "您好", 5, "answered"), at)] * other
        entries += [(LogEntry(None, "rejected", "bad", None, None, 1, "rejected"), at)] * rejected
    db_call(config, messages.record_many, entries)
    running = await start_bot(config)
    client = await signed_in(running, "li", "viewer")
    try:
        status, page = await client.get("/admin?days=7")
    finally:
        await client.close()
        await stop_bot(running)
    assert status == 200
    days = [(dt.date.today() - dt.timedelta(days=n)).isoformat() for n in range(6, -1, -1)]
    expected_messages = {d: 0.0 for d in days}
    for days_ago, (matched, unmatched, other, _) in plan.items():
        if days_ago < 7:
            expected_messages[days[6 - days_ago]] = matched + unmatched + other
    assert _marks(page, "messages-per-day") == list(expected_messages.items())
    assert _dots(page, "匹配率") == {days[6]: 75.0, days[5]: 50.0, days[2]: 0.0}
    assert _dots(page, "无结果率") == {days[6]: 25.0, days[5]: 50.0, days[2]: 100.0}
    assert _marks(page, "top-searched") == [("榴莲", 4.0), ("脐橙", 3.0), ("大米", 1.0)]
    assert _marks(page, "top-unmet") == [("榴莲", 4.0), ("山竹", 1.0), ("牛油果", 1.0)]
    regions = dict(_marks(page, "top-regions"))
    assert regions == {"江西": 1.0, "湖北": 1.0, "重庆": 1.0, "云南": 1.0, "陕西": 1.0, "黑龙江": 1.0}
    kpis = dict(re.findall(r'id="kpi-([\w-]+)">([^<]+)<', page))
    assert kpis == {"messages": "11", "searches": "8", "match": "50.0%", "no-match": "50.0%",
                    "live": "6"}
    assert f'href="/admin/demand?days=7&amp;by=product,region#p-{quote("榴莲")}"' in page
