"""The embedded demo: generated credentials, the bundled catalogue, real answers."""
from __future__ import annotations

from pathlib import Path

from bot.config import load_demo
from bot.server import DEMO_CATALOGUE
from db.catalogue import read
from tests.conftest import start_bot, stop_bot


def test_demo_catalogue_is_large_and_valid() -> None:
    rows = read(DEMO_CATALOGUE)
    assert len(rows) >= 60
    titles = " ".join(row.title for row in rows)
    for specialty in ("赣南脐橙", "定西马铃薯", "柞水木耳", "凉山苦荞", "散养土鸡蛋"):
        assert specialty in titles
    assert "榴莲" not in titles


async def test_demo_server_answers_oranges_and_an_honest_none(tmp_path: Path) -> None:
    config = load_demo(env={}, data_dir=tmp_path)
    running = await start_bot(config)
    try:
        oranges = await running.say("我想买脐橙", openid="demo_user")
        durian = await running.say("我想买榴莲", openid="demo_user")
    finally:
        await stop_bot(running)
    assert oranges.count("<a href=") >= 3 and "脐橙" in oranges
    assert "没有找到" in durian and "<a href=" not in durian
    assert (tmp_path / "demo.toml").exists() and (tmp_path / "demo.db").exists()
