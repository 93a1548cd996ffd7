"""`serve --workers 2`: two processes on one port and one database stay exactly-once."""
from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot import wire
from bot.config import Config
from db import Database, outbox
from tests.conftest import ROOT, free_port, make_config, ready, seed
from tests.fake_wechat import FakeWeChat

TEMPLATE = ('[notify.templates.restock]\ntemplate_id = "TPL-RESTOCK"\n'
            '[notify.templates.restock.fields]\nfirst = "{text}"\n')


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChat]:
    async with FakeWeChat() as running:
        yield running


def _write_config(config: Config, path: Path, port: int, api_base: str) -> Path:
    path.write_text(
        f'[server]\nport = {port}\nlink_secret = "test-link-secret"\n'
        f'public_url = "http://shop.example"\n'
        f'[wechat]\ntoken = "test-token"\napp_id = "{config.wechat.app_id}"\n'
        f'encoding_aes_key = "{config.wechat.encoding_aes_key}"\n'
        f'app_secret = "test-secret"\napi_base = "{api_base}"\n'
        f'[db]\npath = "{config.db.path}"\n' + TEMPLATE, encoding="utf-8")
    return path


class Workers:
    def __init__(self, config: Config, port: int, session: aiohttp.ClientSession,
                 process: asyncio.subprocess.Process) -> None:
        self.config, self.port, self.session = config, port, session
        self.process = process

    async def stop(self) -> None:
        """SIGTERM: each worker drains, writing the log lines it still holds."""
        if self.process.returncode is None:
            self.process.terminate()  # the parent forwards SIGTERM to both workers
        assert await asyncio.wait_for(self.process.wait(), 60) == 0

    async def post(self, xml: str, openid: str) -> dict:
        query, body = wire.seal(self.config, xml, openid)
        # A new connection each time: SO_REUSEPORT spreads connections, not requests.
        async with aiohttp.ClientSession() as fresh:
            async with fresh.post(f"http://127.0.0.1:{self.port}/wechat", params=query,
                                  data=body) as response:
                assert response.status == 200
                return wire.open_reply(self.config, await response.text())

    async def say(self, text: str, openid: str, msg_id: int | None = None) -> str:
        reply = await self.post(wire.text_xml(openid, text, msg_id), openid)
        return reply.get("Content", "")

    def rows(self, sql: str, *params: object) -> list[tuple]:
        db = Database(self.config.db.path)
        try:
            return [tuple(r) for r in db.call(lambda c: c.execute(sql, params).fetchall())]
        finally:
            db.close()


def _worker_pids(workers: Workers) -> set[str]:
    """The process ids in the owners of claimed messages (host:pid:random)."""
    return {row[0].rsplit(":", 2)[1] for row in workers.rows("SELECT owner FROM dedupe")}


async def _both_listening(workers: Workers, limit: float = 60.0) -> None:
    """Until messages have reached both workers: the second may still be starting when
    the first answers /healthz."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + limit
    n = 0
    while len(_worker_pids(workers)) < 2:
        assert loop.time() < give_up, "the second worker never answered"
        await asyncio.gather(*(workers.say("你好", f"warm_{n + k}") for k in range(8)))
        n += 8


@pytest.fixture
async def workers(tmp_path: Path, fake: FakeWeChat) -> AsyncIterator[Workers]:
    config = make_config(tmp_path)
    seed(config)
    port = free_port()
    path = _write_config(config, tmp_path / "bot.toml", port, fake.api_base)
    log = (tmp_path / "serve.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--config", str(path), "--workers", "2", cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=log)
    try:
        async with aiohttp.ClientSession() as session:
            await ready(session, port, limit=60)
            running = Workers(config, port, session, process)
            await _both_listening(running)
            yield running
            await running.stop()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        log.close()


async def test_both_workers_answer_on_one_port(workers: Workers) -> None:
    replies = await asyncio.gather(*(workers.say("我想买脐橙", f"buyer_w{n}") for n in range(24)))
    assert all("赣南脐橙" in reply for reply in replies)
    assert len(_worker_pids(workers)) == 2  # two process ids took messages on one port


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")
async def test_each_worker_keeps_to_a_core_of_its_own(workers: Workers) -> None:
    await asyncio.gather(*(workers.say("我想买脐橙", f"buyer_c{n}") for n in range(8)))
    cores = [os.sched_getaffinity(int(pid)) for pid in _worker_pids(workers)]
    assert all(len(allowed) == 1 for allowed in cores)
    assert len(set().union(*cores)) == 2


async def test_a_message_delivered_to_both_workers_is_handled_once(workers: Workers) -> None:
    xml = wire.text_xml("buyer_once", "我想买榴莲", msg_id=777_001)
    replies = await asyncio.gather(*(workers.post(xml, "buyer_once") for _ in range(12)))
    contents = {reply.get("Content") for reply in replies if reply}
    assert len(contents) == 1 and "榴莲" in contents.pop()
    assert workers.rows("SELECT count(*) FROM unmet_demand") == [(1,)]
    await workers.stop()  # the log is written in batches: every line is in once both stop
    assert workers.rows("SELECT count(*) FROM message_log WHERE openid = 'buyer_once'") == [(1,)]


async def test_sessions_carry_over_between_workers(workers: Workers) -> None:
    async def converse(n: int) -> str:
        first = await workers.say("我想买脐橙", f"buyer_s{n}")
        assert "为您找到" in first
        return await workers.say("还有吗", f"buyer_s{n}")

    follow_ups = await asyncio.gather(*(converse(n) for n in range(10)))
    # Whichever worker takes the second message reads the page the first one saved.
    assert not any("还没有给您推荐" in reply for reply in follow_ups), follow_ups


async def test_outbox_goes_out_once_with_one_token_per_worker(workers: Workers,
                                                              fake: FakeWeChat) -> None:
    db = Database(workers.config.db.path)
    try:
        for n in range(40):
            db.call(outbox.enqueue, "restock", f"user_{n % 7}", f"通知 {n}", f"restock:w{n}")
    finally:
        db.close()
    loop = asyncio.get_running_loop()
    give_up = loop.time() + 60
    while len(fake.templates) < 40:
        assert loop.time() < give_up, len(fake.templates)
        await asyncio.sleep(0.1)
    texts = sorted(m["data"]["first"]["value"] for m in fake.templates)
    assert texts == sorted(f"通知 {n}" for n in range(40))  # each exactly once
    assert fake.token_requests <= 2 and fake.force_requests == 0  # cached per worker
    assert workers.rows("SELECT state, count(*) FROM outbox GROUP BY 1") == [("sent", 40)]


def test_workers_below_one_is_refused_with_a_message(tmp_path: Path) -> None:
    import subprocess

    config = make_config(tmp_path)
    path = _write_config(config, tmp_path / "bot.toml", free_port(), "http://127.0.0.1:9")
    done = subprocess.run([sys.executable, "-m", "bot", "serve", "--config", str(path),
                           "--workers", "0"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1 and "--workers: at least 1" in done.stderr
