"""Versioned schema: an older data/ folder upgrades in place."""
from __future__ import annotations

from pathlib import Path

from db import Database, schema


def test_version_1_database_upgrades_and_keeps_its_data(tmp_path: Path) -> None:
    db = Database(tmp_path / "old.db")
    try:
        assert db.call(schema.migrate, 1) == 1
        db.call(lambda c: c.execute(
            "INSERT INTO unmet_demand (openid, text, product, created_at) VALUES ('u', '榴莲', '榴莲', 1)"))
        assert db.call(schema.migrate) == schema.CURRENT_VERSION
        row = db.call(lambda c: c.execute(
            "SELECT text, origin, price_max_fen, buyer_city FROM unmet_demand").fetchone())
        assert tuple(row) == ("榴莲", None, None, None)
        tables = {r[0] for r in db.call(lambda c: c.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'").fetchall())}
        assert {"cs_quota", "restock_alerts"} <= tables
        assert db.call(schema.migrate) == schema.CURRENT_VERSION  # idempotent
    finally:
        db.close()


def test_wal_and_busy_timeout_are_on(tmp_path: Path) -> None:
    db = Database(tmp_path / "w.db")
    try:
        assert db.call(lambda c: c.execute("PRAGMA journal_mode").fetchone()[0]) == "wal"
        assert db.call(lambda c: c.execute("PRAGMA busy_timeout").fetchone()[0]) >= 5000
    finally:
        db.close()


def test_view_counts_move_to_their_own_table_and_skip_deleted_listings(tmp_path: Path) -> None:
    from db import listings

    db = Database(tmp_path / "views.db")
    try:
        db.call(schema.migrate, 13)
        db.call(lambda c: c.executescript(
            "INSERT INTO sellers (ident, name, created_at) VALUES ('s', 'S', 0);"
            "INSERT INTO listings (sku, seller_id, title, price_fen, unit, stock, status,"
            " created_at, updated_at, views) VALUES"
            " ('a', 1, '土豆', 150, '斤', 10, 'live', 0, 0, 7),"
            " ('b', 1, '红薯', 150, '斤', 10, 'live', 0, 0, 0);"))
        assert db.call(schema.migrate) == schema.CURRENT_VERSION
        db.call(lambda c: listings.add_view_counts(c, {1: 2, 2: 1, 99: 5}))  # 99: no such listing

        def counts() -> list[tuple[int, int]]:
            return [tuple(r) for r in db.call(lambda c: c.execute(
                "SELECT listing_id, n FROM listing_views ORDER BY listing_id").fetchall())]
        assert counts() == [(1, 9), (2, 1)]
    finally:
        db.close()
