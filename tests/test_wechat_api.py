"""The outbound client against the fake WeChat API on loopback, with real SQLite."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from bot import wechat_api
from bot.config import Config, from_mapping
from bot.wechat_api import WeChatAPI, WeChatAPIError, claim_force_refresh
from db import Database, meta
from tests.conftest import free_port
from tests.fake_wechat import FakeWeChat

ROOT = Path(__file__).resolve().parent.parent
SEND = "message/custom/send"
MENU = [{"type": "click", "name": "找好货", "key": "FIND"},
        {"type": "click", "name": "我要卖", "key": "SELL"},
        {"type": "click", "name": "我的订单", "key": "ORDERS"},
        {"type": "click", "name": "帮助", "key": "HELP"}]


def api_config(api_base: str) -> Config:
    return from_mapping({"wechat": {"app_id": "wxtest", "app_secret": "s", "token": "t",
                                    "api_base": api_base}}, env={})


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChat]:
    async with FakeWeChat(app_id="wxtest", secret="s") as server:
        yield server


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "t.db")
    database.migrate()
    yield database
    database.close()


@pytest.fixture
async def api(fake: FakeWeChat, db: Database) -> AsyncIterator[WeChatAPI]:
    client = WeChatAPI(api_config(fake.api_base), db)
    yield client
    await client.close()


def contents(fake: FakeWeChat) -> list[str]:
    return [message["text"]["content"] for message in fake.sent]


# -- token -------------------------------------------------------------------

async def test_token_is_fetched_once_and_cached_across_calls(fake, api) -> None:
    for word in ("一", "二", "三"):
        await api.send_text("u", word)
    assert fake.token_requests == 1 and fake.force_requests == 0
    assert contents(fake) == ["一", "二", "三"]


async def test_token_request_is_the_stable_token_in_normal_mode(fake, api) -> None:
    await api.send_text("u", "你好")
    path, _, raw = fake.requests[0]
    assert path == "stable_token"
    assert json.loads(raw) == {"grant_type": "client_credential", "appid": "wxtest",
                               "secret": "s", "force_refresh": False}


async def test_concurrent_calls_share_a_single_token_fetch(fake, api) -> None:
    await asyncio.gather(*(api.send_text(f"user_{n}", "你好") for n in range(10)))
    assert fake.token_requests == 1
    assert sorted(m["touser"] for m in fake.sent) == sorted(f"user_{n}" for n in range(10))


async def test_token_is_refreshed_a_few_minutes_before_it_expires(fake, api, monkeypatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(wechat_api, "monotonic", lambda: clock[0])
    await api.send_text("u", "一")
    clock[0] += 7200 - 300 - 1  # still comfortably valid: reuse
    await api.send_text("u", "二")
    assert fake.token_requests == 1
    clock[0] += 2  # within the last five minutes: fetch again before WeChat expires it
    await api.send_text("u", "三")
    assert fake.token_requests == 2 and fake.force_requests == 0


async def test_wrong_secret_raises_the_token_error(fake, db) -> None:
    config = from_mapping({"wechat": {"app_id": "wxtest", "app_secret": "wrong",
                                      "api_base": fake.api_base}}, env={})
    api = WeChatAPI(config, db)
    try:
        with pytest.raises(WeChatAPIError) as caught:
            await api.send_text("u", "hi")
    finally:
        await api.close()
    assert caught.value.errcode == 40125 and caught.value.errmsg == "invalid appsecret"
    assert fake.calls[SEND] == 0


# -- token errors ------------------------------------------------------------

async def test_expired_token_is_fetched_again_and_the_call_retried(fake, api) -> None:
    await api.send_text("u", "一")
    fake.expire_token()
    await api.send_text("u", "二")
    assert contents(fake) == ["一", "二"]
    assert fake.calls[SEND] == 3  # one refused with 42001, then the retry
    assert fake.token_requests == 2 and fake.force_requests == 0


@pytest.mark.parametrize("code", [40001, 40014, 42001])
async def test_one_token_error_refetches_in_normal_mode_and_retries(fake, api, code) -> None:
    fake.fail(SEND, code)
    await api.send_text("u", "hi")
    assert contents(fake) == ["hi"]
    assert fake.calls[SEND] == 2
    assert fake.token_requests == 2 and fake.force_requests == 0


async def test_concurrent_token_errors_share_one_refetch(fake, api) -> None:
    await api.send_text("u", "warm")
    fake.expire_token()
    await asyncio.gather(*(api.send_text(f"user_{n}", "hi") for n in range(10)))
    assert len(fake.sent) == 11
    assert fake.token_requests == 2 and fake.force_requests == 0


async def test_force_refresh_is_last_and_rationed_across_processes(fake, db, tmp_path) -> None:
    other_db = Database(tmp_path / "t.db")  # another process: own connections, same file
    first = WeChatAPI(api_config(fake.api_base), db)
    second = WeChatAPI(api_config(fake.api_base), other_db)
    try:
        fake.fail(SEND, 40001, times=2)
        await first.send_text("u", "forced")
        assert fake.force_requests == 1 and contents(fake) == ["forced"]
        assert json.loads(fake.requests[-2][2])["force_refresh"] is True
        assert db.call(meta.get, "force_refresh_at") is not None

        fake.fail(SEND, 42001, times=2)
        with pytest.raises(WeChatAPIError) as caught:
            await second.send_text("u", "not forced again within 30 s")
        assert caught.value.errcode == 42001
        assert fake.force_requests == 1 and fake.calls[SEND] == 3 + 2
        assert contents(fake) == ["forced"]
    finally:
        await first.close()
        await second.close()
        other_db.close()


async def test_concurrent_callers_share_one_forced_refresh(fake, api) -> None:
    await api.send_text("u", "warm")
    fake.break_token()
    await asyncio.gather(*(api.send_text(f"user_{n}", "hi") for n in range(10)))
    assert len(fake.sent) == 11
    assert fake.force_requests == 1 and fake.token_requests == 3


async def test_force_refresh_claim_allows_one_per_30_seconds(db) -> None:
    assert await db.run(claim_force_refresh, 1000.0) is True
    assert await db.run(claim_force_refresh, 1029.0) is False
    assert await db.run(claim_force_refresh, 1031.0) is True
    assert await db.run(claim_force_refresh, 1040.0) is False
    # The wall clock went back an hour: a stamp in the future must not block forcing.
    assert await db.run(claim_force_refresh, 1031.0 - 3600) is True


# -- refusals ----------------------------------------------------------------

@pytest.mark.parametrize("code", [45015, 45047])
async def test_window_and_quota_refusals_are_logged_and_not_retried(fake, api, caplog,
                                                                    code) -> None:
    fake.fail(SEND, code)
    with caplog.at_level(logging.WARNING, logger="bot.wechat_api"):
        with pytest.raises(WeChatAPIError) as caught:
            await api.send_text("u", "hi")
    assert caught.value.errcode == code and caught.value.errmsg == f"scripted {code}"
    assert fake.calls[SEND] == 1 and fake.sent == [] and fake.token_requests == 1
    assert [r.name for r in caplog.records if str(code) in r.getMessage()] == ["bot.wechat_api"]


async def test_unknown_errcode_raises_without_retry(fake, api) -> None:
    fake.fail(SEND, 40003)
    with pytest.raises(WeChatAPIError) as caught:
        await api.send_text("u", "hi")
    assert caught.value.errcode == 40003
    assert fake.calls[SEND] == 1 and fake.sent == []


# -- transport ---------------------------------------------------------------

async def test_closed_port_is_an_api_error_not_an_aiohttp_one(db) -> None:
    api = WeChatAPI(api_config(f"http://127.0.0.1:{free_port()}"), db)
    try:
        with pytest.raises(WeChatAPIError) as caught:
            await api.send_text("u", "hi")
    finally:
        await api.close()
    assert caught.value.errcode == -1
    assert not isinstance(caught.value.__cause__, aiohttp.ClientError)


async def test_non_json_answer_is_an_api_error(fake, api) -> None:
    fake.answer_garbage(SEND)
    with pytest.raises(WeChatAPIError) as caught:
        await api.send_text("u", "hi")
    assert caught.value.errcode == -1 and fake.calls[SEND] == 1


async def test_timeout_is_an_api_error(fake, api, monkeypatch) -> None:
    monkeypatch.setattr(wechat_api, "TIMEOUT", aiohttp.ClientTimeout(total=0.2))
    fake.hang(SEND)
    with pytest.raises(WeChatAPIError) as caught:
        await api.send_text("u", "hi")
    assert caught.value.errcode == -1 and fake.sent == []


async def test_body_is_utf8_json_not_ascii_escaped(fake, api) -> None:
    await api.send_text("user_a", "赣南脐橙 ¥5")
    path, content_type, raw = fake.requests[-1]
    assert path == SEND and content_type.startswith("application/json")
    assert "赣南脐橙" in raw and "\\u" not in raw
    assert fake.sent == [{"touser": "user_a", "msgtype": "text",
                          "text": {"content": "赣南脐橙 ¥5"}}]


async def test_a_given_session_is_used_and_left_open(fake, db) -> None:
    async with aiohttp.ClientSession() as session:
        api = WeChatAPI(api_config(fake.api_base + "/"), db, session=session)
        await api.send_text("u", "hi")
        await api.close()
        assert not session.closed
    assert contents(fake) == ["hi"]


# -- menu --------------------------------------------------------------------

async def test_create_menu_sends_the_default_four_buttons(fake, api) -> None:
    await api.create_menu(api.config.menu.buttons)
    assert fake.menus == [{"button": MENU}]


async def _menu_push(fake: FakeWeChat, tmp_path: Path) -> asyncio.subprocess.Process:
    """The real `menu push` command, pointed at the fake API."""
    config_path = tmp_path / "bot.toml"
    config_path.write_text(
        f'[wechat]\napp_id = "wxtest"\napp_secret = "s"\n'
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
    assert fake.menus == [{"button": MENU}]


async def test_menu_push_refusal_is_one_line(fake, tmp_path: Path) -> None:
    fake.fail("menu/create", 40018)
    process = await _menu_push(fake, tmp_path)
    _, err = await process.communicate()
    assert process.returncode == 1
    assert err.decode().strip() == "error: menu push refused: errcode 40018 scripted 40018"
