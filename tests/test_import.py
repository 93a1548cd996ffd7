"""Catalogue import: all or nothing, rows named in errors, updates and --replace."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from db import Database, listings, schema
from db.catalogue import CatalogueError, read
from tests.conftest import DATA, make_config

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(f'[db]\npath = "{tmp_path / "bot.db"}"\n', encoding="utf-8")
    return path


def count(tmp_path: Path, sql: str = "SELECT count(*) FROM listings") -> int:
    db = Database(tmp_path / "bot.db")
    try:
        db.call(schema.migrate)
        return db.call(lambda c: c.execute(sql).fetchone()[0])
    finally:
        db.close()


def test_import_json_then_csv_update_and_replace(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    done = run_cli("import", str(DATA / "catalogue.json"), "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert "6 new" in done.stdout
    csv_path = tmp_path / "update.csv"
    csv_path.write_text(
        "sku,title,category,price,unit,stock,origin,seller,seller_phone,tags,assisted\n"
        "T-QC-1,赣南脐橙 特价,水果,7.5,斤,400,江西省 赣州市 寻乌县,寻乌果农刘大姐,13900000001,现摘;特价,true\n"
        "NEW-1,定西马铃薯 5斤,蔬菜,2.5,斤,900,甘肃省 定西市 安定区,定西薯农,,,false\n",
        encoding="utf-8")
    done = run_cli("import", str(csv_path), "--config", str(config), "--replace")
    assert done.returncode == 0, done.stderr
    assert "1 new, 1 updated, 5 delisted" in done.stdout
    assert count(tmp_path, "SELECT price_fen FROM listings WHERE sku = 'T-QC-1'") == 750
    assert count(tmp_path, "SELECT count(*) FROM listings WHERE status = 'live'") == 2
    assert count(tmp_path, "SELECT tags FROM listings WHERE sku = 'T-QC-1'") == '["现摘", "特价"]'


@pytest.mark.parametrize("rows, expected", [
    ([{"sku": "A"}], "row 1, field title: missing"),
    ([{"sku": "A", "title": "", "category": "水果", "price": 1, "unit": "斤", "stock": 1,
       "origin": "", "seller": "s"}], "row 1, field title"),
    ([{"sku": "A", "title": "苹果", "category": "水果", "price": "abc", "unit": "斤",
       "stock": 1, "origin": "", "seller": "s"}], "row 1, field price"),
    ([{"sku": "A", "title": "苹果", "category": "水果", "price": 1, "unit": "斤", "stock": -2,
       "origin": "", "seller": "s"}], "row 1, field stock"),
    ([{"sku": "A", "title": "苹果", "category": "水果", "price": 1, "unit": "斤", "stock": 1,
       "origin": "", "seller": "s", "colour": "red"}], "row 1, field colour"),
])
def test_bad_rows_are_named_and_nothing_is_written(tmp_path: Path, rows, expected) -> None:
    good = json.loads((DATA / "catalogue.json").read_text(encoding="utf-8"))
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(good[:2] + rows, ensure_ascii=False), encoding="utf-8")
    done = run_cli("import", str(path), "--config", str(write_config(tmp_path)))
    assert done.returncode == 1
    assert expected.replace("row 1", "row 3") in done.stderr
    assert "Traceback" not in done.stderr
    assert count(tmp_path) == 0


def test_csv_error_names_row_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("sku,title,category,price,unit,stock,origin,seller\n"
                    "A,苹果,水果,3,斤,5,陕西,老王\n"
                    "B,梨,水果,3,斤,five,陕西,老王\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"row 2 \(line 3\), field stock"):
        read(path)


def test_duplicate_sku_and_broken_json_are_refused(tmp_path: Path) -> None:
    good = json.loads((DATA / "catalogue.json").read_text(encoding="utf-8"))
    dup = tmp_path / "dup.json"
    dup.write_text(json.dumps([good[0], good[0]], ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CatalogueError, match="row 2, field sku: duplicate of row 1"):
        read(dup)
    broken = tmp_path / "broken.json"
    broken.write_text('[{"sku": "A",', encoding="utf-8")
    done = run_cli("import", str(broken), "--config", str(write_config(tmp_path)))
    assert done.returncode == 1 and "invalid JSON" in done.stderr


def test_failed_write_mid_import_rolls_back(tmp_path: Path) -> None:
    rows = read(DATA / "catalogue.json")
    db = Database(tmp_path / "bot.db")
    try:
        db.call(schema.migrate)
        db.call(lambda c: c.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON listings WHEN NEW.sku = 'T-RICE-1'"
            " BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"))
        with pytest.raises(Exception, match="disk trouble"):
            db.call(listings.import_rows, rows)
        assert db.call(lambda c: c.execute("SELECT count(*) FROM listings").fetchone()[0]) == 0
        assert db.call(lambda c: c.execute("SELECT count(*) FROM listings_fts").fetchone()[0]) == 0
    finally:
        db.close()


def test_search_needs_every_word_and_ranks_title_matches_first(tmp_path: Path) -> None:
    db = Database(tmp_path / "bot.db")
    try:
        db.call(schema.migrate)
        db.call(listings.import_rows, read(DATA / "catalogue.json"))
        oranges = db.call(listings.search, ["脐橙"])
        assert [o.sku for o in oranges][:1] == ["T-QC-2"]  # 脐橙 twice in its title
        assert {o.sku for o in oranges} == {"T-QC-1", "T-QC-2"}
        assert [o.sku for o in db.call(listings.search, ["赣南", "脐橙"])] == ["T-QC-1"]
        assert [o.sku for o in db.call(listings.search, ["赣南脐橙"])] == ["T-QC-1"]
        assert db.call(listings.search, ["脐橙", "大米"]) == []
    finally:
        db.close()


def test_parallel_segmentation_indexes_exactly_like_one_process(tmp_path: Path,
                                                                monkeypatch) -> None:
    from bench.search import synthetic_rows

    rows = synthetic_rows(400)
    monkeypatch.setattr(listings, "PARALLEL_MIN_ROWS", 100)
    indexed = []
    for workers in (1, 2):
        db = Database(tmp_path / f"w{workers}.db")
        try:
            db.call(schema.migrate)
            db.call(listings.import_rows, rows, False, None, workers)
            indexed.append(db.call(lambda c: [tuple(r) for r in c.execute(
                "SELECT l.sku, l.product, f.title, f.category, f.origin FROM listings l"
                " JOIN listings_fts f ON f.rowid = l.id ORDER BY l.sku")]))
        finally:
            db.close()
    assert len(indexed[0]) == 400 and indexed[0] == indexed[1]
