"""The simulator's bridge over HTTP: real protocol, real log, sim_ users only."""
from __future__ import annotations

from pathlib import Path

from bot.config import load_demo
from tests.conftest import make_config, seed, start_bot, stop_bot
from tests.gate import Gate


async def _post(bot, payload: dict) -> tuple[int, dict]:
    async with bot.session.post(bot.server.make_url("/simulator/api/send"), json=payload) as r:
        return r.status, await r.json()


async def test_bridge_answers_through_the_webhook_and_is_logged(tmp_path: Path) -> None:
    running = await start_bot(load_demo(env={}, data_dir=tmp_path))
    try:
        status, data = await _post(running, {"openid": "sim_t", "kind": "text", "text": "我想买脐橙"})
        assert status == 200 and "脐橙" in data["replies"][0] and "<a href=" in data["replies"][0]
        status, data = await _post(running, {"openid": "sim_t", "kind": "voice", "text": ""})
        assert "打字" in data["replies"][0]
        status, data = await _post(running, {"openid": "sim_t", "kind": "click", "key": "HELP"})
        assert "怎么用" in data["replies"][0]
        status, data = await _post(running, {"openid": "sim_t", "kind": "subscribe"})
        assert "欢迎" in data["replies"][0]
        assert await running.log_rows("SELECT msg_type, outcome FROM message_log") == [
            ("text", "answered"), ("voice", "answered"), ("event", "answered"),
            ("event", "answered")]
        assert running.db_rows("SELECT count(*) FROM dedupe WHERE openid = 'sim_t'") == [(4,)]
    finally:
        await stop_bot(running)


async def test_bridge_refuses_real_looking_openids_and_bad_input(tmp_path: Path) -> None:
    running = await start_bot(load_demo(env={}, data_dir=tmp_path))
    try:
        for payload in ({"openid": "oAbc123", "kind": "text", "text": "hi"},
                        {"openid": "sim_x", "kind": "teleport"},
                        {"openid": "sim_x", "kind": "click", "key": "<script>"},
                        {"openid": "sim_x", "kind": "text", "text": "长" * 601}):
            status, data = await _post(running, payload)
            assert status == 400 and data["error"], payload
        async with running.session.post(running.server.make_url("/simulator/api/send"),
                                        data=b"not json") as response:
            assert response.status == 400
        assert await running.log_rows("SELECT count(*) FROM message_log") == [(0,)]
    finally:
        await stop_bot(running)


async def test_late_replies_reach_the_page_by_polling_never_the_api(tmp_path: Path) -> None:
    config = make_config(tmp_path, deadline={"seconds": 0.2}, simulator={"enabled": True},
                         wechat={"customer_service": True, "app_secret": "s",
                                 "api_base": "http://127.0.0.1:9"})
    seed(config)
    gate = Gate()
    running = await start_bot(config, handle=gate)
    try:
        status, data = await _post(running, {"openid": "sim_late", "kind": "text",
                                             "text": "我想买脐橙"})
        assert status == 200 and data["replies"] == []
        gate.release.set()
        await running.state.pipeline.drain()
        async with running.session.get(running.server.make_url("/simulator/api/poll"),
                                       params={"openid": "sim_late"}) as response:
            late = (await response.json())["replies"]
    finally:
        await stop_bot(running)
    assert len(late) == 1 and "赣南脐橙" in late[0]
    assert running.db_rows("SELECT state, channel FROM outbox") == [("shown", "reply")]


async def test_simulator_is_off_unless_enabled(bot) -> None:
    async with bot.session.get(bot.server.make_url("/simulator")) as response:
        assert response.status == 404


async def test_page_and_assets_are_served_without_a_cdn(tmp_path: Path) -> None:
    running = await start_bot(load_demo(env={}, data_dir=tmp_path))
    try:
        for path in ("/simulator", "/simulator/static/simulator.js",
                     "/simulator/static/simulator.css"):
            async with running.session.get(running.server.make_url(path)) as response:
                body = await response.text()
                assert response.status == 200, path
                assert "https://" not in body and "//cdn" not in body, path
        async with running.session.get(
                running.server.make_url("/simulator/static/..%2Fserver.py")) as response:
            assert response.status == 404
    finally:
        await stop_bot(running)
