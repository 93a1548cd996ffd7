"""The CLI verbs against real servers and databases."""
from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bot.cli import parse_since
from tests.test_import import run_cli

ROOT = Path(__file__).resolve().parent.parent


def _write_config(bot, tmp_path: Path) -> Path:
    config = bot.config
    path = tmp_path / "cli.toml"
    path.write_text(
        f'[wechat]\ntoken = "{config.wechat.token}"\napp_id = "{config.wechat.app_id}"\n'
        f'encoding_aes_key = "{config.wechat.encoding_aes_key}"\n'
        f'[db]\npath = "{config.db.path}"\n', encoding="utf-8")
    return path


async def test_chat_sends_sealed_messages_and_prints_replies(bot, tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "chat", "--config", str(_write_config(bot, tmp_path)),
        "--url", bot.url, "--openid", "cli_user", cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate("我想买脐橙\n我想买榴莲\n/click HELP\n".encode())
    text = out.decode()
    assert process.returncode == 0, err.decode()
    assert "赣南脐橙 现摘现发 10斤装" in text and "[下单: http://shop.example/o/" in text
    assert "没有找到「榴莲」" in text and "怎么用" in text
    assert await bot.log_rows("SELECT count(*) FROM message_log WHERE openid = 'cli_user'") == [(3,)]


async def test_logs_filters_by_user_and_outcome(bot, tmp_path: Path) -> None:
    await bot.say("我想买榴莲", openid="log_a")
    await bot.say("我想买脐橙", openid="log_b")
    config = str(_write_config(bot, tmp_path))
    loop = asyncio.get_running_loop()
    done = await loop.run_in_executor(None, lambda: run_cli(
        "logs", "--config", config, "--outcome", "no_match"))
    assert done.returncode == 0 and "我想买榴莲" in done.stdout and "我想买脐橙" not in done.stdout
    done = await loop.run_in_executor(None, lambda: run_cli(
        "logs", "--config", config, "--user", "log_b", "--since", "1h"))
    assert "我想买脐橙" in done.stdout and "log_a" not in done.stdout
    done = await loop.run_in_executor(None, lambda: run_cli(
        "logs", "--config", config, "--since", "yesterday-ish"))
    assert done.returncode == 1 and "--since" in done.stderr


async def test_healthz_is_ready(bot) -> None:
    async with bot.session.get(bot.server.make_url("/healthz")) as response:
        assert response.status == 200


def test_parse_since_forms() -> None:
    assert parse_since("30m", now=10_000) == 10_000 - 1800
    assert parse_since("2d", now=200_000) == 200_000 - 172_800


def test_every_verb_has_help() -> None:
    for verb in (["serve"], ["import"], ["chat"], ["logs"], ["menu", "push"],
                 ["bench", "webhook"]):
        done = run_cli(*verb, "--help")
        assert done.returncode == 0 and "usage:" in done.stdout, verb


def test_every_bench_module_imports() -> None:
    """`bench VERB` imports its module only when run: a broken import shows up here."""
    import importlib

    for path in sorted((ROOT / "bench").glob("*.py")):
        importlib.import_module(f"bench.{path.stem}")


def test_bench_webhook_ratio_is_the_median_of_alternated_rounds(capsys) -> None:
    """Each round's ratio pairs the pipeline with the bare run just after it; a round the
    machine slowed is outvoted, not averaged in."""
    from bench.webhook import Figures, Results, _report

    def closed(label: str, sent: int, cpu: float) -> Figures:
        return Figures(label, sent=sent, elapsed=1.0, latencies=[0.01], cpu=cpu)

    rounds = [(closed("pipeline", 900, 0.9), closed("bare", 4500, 0.9)),     # 0.200
              (closed("pipeline", 1200, 0.96), closed("bare", 4800, 0.96)),  # 0.250
              (closed("pipeline", 500, 1.0), closed("bare", 4000, 0.8))]     # 0.125
    assert _report(Results(rounds, [closed("pipeline open", 800, 1.0)])) == 0
    out = capsys.readouterr().out
    assert "throughput (closed loop) 0.200 (median)" in out
    assert "in 3 rounds: 0.200, 0.250, 0.125" in out
    assert out.count("req/s") == 7


def test_bench_orders_places_what_the_stock_allows() -> None:
    done = run_cli("bench", "orders", "--orders", "12", "--concurrency", "4", "--stock", "10")
    assert done.returncode == 0, done.stderr
    assert "10 placed (200), 2 库存不足 (409), 0 other" in done.stdout
    assert "stock left 0, orders 10 for 10 units: consistent" in done.stdout


def test_serve_without_a_token_says_so(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text(f'[db]\npath = "{tmp_path / "x.db"}"\n', encoding="utf-8")
    done = run_cli("serve", "--config", str(path))
    assert done.returncode == 1 and "wechat.token" in done.stderr
