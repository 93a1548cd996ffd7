"""The outbound client against the fake WeChat API on loopback."""
from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import from_mapping
from bot.wechat_api import WeChatAPI, WeChatAPIError
from db import Database, schema
from tests.fake_wechat import FakeWeChat

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChat]:
    server = await FakeWeChat().start()
    yield server
    await server.close()


@pytest.fixture
def db(tmp_path: Path):
    database = Database(tmp_path / "api.db")
    database.call(schema.migrate)
    yield database
    database.close()


def api_config(api_base: str):
    return from_mapping({"wechat": {"token": "t", "app_id": "wx1234567890abcdef",
                                    "app_secret": "test-secret", "api_base": api_base}}, env={})


async def test_token_is_fetched_once_for_concurrent_calls(fake, db) -> None:
    api = WeChatAPI(api_config(fake.api_base), db)
    try:
        await asyncio.gather(*(api.send_text(f"user_{n}", "你好") for n in range(10)))
        await api.send_text("user_x", "再来")
    finally:
        await api.close()
    assert fake.token_requests == 1
    assert len(fake.sent) == 11
    assert fake.sent[-1] == {"touser": "user_x", "msgtype": "text", "text": {"content": "再来"}}


async def test_expired_token_is_fetched_again_and_the_call_retried(fake, db) -> None:
    api = WeChatAPI(api_config(fake.api_base), db)
    try:
        await api.send_text("u", "一")
        fake.expire_token()
        await api.send_text("u", "二")
    finally:
        await api.close()
    assert [m["text"]["content"] for m in fake.sent] == ["一", "二"]
    assert fake.force_requests == 0 and fake.token_requests == 2


async def test_force_refresh_is_last_and_rationed_across_processes(fake, db) -> None:
    first, second = WeChatAPI(api_config(fake.api_base), db), WeChatAPI(api_config(fake.api_base), db)
    try:
        fake.fail("message/custom/send", 40001, times=2)
        await first.send_text("u", "forced")
        assert fake.force_requests == 1 and fake.sent[-1]["text"]["content"] == "forced"
        fake.fail("message/custom/send", 42001, times=2)
        with pytest.raises(WeChatAPIError) as caught:
            await second.send_text("u", "not forced again within 30 s")
        assert caught.value.errcode == 42001
        assert fake.force_requests == 1
    finally:
        await first.close()
        await second.close()


@pytest.mark.parametrize("code", [45015, 45047, 40003])
async def test_refusals_are_raised_and_not_retried(fake, db, code: int) -> None:
    api = WeChatAPI(api_config(fake.api_base), db)
    fake.fail("message/custom/send", code)
    try:
        with pytest.raises(WeChatAPIError) as caught:
            await api.send_text("u", "hi")
    finally:
        await api.close()
    assert caught.value.errcode == code
    assert fake.calls["message/custom/send"] == 1 and fake.sent == []


async def test_network_failure_is_an_api_error(db) -> None:
    api = WeChatAPI(api_config("http://127.0.0.1:9"), db)
    try:
        with pytest.raises(WeChatAPIError) as caught:
            await api.send_text("u", "hi")
    finally:
        await api.close()
    assert caught.value.errcode == -1


async def _menu_push(fake: FakeWeChat, tmp_path: Path) -> asyncio.subprocess.Process:
    """The real `menu push` command, pointed at the fake API."""
    config_path = tmp_path / "bot.toml"
    config_path.write_text(
        f'[wechat]\napp_id = "wx1234567890abcdef"\napp_secret = "test-secret"\n'
        f'api_base = "{fake.api_base}"\n[db]\npath = "{tmp_path / "bot.db"}"\n', encoding="utf-8")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "menu", "push", "--config", str(config_path), cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def test_menu_push_command_creates_the_four_buttons(fake, tmp_path: Path) -> None:
    process = await _menu_push(fake, tmp_path)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert "menu pushed" in out.decode()
    assert fake.menus == [{"button": [
        {"type": "click", "name": "找好货", "key": "FIND"},
        {"type": "click", "name": "我要卖", "key": "SELL"},
        {"type": "click", "name": "我的订单", "key": "ORDERS"},
        {"type": "click", "name": "帮助", "key": "HELP"}]}]


async def test_menu_push_refusal_is_one_line(fake, tmp_path: Path) -> None:
    fake.fail("menu/create", 40018)
    process = await _menu_push(fake, tmp_path)
    _, err = await process.communicate()
    assert process.returncode == 1
    assert err.decode().strip() == "error: menu push refused: errcode 40018 scripted 40018"
