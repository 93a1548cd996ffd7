"""Buyer search with understanding: synonyms, categories, filters, honesty, follow-ups."""
from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import load_demo
from db import Database, listings, schema
from db.catalogue import read
from handlers.notices import notify_restocks
from tests.conftest import Bot, make_config, seed, start_bot, stop_bot

TITLE = re.compile(r"^\d\. (.+)$", re.MULTILINE)


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Bot]:
    running = await start_bot(load_demo(env={}, data_dir=tmp_path))
    yield running
    await stop_bot(running)


def rows_for(bot: Bot, titles: list[str]) -> list[tuple]:
    marks = ",".join("?" * len(titles))
    return bot.db_rows(f"SELECT title, category, price_fen, unit, origin, tags FROM listings"
                       f" WHERE title IN ({marks})", *titles)


async def test_synonyms_find_every_name_of_a_product(demo: Bot) -> None:
    titles = TITLE.findall(await demo.say("我想买洋芋"))
    assert "定西马铃薯 黄心土豆 10斤" in titles and "恩施土豆 高山洋芋 10斤" in titles


async def test_a_category_shows_only_its_goods(demo: Bot) -> None:
    titles = TITLE.findall(await demo.say("有什么水果"))
    assert len(titles) == 5
    assert {row[1] for row in rows_for(demo, titles)} == {"水果"}


async def test_origin_price_and_attribute_filters_hold_for_every_offer(demo: Bot) -> None:
    eggs = TITLE.findall(await demo.say("有没有云南的土鸡蛋"))
    assert eggs and all("云南省" in row[4] for row in rows_for(demo, eggs))
    cheap = TITLE.findall(await demo.say("土鸡蛋 四十块以内"))
    assert cheap and all(row[2] <= 4000 for row in rows_for(demo, cheap))
    organic = TITLE.findall(await demo.say("有机大米"))
    assert organic == ["五常大米 有机稻花香 5斤"]


async def test_per_jin_bounds_keep_out_listings_not_priced_by_weight(demo: Bot) -> None:
    titles = TITLE.findall(await demo.say("脐橙 一斤十块以内"))
    assert titles and all(row[3] == "斤" and row[2] <= 1000 for row in rows_for(demo, titles))
    assert "赣南脐橙 礼盒装 精选大果" not in titles  # priced per 箱


async def test_nearest_relaxation_is_asked_and_a_yes_shows_it(demo: Bot) -> None:
    question = await demo.say("有没有云南的木耳", openid="buyer_r")
    assert question.startswith("没有云南产的木耳") and question.endswith("要看看吗？")
    assert "<a href" not in question
    shown = TITLE.findall(await demo.say("要", openid="buyer_r"))
    assert shown and all("木耳" in title for title in shown)
    price = await demo.say("木耳 二十块以内", openid="buyer_r")
    assert price.startswith("20元以内的木耳没有，最便宜的¥39.90/袋")


async def test_nothing_at_all_offers_a_restock_alert_that_fires_once(demo: Bot) -> None:
    none = await demo.say("我想买榴莲", openid="buyer_d")
    assert "没有找到「榴莲」" in none and "<a href" not in none
    assert "到货" in await demo.say("要", openid="buyer_d")
    assert demo.db_rows("SELECT openid, product FROM restock_alerts") == [("buyer_d", "榴莲")]
    db = Database(demo.config.db.path)
    try:
        db.call(listings.import_rows, read(_durian(demo.config.db.path)))
    finally:
        db.close()
    # The server's own housekeeping may get there first: either way, one notice.
    await notify_restocks(demo.state.pipeline.services)
    assert await notify_restocks(demo.state.pipeline.services) == 0  # told once
    assert demo.db_rows("SELECT openid FROM outbox WHERE kind = 'restock'") == [("buyer_d",)]
    following = await demo.say("谢谢", openid="buyer_d")
    assert following.startswith("🔔 您关注的榴莲到货了：海南榴莲 金枕 一个")


def _durian(db_path: str) -> Path:
    path = Path(db_path).parent / "durian.json"
    path.write_text(json.dumps([{"sku": "D-1", "title": "海南榴莲 金枕 一个", "category": "水果",
                                 "price": 99, "unit": "个", "stock": 5, "origin": "海南省 三亚市",
                                 "seller": "三亚果农"}], ensure_ascii=False), encoding="utf-8")
    return path


async def test_next_page_never_repeats_and_ends_honestly(demo: Bot) -> None:
    first = TITLE.findall(await demo.say("有什么水果", openid="buyer_p"))
    second = TITLE.findall(await demo.say("还有吗", openid="buyer_p"))
    assert len(first) == 5 and second and not set(first) & set(second)
    for _ in range(10):
        reply = await demo.say("换一批", openid="buyer_p")
        if "就这些了" in reply:
            break
    assert "就这些了" in reply


async def test_cheaper_shows_only_strictly_cheaper_offers(demo: Bot) -> None:
    # Ten yuan and up first, so cheaper fruit exists whichever offers today's rotation shows.
    first = TITLE.findall(await demo.say("有什么水果，十块以上的", openid="buyer_c"))
    cheapest = min(row[2] for row in rows_for(demo, first))
    reply = await demo.say("便宜点的", openid="buyer_c")
    cheaper = TITLE.findall(reply)
    # The first page rotates per buyer and day, so it may already hold the cheapest fruit.
    lowest = demo.db_rows("SELECT min(price_fen) FROM listings WHERE category = '水果'"
                          " AND stock > 0 AND status = 'live'")[0][0]
    if cheapest > lowest:
        assert cheaper and all(row[2] < cheapest for row in rows_for(demo, cheaper))
    else:
        assert not cheaper and "没有比刚才更便宜的了" in reply


async def test_refine_adds_a_constraint_and_a_new_product_starts_over(demo: Bot) -> None:
    await demo.say("我想买脐橙", openid="buyer_f")
    jiangxi = TITLE.findall(await demo.say("要江西的", openid="buyer_f"))
    assert jiangxi and all("江西省" in row[4] for row in rows_for(demo, jiangxi))
    apples = TITLE.findall(await demo.say("我想买苹果", openid="buyer_f"))
    assert apples and not all("江西省" in row[4] for row in rows_for(demo, apples))


async def test_choose_shows_that_offer_with_its_link_and_quantity(demo: Bot) -> None:
    shown = TITLE.findall(await demo.say("我想买脐橙", openid="buyer_x"))
    chosen = await demo.say("买2号 三斤", openid="buyer_x")
    assert f"您选了：{shown[1]}" in chosen and "数量：3斤" in chosen and "<a href=" in chosen
    assert "没有第9个" in await demo.say("要第9个", openid="buyer_x")


def _catalogue(tmp_path: Path, sellers: dict[str, int]) -> Path:
    rows = [{"sku": f"{seller}-{n}", "title": "散养土鸡蛋 30枚", "category": "禽蛋", "price": 40,
             "unit": "盒", "stock": 10, "origin": "云南省 昭通市 镇雄县", "seller": seller}
            for seller, count in sellers.items() for n in range(count)]
    path = tmp_path / "eggs.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def _seller_order(bot_titles_reply: str, bot: Bot) -> list[str]:
    links = re.findall(r"\d\. .+\n.+· (\S+)\n", bot_titles_reply)
    return links


async def test_at_most_two_offers_per_seller_and_fair_rotation(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    seed(config, _catalogue(tmp_path, {"甲": 4, "乙": 2, "丙": 1}))
    running = await start_bot(config)
    try:
        replies = [await running.say("土鸡蛋", openid=f"buyer_{n}") for n in range(12)]
    finally:
        await stop_bot(running)
    for reply in replies:
        sellers = _seller_order(reply, running)
        assert len(sellers) == 5 and max(sellers.count(s) for s in set(sellers)) <= 2
    assert len({_seller_order(reply, running)[0] for reply in replies}) > 1  # everyone gets seen


async def test_one_seller_alone_may_fill_the_page(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    seed(config, _catalogue(tmp_path, {"甲": 6}))
    running = await start_bot(config)
    try:
        assert len(TITLE.findall(await running.say("土鸡蛋"))) == 5
    finally:
        await stop_bot(running)


async def test_reliable_sellers_rank_first_and_neutral_without_orders(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    seed(config, _catalogue(tmp_path, {"守信": 1, "失信": 1}))
    db = Database(config.db.path)
    try:
        ids = dict(db.call(lambda c: c.execute("SELECT s.name, l.id FROM listings l JOIN sellers s"
                                               " ON s.id = l.seller_id").fetchall()))
        assert db.call(listings.reliability, [1, 2]) == {}
        for name, status, by in (("守信", "completed", None), ("失信", "cancelled", "seller")):
            db.call(lambda c, n=name, s=status, b=by: c.executemany(
                "INSERT INTO orders (order_no, listing_id, seller_id, buyer, title, unit,"
                " price_fen, quantity, total_fen, status, cancelled_by, created_at, status_at)"
                " SELECT ?, id, seller_id, 'b', title, unit, price_fen, 1, price_fen, ?, ?, ?, ?"
                " FROM listings WHERE id = ?",
                [(f"20261201-{n}{k}", s, b, time.time(), time.time(), ids[n]) for k in range(5)]))
    finally:
        db.close()
    running = await start_bot(config)
    try:
        firsts = {_seller_order(await running.say("土鸡蛋", openid=f"b{n}"), running)[0]
                  for n in range(8)}
    finally:
        await stop_bot(running)
    assert firsts == {"守信"}


async def test_a_bare_number_after_offers_chooses_one(demo: Bot) -> None:
    shown = TITLE.findall(await demo.say("我想买脐橙", openid="buyer_n"))
    assert f"您选了：{shown[2]}" in await demo.say("3", openid="buyer_n")


def test_search_queries_never_scan_a_base_table(tmp_path: Path) -> None:
    """EXPLAIN QUERY PLAN for every statement a search issues."""
    from handlers.request import Request
    from nlp import understand

    db = Database(tmp_path / "plan.db")
    try:
        db.call(schema.migrate)
        db.call(listings.import_rows, read(Path(__file__).parent.parent / "db" / "demo_catalogue.json"))
        conn = db.connection()
        issued: list[str] = []
        conn.set_trace_callback(issued.append)
        for text in ("有没有云南的土鸡蛋，五十块以内", "赣南脐橙 一斤十块以内", "有机大米", "年货有啥",
                     "预算一百买两斤木耳", "脐橙\" OR NEAR(大米"):
            spec = Request.from_understanding(understand(text)).spec()
            found = listings.find(conn, spec)
            listings.reliability(conn, sorted({c.seller_id for c in found}) or [1])
            listings.get(conn, found[0].id if found else 1)
        conn.set_trace_callback(None)
        selects = [sql for sql in issued if sql.lstrip().upper().startswith(("SELECT", "WITH"))]
        assert len(selects) >= 18
        for sql in selects:
            plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
            for step in plan:
                if step.startswith("SCAN"):
                    assert re.match(r"SCAN listings_fts VIRTUAL TABLE INDEX \d+:M", step), (sql, plan)
                assert "TEMP B-TREE" not in step, (sql, plan)  # no sort over every match
    finally:
        db.close()


def test_relevance_set_meets_the_targets(tmp_path: Path) -> None:
    from handlers.search_eval import evaluate, summary

    data = Path(__file__).parent / "data" / "search_eval.jsonl"
    cases = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines() if line]
    assert len(cases) >= 150 and sum(1 for c in cases if c["expect_none"]) >= 20
    db = Database(tmp_path / "eval.db")
    try:
        db.call(schema.migrate)
        db.call(listings.import_rows,
                read(Path(__file__).parent.parent / "db" / "demo_catalogue.json"))
        figures = summary(db.call(evaluate, cases))
    finally:
        db.close()
    assert figures["hit@3"] >= 0.95 and figures["correct_none"] >= 0.95
    assert figures["violating_queries"] == 0


async def test_restock_notice_goes_through_customer_service_when_allowed(tmp_path: Path) -> None:
    from tests.fake_wechat import FakeWeChat

    fake = await FakeWeChat().start()
    config = make_config(tmp_path, wechat={"customer_service": True, "app_secret": "test-secret",
                                           "api_base": fake.api_base})
    seed(config)
    running = await start_bot(config)
    try:
        assert "没有找到「榴莲」" in await running.say("我想买榴莲", openid="buyer_cs")
        await running.say("要", openid="buyer_cs")
        db = Database(config.db.path)
        try:
            db.call(listings.import_rows, read(_durian(config.db.path)))
        finally:
            db.close()
        await notify_restocks(running.state.pipeline.services)  # or housekeeping did
        assert running.db_rows("SELECT count(*) FROM outbox WHERE kind = 'restock'") == [(1,)]
    finally:
        await stop_bot(running)
        await fake.close()
    assert [m["touser"] for m in fake.sent] == ["buyer_cs"]
    assert "榴莲到货了" in fake.sent[0]["text"]["content"]
    assert running.db_rows("SELECT kind, state, channel FROM outbox") == [
        ("restock", "sent", "customer_service")]


def _listing(sku: str, title: str, stock: int, origin: str, seller: str, **extra: object) -> dict:
    return {"sku": sku, "title": title, "category": "生鲜水果", "price": 9.9, "unit": "斤",
            "stock": stock, "origin": origin, "seller": seller, **extra}


async def _bot_over(tmp_path: Path, name: str, rows: list[dict]) -> Bot:
    """A running bot whose catalogue is these rows, imported the way operators do."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    config = make_config(tmp_path)
    seed(config, path)
    return await start_bot(config)


async def test_a_sold_out_specialty_offers_the_same_product_from_other_sellers(
        tmp_path: Path) -> None:
    running = await _bot_over(tmp_path, "oranges", [
        _listing("C-1", "褚橙 冰糖橙 10斤装", 0, "云南省 玉溪市 新平彝族傣族自治县", "哀牢山果园"),
        _listing("M-1", "麻阳冰糖橙 小果 9斤装", 50, "湖南省 怀化市 麻阳苗族自治县", "麻阳橙农"),
        _listing("Q-1", "赣南脐橙 10斤", 50, "江西省 赣州市 寻乌县", "寻乌果农"),
    ])
    try:
        reply = await running.say("褚橙还有吗", openid="buyer_s")
        assert reply.startswith("「褚橙」已经卖完了")
        assert TITLE.findall(reply) == ["麻阳冰糖橙 小果 9斤装"]  # the same product, nothing else
        assert "没有更多" in await running.say("还有吗", openid="buyer_s")
    finally:
        await stop_bot(running)


async def test_sold_out_with_no_other_seller_of_it_offers_what_it_is_a_kind_of(demo: Bot) -> None:
    reply = await demo.say("秭归的夏橙", openid="buyer_z")  # the only 夏橙 is sold out
    assert "夏橙」已经卖完了" in reply and "其他产地的橙子" in reply  # 秭归 was the buyer's
    titles = TITLE.findall(reply)
    assert titles and all("橙" in title and "夏橙" not in title for title in titles)


async def test_sold_out_with_nothing_like_it_says_so_and_records_the_demand(demo: Bot) -> None:
    reply = await demo.say("百色的芒果", openid="buyer_z")  # no other mango at all
    assert "已经卖完了" in reply and "<a href" not in reply
    assert demo.db_rows("SELECT product FROM unmet_demand WHERE openid = 'buyer_z'") == [("芒果",)]


async def test_things_we_do_not_sell_get_an_honest_answer(demo: Bot) -> None:
    for text in ("有没有小米手机", "苹果电脑多少钱"):
        reply = await demo.say(text)
        assert "只卖农产品" in reply and "<a href" not in reply


async def test_an_occasion_alone_shows_goods_that_fit_it(demo: Bot) -> None:
    titles = TITLE.findall(await demo.say("送礼的", openid="buyer_g"))
    assert titles
    for title, *_rest, tags in rows_for(demo, titles):
        assert "礼盒" in title or "礼盒" in tags


async def test_the_buyers_city_is_not_the_origin_and_is_kept_with_unmet_demand(demo: Bot) -> None:
    oranges = TITLE.findall(await demo.say("我在上海，想买点脐橙", openid="buyer_sh"))
    assert oranges and all("江西" in row[4] or "湖北" in row[4] or "重庆" in row[4]
                           for row in rows_for(demo, oranges))
    await demo.say("寄到广州的话，有没有榴莲", openid="buyer_sh")
    assert demo.db_rows("SELECT product, buyer_city FROM unmet_demand WHERE openid = 'buyer_sh'"
                        ) == [("榴莲", "广州市")]


HELD_OUT = Path(__file__).parent / "data" / "heldout"


def _run_held_out(folder: Path, tmp_path: Path, listings_at_least: int, queries_at_least: int,
                  negatives_at_least: int) -> list:
    """A held-out catalogue imported into a fresh database and its queries evaluated."""
    from handlers.search_eval import evaluate

    cases = [json.loads(line) for line in (folder / "queries.jsonl").read_text(
        encoding="utf-8").splitlines() if line]
    assert len(cases) >= queries_at_least
    assert sum(1 for c in cases if c["expect_none"]) >= negatives_at_least
    db = Database(tmp_path / f"{folder.name}.db")
    try:
        db.call(schema.migrate)
        rows = read(folder / "catalogue.json")
        assert len(rows) >= listings_at_least
        db.call(listings.import_rows, rows)
        return db.call(evaluate, cases)
    finally:
        db.close()


def test_held_out_set_meets_the_targets(tmp_path: Path) -> None:
    """A catalogue and queries written before the open-vocabulary mechanisms existed."""
    from handlers.search_eval import by_kind, summary

    results = _run_held_out(HELD_OUT, tmp_path, 100, 200, 40)
    figures = summary(results)
    assert figures["hit@3"] >= 0.99 and figures["correct_none"] >= 0.99
    assert figures["violating_queries"] == 0
    for kind, kind_figures in by_kind(results).items():
        assert kind_figures["hit@3"] >= 0.9 or kind_figures["queries"] == kind_figures["negatives"], kind
        assert kind_figures["correct_none"] >= 0.95, kind


# Sets written after a round of mechanisms and run once before any tuning
# (tests/data/heldout/README.md gives each first-run figure); seen since, each is a
# regression guard at what it scores now: (folder, at least listings / queries /
# expecting nothing, hit@3 floor, first-run hit@3, correct-none floor).
LATER_SETS = [
    ("third", 40, 80, 0, 0.99, 0.943, 0.99),
    ("fourth", 60, 150, 40, 0.99, 0.914, 0.99),
    # Round 13: hit@3 1.000 (a word no title shows read as the title word written alike).
    ("fifth", 60, 150, 40, 0.99, 0.940, 0.99),
    ("sixth", 50, 120, 30, 0.98, 0.952, 0.99),
    # Round 9 (crop varieties: 醉金香, 青薯9号; 莴苣, 水鱼): 0.953 and 0.992.
    ("seventh", 50, 120, 30, 0.945, 0.893, 0.99),
    ("eighth", 50, 120, 30, 0.985, 0.881, 0.99),
    # Round 9: hit@3 0.982, correct-none 1.000 (西瓜霜 is a thing we do not sell); round 13:
    # 0.994 and 1.000.
    ("ninth", 60, 150, 40, 0.99, 0.888, 0.99),
    # First run (index version 15): hit@3 0.924, correct-none 0.966 (石榴裙, 核桃木砧板);
    # after round 9: 1.000 and 1.000.
    ("tenth", 60, 150, 40, 0.99, 0.924, 0.99),
    # First run (index version 16, after round 9): hit@3 0.899, correct-none 0.934;
    # after round 10: 0.971 and 1.000; after round 13: 0.987 and 1.000.
    ("eleventh", 60, 250, 55, 0.98, 0.899, 0.99),
    # First run (index version 17, after round 10): hit@3 0.928, correct-none 0.968;
    # after round 11: 0.983 and 1.000; after round 13: 0.991 and 1.000.
    ("twelfth", 60, 250, 55, 0.99, 0.928, 0.99),
    # First run (index version 18, after round 11): hit@3 0.805, correct-none 0.983, one
    # violation (南澳岛 read as no place), fixed at once: an island is its county's;
    # after round 12: 0.887 and 0.983; after round 13: 0.905 and 1.000; after round 14:
    # 0.918 and 1.000; after round 15: 0.926 and 1.000.
    ("thirteenth", 60, 250, 55, 0.92, 0.805, 0.99),
    # First run (index version 19, after round 12): hit@3 0.905, correct-none 0.902;
    # after round 13: 0.968 and 0.984; after round 14: 0.973 and 0.984.
    ("fourteenth", 60, 250, 55, 0.97, 0.905, 0.98),
    # First run (index version 20, after round 13): hit@3 0.872, correct-none 0.970;
    # after round 14: 0.948 and 0.985.
    ("fifteenth", 60, 300, 60, 0.94, 0.872, 0.98),
    # First run (index version 21, after round 14): hit@3 0.805, correct-none 0.931;
    # after round 15: 0.933 and 0.986.
    ("sixteenth", 60, 300, 60, 0.93, 0.805, 0.98),
    # First run (index version 22, after round 15): hit@3 0.849, correct-none 0.985.
    ("seventeenth", 60, 280, 60, 0.84, 0.849, 0.98),
]


@pytest.mark.parametrize("name,listings,queries,nothing,floor,first_run,none_floor", LATER_SETS,
                         ids=[row[0] for row in LATER_SETS])
def test_later_held_out_sets_keep_their_figures(tmp_path: Path, name: str, listings: int,
                                                queries: int, nothing: int, floor: float,
                                                first_run: float, none_floor: float) -> None:
    from handlers.search_eval import summary

    assert floor >= first_run - 0.01  # a guard is never set below the first run
    results = _run_held_out(HELD_OUT / name, tmp_path, listings, queries, nothing)
    figures = summary(results)
    assert figures["hit@3"] >= floor and figures["correct_none"] >= none_floor
    assert [r.text for r in results if r.violations] == list(DISPUTED.get(name, ()))


# Queries whose label contradicts the sold-out rule every earlier set agreed on (a place
# the buyer named, its goods sold out: say so, offer the goods from other places); the
# heldout README tells the disagreement. Listed, so that any other violation fails.
DISPUTED = {"sixteenth": ("四川的大米",)}


def _evaluated(tmp_path: Path, name: str, rows: list[dict], texts: list[str]) -> list:
    """search-eval's results for these texts over a fresh database importing these rows."""
    from handlers.search_eval import evaluate

    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    db = Database(tmp_path / f"{name}.db")
    try:
        db.call(schema.migrate)
        db.call(listings.import_rows, read(path))
        return db.call(evaluate, [{"text": text} for text in texts])
    finally:
        db.close()


def test_a_word_read_as_a_typo_that_titles_have_was_meant(tmp_path: Path) -> None:
    """花胶 sounds like 花椒; where sellers list 花胶, the buyer meant it."""
    def offered(rows: list[dict]) -> list[str]:
        return _evaluated(tmp_path, f"typo{len(rows)}", rows, ["有花胶吗"])[0].skus

    pepper = _listing("P-1", "汉源 红花椒 250g", 30, "四川省 雅安市 汉源县", "汉源椒农")
    maw = _listing("M-1", "湛江 鳘鱼 花胶 250g", 300, "广东省 湛江市 霞山区", "湛江海味")
    assert offered([pepper]) == ["P-1"]          # nothing titled 花胶: read as 花椒
    assert offered([pepper, maw]) == ["M-1"]


def test_a_category_level_naming_several_goods_is_a_shelf(tmp_path: Path) -> None:
    """禽蛋-鸡鸭鹅 is where a duck is shelved, no evidence that it is a goose; a level
    naming one product (水果/葡萄) still says what an unread title is."""
    rows = [
        {**_listing("D-1", "靖西 大麻鸭 整只", 9, "广西壮族自治区 百色市 靖西市", "壮乡鸭场"),
         "category": "禽蛋-鸡鸭鹅"},
        {**_listing("S-1", "中坝 口蘑酱油 1L", 9, "四川省 绵阳市 江油市", "中坝酱园"),
         "category": "调味-酱油醋"},
        {**_listing("G-1", "萧县 醉金香 5斤", 9, "安徽省 宿州市 萧县", "萧县果园"),
         "category": "水果/葡萄"},
    ]
    results = {r.text: r.skus for r in _evaluated(tmp_path, "shelves", rows, [
        "鹅", "广西的鹅", "鸭子", "醋", "酱油", "葡萄"])}
    assert results["鹅"] == results["广西的鹅"] == results["醋"] == []
    assert (results["鸭子"], results["酱油"], results["葡萄"]) == (["D-1"], ["S-1"], ["G-1"])


def test_a_sold_out_cut_offers_its_animals_meat(tmp_path: Path) -> None:
    """The only 蹄髈 is sold out: 肘子 (the same cut) offers other pork, not beef."""
    rows = [
        {**_listing("P-1", "枫泾 蹄髈 1只 约2斤", 0, "上海市 金山区", "枫泾肉庄"),
         "category": "肉类-猪肉"},
        {**_listing("P-2", "富源 乌猪 梅花肉 2斤", 9, "云南省 曲靖市 富源县", "富源猪场"),
         "category": "肉类-猪肉"},
        {**_listing("B-1", "蒙城 黄牛 牛腩 2斤", 9, "安徽省 亳州市 蒙城县", "蒙城牧场"),
         "category": "肉类-牛肉"},
    ]
    results = {r.text: r.skus for r in _evaluated(tmp_path, "cuts", rows, ["肘子", "蹄髈"])}
    assert results["肘子"] == results["蹄髈"] == ["P-2"]


def test_a_dried_mushroom_is_the_mushroom_and_sold_out_offers_mushrooms(tmp_path: Path) -> None:
    """猴头菇干 is 猴头菇 dried (one umbrella, 蘑菇, covers fresh and dried mushrooms); when
    it is sold out, other mushrooms are offered. 葡萄干 stays no 葡萄."""
    rows = [
        {**_listing("H-1", "海林 猴头菇 干 250g", 0, "黑龙江省 牡丹江市 海林市", "海林山货"),
         "category": "干货-菌菇"},
        {**_listing("T-1", "黎川 茶树菇 干 500g", 9, "江西省 抚州市 黎川县", "黎川菇农"),
         "category": "干货-菌菇"},
        {**_listing("R-1", "吐鲁番 葡萄干 1kg", 9, "新疆维吾尔自治区 吐鲁番市 高昌区", "吐鲁番果农"),
         "category": "南北干货"},
    ]
    results = {r.text: r.skus for r in _evaluated(tmp_path, "dried", rows, [
        "猴头菇", "葡萄"])}
    assert results == {"猴头菇": ["T-1"], "葡萄": []}
    rows[0]["stock"] = 5
    assert _evaluated(tmp_path, "dried2", rows, ["猴头菇"])[0].skus == ["H-1"]


def test_what_comes_with_the_goods_is_not_the_goods(tmp_path: Path) -> None:
    """配芝麻酱 says what comes with the noodles; a part naming a product (热干面) outweighs
    one read by its head character alone (碱水面)."""
    rows = [
        {**_listing("N-1", "武汉 热干面 碱水面 配芝麻酱 5人份", 9, "湖北省 武汉市 江汉区", "汉口面馆"),
         "category": "米面-面条"},
        {**_listing("S-1", "山东 小磨 芝麻酱 500g", 9, "山东省 济南市 历下区", "济南酱园"),
         "category": "调味品"},
    ]
    results = {r.text: r.skus for r in _evaluated(tmp_path, "extras", rows, ["热干面", "芝麻酱"])}
    assert results["热干面"] == ["N-1"] and results["芝麻酱"][0] == "S-1"
    from nlp.goods import goods_terms
    assert goods_terms(rows[0]["title"], rows[0]["category"])[0] == "热干面"


def test_a_title_that_drops_a_head_jiebas_corpus_knows(tmp_path: Path) -> None:
    """龙胆石斑 in 水产 is a 石斑鱼 with its head dropped: a 鱼; with no category nothing
    says a head was dropped."""
    fish = {**_listing("F-1", "儋州 龙胆石斑 鲜活 1条", 9, "海南省 儋州市", "儋州渔排"),
            "category": "水产-鲜活海鲜"}
    results = {r.text: r.skus for r in _evaluated(tmp_path, "dropped", [fish], [
        "鱼", "石斑鱼", "海南的鱼", "鸡"])}
    assert results == {"鱼": ["F-1"], "石斑鱼": ["F-1"], "海南的鱼": ["F-1"], "鸡": []}
    from nlp.goods import goods_terms
    assert goods_terms(fish["title"]) == []


def test_a_generics_head_written_by_sound_after_a_variety(tmp_path: Path) -> None:
    """黄冠离: 离 is said like 梨, the head of the generic 黄冠 is a kind of: a 梨 whose
    title shows 黄冠, never another pear."""
    rows = [
        {**_listing("P-1", "辛集 黄冠梨 10斤装", 9, "河北省 石家庄市 辛集市", "辛集梨园"),
         "category": "果蔬-鲜果"},
        {**_listing("P-2", "砀山 酥梨 10斤装", 9, "安徽省 宿州市 砀山县", "砀山梨园"),
         "category": "果蔬-鲜果"},
    ]
    assert _evaluated(tmp_path, "variety_sound", rows, ["黄冠离"])[0].skus == ["P-1"]


def test_soup_ingredients_are_an_occasion(tmp_path: Path) -> None:
    """煲汤用的 asks for what goes into soup (煲汤料, a virtual category): dried mushrooms
    and kelp, soup meat; not fruit."""
    rows = [
        {**_listing("S-1", "顺昌 竹荪 干 100g", 9, "福建省 南平市 顺昌县", "顺昌菇农"),
         "category": "干货-菌菇"},
        {**_listing("K-1", "罗源 海带 干 500g", 9, "福建省 福州市 罗源县", "罗源渔家"),
         "category": "水产-海味干货"},
        {**_listing("A-1", "烟台 红富士 10斤", 9, "山东省 烟台市 栖霞市", "栖霞果园")},
    ]
    found = _evaluated(tmp_path, "soup", rows, ["煲汤用的", "炖汤的"])
    assert all(sorted(r.skus) == ["K-1", "S-1"] for r in found)


def test_cut_wordings_forms_and_processed_goods(tmp_path: Path) -> None:
    """One cut however it is written; a form of a product within its own category; a
    product word inside processed goods is not that product."""
    rows = [
        {**_listing("B-1", "延边黄牛 牛腱 3斤", 9, "吉林省 延边朝鲜族自治州 延吉市", "延边牧场"),
         "category": "肉禽蛋"},
        _listing("Z-1", "沾化冬枣 脆甜 5斤装", 9, "山东省 滨州市 沾化区", "沾化枣农"),
        {**_listing("Z-2", "若羌灰枣 干枣 1kg", 9, "新疆维吾尔自治区 巴音郭楞蒙古自治州 若羌县",
                    "若羌枣园"), "category": "南北干货"},
        {**_listing("K-1", "延边辣白菜 朝鲜族泡菜 2斤", 9, "吉林省 延边朝鲜族自治州 延吉市",
                    "延边阿妈妮"), "category": "调味品"},
        {**_listing("S-1", "英德麻竹笋 笋干 500g", 9, "广东省 清远市 英德市", "英德山农"),
         "category": "南北干货"},
    ]
    results = {r.text: r.skus for r in _evaluated(tmp_path, "variants", rows, [
        "牛腱子", "有没有腱子肉", "鲜枣", "枣", "红枣", "白菜", "竹笋"])}
    assert results["牛腱子"] == results["有没有腱子肉"] == ["B-1"]
    assert results["鲜枣"] == ["Z-1"]                     # fresh: not the dried dates
    assert set(results["枣"]) == {"Z-1", "Z-2"}                # 枣 alone: fresh and dried
    assert results["红枣"] == ["Z-2"]
    assert results["白菜"] == []                          # 辣白菜 is a 泡菜
    assert results["竹笋"] == ["S-1"]                     # 笋干 is 笋, dried


async def test_a_noun_alone_shows_goods_only_where_titles_have_it(tmp_path: Path) -> None:
    """菱角 is in no lexicon of ours: said alone it is goods where a title has it; a noun
    no title has (天气) stays chatter, with no unmet demand recorded."""
    running = await _bot_over(tmp_path, "nuts", [
        _listing("L-1", "洪湖 红菱角 5斤", 50, "湖北省 荆州市 洪湖市", "洪湖菱农"),
        _listing("Q-1", "赣南脐橙 10斤", 50, "江西省 赣州市 寻乌县", "寻乌果农"),
    ])
    try:
        assert TITLE.findall(await running.say("菱角", openid="buyer_n")) == ["洪湖 红菱角 5斤"]
        chatter = await running.say("天气", openid="buyer_n")
        assert "<a href" not in chatter and "没太明白" in chatter
        assert running.db_rows("SELECT product FROM unmet_demand WHERE openid = 'buyer_n'") == []
    finally:
        await stop_bot(running)


async def test_a_sold_out_listing_named_by_a_word_we_lack_offers_goods_like_it(
        tmp_path: Path) -> None:
    """昭平 银杉 is a green tea the lexicon does not name; when it is sold out, the buyer
    who names it is offered the 绿茶 it is indexed as, and a cut named with its place
    (延边 牛腩, the only 牛腩) the meat it is."""
    running = await _bot_over(tmp_path, "named", [
        {**_listing("Y-1", "昭平 银杉 明前 100g", 0, "广西壮族自治区 贺州市 昭平县", "昭平茶园"),
         "category": "茶叶", "description": "高山绿茶，耐泡。"},
        {**_listing("R-1", "日照 绿茶 250g 豌豆香", 40, "山东省 日照市 东港区", "日照茶农"),
         "category": "茶叶"},
        {**_listing("N-1", "延边黄牛 牛腩 2斤", 0, "吉林省 延边朝鲜族自治州 延吉市", "延吉牛场"),
         "category": "肉类"},
        {**_listing("B-1", "锡林郭勒 牛里脊 1kg", 30, "内蒙古自治区 锡林郭勒盟 锡林浩特市",
                    "草原牧场"), "category": "肉类"},
    ])
    try:
        reply = await running.say("昭平银杉还有吗", openid="buyer_y")
        assert "已经卖完了" in reply and TITLE.findall(reply) == ["日照 绿茶 250g 豌豆香"]
        reply = await running.say("延边牛腩", openid="buyer_n")
        assert "已经卖完了" in reply and TITLE.findall(reply) == ["锡林郭勒 牛里脊 1kg"]
    finally:
        await stop_bot(running)


def test_a_place_written_onto_the_goods_may_be_their_name(tmp_path: Path) -> None:
    """沙县板鸭 made in 永安 is still what a buyer of 沙县板鸭 wants, though 沙县 is a county
    of its own; 沙县的板鸭 asks where they come from, and none does; so does 四川板鸭."""
    rows = [
        {**_listing("D-1", "沙县板鸭 2只 腊味", 30, "福建省 三明市 永安市", "永安腊味坊"),
         "category": "肉类"},
        {**_listing("D-2", "高邮 咸鸭蛋 20枚", 30, "江苏省 扬州市 高邮市", "高邮蛋行"),
         "category": "禽蛋"},
        {**_listing("D-3", "四川风味 板鸭 2只", 30, "湖南省 常德市 汉寿县", "汉寿腊味"),
         "category": "肉类"},
    ]
    found = _evaluated(tmp_path, "named", rows, ["沙县板鸭", "沙县的板鸭", "福建的板鸭", "四川板鸭"])
    # A province written onto goods is where they are from (四川风味 is no origin).
    assert [r.skus for r in found] == [["D-1"], [], ["D-1"], []]


def test_other_names_from_the_audit_find_the_product(tmp_path: Path) -> None:
    """Names the audit added mean the product a buyer means: 芦柑 is a 椪柑, 芭乐 a 番石榴,
    鬼子姜 the 菊芋 a seller lists as 洋姜; a known name is no sound typo of another."""
    rows = [
        _listing("G-1", "永春 椪柑 10斤", 30, "福建省 泉州市 永春县", "永春果农"),
        _listing("G-2", "漳州 番石榴 红心 5斤", 30, "福建省 漳州市 平和县", "平和果园"),
        {**_listing("G-3", "沂蒙 洋姜 5斤", 30, "山东省 临沂市 沂水县", "沂水菜农"),
         "category": "蔬菜"},
        {**_listing("G-4", "江苏 黄豆 5斤", 30, "江苏省 南通市 如皋市", "如皋粮农"),
         "category": "粮油"},
        {**_listing("G-5", "邛崃 青笋 5斤", 30, "四川省 成都市 邛崃市", "邛崃菜农"),
         "category": "蔬菜"},
        {**_listing("G-6", "宜兴 春笋 5斤", 30, "江苏省 无锡市 宜兴市", "宜兴笋农"),
         "category": "蔬菜"},
    ]
    found = {r.text: r.skus for r in _evaluated(tmp_path, "names", rows, [
        "芦柑", "芭乐", "鬼子姜", "有罗汉豆吗", "莴苣", "竹笋"])}
    assert found == {"芦柑": ["G-1"], "芭乐": ["G-2"], "鬼子姜": ["G-3"],
                     "有罗汉豆吗": [],  # 罗汉豆 is a 蚕豆, not 黄豆 by sound
                     "莴苣": ["G-5"], "竹笋": ["G-6"]}  # a product the tree lacked; no 竹笋


def test_a_bare_variety_or_a_brand_sold_out_offers_goods_of_its_kind(tmp_path: Path) -> None:
    """The only 沃柑 is sold out: 沃柑 offers the 橘子 it is a kind of; the only 汾酒
    (a name we lack) is sold out: 汾酒 and 有没有汾酒 offer the 白酒 it is indexed as,
    not any drink; a generic alone (白酒 when every 白酒 is sold out) is none."""
    rows = [
        _listing("W-1", "武鸣 沃柑 5斤", 0, "广西壮族自治区 南宁市 武鸣区", "武鸣果园"),
        _listing("W-2", "黄岩 蜜橘 5斤", 30, "浙江省 台州市 黄岩区", "黄岩果农"),
        {**_listing("F-1", "汾酒 青花 53度 500ml", 0, "山西省 吕梁市 汾阳市", "杏花村酒行"),
         "category": "酒类>白酒", "unit": "瓶"},
        {**_listing("F-2", "郎酒 53度 500ml", 20, "四川省 泸州市 古蔺县", "古蔺酒坊"),
         "category": "酒类>白酒", "unit": "瓶"},
        {**_listing("F-3", "长城 干红 750ml", 20, "河北省 张家口市 怀来县", "怀来酒庄"),
         "category": "酒类>葡萄酒", "unit": "瓶"},
    ]
    found = {r.text: r.skus for r in _evaluated(tmp_path, "sold", rows, [
        "沃柑还有吗", "汾酒", "有没有汾酒"])}
    assert found == {"沃柑还有吗": ["W-2"], "汾酒": ["F-2"], "有没有汾酒": ["F-2"]}


def test_goods_at_the_start_of_a_thing_we_do_not_sell_are_not_offered(tmp_path: Path) -> None:
    """A goods word written onto a material (枣木, 苹果木) or onto the head of clothes or
    creams (裙, 霜) names that thing; goods named with 片 or 子 stay goods (燕麦片,
    毛栗子), as do greens named after a material (鸡毛菜)."""
    rows = [
        {**_listing("N-1", "沾化 冬枣 5斤", 30, "山东省 滨州市 沾化区", "沾化枣农")},
        {**_listing("N-2", "坝上 燕麦 2斤", 30, "河北省 张家口市 张北县", "张北粮农"),
         "category": "粮油"},
        {**_listing("N-3", "迁西 板栗 3斤", 30, "河北省 唐山市 迁西县", "迁西栗农"),
         "category": "干货"},
        {**_listing("N-4", "上海 鸡毛菜 2斤", 30, "上海市 浦东新区", "浦东菜农"),
         "category": "蔬菜"},
    ]
    found = {r.text: r.skus for r in _evaluated(tmp_path, "things", rows, [
        "枣木菜板", "冬枣裙", "冬枣霜", "燕麦片", "毛栗子", "鸡毛菜"])}
    assert found["枣木菜板"] == found["冬枣裙"] == found["冬枣霜"] == []
    assert found["燕麦片"] == ["N-2"] and found["毛栗子"] == ["N-3"]
    assert found["鸡毛菜"] == ["N-4"]


def test_an_occasion_ending_in_a_category_character_is_the_occasion(tmp_path: Path) -> None:
    """下饭菜 ends in 菜 but asks for what goes with rice, not vegetables; 下酒的 for what
    goes with drink, cooked meats exported as 熟食 among them."""
    rows = [
        {**_listing("O-1", "永川 豆豉 500g", 30, "重庆市 永川区", "永川酱园"),
         "category": "调味品"},
        {**_listing("O-2", "寿光 菠菜 3斤", 30, "山东省 潍坊市 寿光市", "寿光菜农"),
         "category": "蔬菜"},
        {**_listing("O-3", "道口烧鸡 整只 1kg", 30, "河南省 安阳市 滑县", "道口老店"),
         "category": "休闲食品>熟食卤味"},
    ]
    found = {r.text: r.skus for r in _evaluated(tmp_path, "occasion", rows, [
        "下饭菜", "有没有下酒的"])}
    assert found == {"下饭菜": ["O-1"], "有没有下酒的": ["O-3"]}


def test_a_crop_variety_titled_without_its_kind_is_found_by_the_kind(tmp_path: Path) -> None:
    """费乌瑞它 is a potato and 美人指 a grape though their titles say neither; a numbered
    line is named by its series (陇薯7号 is a 陇薯), and its number is no choice."""
    rows = [
        {**_listing("V-1", "定西 费乌瑞它 黄心 10斤", 30, "甘肃省 定西市 安定区", "定西薯农"),
         "category": "生鲜>蔬菜"},
        {**_listing("V-2", "吐鲁番 美人指 5斤", 30, "新疆维吾尔自治区 吐鲁番市 高昌区",
                    "吐鲁番果园")},
        {**_listing("V-3", "渭源 陇薯7号 20斤", 30, "甘肃省 定西市 渭源县", "渭源薯农"),
         "category": "生鲜>蔬菜"},
    ]
    found = {r.text: r.skus for r in _evaluated(tmp_path, "varieties", rows, [
        "土豆", "马铃薯", "葡萄", "陇薯7号"])}
    assert set(found["土豆"]) == set(found["马铃薯"]) == {"V-1", "V-3"}
    assert found["葡萄"] == ["V-2"] and found["陇薯7号"] == ["V-3"]


def test_a_cut_by_another_of_its_wordings_or_its_animals_everyday_word(tmp_path: Path) -> None:
    """松板肉 and 猪颈肉 are one pork cut, however the buyer writes it (the 肉 dropped or
    kept); 羊脖子 is the 羊脖 a title shows; a neck is not the pork cut 梅花肉."""
    rows = [
        {**_listing("P-1", "上杭 槐猪 松板肉 1斤", 9, "福建省 龙岩市 上杭县", "上杭猪场"),
         "category": "生鲜|肉类|猪肉"},
        {**_listing("L-1", "麦盖提 多浪羊 羊脖 2斤", 9, "新疆维吾尔自治区 喀什地区 麦盖提县",
                    "刀郎羊场"), "category": "生鲜|肉类|羊肉"},
        {**_listing("B-1", "蒙城 黄牛 牛腩 2斤", 9, "安徽省 亳州市 蒙城县", "蒙城牧场"),
         "category": "肉类-牛肉"},
    ]
    found = {r.text: r.skus for r in _evaluated(tmp_path, "cut_names", rows, [
        "松板肉", "猪颈肉有没有", "梅花肉", "羊脖子", "羊脖", "牛脖子"])}
    assert found["松板肉"] == found["猪颈肉有没有"] == found["梅花肉"] == ["P-1"]
    assert found["羊脖子"] == found["羊脖"] == ["L-1"]
    assert found["牛脖子"] == []


def test_an_occasion_with_no_goods_word(tmp_path: Path) -> None:
    """烧烤的料 asks for spices and meat for the grill, or what is tagged 烧烤; 坐月子吃的 for
    tonics, poultry and eggs, brown sugar; neither offers fruit."""
    rows = [
        {**_listing("S-1", "新和 孜然粒 250g 撒料", 9, "新疆维吾尔自治区 阿克苏地区 新和县",
                    "新和香料"), "category": "调味|香料"},
        {**_listing("P-1", "上杭 槐猪 前腿肉 1斤", 9, "福建省 龙岩市 上杭县", "上杭猪场"),
         "category": "生鲜|肉类|猪肉", "tags": ["烧烤"]},
        {**_listing("E-1", "黟县 绿壳鸡蛋 30枚", 9, "安徽省 黄山市 黟县", "黟县蛋农"),
         "category": "生鲜|蛋品"},
        {**_listing("A-1", "烟台 红富士 10斤", 9, "山东省 烟台市 栖霞市", "栖霞果园")},
    ]
    found = {r.text: r.skus for r in _evaluated(tmp_path, "occasions", rows, [
        "烧烤的料", "坐月子吃的"])}
    assert sorted(found["烧烤的料"]) == ["P-1", "S-1"]
    assert found["坐月子吃的"] == ["E-1"]


def test_a_toy_or_tool_named_after_food_is_no_food(tmp_path: Path) -> None:
    """草莓熊玩偶 is a plush toy and 核桃夹子 a nutcracker: nothing we sell."""
    rows = [
        {**_listing("F-1", "建德 草莓 章姬 3斤", 9, "浙江省 杭州市 建德市", "建德果园")},
        {**_listing("W-1", "临安 山核桃 500g", 9, "浙江省 杭州市 临安区", "临安山货"),
         "category": "干货|坚果"},
    ]
    found = {r.text: r.skus for r in _evaluated(tmp_path, "toys", rows, [
        "草莓熊玩偶", "核桃夹子", "草莓", "核桃"])}
    assert found == {"草莓熊玩偶": [], "核桃夹子": [], "草莓": ["F-1"], "核桃": ["W-1"]}


def test_a_tea_named_by_a_place_or_a_mountain_is_tea(tmp_path: Path) -> None:
    """雨花茶 is a 南京 tea, though 雨花 also names a district of 长沙; 梨山茶 is an oolong named
    by its mountain, no pear."""
    rows = [
        {**_listing("T-1", "南京 雨花茶 特级 100g", 9, "江苏省 南京市 雨花台区", "金陵茶社"),
         "category": "茶叶|绿茶"},
        {**_listing("T-2", "台湾 梨山 高山乌龙 150g", 9, "台湾省 台中市", "梨山茶园"),
         "category": "茶叶|乌龙茶"},
        {**_listing("P-1", "宁陵 酥梨 10斤", 9, "河南省 商丘市 宁陵县", "宁陵梨园")},
    ]
    found = {r.text: r.skus for r in _evaluated(tmp_path, "tea_names", rows, [
        "雨花茶", "梨山茶", "梨"])}
    assert found == {"雨花茶": ["T-1"], "梨山茶": ["T-2"], "梨": ["P-1"]}


def test_a_sausage_a_dried_fish_and_a_flavour_word(tmp_path: Path) -> None:
    """红肠 is a sausage (香肠 finds it, its pinyin too); 银鱼 finds the 银鱼干 a title
    sells; 蒜香红肠 asks for the sausage that tastes of garlic, not for garlic."""
    rows = [
        {**_listing("S-1", "哈尔滨 红肠 里道斯 500g 蒜香", 9, "黑龙江省 哈尔滨市 道里区",
                    "哈尔滨肉联"), "category": "熟食|卤味"},
        {**_listing("G-1", "乐都 紫皮大蒜 5斤", 9, "青海省 海东市 乐都区", "乐都蒜农"),
         "category": "生鲜|蔬菜"},
        {**_listing("F-1", "巢湖 银鱼干 250g 淡晒", 9, "安徽省 合肥市 巢湖市", "巢湖渔家"),
         "category": "干货|海产干货"},
        {**_listing("F-2", "洪湖 鲫鱼 2条", 9, "湖北省 荆州市 洪湖市", "洪湖渔家"),
         "category": "水产"},
    ]
    found = {r.text: r.skus for r in _evaluated(tmp_path, "sausage", rows, [
        "红肠", "香肠", "hongchang", "蒜香红肠", "大蒜", "银鱼"])}
    assert found["红肠"] == found["香肠"] == found["hongchang"] == found["蒜香红肠"] == ["S-1"]
    assert found["大蒜"] == ["G-1"] and found["银鱼"] == ["F-1"]


def test_a_shape_typo_prefers_the_name_sharing_a_distinctive_part(tmp_path: Path) -> None:
    """抽子 looks like 柚子 (由) and 拐子 (a name of 鲤鱼, strokes alike): the shared 由 says
    柚子, though 拐子 is written more often."""
    rows = [
        {**_listing("Y-1", "垫江 白柚 2个装", 9, "重庆市 垫江县", "垫江柚园")},
        {**_listing("C-1", "微山湖 鲤鱼 1条", 9, "山东省 济宁市 微山县", "微山渔家"),
         "category": "水产"},
    ]
    assert _evaluated(tmp_path, "shape_tie", rows, ["抽子"])[0].skus == ["Y-1"]


def test_dried_seafood_of_the_audited_class_and_its_sound_typo(tmp_path: Path) -> None:
    """沙虫干 is dried seafood the lexicon knows; 沙冲干 (冲 said like 虫) is its typo."""
    rows = [
        {**_listing("S-1", "北海 沙虫干 100g 特级", 9, "广西壮族自治区 北海市 海城区", "北海海味"),
         "category": "干货|海产干货"},
        {**_listing("K-1", "罗源 海带 干 500g", 9, "福建省 福州市 罗源县", "罗源渔家"),
         "category": "水产-海味干货"},
    ]
    found = {r.text: r.skus for r in _evaluated(tmp_path, "dried_sea", rows, ["沙虫干", "沙冲干"])}
    assert found == {"沙虫干": ["S-1"], "沙冲干": ["S-1"]}


def test_a_sold_out_gift_box_offers_the_same_goods_unboxed(tmp_path: Path) -> None:
    """The only 礼盒 of 枇杷 is sold out: 枇杷礼盒 offers the loose 枇杷 in stock (packing
    only is dropped); a sold-out 有机 listing is not replaced by one that is not."""
    rows = [
        {**_listing("B-1", "塘栖 枇杷 礼盒装 3斤 送人", 0, "浙江省 杭州市 临平区", "塘栖果园"),
         "category": "鲜果·时令水果", "tags": ["礼盒"]},
        {**_listing("L-1", "塘栖 枇杷 5斤 家庭装", 9, "浙江省 杭州市 临平区", "塘栖果园"),
         "category": "鲜果·时令水果"},
        {**_listing("O-1", "五常 有机 大米 10斤", 0, "黑龙江省 哈尔滨市 五常市", "五常米业"),
         "category": "粮油·大米"},
        {**_listing("R-1", "庆安 大米 10斤", 9, "黑龙江省 绥化市 庆安县", "庆安米业"),
         "category": "粮油·大米"},
    ]
    results = {r.text: r.skus for r in _evaluated(tmp_path, "boxed", rows, [
        "枇杷礼盒", "有机大米"])}
    assert results == {"枇杷礼盒": ["L-1"], "有机大米": []}


def test_sold_out_fresh_goods_offer_their_dried_form_from_the_same_place(tmp_path: Path) -> None:
    """The only 荔枝 from 增城 is sold out while 增城 荔枝干 is in stock: it is offered."""
    rows = [
        {**_listing("F-1", "增城 挂绿 荔枝 3斤", 0, "广东省 广州市 增城区", "增城果园"),
         "category": "鲜果·时令水果"},
        {**_listing("D-1", "增城 荔枝干 500g 自然晒", 9, "广东省 广州市 增城区", "增城果园"),
         "category": "零食·蜜饯果干"},
    ]
    assert _evaluated(tmp_path, "dried-form", rows, ["增城的荔枝"])[0].skus == ["D-1"]


def test_a_typo_said_as_two_products_names_is_the_one_sellers_list(tmp_path: Path) -> None:
    """竹孙 and zhusun sound like both 竹笋 and 竹荪: where titles show 竹荪 only, that one;
    竹笋 written right is never offered 竹荪."""
    rows = [{**_listing("Z-1", "赫章 竹荪 50g 干货", 9, "贵州省 毕节市 赫章县", "赫章山货"),
             "category": "干货·菌菇"}]
    results = {r.text: r.skus for r in _evaluated(tmp_path, "twins", rows, [
        "竹孙", "zhusun", "竹笋"])}
    assert results == {"竹孙": ["Z-1"], "zhusun": ["Z-1"], "竹笋": []}
    shoots = {**_listing("S-1", "宜宾 竹笋 鲜 5斤", 9, "四川省 宜宾市 长宁县", "宜宾笋农"),
              "category": "蔬菜"}
    assert _evaluated(tmp_path, "twins2", [*rows, shoots], ["竹孙"])[0].skus == ["S-1"]


def test_a_word_titles_lack_but_show_said_alike_is_that_word(tmp_path: Path) -> None:
    """原蘑 (yuanmo) where a mushroom title shows 元蘑: that listing; a word said like none
    of the titles' words still finds nothing."""
    rows = [{**_listing("Y-1", "敦化 元蘑 250g 冻蘑", 9, "吉林省 延边朝鲜族自治州 敦化市", "敦化山货"),
             "category": "干货·菌菇"}]
    results = {r.text: r.skus for r in _evaluated(tmp_path, "heard", rows, ["原蘑", "榛蘑"])}
    assert results == {"原蘑": ["Y-1"], "榛蘑": []}


def test_a_variety_the_lexicon_lacks_is_found_as_its_titles_write_it(tmp_path: Path) -> None:
    """净皮甜 is near 陈皮 and 泡泡青 ends in 青 with 有 glued on: the word as written is what
    the titles show, no typo and no cue."""
    rows = [
        {**_listing("S-1", "临潼 石榴 净皮甜 5斤 大果", 36, "陕西省 西安市 临潼区", "骊山石榴园"),
         "category": "生鲜;水果"},
        {**_listing("V-1", "随州 泡泡青 5斤 打霜更甜", 19, "湖北省 随州市 曾都区", "曾都菜园"),
         "category": "生鲜;蔬菜"},
        {**_listing("W-1", "大兴 黑美人 西瓜 1个", 30, "北京市 大兴区", "庞各庄瓜园"),
         "category": "生鲜;水果"},
        {**_listing("P-1", "新会 陈皮 十年 100g", 99, "广东省 江门市 新会区", "新会陈皮行")},
    ]
    found = {r.text: r.skus for r in _evaluated(tmp_path, "varieties", rows, [
        "净皮甜", "泡泡青有吗", "泡泡青有没有", "黑美人有吗", "陈皮"])}
    assert found == {"净皮甜": ["S-1"], "泡泡青有吗": ["V-1"], "泡泡青有没有": ["V-1"],
                     "黑美人有吗": ["W-1"], "陈皮": ["P-1"]}


def test_a_word_no_title_shows_is_the_title_word_written_or_said_alike(tmp_path: Path) -> None:
    """羊拼, 挂而, 大未, 鱼高: one character from a word titles show that names goods, written
    or said alike, and the one clear best; a word near none (天气) finds nothing."""
    rows = [
        {**_listing("L-1", "同心 滩羊 羊排 3斤 手抓", 9, "宁夏回族自治区 吴忠市 同心县", "同心羊倌"),
         "category": "肉类;羊肉"},
        {**_listing("N-1", "藁城 宫面 空心挂面 2斤 手工", 9, "河北省 石家庄市 藁城区", "藁城面坊"),
         "category": "粮油;米面"},
        {**_listing("R-1", "查哈阳 大米 10斤 新米", 9, "黑龙江省 齐齐哈尔市 甘南县", "查哈阳农场"),
         "category": "粮油;米面"},
        {**_listing("F-1", "荆州 鱼糕 500g 手工", 9, "湖北省 荆州市 沙市区", "荆州鱼糕坊"),
         "category": "水产;加工"},
        {**_listing("D-1", "岷县 当归 500g 切片", 9, "甘肃省 定西市 岷县", "岷县药材行"),
         "category": "滋补;药食同源"},
    ]
    found = {r.text: r.skus for r in _evaluated(tmp_path, "title_typos", rows, [
        "羊拼", "挂而", "大未", "鱼高", "唐归", "天气"])}
    assert found == {"羊拼": ["L-1"], "挂而": ["N-1"], "大未": ["R-1"], "鱼高": ["F-1"],
                     "唐归": ["D-1"], "天气": []}


def test_a_sold_out_listing_named_by_its_descriptions_other_name(tmp_path: Path) -> None:
    """膨风茶 is 东方美人茶's other name, given only in its description: that listing sold
    out, the same kind (乌龙) is offered; with it in stock, it is what is found."""
    beauty = {**_listing("B-1", "北埔 东方美人茶 白毫乌龙 75g", 0, "台湾省 新竹县 北埔乡", "北埔茶行"),
              "category": "茶;乌龙", "description": "蜜香果香，又名膨风茶。"}
    oolong = {**_listing("O-1", "阿里山 高山乌龙 150g 清香型", 9, "台湾省 嘉义县 阿里山乡", "阿里山茶园"),
              "category": "茶;乌龙"}
    green = {**_listing("G-1", "安吉 白茶 100g 明前", 9, "浙江省 湖州市 安吉县", "安吉茶园"),
             "category": "茶;绿茶"}
    found = _evaluated(tmp_path, "sold_alias", [beauty, oolong, green], ["膨风茶有吗"])
    assert found[0].skus == ["O-1"]
    found = _evaluated(tmp_path, "alias_in_stock", [{**beauty, "stock": 5}, oolong, green],
                       ["膨风茶有吗"])
    assert found[0].skus[:1] == ["B-1"]


def test_a_sold_out_dish_offers_other_goods_made_so(tmp_path: Path) -> None:
    """冷吃兔 (jieba: 冷 / 吃 / 兔) is one name, a 兔肉; its only listing sold out and no
    other rabbit in stock, other 熟食 are offered, never raw meat."""
    rows = [
        {**_listing("R-1", "自贡 冷吃兔 500g 麻辣 罐装", 0, "四川省 自贡市 自流井区", "自贡兔食"),
         "category": "熟食;卤味"},
        {**_listing("D-1", "温州 酱鸭舌 250g 卤味零食", 9, "浙江省 温州市 鹿城区", "温州卤味"),
         "category": "熟食;卤味"},
        {**_listing("M-1", "同心 滩羊 羊排 3斤 冷鲜", 9, "宁夏回族自治区 吴忠市 同心县", "同心羊倌"),
         "category": "肉类;羊肉"},
    ]
    found = {r.text: r.skus for r in _evaluated(tmp_path, "made_so", rows, [
        "冷吃兔", "自贡冷吃兔还有吗"])}
    assert found == {"冷吃兔": ["D-1"], "自贡冷吃兔还有吗": ["D-1"]}


def test_goods_as_written_are_found_in_titles_when_every_reading_misses(tmp_path: Path) -> None:
    """What the buyer typed, titles show: spaced apart by the seller (畲家 腌菜), with a
    character the normaliser reads otherwise (乾 in 乾隆贡, read as 干), dried (梯田鱼 in
    梯田鱼干), headed (列巴 of 大列巴), before its generic (金冠 in 金冠苹果) or its head a
    product's last character (百里香蜜 in 百里香蜂蜜), and in a
    request frame (有金冠吗, 来点梯田鱼). A word no title shows finds nothing."""
    rows = [
        {**_listing("A-1", "景宁 畲家 腌菜 500g 坛装", 9, "浙江省 丽水市 景宁畲族自治县", "景宁畲乡"),
         "category": "熟食腊味 > 腌腊"},
        {**_listing("B-1", "清河 乾隆贡 小米 2斤", 9, "河北省 邢台市 清河县", "清河米坊"),
         "category": "粮油调味 > 米面 > 杂粮"},
        {**_listing("C-1", "从江 梯田鱼干 500g 烟熏", 9, "贵州省 黔东南苗族侗族自治州 从江县",
                    "从江鱼坊"), "category": "食品生鲜 > 水产 > 鱼干"},
        {**_listing("D-1", "哈尔滨 大列巴 1kg 俄式", 9, "黑龙江省 哈尔滨市 道里区", "秋林面包"),
         "category": "休闲零食 > 糕点 > 面包"},
        {**_listing("E-1", "礼泉 金冠苹果 10斤 黄皮", 9, "陕西省 咸阳市 礼泉县", "礼泉果园"),
         "category": "食品生鲜 > 水果 > 苹果"},
        {**_listing("H-1", "伊犁 百里香蜂蜜 500g", 9, "新疆维吾尔自治区 伊犁哈萨克自治州 霍城县",
                    "伊犁蜂场"), "category": "滋补保健 > 蜂蜜"},
    ]
    texts = ["畲家腌菜", "乾隆贡", "梯田鱼", "来点梯田鱼", "列巴", "金冠", "有金冠吗",
             "百里香蜜", "畲家咸鱼", "隆贡", "苗家腌菜"]
    results = {r.text: r.skus for r in _evaluated(tmp_path, "said", rows, texts)}
    assert results["畲家腌菜"] == ["A-1"] and results["乾隆贡"] == ["B-1"]
    assert results["梯田鱼"] == results["来点梯田鱼"] == ["C-1"]
    assert results["列巴"] == ["D-1"]
    assert results["金冠"] == results["有金冠吗"] == ["E-1"]
    assert results["百里香蜜"] == ["H-1"]
    assert results["畲家咸鱼"] == results["隆贡"] == results["苗家腌菜"] == []


def test_a_noun_alone_finds_the_shelf_sellers_exported_the_goods_under(tmp_path: Path) -> None:
    """面包, 糕点, 馄饨, 水饺: words no title shows but a listing's exported category levels
    do (the seller's own statement of what the goods are); words no shelf shows stay none."""
    rows = [
        {**_listing("D-1", "哈尔滨 大列巴 1kg 俄式", 9, "黑龙江省 哈尔滨市 道里区", "秋林面包"),
         "category": "休闲零食 > 糕点 > 面包"},
        {**_listing("F-1", "福州 肉燕 冷冻 50个", 9, "福建省 福州市 鼓楼区", "福州燕皮"),
         "category": "速食冻品 > 馄饨水饺"},
    ]
    texts = ["面包", "糕点", "馄饨", "水饺", "有面包吗", "天气", "蛋糕"]
    results = {r.text: r.skus for r in _evaluated(tmp_path, "shelf", rows, texts)}
    assert results["面包"] == results["糕点"] == results["有面包吗"] == ["D-1"]
    assert results["馄饨"] == results["水饺"] == ["F-1"]
    assert results["天气"] == results["蛋糕"] == []


def test_a_festival_asks_for_the_foods_eaten_at_it(tmp_path: Path) -> None:
    """端午 粽子, 中秋 月饼, 元宵节 汤圆, 腊八 the grains of 腊八粥: festivals are data
    (categories.json), named by the day, its date or 吃的 after it."""
    rows = [
        {**_listing("Z-1", "嘉兴 鲜肉粽 10只 真空", 9, "浙江省 嘉兴市 南湖区", "嘉兴粽坊"),
         "category": "速食冻品 > 粽子"},
        {**_listing("Y-1", "潮州 老婆饼 月饼 礼盒 8个", 9, "广东省 潮州市 湘桥区", "潮州饼家"),
         "category": "休闲零食 > 糕点"},
        {**_listing("T-1", "宁波 黑芝麻汤圆 500g", 9, "浙江省 宁波市 海曙区", "宁波汤团"),
         "category": "速食冻品 > 汤圆"},
        {**_listing("R-1", "赤小豆 红豆 2斤 新货", 9, "黑龙江省 哈尔滨市 宾县", "宾县杂粮"),
         "category": "粮油调味 > 杂粮 > 豆类"},
    ]
    texts = ["端午节吃的", "过端午", "八月十五吃的", "中秋节", "元宵节", "腊八粥料", "重阳节"]
    results = {r.text: r.skus for r in _evaluated(tmp_path, "festivals", rows, texts)}
    assert results["端午节吃的"] == results["过端午"] == ["Z-1"]
    assert results["八月十五吃的"] == results["中秋节"] == ["Y-1"]
    assert results["元宵节"] == ["T-1"] and results["腊八粥料"] == ["R-1"]
    assert results["重阳节"] == []  # no 菊花茶 listed


def test_a_title_run_of_a_use_is_what_the_goods_are_for(tmp_path: Path) -> None:
    """大豆 … 打豆浆 发豆芽 is soybeans, not bean sprouts; 绿豆 … 发豆芽 mung beans; a title
    whose only goods are after a verb of use still names them (烤红薯 stays a 红薯)."""
    rows = [
        {**_listing("S-1", "宾县 大豆 5斤 打豆浆 发豆芽", 9, "黑龙江省 哈尔滨市 宾县", "宾县杂粮"),
         "category": "粮油调味 > 杂粮 > 豆类"},
        {**_listing("G-1", "明光 绿豆 2斤 发豆芽 煮汤", 9, "安徽省 滁州市 明光市", "明光杂粮"),
         "category": "粮油调味 > 杂粮 > 豆类"},
        {**_listing("H-1", "连城 烤 红薯 5斤", 9, "福建省 龙岩市 连城县", "连城薯坊"),
         "category": "食品生鲜 > 蔬菜 > 根茎"},
    ]
    texts = ["黄豆", "大豆", "绿豆", "豆芽", "红薯"]
    results = {r.text: r.skus for r in _evaluated(tmp_path, "uses", rows, texts)}
    assert results["黄豆"] == results["大豆"] == ["S-1"] and results["绿豆"] == ["G-1"]
    assert results["豆芽"] == [] and results["红薯"] == ["H-1"]


def test_goods_a_title_holds_are_no_goods_of_their_own(tmp_path: Path) -> None:
    """粽子 … 咸蛋黄 exported under 粽子 is a 粽子: 鸭蛋 finds none of it; the exported level
    breaks the tie between goods the title names (月饼 … 蛋黄 under 月饼 too)."""
    rows = [
        {**_listing("Z-1", "嘉兴 粽子 鲜肉 咸蛋黄 6只", 9, "浙江省 嘉兴市 南湖区", "嘉兴粽坊"),
         "category": "速食冻品 > 粽子"},
        {**_listing("Y-1", "广州 月饼 咸蛋黄 4个", 9, "广东省 广州市 荔湾区", "广州饼家"),
         "category": "休闲零食 > 月饼"},
    ]
    texts = ["鸭蛋", "咸鸭蛋", "粽子", "月饼"]
    results = {r.text: r.skus for r in _evaluated(tmp_path, "held", rows, texts)}
    assert results["鸭蛋"] == results["咸鸭蛋"] == []
    assert results["粽子"] == ["Z-1"] and results["月饼"] == ["Y-1"]


def test_a_present_for_a_festival_is_any_present(tmp_path: Path) -> None:
    """中秋节送人, 端午送礼: a present for the day, not only what is eaten then."""
    rows = [
        {**_listing("G-1", "马陆 巨峰葡萄 4斤 礼盒装", 9, "上海市 嘉定区", "马陆果园"),
         "category": "生鲜>水果"},
        {**_listing("Z-1", "嘉兴 鲜肉粽 10只 真空", 9, "浙江省 嘉兴市 南湖区", "嘉兴粽坊"),
         "category": "速食冻品 > 粽子"},
    ]
    results = {r.text: r.skus for r in _evaluated(tmp_path, "presents", rows,
                                                    ["中秋节送人", "端午送礼", "端午节吃的"])}
    assert results["中秋节送人"] == results["端午送礼"] == ["G-1"]
    assert results["端午节吃的"] == ["Z-1"]


def test_a_sold_out_cut_named_with_its_animal_offers_that_animals_meat(tmp_path: Path) -> None:
    """羊排 sold out: other 羊肉, told so; never beef."""
    rows = [
        {**_listing("L-1", "盐池 滩羊 羊排 3斤", 0, "宁夏回族自治区 吴忠市 盐池县", "盐池羊场"),
         "category": "肉类-羊肉"},
        {**_listing("L-2", "苏尼特 羊肉卷 2斤", 9, "内蒙古自治区 锡林郭勒盟 苏尼特右旗", "苏尼特牧场"),
         "category": "肉类-羊肉"},
        {**_listing("B-1", "蒙城 黄牛 牛腩 2斤", 9, "安徽省 亳州市 蒙城县", "蒙城牧场"),
         "category": "肉类-牛肉"},
    ]
    results = {r.text: r.skus for r in _evaluated(tmp_path, "lamb", rows, ["羊排"])}
    assert results["羊排"] == ["L-2"]


def test_a_typo_of_a_title_word_the_lexicon_misreads_finds_the_word(tmp_path: Path) -> None:
    """猪洪 is 猪红 mistyped; the lexicon reads 猪红 itself as a typo of 杨梅, but the title
    shows 猪红, so that is what is meant."""
    rows = [{**_listing("P-1", "顺德 猪红 500g 新鲜", 9, "广东省 佛山市 顺德区", "顺德肉档"),
             "category": "肉类-猪肉"}]
    results = {r.text: r.skus for r in _evaluated(tmp_path, "blood", rows, ["猪洪", "猪红"])}
    assert results["猪洪"] == results["猪红"] == ["P-1"]


def test_an_unlisted_kind_is_its_generic_titled_with_what_sets_it_apart(tmp_path: Path) -> None:
    """冰糖橙 where no listing is indexed so: an orange titled 冰糖; none titled so is no
    冰糖橙 (a plain 橙子 is not offered)."""
    rows = [{**_listing("O-1", "麻阳 橙子 10斤 冰糖 甜", 9, "湖南省 怀化市 麻阳苗族自治县",
                        "麻阳果园"), "category": "水果/柑橘"}]
    plain = [{**_listing("O-2", "秭归 橙子 10斤 脐橙", 9, "湖北省 宜昌市 秭归县", "秭归果园"),
              "category": "水果/柑橘"}]
    assert _evaluated(tmp_path, "kind", rows, ["冰糖橙"])[0].skus == ["O-1"]
    assert _evaluated(tmp_path, "plain", plain, ["冰糖橙"])[0].skus == []


def test_a_described_clause_ranks_what_shows_it_and_a_negated_one_binds(tmp_path: Path) -> None:
    """不加碘的盐 never offers salt saying 加碘; 现剥的海胆 prefers the listing that says
    鲜剥 (现 and 鲜 one); 清真牛肉 finds beef whose tags say 清真."""
    def row(sku: str, title: str, category: str, tags: str = "", text: str = "") -> dict:
        return {**_listing(sku, title, 50, "青海省 海西蒙古族藏族自治州 乌兰县", sku),
                "category": category, "tags": [tags], "description": text}
    rows = [row("I-1", "精制 加碘 食盐 500g", "调味/盐", "加碘"),
            row("N-1", "茶卡 大青盐 500g", "调味/盐", "天然,未加碘"),
            row("U-1", "旅顺 海胆黄 100g 鲜剥", "水产/海鲜"),
            row("U-2", "大连 海胆 整只 2斤", "水产/海鲜"),
            row("B-1", "新疆 牛腱子 2斤", "肉类/牛肉", "冷冻,清真"),
            row("B-2", "云南 黄牛肉 2斤", "肉类/牛肉", "冷冻")]
    found = {r.text: r.skus for r in _evaluated(tmp_path, "described", rows, [
        "不加碘的盐", "无碘盐有吗", "现剥的海胆", "清真牛肉", "加碘的盐"])}
    assert found["不加碘的盐"] == ["N-1"]
    assert found["现剥的海胆"][:1] == ["U-1"]
    silent = row("S-1", "湖盐 500g 粗盐", "调味/盐")
    unsaid = _evaluated(tmp_path, "unsaid", [rows[0], silent], ["不加碘的盐"])
    assert unsaid[0].skus == ["S-1"]       # saying nothing of iodine is no 加碘
    assert found["清真牛肉"] == ["B-1"]
    assert "I-1" in found["加碘的盐"]


def test_title_terms_within_are_the_titles_words_of_two_or_more_characters(
        tmp_path: Path) -> None:
    """Words titles are indexed under that lie inside a buyer's words, longest first, then
    by where they start; a word only other columns hold (the origin's 四川) is none."""
    rows = [_listing("T-1", "侗家 酸鱼 500g", 5, "四川省 成都市 双流区", "双流腌坊"),
            _listing("T-2", "赣南脐橙 10斤", 5, "江西省 赣州市 寻乌县", "寻乌果农")]
    path = tmp_path / "terms.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    db = Database(tmp_path / "terms.db")
    try:
        db.call(schema.migrate)
        db.call(listings.import_rows, read(path))
        within = db.call(listings.title_terms_within, "四川的侗家酸鱼")
        oranges = db.call(listings.title_terms_within, "要赣南脐橙")
    finally:
        db.close()
    assert within == ["侗家", "酸鱼"]  # not 四川, nor the characters 鱼 or 的
    assert oranges[0] == "赣南脐橙" and {"赣南", "脐橙"} <= set(oranges[1:])
