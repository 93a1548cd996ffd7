"""The conversation log: the writer's index and counts, filters, keyset pages,
transcripts with understanding, offers and latency."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from db import Database, messages, schema
from db.messages import LogEntry, LogFilter
from tests.conftest import make_config
from tests.console import signed_in

DAY = 86_400


@pytest.fixture
def log_db(tmp_path: Path):
    db = Database(tmp_path / "log.db")
    db.call(schema.migrate)
    yield db
    db.close()


def _entry(text: str, openid: str = "u1", intent: str = "search", outcome: str = "answered",
           reply: str = "好的", offers: tuple[int, ...] = ()) -> LogEntry:
    return LogEntry(openid, "text", text, intent, reply, 20, outcome,
                    {"intent": intent, "slots": {}}, offers)


def test_two_character_words_match_in_messages_and_replies(log_db) -> None:
    log_db.call(messages.record, _entry("有没有榴莲", reply="暂时没有找到「榴莲」"))
    log_db.call(messages.record, _entry("我想买脐橙", reply='1. 赣南脐橙\n<a href="http://x/o/tok">下单</a>'))
    log_db.call(messages.record, _entry("你好", reply="您好！想买什么农货"))

    def texts(words: str) -> list[str]:
        return [row.text for row in log_db.call(messages.page, LogFilter(text=words)).rows]

    assert texts("榴莲") == ["有没有榴莲"]
    assert texts("赣南") == ["我想买脐橙"]              # a word of the reply
    assert texts("农货") == ["你好"]
    assert texts("榴莲 脐橙") == []                     # every word must match
    assert texts("href") == texts("tok") == []         # markup and links are not indexed
    assert texts("！！") == []                          # punctuation alone matches nothing


def test_filters_combine_and_pages_cover_every_row_once(log_db) -> None:
    start = time.time() - 10 * DAY
    entries = []
    for n in range(260):
        intent = ("search", "choose", "help")[n % 3]
        outcome = "no_match" if n % 5 == 0 else "answered"
        text = f"我想买{'榴莲' if n % 4 == 0 else '苹果'} {n}"
        entries.append((_entry(text, f"u{n % 7}", intent, outcome), start + n * 3600))
    log_db.call(messages.record_many, entries)
    cases = [LogFilter(), LogFilter(intent="search"), LogFilter(outcome="no_match"),
             LogFilter(intent="search", outcome="no_match"), LogFilter(openid="u3"),
             LogFilter(text="榴莲"), LogFilter(text="榴莲", outcome="no_match"),
             LogFilter(text="榴莲", openid="u4"),
             LogFilter(since=start + 50 * 3600, until=start + 200 * 3600),
             LogFilter(since=start + 50 * 3600, until=start + 200 * 3600, text="苹果")]
    for filters in cases:
        expected = [n for n, (entry, at) in enumerate(entries) if _matches(entry, at, filters)]
        seen, before = [], None
        while True:
            found = log_db.call(messages.page, filters, before, 50)
            seen.extend(int(row.text.split()[-1]) for row in found.rows)
            assert len(found.rows) <= 50
            if found.older is None:
                break
            before = found.older
        assert seen == sorted(expected, reverse=True), filters
        assert expected, filters  # every case selects something


def _matches(entry: LogEntry, at: float, f: LogFilter) -> bool:
    return ((f.intent is None or entry.intent == f.intent)
            and (f.outcome is None or entry.outcome == f.outcome)
            and (f.openid is None or entry.openid == f.openid)
            and (f.text is None or f.text in entry.text)
            and (f.since is None or at >= f.since) and (f.until is None or at < f.until))


def test_an_empty_time_range_finds_nothing(log_db) -> None:
    log_db.call(messages.record, _entry("我想买苹果"))
    now = time.time()
    assert log_db.call(messages.page, LogFilter(since=now + 60)).rows == []
    assert log_db.call(messages.page, LogFilter(until=now - 60)).rows == []
    assert log_db.call(messages.page, LogFilter(since=now - 60, until=now - 30)).rows == []


def test_a_live_entry_is_never_stamped_before_the_newest_row(log_db) -> None:
    ahead = time.time() + 5
    log_db.call(messages.record, _entry("from a clock ahead"), ahead)
    log_db.call(messages.record, _entry("now"))
    rows = log_db.call(messages.page, LogFilter()).rows
    assert rows[0].text == "now" and rows[0].at >= ahead


def test_every_page_kind_walks_an_index_not_the_table(log_db) -> None:
    log_db.call(messages.record, _entry("我想买苹果"))
    conn = log_db.connection()
    plans = []

    class Spy:
        def execute(self, sql, params=()):
            if "FROM message_log AS m" in sql or "message_log_fts AS f" in sql:
                plans.append(" / ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql,
                                                                   params)))
            return conn.execute(sql, params)

    now = time.time()
    for filters in (LogFilter(), LogFilter(intent="search"), LogFilter(outcome="no_match"),
                    LogFilter(intent="search", outcome="error"), LogFilter(openid="u1"),
                    LogFilter(openid="u1", intent="search"), LogFilter(text="苹果"),
                    LogFilter(text="苹果", outcome="answered", since=now - 60, until=now + 60),
                    LogFilter(since=now - 60, until=now + 60)):
        messages.page(Spy(), filters, before=10)
    assert len(plans) == 9
    for plan in plans:
        assert "TEMP B-TREE" not in plan and not re.search(r"\bSCAN m\b", plan), plan
    assert "message_log_user" in plans[5]  # one user's rows, not every search


def test_older_logs_are_indexed_after_the_upgrade(tmp_path: Path) -> None:
    db = Database(tmp_path / "old.db")
    try:
        db.call(schema.migrate, 3)
        db.call(lambda c: c.execute(
            "INSERT INTO message_log (at, openid, msg_type, text, intent, reply, latency_ms,"
            " outcome) VALUES (?, 'old_user', 'text', '有没有榴莲', 'search',"
            " '暂时没有找到「榴莲」', 30, 'no_match')", (time.time() - DAY,)))
        db.call(schema.migrate)
        assert db.call(messages.page, LogFilter(text="榴莲")).rows == []
        assert db.call(messages.backfill_index) == 1
        assert [r.openid for r in db.call(messages.page, LogFilter(text="榴莲")).rows] == ["old_user"]
        assert db.call(messages.backfill_index) == 0
        day = messages.day_of(time.time() - DAY)
        assert db.call(messages.days, day, day)[day].no_match == 1
    finally:
        db.close()


async def test_the_log_page_filters_and_follows_keyset_links(bot) -> None:
    for n in range(60):
        await bot.say("我想买榴莲" if n % 2 else "我想买脐橙", openid=f"buyer{n % 3}", msg_id=9000 + n)
    client = await signed_in(bot, "li", "viewer")
    try:
        status, page = await client.get("/admin/log?outcome=no_match&q=" + quote("榴莲"))
        assert status == 200
        ids = re.findall(r'<tr id="m(\d+)"', page)
        assert len(ids) == 30 and 'id="older"' not in page
        status, page = await client.get("/admin/log")
        first = re.findall(r'<tr id="m(\d+)"', page)
        older = re.search(r'href="([^"]+)" rel="next"', page).group(1).replace("&amp;", "&")
        _, page = await client.get(older)
        second = re.findall(r'<tr id="m(\d+)"', page)
        assert len(first) == 50 and len(second) == 10
        assert sorted(map(int, first + second), reverse=True) == list(map(int, first + second))
        status, page = await client.get("/admin/log?since=yesterday")
        assert status == 400 and "时间格式不对" in page
        status, page = await client.get("/admin/log?outcome=lost")
        assert status == 400
    finally:
        await client.close()


async def test_a_transcript_shows_understanding_offers_and_latency(bot) -> None:
    found = await bot.say("我想买脐橙", openid="tr_user", msg_id=1)
    chosen = await bot.say("要第2个", openid="tr_user", msg_id=2)
    await bot.say("有没有云南的榴莲，五十块以内", openid="tr_user", msg_id=3)
    rows = await bot.log_rows("SELECT offers, understood, latency_ms FROM message_log"
                       " WHERE openid = 'tr_user' ORDER BY id")
    shown = [int(i) for i in re.findall(r"\d+", rows[0][0])]
    titles = [bot.db_rows("SELECT title FROM listings WHERE id = ?", i)[0][0] for i in shown]
    assert [line[3:] for line in found.splitlines() if re.match(r"\d\. ", line)] == titles
    assert rows[1][0] == f"[{shown[1]}]" and titles[1] in chosen
    assert rows[2][0] is None and json.loads(rows[2][1])["slots"]["product"] == "榴莲"
    client = await signed_in(bot, "li", "viewer")
    try:
        status, page = await client.get("/admin/log/user/tr_user")
    finally:
        await client.close()
    assert status == 200
    turns = page.split('<li id="m')[1:]
    assert len(turns) == 3
    assert all(title in turns[0] for title in titles)
    assert "{&#34;product&#34;: &#34;脐橙&#34;}" in turns[0]
    assert "choose" in turns[1] and "{&#34;index&#34;: 2}" in turns[1] and titles[1] in turns[1]
    assert "&#34;price_max&#34;: &#34;50&#34;" in turns[2] and "no_match" in turns[2]
    for turn, (_, _, latency) in zip(turns, rows):
        assert f"耗时 {latency}ms" in turn


async def test_a_long_transcript_pages_around_a_message(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    db = Database(config.db.path)
    try:
        db.call(schema.migrate)
        start = time.time() - DAY
        db.call(messages.record_many, [(_entry(f"第{n}句", "talker"), start + n) for n in range(250)])
        latest = db.call(messages.transcript, "talker")
        assert [r.text for r in latest.rows][-1] == "第249句" and len(latest.rows) == 100
        assert latest.later is None and latest.earlier is not None
        earlier = db.call(messages.transcript, "talker", latest.earlier)
        assert [r.text for r in earlier.rows] == [f"第{n}句" for n in range(50, 150)]
        later = db.call(messages.transcript, "talker", None, earlier.later)
        assert [r.text for r in later.rows] == [f"第{n}句" for n in range(150, 250)]
        assert later.later is None
    finally:
        db.close()


async def test_a_user_who_left_is_found_by_pseudonym_and_words(bot) -> None:
    from bot import wire

    await bot.say("我想买榴莲", openid="leaver")
    await bot.say("我想买榴莲", openid="stayer")
    await bot.send_xml(wire.event_xml("leaver", "unsubscribe"), "leaver")
    alias = (await bot.log_rows("SELECT DISTINCT openid FROM message_log WHERE openid LIKE 'anon_%'"))[0][0]
    db = Database(bot.config.db.path)
    try:
        by_alias = db.call(messages.page, LogFilter(text="榴莲", openid=alias)).rows
        by_old_id = db.call(messages.page, LogFilter(text="榴莲", openid="leaver")).rows
        by_stayer = db.call(messages.page, LogFilter(text="榴莲", openid="stayer")).rows
    finally:
        db.close()
    assert [r.text for r in by_alias] == ["我想买榴莲"] and by_old_id == []
    assert [r.openid for r in by_stayer] == ["stayer"]
