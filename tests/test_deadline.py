"""Replies that miss the deadline: `success` now, the reply later."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot import wire
from bot.pipeline import PENDING_HEAD, finished_within
from tests.conftest import make_config, seed, start_bot, stop_bot
from tests.fake_wechat import FakeWeChat
from tests.gate import Gate, until


async def _slow_first_message(config, openid: str, xml: str):
    seed(config)
    gate = Gate()
    running = await start_bot(config, handle=gate)
    first = await running.send_xml(xml, openid)
    assert first == {}  # answered `success` at the deadline
    assert running.state.pipeline.stats["deadline"] == 1
    gate.release.set()
    await running.state.pipeline.drain()
    return running


async def test_without_customer_service_the_reply_leads_the_next_one(tmp_path) -> None:
    config = make_config(tmp_path, deadline={"seconds": 0.2})
    xml = wire.text_xml("user_late", "我想买脐橙", msg_id=101)
    running = await _slow_first_message(config, "user_late", xml)
    try:
        await until(lambda: running.db_rows("SELECT kind, state FROM outbox") == [
            ("late_reply", "pending")])
        assert await running.log_rows("SELECT outcome FROM message_log") == [("deadline",)]
        retry = await running.send_xml(xml, "user_late")
        assert retry == {}  # the retry must not deliver it a second time
        following = await running.say("谢谢", openid="user_late")
    finally:
        await stop_bot(running)
    assert following.startswith(PENDING_HEAD)
    assert following.index("赣南脐橙") < following.index("不客气")
    assert running.db_rows("SELECT state, channel FROM outbox") == [("shown", "reply")]


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChat]:
    server = await FakeWeChat().start()
    yield server
    await server.close()


async def _late_via_api(tmp_path, fake: FakeWeChat, openid: str, xml: str):
    """A slow first message on a bot with customer service on, stopped afterwards."""
    config = make_config(tmp_path, deadline={"seconds": 0.2}, wechat={
        "customer_service": True, "app_secret": "test-secret", "api_base": fake.api_base})
    running = await _slow_first_message(config, openid, xml)
    await stop_bot(running)
    return running


async def test_with_customer_service_the_reply_is_sent_through_the_api(tmp_path, fake) -> None:
    running = await _late_via_api(tmp_path, fake, "user_cs",
                                  wire.text_xml("user_cs", "我想买脐橙", msg_id=202))
    assert len(fake.sent) == 1 and fake.sent[0]["touser"] == "user_cs"
    assert "赣南脐橙" in fake.sent[0]["text"]["content"]
    assert running.db_rows("SELECT state, channel FROM outbox") == [("sent", "customer_service")]
    assert await running.log_rows("SELECT outcome FROM message_log") == [("deadline",)]
    assert running.db_rows("SELECT kind, sent FROM cs_quota") == [("message", 1)]


async def test_refused_customer_service_falls_back_to_pending(tmp_path, fake) -> None:
    fake.fail("message/custom/send", 45047)
    running = await _late_via_api(tmp_path, fake, "user_cs",
                                  wire.event_xml("user_cs", "CLICK", "HELP"))
    assert fake.sent == []
    assert running.db_rows("SELECT state FROM outbox") == [("pending",)]
    assert running.db_rows("SELECT kind, sent FROM cs_quota") == [("event", 0)]


async def test_simulated_users_never_reach_the_api(tmp_path, fake) -> None:
    running = await _late_via_api(tmp_path, fake, "sim_alice",
                                  wire.text_xml("sim_alice", "我想买脐橙", msg_id=303))
    assert fake.sent == [] and fake.token_requests == 0
    assert running.db_rows("SELECT state FROM outbox") == [("pending",)]


def test_quota_limits_and_windows(tmp_path) -> None:
    from db import Database, quota, schema

    db = Database(tmp_path / "q.db")
    try:
        db.call(schema.migrate)
        now = 1_800_000_000.0
        assert [db.call(quota.take, "m", "u", "message", now, now + 1) for _ in range(6)] == [
            True] * 5 + [False]
        assert [db.call(quota.take, "e", "u", "event", now, now + 30) for _ in range(4)] == [
            True] * 3 + [False]
        assert db.call(quota.take, "e2", "u", "event", now, now + 61) is False
        assert db.call(quota.take, "m2", "u", "message", now, now + 48 * 3600 + 1) is False
    finally:
        db.close()


async def test_finished_within_reports_work_done_in_time_and_leaves_slow_work_running() -> None:
    release = asyncio.Event()

    async def slow() -> str:
        await release.wait()
        return "late"
    quick = asyncio.create_task(asyncio.sleep(0, result="now"))
    assert await finished_within(quick, 5.0) and quick.result() == "now"
    work = asyncio.create_task(slow())
    assert not await finished_within(work, 0.05)
    assert not work.done()  # the deadline passed; the work goes on
    release.set()
    assert await work == "late"
