"""Exactly-once handling of WeChat's retries."""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time

import aiohttp

from bot import wire
from bot.pipeline import holder_dead
from db import Database, dedupe
from tests.conftest import free_port, make_config, ready, seed, serve, start_bot, stop_bot
from tests.gate import Gate, until



async def test_retry_of_an_answered_message_gets_the_identical_reply_once(bot) -> None:
    xml = wire.text_xml("user_r", "我想买榴莲", msg_id=9001)
    replies = [await bot.send_xml(xml, "user_r") for _ in range(3)]
    assert replies[0] == replies[1] == replies[2]
    assert "榴莲" in replies[0]["Content"]
    assert bot.db_rows("SELECT count(*) FROM unmet_demand") == [(1,)]
    assert await bot.log_rows("SELECT count(*) FROM message_log") == [(1,)]
    assert bot.state.pipeline.stats["done"] == 2


async def test_same_msg_id_from_two_users_is_two_messages(bot) -> None:
    first = await bot.send_xml(wire.text_xml("user_1", "我想买榴莲", msg_id=42), "user_1")
    second = await bot.send_xml(wire.text_xml("user_2", "我想买脐橙", msg_id=42), "user_2")
    assert "榴莲" in first["Content"] and "脐橙" in second["Content"]


async def test_events_are_keyed_by_time_event_and_key(bot) -> None:
    click = wire.event_xml("user_e", "CLICK", "HELP", created_at=1700000000)
    assert (await bot.send_xml(click, "user_e")) == (await bot.send_xml(click, "user_e"))
    later = wire.event_xml("user_e", "CLICK", "HELP", created_at=1700000001)
    await bot.send_xml(later, "user_e")
    assert await bot.log_rows("SELECT count(*) FROM message_log") == [(2,)]


async def test_retry_during_slow_handling_waits_for_the_first_answer(tmp_path) -> None:
    config = make_config(tmp_path, deadline={"seconds": 10.0})
    seed(config)
    gate = Gate()
    running = await start_bot(config, handle=gate)
    try:
        xml = wire.text_xml("user_slow", "我想买榴莲", msg_id=777)
        first = asyncio.create_task(running.send_xml(xml, "user_slow"))
        await asyncio.wait_for(gate.entered.wait(), 5)
        retry = asyncio.create_task(running.send_xml(xml, "user_slow"))
        await until(lambda: running.state.pipeline.stats["busy"] == 1)
        gate.release.set()
        answers = await asyncio.gather(first, retry)
    finally:
        await stop_bot(running)
    assert answers[0] == answers[1] and "榴莲" in answers[0]["Content"]
    assert gate.calls == 1
    assert running.db_rows("SELECT count(*) FROM unmet_demand") == [(1,)]


async def test_a_crashed_holders_lease_expires_and_the_retry_takes_over(bot) -> None:
    db = Database(bot.config.db.path)
    try:
        crashed_at = time.time() - dedupe.LEASE_SECONDS - 1
        claim = db.call(dedupe.claim, "m:user_c:555", "user_c", "dead-process", crashed_at)
        assert claim.state == "acquired"
    finally:
        db.close()
    reply = await bot.send_xml(wire.text_xml("user_c", "我想买榴莲", msg_id=555), "user_c")
    assert "榴莲" in reply["Content"]
    assert bot.db_rows("SELECT owner = 'dead-process', reply IS NOT NULL FROM dedupe") == [(0, 1)]
    assert bot.state.pipeline.stats["acquired"] == 1


async def test_a_killed_holders_lease_is_taken_over_at_once(bot) -> None:
    """WeChat's retries come 5 s apart, inside the 10 s lease: a retry must not wait out
    the lease of a process that was killed after claiming, or the message goes unanswered."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its pid now names no process
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    host = socket.gethostname()
    db = Database(bot.config.db.path)
    try:
        now = time.time()
        for msg_id, pid in ((556, gone.pid), (557, alive.pid)):
            claim = db.call(dedupe.claim, f"m:user_k:{msg_id}", "user_k", f"{host}:{pid}:x", now)
            assert claim.state == "acquired"
        reply = await bot.send_xml(wire.text_xml("user_k", "我想买榴莲", msg_id=556), "user_k")
        assert "榴莲" in reply["Content"]
        assert bot.state.pipeline.stats["acquired"] == 1
        assert db.call(dedupe.claim, "m:user_k:557", "user_k", "other", now + 1,
                       holder_dead).state == "busy"
    finally:
        alive.kill()
        alive.wait()
        db.close()


def test_only_a_gone_process_of_this_host_counts_as_a_dead_holder() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host = socket.gethostname()
    assert holder_dead(f"{host}:{gone.pid}:ab12")
    assert not holder_dead(f"{host}:{os.getpid()}:ab12")      # this process: alive
    assert not holder_dead(f"{host}:{os.getppid()}:ab12")     # another live process
    assert not holder_dead(f"another-host:{gone.pid}:ab12")   # cannot tell: the lease ends by time
    assert not holder_dead("dead-process")                    # no pid: likewise


def test_a_live_lease_is_not_taken_over(tmp_path) -> None:
    db = Database(tmp_path / "d.db")
    try:
        from db import schema
        db.call(schema.migrate)
        now = time.time()
        assert db.call(dedupe.claim, "k", "u", "first", now).state == "acquired"
        assert db.call(dedupe.claim, "k", "u", "second", now + 1).state == "busy"
        db.call(dedupe.finish, "k", "<xml/>")
        assert db.call(dedupe.claim, "k", "u", "third", now + 60) == dedupe.Claim("done", "<xml/>")
    finally:
        db.close()


async def test_two_processes_on_one_database_answer_a_message_once(tmp_path) -> None:
    config = make_config(tmp_path)
    seed(config)
    config_path = tmp_path / "bot.toml"
    config_path.write_text(
        f'[server]\nlink_secret = "test-link-secret"\npublic_url = "http://shop.example"\n'
        f'[wechat]\ntoken = "test-token"\napp_id = "{config.wechat.app_id}"\n'
        f'encoding_aes_key = "{config.wechat.encoding_aes_key}"\n'
        f'[db]\npath = "{config.db.path}"\n', encoding="utf-8")
    ports = [free_port(), free_port()]
    servers = [await serve(config_path, port) for port in ports]
    try:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(ready(session, port) for port in ports))
            xml = wire.text_xml("user_two", "我想买榴莲", msg_id=4242)

            async def deliver(port: int) -> dict:
                query, body = wire.seal(config, xml, "user_two")
                async with session.post(f"http://127.0.0.1:{port}/wechat", params=query,
                                        data=body) as response:
                    assert response.status == 200
                    return wire.open_reply(config, await response.text())

            first, second = await asyncio.gather(deliver(ports[0]), deliver(ports[1]))
    finally:
        for server in servers:
            server.terminate()
        await asyncio.gather(*(server.wait() for server in servers))
    assert first == second and "榴莲" in first["Content"]
    db = Database(config.db.path)
    try:
        assert db.call(lambda c: c.execute("SELECT count(*) FROM unmet_demand").fetchone()[0]) == 1
        assert db.call(lambda c: c.execute("SELECT count(*) FROM message_log").fetchone()[0]) == 1
    finally:
        db.close()


async def test_the_lease_is_renewed_while_a_slow_reply_is_worked_on(tmp_path, monkeypatch) -> None:
    """Only a crash lets a retry take over: a long handler keeps its lease."""
    monkeypatch.setattr(dedupe, "LEASE_SECONDS", 0.3)
    config = make_config(tmp_path, deadline={"seconds": 30.0})
    seed(config)
    gate = Gate()
    running = await start_bot(config, handle=gate)
    try:
        sending = asyncio.create_task(running.say("我想买脐橙", openid="slow_user"))
        await gate.entered.wait()
        lease = "SELECT lease_until FROM dedupe WHERE openid = 'slow_user'"
        first = running.db_rows(lease)[0][0]
        await until(lambda: running.db_rows(lease)[0][0] > first, limit=10.0)
        await until(lambda: running.db_rows(lease)[0][0] > first + 0.1, limit=10.0)  # again
        gate.release.set()
        assert "脐橙" in await sending
    finally:
        await stop_bot(running)
