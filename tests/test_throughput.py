"""What the fast path keeps: cached search follows every catalogue change, and each
message's writes land together."""
from __future__ import annotations

from db import Database, listings

ORANGE = "赣南脐橙 现摘现发 10斤装"


def _version(bot) -> int:
    db = Database(bot.config.db.path)
    try:
        return db.call(listings.catalogue_version)[1]
    finally:
        db.close()


async def test_cached_search_follows_stock_and_price_changes_from_another_connection(bot) -> None:
    assert ORANGE in await bot.say("我想买脐橙", openid="buyer_c1")
    assert ORANGE in await bot.say("我想买脐橙", openid="buyer_c2")  # served from the cache
    before = _version(bot)
    # Another process (here: another connection) sells the last one.
    bot.db_rows("UPDATE listings SET stock = 0 WHERE title = ?", ORANGE)
    assert _version(bot) > before
    assert ORANGE not in await bot.say("我想买脐橙", openid="buyer_c3")
    bot.db_rows("UPDATE listings SET stock = 5, price_fen = 777 WHERE title = ?", ORANGE)
    reply = await bot.say("我想买脐橙", openid="buyer_c4")
    assert ORANGE in reply and "¥7.77/斤" in reply


async def test_a_seller_rename_reaches_cached_results(bot) -> None:
    assert "寻乌果农刘大姐" in await bot.say("我想买脐橙", openid="buyer_r1")
    bot.db_rows("UPDATE sellers SET name = '寻乌刘姐果园' WHERE name = '寻乌果农刘大姐'")
    reply = await bot.say("我想买脐橙", openid="buyer_r2")
    assert "寻乌刘姐果园" in reply and "寻乌果农刘大姐" not in reply


async def test_views_do_not_move_the_catalogue_version(bot) -> None:
    before = _version(bot)
    await bot.say("我想买脐橙", openid="buyer_v1")
    assert _version(bot) == before
    assert bot.db_rows("SELECT views FROM listings WHERE title = ?", ORANGE) == [(1,)]


async def test_reply_session_log_and_views_commit_together(bot) -> None:
    reply = await bot.say("我想买脐橙", openid="buyer_t1")
    stored = bot.db_rows("SELECT reply FROM dedupe WHERE openid = 'buyer_t1'")
    assert len(stored) == 1 and stored[0][0]
    assert "query" in bot.db_rows("SELECT state FROM sessions WHERE openid = 'buyer_t1'")[0][0]
    logged = bot.db_rows("SELECT reply, intent FROM message_log WHERE openid = 'buyer_t1'")
    assert logged == [(reply, "search")]
    # The session saved with the reply drives the next message.
    assert "还没有给您推荐" not in await bot.say("还有吗", openid="buyer_t1")


def test_cached_understanding_keys_on_whether_a_page_is_showing() -> None:
    from bot.pipeline import understood_text
    from nlp import understand

    for text in ("2", "我想买脐橙", "要第2个", "还有吗", "五十块以内的"):
        for session in ({}, {"page": [1, 2, 3]}):
            for _ in range(2):  # the second answer comes from the cache
                assert understood_text(text, session) == understand(text, session), (text, session)
    assert understood_text("2", {"page": [1, 2]}).intent == "choose"
    assert understood_text("2", {}).intent != "choose"
    first = understood_text("我想买脐橙", {})
    first.slots["product"] = "changed"  # a handler's change stays its own
    assert understood_text("我想买脐橙", {}).slots["product"] == "脐橙"
