"""What the fast path keeps: cached search follows every catalogue change, a reply's
own writes land together, and the batched log loses nothing but its last batch."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from pathlib import Path

import aiohttp
import pytest

from bot import logbook, wire
from db import Database, listings, messages, schema
from db.catalogue import read
from db.database import Write, commit_group
from tests.conftest import ROOT, free_port, make_config, ready, seed
from tests.gate import until

ORANGE = "赣南脐橙 现摘现发 10斤装"


def _version(bot) -> int:
    db = Database(bot.config.db.path)
    try:
        return db.call(listings.catalogue_version)[1]
    finally:
        db.close()


async def test_cached_search_follows_stock_and_price_changes_from_another_connection(bot) -> None:
    assert ORANGE in await bot.say("我想买脐橙", openid="buyer_c1")
    assert ORANGE in await bot.say("我想买脐橙", openid="buyer_c2")  # served from the cache
    before = _version(bot)
    # Another process (here: another connection) sells the last one.
    bot.db_rows("UPDATE listings SET stock = 0 WHERE title = ?", ORANGE)
    assert _version(bot) > before
    assert ORANGE not in await bot.say("我想买脐橙", openid="buyer_c3")
    bot.db_rows("UPDATE listings SET stock = 5, price_fen = 777 WHERE title = ?", ORANGE)
    reply = await bot.say("我想买脐橙", openid="buyer_c4")
    assert ORANGE in reply and "¥7.77/斤" in reply


async def test_a_seller_rename_reaches_cached_results(bot) -> None:
    assert "寻乌果农刘大姐" in await bot.say("我想买脐橙", openid="buyer_r1")
    bot.db_rows("UPDATE sellers SET name = '寻乌刘姐果园' WHERE name = '寻乌果农刘大姐'")
    reply = await bot.say("我想买脐橙", openid="buyer_r2")
    assert "寻乌刘姐果园" in reply and "寻乌果农刘大姐" not in reply


async def test_views_do_not_move_the_catalogue_version(bot) -> None:
    before = _version(bot)
    await bot.say("我想买脐橙", openid="buyer_v1")
    assert _version(bot) == before
    assert await bot.log_rows("SELECT v.n FROM listing_views AS v JOIN listings AS l"
                              " ON l.id = v.listing_id WHERE l.title = ?", ORANGE) == [(1,)]


async def test_reply_and_session_commit_together_and_the_log_follows(bot) -> None:
    reply = await bot.say("我想买脐橙", openid="buyer_t1")
    stored = bot.db_rows("SELECT reply FROM dedupe WHERE openid = 'buyer_t1'")
    assert len(stored) == 1 and stored[0][0]
    assert "query" in bot.db_rows("SELECT state FROM sessions WHERE openid = 'buyer_t1'")[0][0]
    logged = await bot.log_rows("SELECT reply, intent FROM message_log WHERE openid = 'buyer_t1'")
    assert logged == [(reply, "search")]
    # The session saved with the reply drives the next message.
    assert "还没有给您推荐" not in await bot.say("还有吗", openid="buyer_t1")


def test_cached_understanding_keys_on_whether_a_page_is_showing() -> None:
    from bot.pipeline import understood_text
    from nlp import understand

    for text in ("2", "我想买脐橙", "要第2个", "还有吗", "五十块以内的"):
        for session in ({}, {"page": [1, 2, 3]}):
            for _ in range(2):  # the second answer comes from the cache
                assert understood_text(text, session) == understand(text, session), (text, session)
    assert understood_text("2", {"page": [1, 2]}).intent == "choose"
    assert understood_text("2", {}).intent != "choose"
    first = understood_text("我想买脐橙", {})
    first.slots["product"] = "changed"  # a handler's change stays its own
    assert understood_text("我想买脐橙", {}).slots["product"] == "脐橙"


async def test_log_lines_and_views_are_written_by_the_timer_in_arrival_order(bot) -> None:
    replies = [await bot.say(text, openid="buyer_lb") for text in ("我想买脐橙", "还有吗", "你好")]
    await until(lambda: bot.db_rows(
        "SELECT count(*) FROM message_log WHERE openid = 'buyer_lb'") == [(3,)])
    rows = bot.db_rows("SELECT text, reply, at FROM message_log WHERE openid = 'buyer_lb'"
                       " ORDER BY id")
    assert [(text, reply) for text, reply, _ in rows] == list(zip(
        ("我想买脐橙", "还有吗", "你好"), replies))
    assert [at for _, _, at in rows] == sorted(at for _, _, at in rows)
    assert bot.db_rows("SELECT v.n FROM listing_views AS v JOIN listings AS l"
                       " ON l.id = v.listing_id WHERE l.title = ?", ORANGE) == [(1,)]
    found = bot.db_rows("SELECT rowid FROM message_log_fts WHERE message_log_fts MATCH '脐橙'")
    assert len(found) >= 1  # the full-text index comes with the line


async def test_a_full_batch_is_written_without_waiting_for_the_timer(tmp_path: Path) -> None:
    db = Database(tmp_path / "log.db")
    try:
        await db.run(schema.migrate)
        book = logbook.LogBook(db, flush_seconds=60.0)
        entry = messages.LogEntry("batcher", "text", "我想买脐橙", "search", "有", 3, "answered")
        for _ in range(logbook.FLUSH_AT - 1):
            book.add(entry, views=[])
        assert book.waiting == logbook.FLUSH_AT - 1
        book.add(entry)

        def written() -> int:
            return db.call(lambda c: c.execute("SELECT count(*) FROM message_log").fetchone()[0])
        await until(lambda: written() == logbook.FLUSH_AT)
        await book.close()
        assert written() == logbook.FLUSH_AT
    finally:
        db.close()


async def test_a_failed_write_keeps_the_lines_and_a_refused_line_is_dropped_alone(
        tmp_path: Path) -> None:
    db = Database(tmp_path / "log.db")
    try:
        await db.run(schema.migrate)
        book = logbook.LogBook(db, flush_seconds=60.0)

        def line(text: str, outcome: str = "answered") -> messages.LogEntry:
            return messages.LogEntry("writer", "text", text, "search", "有", 3, outcome)

        def texts() -> list[str]:
            return [row[0] for row in db.call(
                lambda c: c.execute("SELECT text FROM message_log ORDER BY id").fetchall())]

        book.add(line("第一条"))
        book.add(line("第二条"))
        db.call(lambda c: c.execute("ALTER TABLE message_log_fts RENAME TO fts_away"))
        with pytest.raises(sqlite3.OperationalError):
            await book.flush()  # the index is missing: nothing written, nothing lost
        assert texts() == [] and book.waiting == 2
        db.call(lambda c: c.execute("ALTER TABLE fts_away RENAME TO message_log_fts"))
        book.add(line("坏的一条", outcome="not-an-outcome"))
        book.add(line("第三条"))
        await book.flush()
        assert texts() == ["第一条", "第二条", "第三条"] and book.waiting == 0
    finally:
        db.close()


async def test_a_killed_server_loses_unwritten_log_lines_but_no_reply(tmp_path: Path) -> None:
    """SIGKILL with lines still held: WeChat's retry gets the same reply from the
    de-duplication record and the session is intact; only the log lines are gone."""
    config = make_config(tmp_path)
    seed(config)
    port = free_port()
    path = tmp_path / "bot.toml"
    path.write_text(
        f'[server]\nport = {port}\nlink_secret = "test-link-secret"\n'
        f'public_url = "http://shop.example"\n'
        f'[wechat]\ntoken = "test-token"\napp_id = "{config.wechat.app_id}"\n'
        f'encoding_aes_key = "{config.wechat.encoding_aes_key}"\n'
        f'[db]\npath = "{config.db.path}"\nlog_flush_seconds = 60.0\n', encoding="utf-8")

    async def start() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--config", str(path), cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)

    async def say(session: aiohttp.ClientSession, msg_id: int) -> str:
        query, body = wire.seal(config, wire.text_xml("buyer_k", "我想买脐橙", msg_id), "buyer_k")
        async with session.post(f"http://127.0.0.1:{port}/wechat", params=query,
                                data=body) as response:
            assert response.status == 200
            return wire.open_reply(config, await response.text()).get("Content", "")

    server = await start()
    try:
        async with aiohttp.ClientSession() as session:
            await ready(session, port)
            first = await say(session, 9_100_001)
            server.send_signal(signal.SIGKILL)
            await server.wait()
            server = await start()
            await ready(session, port)
            assert await say(session, 9_100_001) == first  # the retry: same reply, not redone
    finally:
        server.terminate()
        await server.wait()
    db = Database(config.db.path)
    try:
        assert "脐橙" in first
        assert db.call(lambda c: c.execute(
            "SELECT state FROM sessions WHERE openid = 'buyer_k'").fetchone()[0])
        assert db.call(lambda c: c.execute("SELECT count(*) FROM message_log").fetchone()[0]) == 0
    finally:
        db.close()


def _group_db(tmp_path: Path) -> Database:
    db = Database(tmp_path / "group.db")
    db.call(lambda c: c.executescript(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE kept (n INTEGER NOT NULL CHECK (n >= 0),"
        " parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);"))
    return db


def _kept(db: Database) -> list[int]:
    return [row[0] for row in db.call(lambda c: c.execute("SELECT n FROM kept ORDER BY n"))]


def test_a_group_commits_together_and_a_failing_write_is_undone_alone(tmp_path: Path) -> None:
    db = _group_db(tmp_path)
    other = Database(tmp_path / "group.db")
    try:
        def insert(*numbers: int):
            def body(conn: sqlite3.Connection) -> int:
                for n in numbers:
                    conn.execute("INSERT INTO kept (n) VALUES (?)", (n,))
                return len(numbers)
            return body

        def seen_by_another_connection(_conn: sqlite3.Connection, result: int) -> tuple[int, list]:
            return result, _kept(other)  # then() runs after the commit: others see it

        outcomes = db.call(commit_group, [Write(insert(1, 2)), Write(insert(3, -1)),
                                          Write(insert(4), seen_by_another_connection)])
        assert outcomes[0] == (2, None)
        assert isinstance(outcomes[1][1], sqlite3.IntegrityError)  # 3 went with the -1
        assert outcomes[2] == ((1, [1, 2, 4]), None)
        assert _kept(db) == [1, 2, 4]
    finally:
        other.close()
        db.close()


def test_a_refused_commit_fails_every_write_of_the_group_and_keeps_nothing(tmp_path: Path) -> None:
    db = _group_db(tmp_path)
    try:
        def insert(n: int, parent: int | None = None):
            return Write(lambda conn: conn.execute("INSERT INTO kept (n, parent) VALUES (?, ?)",
                                                   (n, parent)).rowcount)
        outcomes = db.call(commit_group, [insert(1), insert(2, parent=99)])  # no parent 99
        assert all(isinstance(error, sqlite3.IntegrityError) for _, error in outcomes)
        assert _kept(db) == []
        assert db.call(commit_group, [insert(5)]) == [(1, None)]  # the connection is usable
        assert _kept(db) == [5]
    finally:
        db.close()


async def test_concurrent_writes_each_get_their_own_result(tmp_path: Path) -> None:
    db = _group_db(tmp_path)
    try:
        def insert(conn: sqlite3.Connection, n: int) -> int:
            conn.execute("INSERT INTO kept (n) VALUES (?)", (n,))
            return n * 10

        def count(conn: sqlite3.Connection, result: int) -> tuple[int, int]:
            return result, conn.execute("SELECT count(*) FROM kept WHERE n = ?",
                                        (result // 10,)).fetchone()[0]
        results = await asyncio.gather(*(db.write(insert, n, then=count) for n in range(-3, 60)),
                                       return_exceptions=True)
        assert all(isinstance(r, sqlite3.IntegrityError) for r in results[:3])
        assert results[3:] == [(n * 10, 1) for n in range(60)]
        assert _kept(db) == list(range(60))
    finally:
        db.close()


def test_cached_reliability_follows_every_order_change(tmp_path: Path) -> None:
    """Reliability is kept under the orders' counter: an order placed, completed or
    cancelled by its seller reaches the next search in any process."""
    from handlers.request import Request, retrieve_rankable
    from nlp import understand

    db = Database(tmp_path / "rel.db")
    other = Database(tmp_path / "rel.db")  # another process's connection
    try:
        db.call(schema.migrate)
        rows = [{"sku": f"egg-{n}", "title": "散养土鸡蛋 30枚", "category": "禽蛋", "price": 40,
                 "unit": "盒", "stock": 10, "origin": "云南省 昭通市 镇雄县", "seller": f"农户{n}"}
                for n in range(2)]
        (tmp_path / "eggs.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        db.call(listings.import_rows, read(tmp_path / "eggs.json"))
        request = Request.from_understanding(understand("土鸡蛋"))

        def reliability() -> dict[int, float]:
            return db.call(retrieve_rankable, request)[1]

        def order(status: str, cancelled_by: str | None = None) -> None:
            other.call(lambda c: c.execute(
                "INSERT INTO orders (order_no, listing_id, seller_id, buyer, title, unit,"
                " price_fen, quantity, total_fen, status, cancelled_by, created_at, status_at)"
                " SELECT ?, id, seller_id, 'b', title, unit, price_fen, 1, price_fen, ?, ?, 0, 0"
                " FROM listings WHERE sku = 'egg-0'",
                (f"20261202-Q{status[:2]}{cancelled_by or ''}", status, cancelled_by)))

        assert reliability() == {}
        order("completed")
        assert reliability() == {1: 1.0}
        order("cancelled", "seller")
        assert reliability() == {1: 0.5}
        other.call(lambda c: c.execute("UPDATE orders SET cancelled_by = 'buyer'"
                                       " WHERE cancelled_by = 'seller'"))
        assert reliability() == {1: 1.0}
    finally:
        other.close()
        db.close()


def test_a_cache_asked_with_an_older_version_neither_answers_nor_forgets() -> None:
    """A message claimed just before a catalogue change may ask after a newer message
    filled the cache: it must not get the newer entries (nor clear them)."""
    from handlers.request import _VersionedCache

    cache = _VersionedCache()
    assert cache.get(("f", 2), ("k",)) is None
    cache.put(("f", 2), ("k",), "found at 2")
    assert cache.get(("f", 1), ("k",)) is None           # behind the times
    assert cache.get(("f", 2), ("k",)) == "found at 2"    # still there
    cache.put(("f", 1), ("k",), "found at 1")             # refused: older than the entries
    assert cache.get(("f", 2), ("k",)) == "found at 2"
    assert cache.get(("f", 3), ("k",)) is None           # newer: the old entries go
    assert cache.get(("other file", 1), ("k",)) is None


def test_ranked_tiers_are_kept_per_list_and_minute_and_rotated_per_buyer() -> None:
    from handlers import ranking
    from db.listings import Candidate

    def offer(n: int, bm25: float, seller: int) -> Candidate:
        return Candidate(id=n, sku=f"s{n}", title="土鸡蛋", price_fen=100, unit="盒", origin="",
                         seller="", stock=1, status="live", seller_id=seller, bm25=bm25,
                         updated_at=0.0)
    listed = [offer(n, -10.0, n) for n in range(1, 9)] + [offer(9, -2.0, 9)]
    weights = ranking.Weights(boost_freshness=0.0)
    orders = {ranking.rank(listed, None, (), {}, 120.0, weights, f"buyer{b}", "2026-12-02")[0].id
              for b in range(40)}
    assert len(orders) > 3  # near-ties take turns across buyers, from the kept tiers
    one = ranking.rank(listed, None, (), {}, 125.0, weights, "buyer1", "2026-12-02")
    assert one == ranking.rank(listed, None, (), {}, 130.0, weights, "buyer1", "2026-12-02")
    assert one[-1].id == 9  # the weak match stays last
    cancelled = {1: 0.0}  # seller 1 cancelled its orders: a new dict is scored afresh
    moved = ranking.rank(listed, None, (), cancelled, 130.0, weights, "buyer1", "2026-12-02")
    assert [c.id for c in moved[-2:]] == [1, 9] and [c.id for c in one[-2:]] != [1, 9]
