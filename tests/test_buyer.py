"""Buyer search end to end: real server, real SQLite, safe-mode messages."""
from __future__ import annotations

import re
import time

from handlers import links
from handlers.types import MAX_REPLY_BYTES

LINK = re.compile(r'<a href="http://shop\.example/o/([^"]+)">下单</a>')


async def test_orange_request_gets_live_in_stock_offers_with_signed_links(bot) -> None:
    reply = await bot.say("我想买脐橙", openid="buyer_1")
    assert "赣南脐橙 现摘现发 10斤装" in reply
    assert "秭归脐橙 脐橙 5斤" in reply
    assert "奉节脐橙" not in reply  # sold out
    assert "¥8.80/斤" in reply and "寻乌果农刘大姐" in reply
    tokens = LINK.findall(reply)
    assert len(tokens) == 2
    claims = links.verify("test-link-secret", tokens[0], time.time())
    assert claims.openid == "buyer_1"
    titles = {bot.db_rows("SELECT title FROM listings WHERE id = ?", claims.listing_id)[0][0]}
    assert titles <= {"赣南脐橙 现摘现发 10斤装", "秭归脐橙 脐橙 5斤"}


async def test_order_link_opens_the_listing_and_refuses_tampering(bot) -> None:
    reply = await bot.say("我想买木耳")
    token = LINK.findall(reply)[0]
    async with bot.session.get(bot.server.make_url(f"/o/{token}")) as response:
        assert response.status == 200
        assert "柞水木耳 小碗耳 250克" in await response.text()
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    async with bot.session.get(bot.server.make_url(f"/o/{forged}")) as response:
        assert response.status == 403
        assert "链接无效" in await response.text()


async def test_unknown_product_gets_an_honest_none_and_is_recorded(bot) -> None:
    reply = await bot.say("我想买榴莲", openid="buyer_2")
    assert "没有找到" in reply and "榴莲" in reply
    assert "<a href" not in reply
    rows = bot.db_rows("SELECT openid, product FROM unmet_demand")
    assert rows == [("buyer_2", "榴莲")]
    outcomes = await bot.log_rows("SELECT outcome, intent FROM message_log WHERE openid = 'buyer_2'")
    assert outcomes == [("no_match", "search")]


async def test_price_bound_keeps_dearer_offers_out(bot) -> None:
    reply = await bot.say("有没有土鸡蛋，四十块以内")
    assert "<a href" not in reply  # the only eggs cost 45
    reply = await bot.say("有没有土鸡蛋，五十块以内")
    assert "散养土鸡蛋 30枚" in reply


async def test_fts_syntax_in_buyer_text_is_only_text(bot) -> None:
    for text in ['脐橙" OR "大米', "脐橙*", "脐橙 AND 大米", "NEAR(脐橙 大米)", "(脐橙", '"', "*",
                 "脐橙 NOT 大米", "^脐橙", "title:脐橙", "脐橙 -大米 +米"]:
        reply = await bot.say(text)
        assert reply, text
    statuses = await bot.log_rows("SELECT count(*) FROM message_log WHERE outcome = 'error'")
    assert statuses == [(0,)]


async def test_reply_fits_2000_bytes_dropping_whole_offers(tmp_path) -> None:
    from tests.conftest import make_config, seed, start_bot, stop_bot
    import json

    rows = [{"sku": f"LONG-{n}", "title": f"脐橙{n}号" + "特级赣南脐橙现摘" * 6 + "装",
             "category": "水果", "price": 9.9, "unit": "斤", "stock": 10,
             "origin": "江西省 赣州市 寻乌县 某某镇 某某村 第十二村民小组",
             "seller": f"寻乌县某某镇果农合作社第{n}分社"} for n in range(8)]
    for row in rows:
        row["title"] = row["title"][:60]
    path = tmp_path / "long.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    config = make_config(tmp_path)
    seed(config, path)
    bot = await start_bot(config)
    try:
        reply = await bot.say("我想买脐橙")
    finally:
        await stop_bot(bot)
    assert len(reply.encode("utf-8")) <= MAX_REPLY_BYTES
    shown = [row["title"] for row in rows if row["title"] in reply]
    assert 1 <= len(shown) < 5  # some offers dropped, whole
    assert reply.count("<a href") == len(shown)
