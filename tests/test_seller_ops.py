"""Seller photos through the fake media API, claim codes for imported sellers,
moderation with its notices, and the banned-word list; real server, real SQLite."""
from __future__ import annotations

import re

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import handlers.order
from bot import wire
from bot.config import ConfigError, from_mapping
from bot.media import MAX_PHOTO_BYTES
from db import Database, listings
from tests.conftest import DATA, Bot, make_config, seed, start_bot, stop_bot
from tests.fake_wechat import FakeWeChat
from tests.gate import until
from tests.test_import import run_cli

SELLER = "seller_liu"
BUYER = "buyer_zhang"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 300


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChat]:
    async with FakeWeChat() as server:
        yield server


async def _bot(tmp_path: Path, fake: FakeWeChat | None = None, **listings_config: Any) -> Bot:
    wechat = {"app_secret": "test-secret", "api_base": fake.api_base,
              "customer_service": True} if fake else {}
    config = make_config(tmp_path, wechat=wechat, listings=listings_config)
    seed(config)
    return await start_bot(config)


async def send_image(bot: Bot, media_id: str, openid: str = SELLER) -> str:
    xml = wire.message_xml(openid, "image", {
        "PicUrl": "http://mmbiz.qpic.cn/x.jpg", "MediaId": media_id, "MsgId": wire.new_msg_id()})
    return (await bot.send_xml(xml, openid)).get("Content", "")


def _config_file(bot: Bot, tmp_path: Path) -> str:
    path = tmp_path / "cli.toml"
    path.write_text(f'[db]\npath = "{bot.config.db.path}"\n', encoding="utf-8")
    return str(path)


async def _cli(*args: str) -> Any:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, lambda: run_cli(*args))


# -- photos ---------------------------------------------------------------------

async def test_a_photo_during_the_form_is_fetched_stored_and_served(tmp_path, fake) -> None:
    fake.add_media("MEDIA-1", JPEG)
    running = await _bot(tmp_path, fake)
    try:
        await running.say("我要卖土豆，一块一斤，有100斤，甘肃定西的", openid=SELLER)
        reply = await send_image(running, "MEDIA-1")
        assert "照片收到了" in reply and "照片：已添加" in reply
        assert "已上架" in await running.say("确认", openid=SELLER)
        (listing_id, name), = running.db_rows("SELECT id, photo FROM listings WHERE photo IS NOT NULL")
        db = Database(running.config.db.path)
        try:
            assert db.call(listings.photo_url, listing_id) == f"/media/{name}"
        finally:
            db.close()
        assert (tmp_path / "media" / name).read_bytes() == JPEG
        async with running.session.get(running.server.make_url(f"/media/{name}")) as response:
            assert response.status == 200 and response.content_type == "image/jpeg"
            assert await response.read() == JPEG
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        # A buyer finds it, and its order page shows the photo from our own host.
        found = await running.say("我想买土豆", openid="buyer_photo")
        path = re.findall(r'<a href="http://shop\.example(/o/[^"]+)">', found)[0]
        async with running.session.get(running.server.make_url(path)) as response:
            assert f'<img class="photo" src="/media/{name}"' in await response.text()
    finally:
        await stop_bot(running)
    assert "access_token=TOKEN-1" in fake.requests[-1][2] and "media_id=MEDIA-1" in fake.requests[-1][2]


async def test_add_a_photo_to_a_listing_afterwards(tmp_path, fake) -> None:
    fake.add_media("MEDIA-PNG", PNG, "image/png")
    running = await _bot(tmp_path, fake)
    try:
        await running.say("我要卖土豆，一块一斤，有100斤，甘肃定西的", openid=SELLER)
        await running.say("确认", openid=SELLER)
        assert "发一张土豆的照片" in await running.say("给1号加图", openid=SELLER)
        assert "照片已加上" in await send_image(running, "MEDIA-PNG")
        assert "📷" in await running.say("我的商品", openid=SELLER)
    finally:
        await stop_bot(running)
    assert running.db_rows("SELECT photo FROM listings WHERE source = 'chat'")[0][0].endswith(".png")


async def test_bad_photos_get_clear_answers_and_store_nothing(tmp_path, fake) -> None:
    fake.add_media("TEXT", b"<html>not a picture</html>", "text/html")
    fake.add_media("HUGE", b"\xff\xd8\xff" + b"\x00" * MAX_PHOTO_BYTES)
    running = await _bot(tmp_path, fake)
    try:
        await running.say("我要卖土豆，一块一斤，有100斤，甘肃定西的", openid=SELLER)
        assert "过期" in await send_image(running, "GONE")        # the API answers 40007
        assert "不是照片" in await send_image(running, "TEXT")
        assert "太大" in await send_image(running, "HUGE")
        assert "照片" not in (await running.say("确认", openid=SELLER)).split("\n")[0]
    finally:
        await stop_bot(running)
    assert running.db_rows("SELECT count(*) FROM media") == [(0,)]
    assert running.db_rows("SELECT photo FROM listings WHERE source = 'chat'") == [(None,)]
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").iterdir())


async def test_without_an_api_a_photo_is_declined_politely(bot) -> None:
    await bot.say("我要卖土豆，一块一斤，有100斤", openid=SELLER)
    assert "收不了照片" in await send_image(bot, "MEDIA-1")
    assert "请核对" in await bot.say("甘肃的", openid=SELLER)  # the form goes on without it


@pytest.mark.parametrize("path", ["/media/../bot.db", "/media/%2e%2e%2fbot.db", "/media/x.jpg",
                                  "/media/" + "a" * 64 + ".jpg", "/media/" + "a" * 64 + ".html"])
async def test_the_media_route_serves_only_stored_photos(bot, path) -> None:
    async with bot.session.get(bot.server.make_url("/") .with_path(path, encoded=True)) as response:
        assert response.status == 404


# -- claim codes ----------------------------------------------------------------------

async def test_import_prints_codes_and_a_code_claims_the_listings_once(tmp_path, monkeypatch) -> None:
    config = make_config(tmp_path)
    cli_config = tmp_path / "cli.toml"
    cli_config.write_text(f'[db]\npath = "{config.db.path}"\n', encoding="utf-8")
    done = await _cli("import", str(DATA / "catalogue.json"), "--config", str(cli_config))
    assert done.returncode == 0, done.stderr
    assert "claim codes" in done.stdout and "寻乌果农刘大姐" in done.stdout
    assert "139****0001" in done.stdout and "13900000001" not in done.stdout
    again = await _cli("import", str(DATA / "catalogue.json"), "--config", str(cli_config))
    assert "claim codes" not in again.stdout  # no new sellers, no new codes
    listed = await _cli("sellers", "codes", "--config", str(cli_config))
    line = next(line for line in listed.stdout.splitlines() if "寻乌果农刘大姐" in line)
    code = line.split()[0]

    told: list[int] = []

    async def backlog(services: Any, seller_id: int) -> None:
        told.append(seller_id)

    monkeypatch.setattr(handlers.order, "notify_seller_backlog", backlog, raising=False)
    running = await start_bot(config)
    try:
        # A phone number alone proves nothing: same phone, no listings.
        await running.say("我要卖土豆，一块一斤，有100斤，甘肃的", openid=SELLER)
        await running.say("确认", openid=SELLER)
        await running.say("跳过", openid=SELLER)
        await running.say("手机改成13900000001", openid=SELLER)
        assert "赣南脐橙" not in await running.say("我的商品", openid=SELLER)

        claimed = await running.say(f"认领 {code.lower()}", openid=SELLER)
        assert "认领成功" in claimed and "赣南脐橙" in claimed
        mine = await running.say("我的商品", openid=SELLER)
        assert "1. 赣南脐橙" in mine and "2. 土豆" in mine  # claimed first, own listing after
        assert "已经用过" in await running.say(f"认领 {code}", openid="seller_other")
        assert "改好了" in await running.say("库存 1 450", openid=SELLER)
        for _ in range(5):
            assert "认领码不对" in await running.say("认领 ZZZZZZ", openid="guesser")
        assert "一小时后" in await running.say(f"认领 {code}", openid="guesser")
    finally:
        await stop_bot(running)
    seller_id = running.db_rows("SELECT id FROM sellers WHERE openid = ?", SELLER)[0][0]
    assert told == [seller_id]
    assert running.db_rows("SELECT stock FROM listings WHERE sku = 'T-QC-1'") == [(450,)]
    assert "寻乌果农刘大姐" not in (await _cli("sellers", "codes", "--config", str(cli_config))).stdout
    # A later import keeps the claimed seller's listings with the claimer.
    await _cli("import", str(DATA / "catalogue.json"), "--config", str(cli_config))
    assert running.db_rows("SELECT s.openid FROM listings AS l JOIN sellers AS s"
                           " ON s.id = l.seller_id WHERE l.sku = 'T-QC-1'") == [(SELLER,)]


# -- moderation -----------------------------------------------------------------------

async def test_review_holds_a_listing_and_the_verdict_reaches_the_seller(tmp_path, fake) -> None:
    running = await _bot(tmp_path, fake, require_review=True)
    config = _config_file(running, tmp_path)
    try:
        await running.say("我想买榛子", openid=BUYER)
        await running.say("要", openid=BUYER)  # waiting for 榛子
        await running.say("我要卖榛子，二十五一斤，有500斤，黑龙江的", openid=SELLER)
        assert "已提交审核" in await running.say("确认", openid=SELLER)
        await running.say("跳过", openid=SELLER)
        assert "暂时没有" in await running.say("我想买榛子", openid="buyer_late")
        assert "审核中" in await running.say("我的商品", openid=SELLER)

        pending = await _cli("listings", "pending", "--config", config)
        (listing_id,) = running.db_rows("SELECT id FROM listings WHERE source = 'chat'")[0]
        assert "榛子" in pending.stdout and str(listing_id) in pending.stdout
        done = await _cli("listings", "approve", str(listing_id), "--config", config)
        assert done.returncode == 0 and "approved" in done.stdout and "1 restock" in done.stdout
        running.state.sender.wake()
        await until(lambda: len(fake.sent) >= 2)
        assert "榛子" in await running.say("我想买榛子", openid="buyer_late")
    finally:
        await stop_bot(running)
    texts = {m["touser"]: m["text"]["content"] for m in fake.sent}
    assert "审核通过" in texts[SELLER] and "榛子" in texts[BUYER]
    assert running.db_rows("SELECT kind, state FROM outbox WHERE openid = ?", SELLER) == [
        ("listing_review", "sent")]


async def test_rejection_tells_the_reason_and_edits_wait_again(tmp_path) -> None:
    config = make_config(tmp_path, listings={"require_review": True})
    seed(config)
    running = await start_bot(config)
    cli = _config_file(running, tmp_path)
    try:
        await running.say("我要卖榛子，二十五一斤，有500斤，黑龙江的", openid=SELLER)
        await running.say("确认", openid=SELLER)
        await running.say("不填了", openid=SELLER)
        (listing_id,) = running.db_rows("SELECT id FROM listings WHERE source = 'chat'")[0]
        refused = await _cli("listings", "reject", str(listing_id), "--config", cli)
        assert refused.returncode != 0  # --reason is required
        done = await _cli("listings", "reject", str(listing_id), "--reason", "价格写错了吧",
                          "--config", cli)
        assert done.returncode == 0 and "rejected" in done.stdout
        again = await _cli("listings", "approve", str(listing_id), "--config", cli)
        assert again.returncode == 1 and "not waiting for review" in again.stderr
        mine = await running.say("我的商品", openid=SELLER)
        assert "没有通过审核：价格写错了吧" in mine  # the notice leads the next reply
        assert "未通过：价格写错了吧" in mine
        assert "重新提交审核" in await running.say("上架 1", openid=SELLER)
        await _cli("listings", "approve", str(listing_id), "--config", cli)
        assert "审核通过" in await running.say("你好", openid=SELLER)
        edited = await running.say("改价 1 20元", openid=SELLER)
        assert "提交审核" in edited
        assert running.db_rows("SELECT status, price_fen FROM listings WHERE id = ?",
                               listing_id) == [("pending", 2000)]
        assert "库存 500 → 400斤" in await running.say("库存 1 400", openid=SELLER)
    finally:
        await stop_bot(running)


# -- banned words -----------------------------------------------------------------------

async def test_a_configured_banned_word_list(tmp_path) -> None:
    words = tmp_path / "banned.txt"
    words.write_text("# ours\n榴莲\n", encoding="utf-8")
    config = make_config(tmp_path, listings={"banned_words_file": str(words)})
    seed(config)
    running = await start_bot(config)
    try:
        assert "「榴莲」不能在平台上卖" in await running.say("我要卖榴莲，三十块一斤，有10斤", openid=SELLER)
        allowed = await running.say("我要卖穿山甲，三十块一斤，有10斤", openid="other")
        assert "不能在平台上卖" not in allowed and "产地" in allowed  # the list was replaced
    finally:
        await stop_bot(running)


def test_a_missing_banned_word_file_names_the_key(tmp_path) -> None:
    with pytest.raises(ConfigError, match="listings.banned_words_file"):
        from_mapping({"listings": {"banned_words_file": str(tmp_path / "none.txt")}}, env={})
