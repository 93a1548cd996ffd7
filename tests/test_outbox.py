"""The outbox: one durable way out for every message the bot sends on its own.

Through the real server, real SQLite and the fake WeChat API on loopback.
"""
from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot import cli, wechat_api, wire
from bot.pipeline import MORE_WAITING, PENDING_HEAD
from db import Database, outbox, schema, transaction
from tests.conftest import Bot, make_config, seed, start_bot, stop_bot
from tests.fake_wechat import FakeWeChat
from tests.gate import until

ROOT = Path(__file__).resolve().parent.parent
CS = "message/custom/send"
TEMPLATE_PATH = "message/template/send"
RESTOCK_TEMPLATE = {"template_id": "TPL-RESTOCK", "url": "http://shop.example/s/{product}",
                    "fields": {"thing1": "{product}", "thing2": "{title}", "amount3": "{price}"}}
FIELDS = {"product": "榴莲", "title": "海南榴莲", "price": "¥99.00/个"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChat]:
    async with FakeWeChat() as server:
        yield server


async def _bot(tmp_path: Path, fake: FakeWeChat, customer_service: bool = True,
               templates: dict[str, Any] | None = None) -> Bot:
    config = make_config(tmp_path, wechat={
        "customer_service": customer_service, "app_secret": "test-secret",
        "api_base": fake.api_base}, notify={"templates": templates or {}})
    seed(config)
    return await start_bot(config)


def _enqueue(running: Bot, openid: str, text: str, key: str, kind: str = "restock",
             fields: dict[str, str] | None = None) -> int | None:
    db = Database(running.config.db.path)
    try:
        return db.call(outbox.enqueue, kind, openid, text, key, fields)
    finally:
        db.close()


async def _notify(running: Bot, openid: str, text: str, key: str, **kw: Any) -> tuple[str, str]:
    """Queue one notice, wake the sender, wait until it has left the queue."""
    message_id = _enqueue(running, openid, text, key, **kw)
    running.state.sender.wake()
    await until(lambda: _state(running, message_id)[0] != "queued")
    return _state(running, message_id)


def _state(running: Bot, message_id: int | None) -> tuple[str, str]:
    rows = running.db_rows("SELECT state, coalesce(channel, '') FROM outbox WHERE id = ?",
                           message_id)
    return rows[0]


# -- the queue ----------------------------------------------------------------

def test_enqueue_is_idempotent_and_joins_the_callers_transaction(tmp_path: Path) -> None:
    db = Database(tmp_path / "o.db")
    try:
        db.call(schema.migrate)
        first = db.call(outbox.enqueue, "restock", "u1", "到货了", "restock:1")
        again = db.call(outbox.enqueue, "restock", "u1", "到货了（重复）", "restock:1")
        assert first is not None and again is None
        assert db.call(lambda c: c.execute("SELECT count(*), max(text) FROM outbox").fetchone()
                       )[:] == (1, "到货了")

        def change_then_fail(conn: Any) -> None:
            with transaction(conn):
                conn.execute("INSERT INTO meta (key, value) VALUES ('order', '1')")
                outbox.enqueue(conn, "order_new", "seller", "新订单", "order_new:1")
                raise RuntimeError("crash before commit")

        with pytest.raises(RuntimeError):
            db.call(change_then_fail)
        assert db.call(lambda c: c.execute(
            "SELECT (SELECT count(*) FROM meta WHERE key = 'order'),"
            " (SELECT count(*) FROM outbox WHERE idem_key = 'order_new:1')").fetchone())[:] == (0, 0)
    finally:
        db.close()


def test_a_sender_never_leases_what_no_channel_can_take(tmp_path: Path) -> None:
    """A leased message leads no reply: one no channel can take goes pending in the
    claim's own transaction, so no reply composed meanwhile can skip it."""
    db = Database(tmp_path / "o.db")
    try:
        db.call(schema.migrate)
        db.call(outbox.enqueue, "order_new", "seller_x", "新订单", "order_new:9")
        db.call(outbox.enqueue, "restock", "buyer_x", "到货了", "restock:9")
        reach = outbox.Reach(api=True, customer_service=False, template_kinds=("restock",))
        claimed = db.call(outbox.claim, "sender", time.time(), 30.0, 20, reach)
        assert [m.openid for m in claimed] == ["buyer_x"]  # it has a template
        assert db.call(lambda c: c.execute(
            "SELECT state, lease_until FROM outbox WHERE openid = 'seller_x'").fetchone()
                       )[:] == ("pending", None)
        assert [m.text for m in db.call(outbox.pending_for, "seller_x")] == ["新订单"]
    finally:
        db.close()


def test_bad_messages_are_refused_before_they_are_stored(tmp_path: Path) -> None:
    db = Database(tmp_path / "o.db")
    try:
        db.call(schema.migrate)
        for kind, text, key in (("nonsense", "x", "k1"), ("restock", "  ", "k2"),
                                ("restock", "长" * 700, "k3"), ("restock", "x", "")):
            with pytest.raises(outbox.OutboxError):
                db.call(outbox.enqueue, kind, "u", text, key)
        assert db.call(lambda c: c.execute("SELECT count(*) FROM outbox").fetchone()[0]) == 0
    finally:
        db.close()


# -- channels -------------------------------------------------------------------

async def test_customer_service_within_the_window(tmp_path, fake) -> None:
    running = await _bot(tmp_path, fake)
    try:
        await running.say("我想买榴莲", openid="buyer_1")  # opens the 48-hour window
        assert await _notify(running, "buyer_1", "🔔 榴莲到货了", "restock:a") == (
            "sent", "customer_service")
    finally:
        await stop_bot(running)
    assert [(m["touser"], m["text"]["content"]) for m in fake.sent] == [("buyer_1", "🔔 榴莲到货了")]
    assert running.db_rows("SELECT kind, sent FROM cs_quota") == [("message", 1)]


async def test_no_window_uses_the_template_with_its_mapping(tmp_path, fake) -> None:
    running = await _bot(tmp_path, fake, templates={"restock": RESTOCK_TEMPLATE})
    try:  # the user never wrote: no customer-service window
        assert await _notify(running, "buyer_2", "🔔 榴莲到货了", "restock:b",
                             fields=FIELDS) == ("sent", "template")
    finally:
        await stop_bot(running)
    assert fake.sent == [] and fake.calls[CS] == 0
    assert fake.templates == [{
        "touser": "buyer_2", "template_id": "TPL-RESTOCK", "url": "http://shop.example/s/榴莲",
        "data": {"thing1": {"value": "榴莲"}, "thing2": {"value": "海南榴莲"},
                 "amount3": {"value": "¥99.00/个"}}}]


@pytest.mark.parametrize("code", [45015, 45047, 43004, 40003])
async def test_each_refusal_falls_back_to_pending_and_the_next_reply(tmp_path, fake,
                                                                     code) -> None:
    running = await _bot(tmp_path, fake)
    try:
        await running.say("你好", openid="buyer_3")
        fake.fail(CS, code)
        assert await _notify(running, "buyer_3", "🔔 榴莲到货了", "restock:c") == ("pending", "")
        error = running.db_rows("SELECT last_error FROM outbox")[0][0]
        assert str(code) in error
        following = await running.say("谢谢", openid="buyer_3")
    finally:
        await stop_bot(running)
    assert following.startswith("🔔 榴莲到货了\n\n") and "不客气" in following
    assert running.db_rows("SELECT state, channel FROM outbox") == [("shown", "reply")]
    assert running.db_rows("SELECT sum(sent) FROM cs_quota") == [(0,)]  # a refusal did not count


async def test_a_refused_customer_service_message_tries_the_template(tmp_path, fake) -> None:
    running = await _bot(tmp_path, fake, templates={"restock": RESTOCK_TEMPLATE})
    try:
        await running.say("你好", openid="buyer_4")
        fake.fail(CS, 45047)
        assert await _notify(running, "buyer_4", "到货了", "restock:d", fields=FIELDS) == (
            "sent", "template")
    finally:
        await stop_bot(running)
    assert fake.sent == [] and len(fake.templates) == 1


@pytest.mark.parametrize("failure", ["hang", "answer_garbage"])
async def test_an_unknown_answer_never_goes_out_through_the_api_again(tmp_path, fake,
                                                                      monkeypatch,
                                                                      failure) -> None:
    monkeypatch.setattr(wechat_api, "TIMEOUT", wechat_api.aiohttp.ClientTimeout(total=0.3))
    running = await _bot(tmp_path, fake, templates={"restock": RESTOCK_TEMPLATE})
    try:
        await running.say("你好", openid="buyer_5")
        getattr(fake, failure)(CS)
        assert await _notify(running, "buyer_5", "到货了", "restock:e", fields=FIELDS) == (
            "pending", "")
    finally:
        await stop_bot(running)
    # Maybe delivered: the template is not tried and the quota stays counted.
    assert fake.calls[CS] == 1 and fake.calls[TEMPLATE_PATH] == 0
    assert running.db_rows("SELECT sent FROM cs_quota") == [(1,)]


async def test_quota_five_per_user_message(tmp_path, fake) -> None:
    running = await _bot(tmp_path, fake)
    try:
        await running.say("你好", openid="buyer_6")
        states = [await _notify(running, "buyer_6", f"通知{n}", f"restock:q{n}")
                  for n in range(6)]
    finally:
        await stop_bot(running)
    assert states == [("sent", "customer_service")] * 5 + [("pending", "")]


async def test_quota_three_within_a_minute_of_a_click(tmp_path, fake) -> None:
    running = await _bot(tmp_path, fake)
    try:
        await running.send_xml(wire.event_xml("buyer_7", "CLICK", "HELP"), "buyer_7")
        states = [await _notify(running, "buyer_7", f"通知{n}", f"restock:k{n}")
                  for n in range(4)]
    finally:
        await stop_bot(running)
    assert states == [("sent", "customer_service")] * 3 + [("pending", "")]
    assert running.db_rows("SELECT kind, sent FROM cs_quota") == [("event", 3)]


def test_windows_close_after_48_hours_and_a_minute(tmp_path: Path) -> None:
    from db import quota

    db = Database(tmp_path / "q.db")
    try:
        db.call(schema.migrate)
        now = 1_800_000_000.0
        db.call(quota.register, "m:u:1", "u", "message", now)
        db.call(quota.register, "e:u:1", "u", "event", now + 100)
        assert db.call(quota.take_any, "u", now + 130) == "e:u:1"  # the short window first
        assert db.call(quota.take_any, "u", now + 161) == "m:u:1"  # the click's minute is over
        assert db.call(quota.take_any, "u", now + 48 * 3600 + 1) is None
        assert db.call(quota.prune, now + 48 * 3600 + 101) == 2
    finally:
        db.close()


async def test_simulated_users_and_accounts_without_api_stay_pending(tmp_path, fake) -> None:
    running = await _bot(tmp_path, fake, templates={"restock": RESTOCK_TEMPLATE})
    try:
        assert await _notify(running, "sim_bob", "到货了", "restock:s", fields=FIELDS) == (
            "pending", "")
    finally:
        await stop_bot(running)
    assert fake.calls[CS] == fake.calls[TEMPLATE_PATH] == fake.token_requests == 0


async def test_a_template_that_cannot_be_filled_keeps_the_message(tmp_path, fake) -> None:
    running = await _bot(tmp_path, fake, customer_service=False,
                         templates={"restock": RESTOCK_TEMPLATE})
    try:
        assert await _notify(running, "buyer_8", "到货了", "restock:t") == ("pending", "")
    finally:
        await stop_bot(running)
    assert fake.templates == []
    assert "template fields" in running.db_rows("SELECT last_error FROM outbox")[0][0]


# -- pending messages in replies --------------------------------------------------

async def test_pending_messages_over_2000_bytes_carry_over_whole(tmp_path, fake) -> None:
    running = await _bot(tmp_path, fake, customer_service=False)
    notices = [f"第{n}条：" + "通知内容" * 60 for n in (1, 2, 3)]  # about 730 bytes each
    try:
        for n, text in enumerate(notices):
            _enqueue(running, "buyer_9", text, f"restock:p{n}")
        first = await running.say("谢谢", openid="buyer_9")
        second = await running.say("消息", openid="buyer_9")
        third = await running.say("消息", openid="buyer_9")
    finally:
        await stop_bot(running)
    more = MORE_WAITING.format(count=1)
    assert first == "\n\n".join([notices[0], notices[1], more, "不客气😊 还想买什么随时说。"])
    assert len(first.encode()) <= 2000
    assert second.startswith(notices[2] + "\n\n") and second.endswith("以上是等您查看的消息😊")
    assert third.startswith("没有新消息")
    assert running.db_rows("SELECT count(*) FROM outbox WHERE state = 'shown'") == [(3,)]


async def test_a_long_reply_is_never_cut_for_pending_messages(tmp_path, fake) -> None:
    running = await _bot(tmp_path, fake, customer_service=False)
    try:
        alone = await running.say("有什么水果", openid="buyer_10")
        _enqueue(running, "buyer_10", "通知" * 300, "restock:long")  # 1,800 bytes
        together = await running.say("有什么水果", openid="buyer_10")
        waiting = running.db_rows("SELECT state FROM outbox")
    finally:
        await stop_bot(running)
    # 1,800 bytes beside this reply would pass 2,000: the reply goes whole, the notice waits.
    assert together == MORE_WAITING.format(count=1) + "\n\n" + alone
    assert waiting[0][0] in ("queued", "pending")  # still waiting, not shown


async def test_a_sent_message_is_never_shown_again(tmp_path, fake) -> None:
    running = await _bot(tmp_path, fake)
    try:
        await running.say("你好", openid="buyer_11")
        await _notify(running, "buyer_11", "🔔 榴莲到货了", "restock:once")
        following = await running.say("谢谢", openid="buyer_11")
    finally:
        await stop_bot(running)
    assert "榴莲到货了" not in following and len(fake.sent) == 1


# -- several processes, crashes, unsubscribe ----------------------------------------

def _worker(db_path: str, api_base: str, go: Path, lease: float = 60.0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.outbox_worker", db_path, api_base, str(go), str(lease)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)


async def _communicate(process: subprocess.Popen[str]) -> str:
    out, err = await asyncio.to_thread(process.communicate, None, 60)
    assert process.returncode == 0, err
    return out


async def test_two_processes_drain_one_database_with_no_double_send(tmp_path, fake) -> None:
    config = make_config(tmp_path)
    db = Database(config.db.path)
    try:
        db.call(schema.migrate)
        for n in range(200):
            db.call(outbox.enqueue, "restock", f"user_{n % 17}", f"通知 {n}", f"restock:{n}")
    finally:
        db.close()
    fake.delay = 0.02
    go = tmp_path / "go"
    workers = [_worker(config.db.path, fake.api_base, go) for _ in range(2)]
    # Both loaded and waiting before either may start, so both get work.
    await until(lambda: len(list(tmp_path.glob("go.ready.*"))) == 2, limit=60)
    go.touch()
    handled = [int(await _communicate(w)) for w in workers]
    texts = [m["data"]["first"]["value"] for m in fake.templates]
    assert sorted(texts) == sorted(f"通知 {n}" for n in range(200))  # each exactly once
    assert sum(handled) == 200 and min(handled) > 0, handled
    db = Database(config.db.path)
    try:
        assert db.call(lambda c: c.execute("SELECT state, channel, count(*) FROM outbox"
                                           " GROUP BY 1, 2").fetchall())[0][:] == (
            "sent", "template", 200)
    finally:
        db.close()


async def test_a_crash_after_claim_leaves_the_message_pending_not_resent(tmp_path, fake) -> None:
    config = make_config(tmp_path, wechat={"app_secret": "test-secret",
                                           "api_base": fake.api_base})
    seed(config)
    db = Database(config.db.path)
    try:
        db.call(outbox.enqueue, "restock", "buyer_12", "🔔 榴莲到货了", "restock:crash")
    finally:
        db.close()
    fake.hang(TEMPLATE_PATH)
    go = tmp_path / "go"
    go.touch()
    worker = _worker(config.db.path, fake.api_base, go, lease=30.0)
    try:
        await until(lambda: fake.calls[TEMPLATE_PATH] == 1, limit=30)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # the sender dies mid-send
        await asyncio.to_thread(worker.wait)
    running = await start_bot(config)
    try:
        assert running.db_rows("SELECT state, lease_owner IS NOT NULL FROM outbox") == [
            ("queued", 1)]
        db = Database(config.db.path)
        try:  # the lease runs out (30 s later) and a live sender finds it
            db.call(outbox.expire_leases, time.time() + 31)
        finally:
            db.close()
        await running.state.sender.drain()
        assert running.db_rows("SELECT state, attempts FROM outbox") == [("pending", 1)]
        assert "lease expired" in running.db_rows("SELECT last_error FROM outbox")[0][0]
        following = await running.say("谢谢", openid="buyer_12")
    finally:
        await stop_bot(running)
    assert following.startswith("🔔 榴莲到货了")
    assert fake.calls[TEMPLATE_PATH] == 1 and fake.templates == []  # never sent a second time


async def test_unsubscribe_drops_waiting_messages_and_retry_refuses_them(tmp_path, fake,
                                                                        capsys) -> None:
    running = await _bot(tmp_path, fake, customer_service=False)
    try:
        _enqueue(running, "buyer_13", "到货了", "restock:u1")
        await running.send_xml(wire.event_xml("buyer_13", "unsubscribe"), "buyer_13")
    finally:
        await stop_bot(running)
    assert running.db_rows("SELECT state, reason, text, openid LIKE 'anon_%' FROM outbox") == [
        ("dropped", "unsubscribed", "", 1)]
    toml = tmp_path / "bot.toml"
    toml.write_text(f'[db]\npath = "{running.config.db.path}"\n', encoding="utf-8")
    assert cli.main(["outbox", "retry", "1", "--config", str(toml)]) == 1
    assert "unsubscribed" in capsys.readouterr().err


async def test_outbox_cli_lists_and_retries_a_dropped_message(tmp_path, capsys) -> None:
    config = make_config(tmp_path)
    db = Database(config.db.path)
    try:
        db.call(schema.migrate)
        message_id = db.call(outbox.enqueue, "restock", "buyer_14", "第一行\n\x1b[31m第二行",
                             "restock:cli")
        db.call(outbox.drop, message_id, "operator gave up", time.time())
    finally:
        db.close()
    toml = tmp_path / "bot.toml"
    toml.write_text(f'[db]\npath = "{config.db.path}"\n', encoding="utf-8")
    assert cli.main(["outbox", "--state", "dropped", "--config", str(toml)]) == 0
    listed = capsys.readouterr().out
    assert "dropped" in listed and "buyer_14" in listed and "operator gave up" in listed
    assert "\x1b" not in listed and "第一行⏎" in listed  # user text cannot forge lines
    assert cli.main(["outbox", "retry", str(message_id), "--config", str(toml)]) == 0
    assert cli.main(["outbox", "retry", str(message_id), "--config", str(toml)]) == 1
    assert "only dropped" in capsys.readouterr().err
    assert cli.main(["outbox", "--state", "queued", "--config", str(toml)]) == 0
    assert "buyer_14" in capsys.readouterr().out


def test_nothing_else_calls_the_customer_service_or_template_api() -> None:
    callers = re.compile(r"message/custom/send|message/template/send|\.send_text\(|"
                         r"\.send_template\(")
    allowed = {ROOT / "bot" / "wechat_api.py", ROOT / "bot" / "outbox.py"}
    for package in ("bot", "handlers", "db", "web", "nlp", "bench"):
        for path in (ROOT / package).rglob("*.py"):
            if path not in allowed:
                assert not callers.search(path.read_text(encoding="utf-8")), path
