"""The operators' CLI: logs, report demand, backup, admin add-user, the demo banner
and the console bench, as real processes against real databases."""
from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from bot.term import clip, safe, table, width
from db import Database, demand, messages, operators, schema
from db.messages import LogEntry
from tests.conftest import free_port
from tests.test_import import ROOT, run_cli


def _config(tmp_path: Path) -> str:
    path = tmp_path / "cli.toml"
    path.write_text(f'[db]\npath = "{tmp_path / "bot.db"}"\n', encoding="utf-8")
    return str(path)


def _db(tmp_path: Path) -> Database:
    db = Database(tmp_path / "bot.db")
    db.call(schema.migrate)
    return db


def _log(db: Database, text: str, openid: str = "u1", intent: str = "search",
         outcome: str = "answered", reply: str = "好的") -> None:
    db.call(messages.record, LogEntry(openid, "text", text, intent, reply, 12, outcome,
                                      {"intent": intent, "slots": {}}, (3, 4)))


def test_logs_filters_print_json_and_search_words(tmp_path: Path) -> None:
    db = _db(tmp_path)
    try:
        _log(db, "有没有榴莲", "a", outcome="no_match", reply="暂时没有找到「榴莲」")
        _log(db, "我想买脐橙", "b")
        _log(db, "要第2个", "b", intent="choose")
    finally:
        db.close()
    config = _config(tmp_path)
    done = run_cli("logs", "--config", config, "--grep", "榴莲")
    assert done.returncode == 0, done.stderr
    assert "有没有榴莲" in done.stdout and "脐橙" not in done.stdout
    done = run_cli("logs", "--config", config, "--intent", "choose", "--json")
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["text"], r["openid"], r["offers"]) for r in rows] == [("要第2个", "b", [3, 4])]
    done = run_cli("logs", "--config", config, "--user", "b", "--outcome", "answered")
    assert "我想买脐橙" in done.stdout and "要第2个" in done.stdout and "榴莲" not in done.stdout
    done = run_cli("logs", "--config", config, "--grep", "  ")
    assert done.returncode == 1 and "--grep" in done.stderr


def test_user_text_cannot_forge_lines_or_drive_the_terminal(tmp_path: Path) -> None:
    db = _db(tmp_path)
    forged = "hi\n2030 ok\r\x1b[2J\u202egnp.exe\x07"
    try:
        _log(db, forged, "evil", reply="ok\n\x1b[31mred")
    finally:
        db.close()
    done = run_cli("logs", "--config", _config(tmp_path))
    lines = done.stdout.splitlines()
    assert len(lines) == 2                         # the message and its reply, one line each
    assert not any(line.startswith("2030") for line in lines)
    assert "\x1b" not in done.stdout and "\r" not in done.stdout and "\u202e" not in done.stdout
    assert "\\x1b[2J" in lines[0] and "⏎2030" in lines[0] and "\\u202e" in lines[0]
    done = run_cli("logs", "--config", _config(tmp_path), "--json")
    assert len(done.stdout.splitlines()) == 1 and "\x1b" not in done.stdout


def test_terminal_helpers_count_wide_characters() -> None:
    assert width("脐橙ab") == 6 and clip("赣南脐橙现摘", 7) == "赣南脐…" and width(clip("赣南脐橙现摘", 7)) <= 7
    assert safe("a\nb\x00c\u2028") == "a⏎b\\x00c\\u2028"
    lines = table(["货品", "n"], [["很长很长很长很长很长的货品名字", 3]], total=20, right=(1,))
    assert all(width(line) <= 20 for line in lines) and lines[2].endswith("3")


def test_logs_follow_prints_new_messages(tmp_path: Path) -> None:
    db = _db(tmp_path)
    _log(db, "第一条", "a")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "bot", "logs", "--config", _config(tmp_path),
                                "--follow", "--json", "--outcome", "no_match"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _log(db, "不要这条", "a")
        _log(db, "有没有榴莲", "a", outcome="no_match")
        line = process.stdout.readline()   # blocks until the follower prints it
        assert json.loads(line)["text"] == "有没有榴莲"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
        db.close()
    assert process.returncode == 130


def test_report_demand_table_and_csv(tmp_path: Path) -> None:
    db = _db(tmp_path)
    try:
        now = time.time()
        for buyer, origin, price in (("a", "云南", 5000), ("b", "云南", 4500), ("c", None, None)):
            db.call(demand.record, buyer, "我想买榴莲", "榴莲", origin, price, now=now)
        db.call(demand.record, "d", "我想买=SUM(A1)", "=SUM(A1)", None, None, now=now)
    finally:
        db.close()
    done = run_cli("report", "demand", "--config", _config(tmp_path), "--days", "7")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("unmet demand") and "4 requests" in lines[0]
    row = next(line for line in lines if "云南" in line)
    assert re.search(r"榴莲\s+云南\s+没说在哪\s+20–50元\s+2\s+2\s+0", row)
    done = run_cli("report", "demand", "--config", _config(tmp_path), "--csv", "--by", "product")
    table = list(csv.reader(io.StringIO(done.stdout)))
    assert [r[:6] for r in table[1:]] == [["榴莲", "", "", "", "3", "3"],
                                         ["'=SUM(A1)", "", "", "", "1", "1"]]
    assert len(table[0]) == 9 + 7
    done = run_cli("report", "demand", "--config", _config(tmp_path), "--by", "colour")
    assert done.returncode == 1 and "--by" in done.stderr


def test_backup_is_a_whole_copy_while_the_database_is_written(tmp_path: Path) -> None:
    db = _db(tmp_path)
    try:
        for n in range(300):
            _log(db, f"消息 {n}")
    finally:
        db.close()
    config = _config(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom db import Database, messages\nfrom db.messages import LogEntry\n"
        f"db = Database({str(tmp_path / 'bot.db')!r})\n"
        "for n in range(400):\n"
        "    db.call(messages.record, LogEntry('w', 'text', f'写入 {n}', 'search', 'ok', 1, 'answered'))\n")],
        cwd=ROOT, env=env)
    try:
        done = run_cli("backup", str(tmp_path / "copy.db"), "--config", config)
    finally:
        writer.wait(timeout=60)
    assert done.returncode == 0, done.stderr
    assert "schema v" in done.stdout and "message_log" in done.stdout
    copy = sqlite3.connect(tmp_path / "copy.db")
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        logged = copy.execute("SELECT count(*) FROM message_log").fetchone()[0]
        indexed = copy.execute("SELECT count(*) FROM message_log_fts"
                               " WHERE message_log_fts MATCH '消息'").fetchone()[0]
    finally:
        copy.close()
    assert 300 <= logged <= 700 and indexed == 300
    assert not (tmp_path / "copy.db.partial").exists()
    again = run_cli("backup", str(tmp_path / "copy.db"), "--config", config)
    assert again.returncode == 1 and "already exists" in again.stderr


def _add_user(tmp_path: Path, *args: str, password: str = "a long secret") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bot", "admin", "add-user", *args, "--config",
                           _config(tmp_path), "--password-stdin"], cwd=ROOT, env=env,
                          input=password + "\n", capture_output=True, text=True, timeout=60)


def test_admin_add_user_stores_a_salted_scrypt_hash(tmp_path: Path) -> None:
    assert _add_user(tmp_path, "wang", "--role", "admin").returncode == 0
    assert _add_user(tmp_path, "li", "--role", "viewer", password="a long secret").returncode == 0
    again = _add_user(tmp_path, "wang", "--role", "viewer")
    assert again.returncode == 1 and "exists" in again.stderr
    short = _add_user(tmp_path, "zhao", "--role", "viewer", password="short")
    assert short.returncode == 1 and "password" in short.stderr
    assert _add_user(tmp_path, "li", "--role", "admin", "--replace",
                     password="another secret").returncode == 0
    db = _db(tmp_path)
    try:
        hashes = dict(db.call(lambda c: c.execute(
            "SELECT name, password_hash FROM operators").fetchall()))
        assert hashes["wang"].startswith("scrypt$16384$8$1$") and "a long secret" not in hashes["wang"]
        assert db.call(operators.authenticate, "wang", "a long secret").role == "admin"
        assert db.call(operators.authenticate, "li", "a long secret") is None
        assert db.call(operators.authenticate, "li", "another secret").role == "admin"
        actions = db.call(lambda c: [r[0] for r in c.execute("SELECT action FROM audit_log")])
    finally:
        db.close()
    assert actions == ["operator.add", "operator.add", "operator.replace"]
    listed = run_cli("admin", "list-users", "--config", _config(tmp_path))
    assert re.search(r"li\s+admin", listed.stdout) and re.search(r"wang\s+admin", listed.stdout)


async def test_make_run_prints_the_demo_operator_who_can_sign_in(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PORT": str(port)}
    banners = []
    for _ in range(2):  # the second start reuses the same operator and password
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--demo", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            lines = [(await asyncio.wait_for(process.stdout.readline(), 60)).decode()
                     for _ in range(4)]
            banner = next(line for line in lines if "operator console" in line)
            banners.append(banner)
            match = re.search(r"(http://\S+/admin)\s+user: (\S+)\s+password: (\S+)", banner)
            url, name, password = match.groups()
            assert "simulator" in lines[1] and lines.index(banner) == 2
            jar = aiohttp.CookieJar(unsafe=True)
            async with aiohttp.ClientSession(cookie_jar=jar) as session:
                for _ in range(200):
                    try:
                        async with session.get(url + "/login") as response:
                            page = await response.text()
                        break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.1)
                token = re.search(r'name="login_token" value="([^"]+)"', page).group(1)
                async with session.post(url + "/login", data={
                        "login_token": token, "name": name, "password": password}) as response:
                    assert response.status == 200 and "概览" in await response.text()
        finally:
            process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.wait(), 30)
    assert banners[0] == banners[1]
    assert "admin_password" in (tmp_path / "data" / "demo.toml").read_text(encoding="utf-8")


def test_the_console_bench_runs_and_prints_every_page_kind(tmp_path: Path) -> None:
    done = run_cli("bench", "console", "--messages", "3000", "--samples", "3",
                   "--db", str(tmp_path / "bench.db"))
    assert done.returncode == 0, done.stderr
    for kind in ("first page", "deep page", "time range (1 h)", "user", "outcome=no_match",
                 "text, common word", "text+user", "transcript"):
        assert re.search(rf"^{re.escape(kind)}\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+", done.stdout,
                         re.M), kind
    rerun = run_cli("bench", "console", "--messages", "3000", "--samples", "2",
                    "--db", str(tmp_path / "bench.db"))
    assert rerun.returncode == 0 and "reusing" in rerun.stdout
