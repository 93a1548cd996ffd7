"""Sellers by chat, through the real webhook: listing in one message or a form,
management commands, ownership, profiles, expiry and restarts."""
from __future__ import annotations

import time
from pathlib import Path

from db import Database, transaction, users
from tests.conftest import Bot, make_config, seed, start_bot, stop_bot

SELLER = "seller_liu"
OTHER = "seller_wang"
BUYER = "buyer_zhang"


def listing_rows(bot: Bot, openid: str) -> list[tuple]:
    return bot.db_rows(
        "SELECT l.seller_no, l.title, l.price_fen, l.unit, l.stock, l.origin, l.status"
        " FROM listings AS l JOIN sellers AS s ON s.id = l.seller_id WHERE s.openid = ?"
        " ORDER BY l.seller_no", openid)


async def publish(bot: Bot, text: str, openid: str = SELLER) -> str:
    summary = await bot.say(text, openid=openid)
    assert "请核对" in summary, summary
    return await bot.say("确认", openid=openid)


# -- one message plus 确认 -----------------------------------------------------------

async def test_one_message_and_confirm_make_a_live_listing_buyers_find(bot) -> None:
    summary = await bot.say("我要卖自家散养的土鸡蛋，一块五一个，有500个，云南昭通镇雄的",
                            openid=SELLER)
    assert "品名：自家散养土鸡蛋" in summary
    assert "价格：¥1.50/个" in summary and "库存：500个" in summary
    assert "产地：云南省昭通市镇雄县" in summary
    assert listing_rows(bot, SELLER) == []  # nothing stored before 确认

    done = await bot.say("确认", openid=SELLER)
    assert "已上架" in done and "1号" in done
    assert listing_rows(bot, SELLER) == [
        (1, "自家散养土鸡蛋", 150, "个", 500, "云南省 昭通市 镇雄县", "live")]

    found = await bot.say("有没有镇雄的土鸡蛋", openid=BUYER)
    assert "自家散养土鸡蛋" in found and "¥1.50/个" in found


async def test_voice_recognition_lists_like_text(bot) -> None:
    from bot import wire

    reply = await bot.send_xml(wire.voice_xml(SELLER, "嗯我想卖那个猕猴桃啊，八块钱一斤，有两百斤，"
                                                      "陕西周至的。"), SELLER)
    assert "品名：猕猴桃" in reply["Content"] and "库存：200斤" in reply["Content"]
    assert "已上架" in await bot.say("确认", openid=SELLER)


async def test_a_price_per_kilo_keeps_its_unit_and_stock_is_restated(bot) -> None:
    await publish(bot, "我想卖红薯 一公斤四块 有2吨 山东临沂的")
    assert listing_rows(bot, SELLER) == [(1, "红薯", 400, "公斤", 2000, "山东省 临沂市", "live")]
    found = await bot.say("红薯 三块钱一斤以内", openid=BUYER)  # 4/公斤 is 2/斤
    assert "红薯" in found and "¥4.00/公斤" in found


# -- the form --------------------------------------------------------------------------

async def test_the_form_asks_only_for_what_is_missing_and_takes_a_correction(bot) -> None:
    first = await bot.say("我要卖土豆", openid=SELLER)
    assert "多少钱" in first and "比如" in first
    second = await bot.say("一块二一斤", openid=SELLER)
    assert "有多少斤" in second
    third = await bot.say("3000", openid=SELLER)
    assert "产地" in third and "跳过" in third
    summary = await bot.say("甘肃定西的", openid=SELLER)
    assert "价格：¥1.20/斤" in summary and "库存：3000斤" in summary
    assert "产地：甘肃省定西市" in summary

    corrected = await bot.say("修改 价格 1块5", openid=SELLER)
    assert "价格：¥1.50/斤" in corrected
    corrected = await bot.say("产地是陇西的", openid=SELLER)
    assert "产地：甘肃省定西市陇西县" in corrected
    corrected = await bot.say("库存改成2500", openid=SELLER)
    assert "库存：2500斤" in corrected
    assert "已上架" in await bot.say("好的", openid=SELLER)
    assert listing_rows(bot, SELLER) == [(1, "土豆", 150, "斤", 2500, "甘肃省 定西市 陇西县",
                                          "live")]


async def test_the_menu_button_starts_with_the_goods(bot) -> None:
    from bot import wire

    start = (await bot.send_xml(wire.event_xml(SELLER, "CLICK", "SELL"), SELLER))["Content"]
    assert "一句话说清楚" in start and "即将上线" not in start
    asked = await bot.say("野生竹荪", openid=SELLER)
    assert "「野生竹荪」卖多少钱" in asked
    asked = await bot.say("两百", openid=SELLER)
    assert "按什么卖" in asked
    asked = await bot.say("按斤", openid=SELLER)
    assert "有多少斤" in asked


async def test_cancel_at_any_step_keeps_nothing(bot) -> None:
    await bot.say("我要卖核桃，十五块一斤", openid=SELLER)
    assert "已取消" in await bot.say("取消", openid=SELLER)
    assert listing_rows(bot, SELLER) == []
    await bot.say("我要卖核桃，十五块一斤，有500斤，云南漾濞的", openid=SELLER)
    assert "已取消" in await bot.say("算了", openid=SELLER)
    assert "没有" in await bot.say("确认", openid=SELLER) or listing_rows(bot, SELLER) == []
    assert listing_rows(bot, SELLER) == []


async def test_a_form_survives_a_restart(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    seed(config)
    first = await start_bot(config)
    try:
        assert "有多少斤" in await first.say("我要卖花生 四块五一斤", openid=SELLER)
    finally:
        await stop_bot(first)
    second = await start_bot(config)
    try:
        assert "产地" in await second.say("五百斤", openid=SELLER)
        summary = await second.say("河南的", openid=SELLER)
        assert "品名：花生" in summary and "库存：500斤" in summary
        assert "已上架" in await second.say("确认", openid=SELLER)
    finally:
        await stop_bot(second)


async def test_an_idle_form_expires_and_says_so_once(bot) -> None:
    await bot.say("我要卖花生 四块五一斤", openid=SELLER)
    db = Database(bot.config.db.path)
    try:
        idle = time.time() - users.SESSION_IDLE_SECONDS - 60
        db.call(lambda c: c.execute("UPDATE sessions SET updated_at = ? WHERE openid = ?",
                                    (idle, SELLER)))
    finally:
        db.close()
    told = await bot.say("五百斤", openid=SELLER)
    assert "超过30分钟" in told and "「花生」" in told and "作废" in told
    again = await bot.say("五百斤", openid=SELLER)
    assert "超过30分钟" not in again
    assert listing_rows(bot, SELLER) == []


async def test_an_expired_form_still_answers_a_new_request(bot) -> None:
    await bot.say("我要卖花生", openid=SELLER)
    db = Database(bot.config.db.path)
    try:
        db.call(lambda c: c.execute("UPDATE sessions SET updated_at = 0 WHERE openid = ?",
                                    (SELLER,)))
    finally:
        db.close()
    reply = await bot.say("我想买脐橙", openid=SELLER)
    assert "超过30分钟" in reply and "赣南脐橙" in reply


async def test_bad_values_get_clear_answers_and_store_nothing(bot) -> None:
    assert "大于0" in await bot.say("我要卖土豆，0元一斤，有100斤", openid=SELLER)
    assert "太高" in await bot.say("价格改成二十万一斤", openid=SELLER)
    assert "太大" in await bot.say("我要卖土豆 一块一斤 有两千万斤", openid=SELLER)
    assert "不能在平台上卖" in await bot.say("我要卖穿山甲，五百一斤，有10斤", openid=OTHER)
    long_title = "我要卖" + "高山生态富硒有机" * 8 + "土豆"
    assert "太长" in await bot.say(long_title + "，一块一斤，有100斤，甘肃的", openid="seller_x")
    assert bot.db_rows("SELECT count(*) FROM listings WHERE source = 'chat'") == [(0,)]


# -- management -------------------------------------------------------------------------

async def _two_listings(bot: Bot) -> None:
    await publish(bot, "我要卖赣南脐橙，三块五一斤，有300斤，江西赣州寻乌县的")
    await publish(bot, "我要卖土鸡蛋，一块五一个，有500个，江西寻乌的")
    await bot.say("跳过", openid=SELLER)  # the profile question after the first listing


async def test_my_listings_is_numbered_with_price_stock_status_views_and_orders(bot) -> None:
    await _two_listings(bot)
    await bot.say("我想买赣南脐橙", openid=BUYER)  # one view
    await bot.state.pipeline.logbook.flush()  # views are counted within log_flush_seconds
    mine = await bot.say("我的商品", openid=SELLER)
    assert "1. 赣南脐橙 ¥3.50/斤" in mine and "库存300斤 · 在售" in mine
    assert "2. 土鸡蛋 ¥1.50/个" in mine and "订单0" in mine
    assert "浏览1" in mine


async def test_every_management_command(bot) -> None:
    await _two_listings(bot)
    assert "¥3.50 → ¥12.00/斤" in await bot.say("改价 1 12元", openid=SELLER)
    assert "库存 500 → 600个" in await bot.say("补货 2 100", openid=SELLER)
    assert "库存 300 → 80斤" in await bot.say("库存 1 80", openid=SELLER)
    assert "已下架" in await bot.say("下架 2", openid=SELLER)
    assert "¥1.50/个" not in await bot.say("有没有土鸡蛋", openid=BUYER)
    assert "已上架" in await bot.say("上架 2", openid=SELLER)
    assert "¥12.00 → ¥9.00/斤" in await bot.say("把脐橙的价格改成九块", openid=SELLER)
    assert "库存改为0" in await bot.say("脐橙卖完了", openid=SELLER)
    assert "库存 600 → 200个" in await bot.say("鸡蛋又有200个了", openid=SELLER)
    assert listing_rows(bot, SELLER) == [
        (1, "赣南脐橙", 900, "斤", 0, "江西省 赣州市 寻乌县", "live"),
        (2, "土鸡蛋", 150, "个", 200, "江西省 赣州市 寻乌县", "live")]
    assert "没有3号" in await bot.say("下架 3", openid=SELLER)


async def test_another_openid_cannot_touch_a_listing(bot) -> None:
    await _two_listings(bot)
    before = listing_rows(bot, SELLER)
    for command in ("改价 1 1元", "下架 1", "库存 2 0", "把脐橙的价格改成一块", "脐橙卖完了"):
        reply = await bot.say(command, openid=OTHER)
        assert "还没有上架商品" in reply, reply
    await publish(bot, "我要卖苹果，三块一斤，有100斤，陕西洛川的", openid=OTHER)
    assert "没有2号" in await bot.say("下架 2", openid=OTHER)
    await bot.say("下架 1", openid=OTHER)  # its own 1号 is its apples
    assert listing_rows(bot, SELLER) == before
    assert listing_rows(bot, OTHER)[0][1:] == ("苹果", 300, "斤", 100, "陕西省 延安市 洛川县",
                                               "delisted")


# -- profile ------------------------------------------------------------------------------

async def test_profile_after_the_first_listing_one_question_at_a_time(bot) -> None:
    done = await publish(bot, "我要卖赣南脐橙，三块五一斤，有300斤")
    assert "怎么称呼您" in done and "跳过" in done
    assert "手机号" in await bot.say("寻乌果农老刘", openid=SELLER)
    assert "不是有效的手机号" in await bot.say("12345", openid=SELLER)
    asked = await bot.say("138 0013 8000", openid=SELLER)
    assert "地区" in asked and "13800138000" not in asked
    saved = await bot.say("江西赣州寻乌", openid=SELLER)
    assert "138****8000" in saved and "江西省赣州市寻乌县" in saved and "寻乌果农老刘" in saved
    assert bot.db_rows("SELECT name, phone, region FROM sellers WHERE openid = ?", SELLER) == [
        ("寻乌果农老刘", "13800138000", "江西省 赣州市 寻乌县")]
    # The region is the default origin of the next listing.
    summary = await bot.say("我要卖土鸡蛋，一块五一个，有500个", openid=SELLER)
    assert "产地：江西省赣州市寻乌县（默认" in summary
    shown = await bot.say("我的资料", openid=OTHER)
    assert "还没有卖家资料" in shown


async def test_profile_can_be_skipped_and_changed_later(bot) -> None:
    await publish(bot, "我要卖赣南脐橙，三块五一斤，有300斤，江西赣州的")
    assert "手机号" in await bot.say("跳过", openid=SELLER)
    assert "不填" in await bot.say("不填了", openid=SELLER)
    card = await bot.say("我的资料", openid=SELLER)
    assert "手机：未填" in card
    changed = await bot.say("手机改成13900001111", openid=SELLER)
    assert "139****1111" in changed and "13900001111" not in changed
    assert "有效的手机号" in await bot.say("手机改成 5551234", openid=SELLER)
    # Asked once: a second listing does not ask again.
    assert "怎么称呼" not in await publish(bot, "我要卖土鸡蛋，一块五一个，有500个，江西赣州的")


async def test_the_phone_is_masked_in_every_reply(bot) -> None:
    await publish(bot, "我要卖赣南脐橙，三块五一斤，有300斤，江西赣州的")
    await bot.say("老刘", openid=SELLER)
    await bot.say("13800138000", openid=SELLER)
    await bot.say("跳过", openid=SELLER)
    replies = await bot.log_rows("SELECT reply FROM message_log WHERE openid = ?", SELLER)
    assert all("13800138000" not in (reply or "") for (reply,) in replies)


async def test_restock_alerts_fire_on_publish(bot) -> None:
    none = await bot.say("我想买榛子", openid=BUYER)
    assert "暂时没有" in none
    await bot.say("要", openid=BUYER)  # a restock alert for 榛子
    await publish(bot, "我要卖榛子，二十五一斤，有500斤，黑龙江的")
    rows = bot.db_rows("SELECT kind, openid, text FROM outbox WHERE kind = 'restock'")
    assert len(rows) == 1 and rows[0][1] == BUYER and "榛子" in rows[0][2]
    assert "榛子到货了" in await bot.say("你好", openid=BUYER)


async def test_restocking_and_relisting_fire_waiting_alerts(bot) -> None:
    await publish(bot, "我要卖榛子，二十五一斤，有500斤，黑龙江的")
    await bot.say("跳过", openid=SELLER)
    await bot.say("榛子卖完了", openid=SELLER)
    await bot.say("我想买榛子", openid=BUYER)
    await bot.say("要", openid=BUYER)
    await bot.say("榛子又有300斤了", openid=SELLER)
    assert bot.db_rows("SELECT count(*) FROM outbox WHERE kind = 'restock'") == [(1,)]
    await bot.say("下架 1", openid=SELLER)
    await bot.say("我想买榛子", openid="buyer_two")
    await bot.say("要", openid="buyer_two")
    await bot.say("上架 1", openid=SELLER)
    assert bot.db_rows("SELECT openid FROM outbox WHERE kind = 'restock' ORDER BY id") == [
        (BUYER,), ("buyer_two",)]


def test_take_stock_to_zero_queues_the_stock_out_notice(tmp_path: Path) -> None:
    from db import listings, schema
    from handlers.notices import stock_out_notice

    db = Database(tmp_path / "s.db")
    try:
        db.call(schema.migrate)
        created = db.call(listings.create, SELLER, listings.NewListing(
            "赣南脐橙", 350, "斤", 10, "江西省 赣州市"), False)

        def order(conn, quantity: int) -> bool:
            with transaction(conn):
                return listings.take_stock(conn, created.id, quantity, stock_out_notice)

        assert db.call(order, 4) and not db.call(order, 7)
        assert db.call(lambda c: c.execute("SELECT count(*) FROM outbox").fetchone()[0]) == 0
        assert db.call(order, 6)
        rows = db.call(lambda c: c.execute("SELECT kind, openid, text FROM outbox").fetchall())
        assert [tuple(r) for r in rows] == [
            ("stock_out", SELLER, stock_out_notice(listings.StockOut(
                created.id, 1, "赣南脐橙", SELLER))[0])]
    finally:
        db.close()


async def test_a_location_message_answers_the_origin_and_the_region(bot) -> None:
    from bot import wire

    def location(label: str) -> str:
        return wire.message_xml(SELLER, "location", {
            "Location_X": "24.95", "Location_Y": "115.65", "Scale": "15", "Label": label,
            "MsgId": wire.new_msg_id()})

    assert "产地" in await bot.say("我要卖脐橙，三块五一斤，有300斤", openid=SELLER)
    summary = (await bot.send_xml(location("江西省赣州市寻乌县长宁镇"), SELLER))["Content"]
    assert "产地：江西省赣州市寻乌县" in summary
    await bot.say("确认", openid=SELLER)
    await bot.say("跳过", openid=SELLER)
    await bot.say("跳过", openid=SELLER)
    saved = (await bot.send_xml(location("云南省昭通市镇雄县"), SELLER))["Content"]
    assert "地区：云南省昭通市镇雄县" in saved


async def test_stock_taken_to_zero_tells_the_seller_in_the_next_reply(bot) -> None:
    from db import listings
    from handlers.notices import stock_out_notice

    await publish(bot, "我要卖赣南脐橙，三块五一斤，有3斤，江西赣州的")
    (listing_id,) = bot.db_rows("SELECT id FROM listings WHERE source = 'chat'")[0]
    db = Database(bot.config.db.path)
    try:
        def order(conn) -> bool:  # what an order does, in its own transaction
            with transaction(conn):
                return listings.take_stock(conn, listing_id, 3, stock_out_notice)
        assert db.call(order)
    finally:
        db.close()
    reply = await bot.say("我的商品", openid=SELLER)
    assert reply.startswith("⚠️ 您的1号「赣南脐橙」卖完了") and "卖完了" in reply.split("\n\n")[-2]


def test_publishing_again_from_the_same_message_finds_the_listing(tmp_path: Path) -> None:
    """A crash after the listing's commit, before the reply: WeChat's retry of 确认 must not
    make a second listing (bench chaos kills at exactly that point)."""
    from db import listings, schema

    db = Database(tmp_path / "s.db")
    try:
        db.call(schema.migrate)
        new = listings.NewListing("赣南脐橙", 350, "斤", 10, "江西省 赣州市")
        first = db.call(listings.create, SELLER, new, False, None, "msg:1")
        again = db.call(listings.create, SELLER, new, False, None, "msg:1")
        other = db.call(listings.create, SELLER, new, False, None, "msg:2")
        assert again == first and other.id != first.id and other.number == first.number + 1
        assert db.call(lambda c: c.execute("SELECT count(*) FROM listings").fetchone()[0]) == 2
    finally:
        db.close()
