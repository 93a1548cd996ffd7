"""Unsubscribe erases everything keyed to the user; sessions and locations."""
from __future__ import annotations

import time
from pathlib import Path

from bot import wire
from db import Database, outbox, quota
from tests.conftest import make_config, seed, start_bot, stop_bot

LEAVER = "o_leaver_123"


def _every_text_value(bot) -> list[tuple[str, str, str]]:
    found = []
    for (table,) in bot.db_rows("SELECT name FROM sqlite_master WHERE type = 'table'"):
        columns = [row[1] for row in bot.db_rows(f"PRAGMA table_info('{table}')")]
        for column in columns:
            for (value,) in bot.db_rows(f'SELECT "{column}" FROM "{table}"'):
                if isinstance(value, str) and LEAVER in value:
                    found.append((table, column, value))
    return found


async def test_unsubscribe_erases_every_table_and_pseudonymises_the_log(bot) -> None:
    await bot.say("我想买榴莲", openid=LEAVER)               # unmet demand, session, dedupe, log
    await bot.send_xml(wire.message_xml(LEAVER, "location", {
        "Location_X": "23.13", "Location_Y": "113.26", "Scale": "15", "Label": "广州",
        "MsgId": 31}), LEAVER)
    db = Database(bot.config.db.path)
    try:
        db.call(outbox.enqueue, "late_reply", LEAVER, "迟到的回复", "late:leaver")
        db.call(outbox.enqueue, "restock", LEAVER, "到货了", "restock:leaver")
        db.call(outbox.mark_sent, 2, "customer_service", time.time())
        db.call(quota.take, f"m:{LEAVER}:1", LEAVER, "message", time.time(), time.time())
        db.call(lambda c: c.execute("INSERT INTO restock_alerts (openid, product, created_at)"
                                    " VALUES (?, '榴莲', 0)", (LEAVER,)))
        db.call(lambda c: c.execute("UPDATE sellers SET openid = ? WHERE id = 1", (LEAVER,)))
    finally:
        db.close()
    await bot.state.pipeline.logbook.flush()
    assert {table for table, _, _ in _every_text_value(bot)} >= {
        "sessions", "dedupe", "unmet_demand", "message_log", "outbox", "cs_quota",
        "restock_alerts", "sellers"}

    reply = await bot.send_xml(wire.event_xml(LEAVER, "unsubscribe"), LEAVER)

    assert reply == {}
    await bot.state.pipeline.logbook.flush()
    assert _every_text_value(bot) == []
    aliases = await bot.log_rows("SELECT DISTINCT openid FROM message_log")
    assert len(aliases) == 1 and aliases[0][0].startswith("anon_")
    assert await bot.log_rows("SELECT count(*) FROM message_log") == [(3,)]
    assert bot.db_rows("SELECT name FROM sellers WHERE id = 1") != []  # listings stay for buyers
    # Undelivered messages are dropped; the delivered one keeps only its history.
    assert bot.db_rows("SELECT state, reason, text FROM outbox ORDER BY id") == [
        ("dropped", "unsubscribed", ""), ("sent", None, "")]


async def test_lines_still_waiting_for_the_log_are_written_under_the_pseudonym(
        tmp_path: Path) -> None:
    """The log is written in batches after the reply: a leaver's last lines may reach it
    after the erasure, even from another worker process on the same file."""
    config = make_config(tmp_path, db={"log_flush_seconds": 60.0})  # only flush() writes
    seed(config)
    one, two = await start_bot(config), await start_bot(config)
    try:
        await one.say("我想买榴莲 13800138000", openid=LEAVER)
        await two.say("我想买脐橙", openid=LEAVER)
        assert one.state.pipeline.logbook.waiting == 1  # not written yet
        await two.send_xml(wire.event_xml(LEAVER, "unsubscribe"), LEAVER)
        await one.state.pipeline.logbook.flush()
        await two.state.pipeline.logbook.flush()
        assert _every_text_value(one) == []
        logged = one.db_rows("SELECT openid, text FROM message_log ORDER BY id")
        assert [text for _, text in logged] == [
            "我想买榴莲 13800138000", "我想买脐橙", "[unsubscribe]"]
        assert len({openid for openid, _ in logged}) == 1
        assert logged[0][0].startswith("anon_")
        # Back again later: new lines carry the openid as any user's do.
        await one.send_xml(wire.event_xml(LEAVER, "subscribe"), LEAVER)
        await one.state.pipeline.logbook.flush()
        assert one.db_rows("SELECT count(*) FROM message_log WHERE openid = ?", LEAVER) == [(1,)]
    finally:
        await stop_bot(one)
        await stop_bot(two)


async def test_location_is_kept_on_the_session(bot) -> None:
    await bot.send_xml(wire.event_xml("user_loc", "LOCATION") .replace(
        "</xml>", "<Latitude>30.5</Latitude><Longitude>114.3</Longitude>"
                  "<Precision>65</Precision></xml>"), "user_loc")
    assert bot.db_rows("SELECT latitude, longitude FROM sessions WHERE openid = 'user_loc'") == [
        (30.5, 114.3)]


async def test_subscribe_and_scene_subscribe_welcome(bot) -> None:
    plain = await bot.send_xml(wire.event_xml("user_new", "subscribe", ""), "user_new")
    scene = await bot.send_xml(wire.event_xml("user_qr", "subscribe", "qrscene_123"), "user_qr")
    for reply in (plain, scene):
        assert "买家" in reply["Content"] and "卖家" in reply["Content"]


async def test_voice_uses_recognition_and_empty_recognition_asks_to_type(bot) -> None:
    spoken = await bot.send_xml(wire.voice_xml("user_v", "我想买脐橙。"), "user_v")
    assert "赣南脐橙" in spoken["Content"]
    empty = await bot.send_xml(wire.voice_xml("user_v", ""), "user_v")
    assert "打字" in empty["Content"]
    assert ("voice", "voice_unrecognised") in await bot.log_rows(
        "SELECT msg_type, intent FROM message_log")


async def test_menu_clicks_and_coming_features_are_honest(bot) -> None:
    async def click(key: str) -> str:
        return (await bot.send_xml(wire.event_xml("user_m", "CLICK", key), "user_m"))["Content"]

    assert "我想买" in await click("FIND")
    assert "怎么用" in await click("HELP")
    assert "一句话说清楚" in await click("SELL")  # selling works: the listing form starts
    assert "还没有订单" in await click("ORDERS")
    assert "请核对" in await bot.say("我要卖赣南脐橙，三块五一斤，有300斤", openid="user_m")
    assert "还没有订单" in await bot.say("我的订单", openid="user_m")


async def test_image_is_acknowledged(bot) -> None:
    reply = await bot.send_xml(wire.message_xml("user_i", "image", {
        "PicUrl": "http://example.invalid/p.jpg", "MediaId": "m1", "MsgId": 5}), "user_i")
    assert "图片" in reply["Content"]
