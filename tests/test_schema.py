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
