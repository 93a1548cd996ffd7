"""Sellers, listings and their FTS5 index."""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from db.catalogue import CatalogueRow
from db.database import transaction
from nlp import segment

# bm25 column weights: title, category, tags, description, origin.
FTS_WEIGHTS = (10.0, 2.0, 3.0, 1.0, 5.0)


@dataclass(frozen=True)
class Offer:
    id: int
    sku: str
    title: str
    price_fen: int
    unit: str
    origin: str
    seller: str
    stock: int
    status: str


def _seller_id(conn: sqlite3.Connection, row: CatalogueRow, now: float) -> int:
    ident = row.seller_phone or f"name:{row.seller}"
    conn.execute(
        "INSERT INTO sellers (ident, name, phone, assisted, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(ident) DO UPDATE SET name = excluded.name, assisted = excluded.assisted",
        (ident, row.seller, row.seller_phone, int(row.assisted), now),
    )
    return conn.execute("SELECT id FROM sellers WHERE ident = ?", (ident,)).fetchone()[0]


def _index(conn: sqlite3.Connection, listing_id: int, row: CatalogueRow) -> None:
    conn.execute("DELETE FROM listings_fts WHERE rowid = ?", (listing_id,))
    conn.execute(
        "INSERT INTO listings_fts (rowid, title, category, tags, description, origin) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (listing_id, segment.index_text(row.title), segment.index_text(row.category),
         segment.index_text(" ".join(row.tags)), segment.index_text(row.description),
         segment.index_text(row.origin)),
    )


def _upsert(conn: sqlite3.Connection, row: CatalogueRow, now: float) -> int:
    seller_id = _seller_id(conn, row, now)
    conn.execute(
        "INSERT INTO listings (sku, seller_id, title, category, price_fen, unit, stock, origin,"
        " description, tags, status, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'live', ?, ?)"
        " ON CONFLICT(sku) DO UPDATE SET seller_id = excluded.seller_id, title = excluded.title,"
        " category = excluded.category, price_fen = excluded.price_fen, unit = excluded.unit,"
        " stock = excluded.stock, origin = excluded.origin, description = excluded.description,"
        " tags = excluded.tags, status = 'live', updated_at = excluded.updated_at",
        (row.sku, seller_id, row.title, row.category, row.price_fen, row.unit, row.stock,
         row.origin, row.description, json.dumps(list(row.tags), ensure_ascii=False), now, now),
    )
    listing_id = conn.execute("SELECT id FROM listings WHERE sku = ?", (row.sku,)).fetchone()[0]
    _index(conn, listing_id, row)
    return listing_id


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    delisted: int


def import_rows(
    conn: sqlite3.Connection,
    rows: Sequence[CatalogueRow],
    replace: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Upsert every row in one transaction: all or nothing."""
    now = time.time()
    with transaction(conn):
        existing = {r[0] for r in conn.execute("SELECT sku FROM listings")}
        for done, row in enumerate(rows, 1):
            _upsert(conn, row, now)
            if progress and (done % 500 == 0 or done == len(rows)):
                progress(done, len(rows))
        delisted = _delist_absent(conn, {row.sku for row in rows}, now) if replace else 0
    created = sum(1 for row in rows if row.sku not in existing)
    return ImportResult(created=created, updated=len(rows) - created, delisted=delisted)


def _delist_absent(conn: sqlite3.Connection, keep: set[str], now: float) -> int:
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS import_keep (sku TEXT PRIMARY KEY)")
    conn.execute("DELETE FROM import_keep")
    conn.executemany("INSERT OR IGNORE INTO import_keep (sku) VALUES (?)", ((s,) for s in keep))
    cursor = conn.execute(
        "UPDATE listings SET status = 'delisted', updated_at = ? WHERE status != 'delisted'"
        " AND sku NOT IN (SELECT sku FROM import_keep)",
        (now,),
    )
    conn.execute("DELETE FROM import_keep")
    return cursor.rowcount


def fts_query(words: Sequence[str]) -> str:
    """An FTS5 MATCH expression from buyer words; every word is quoted, so it is only text.

    A word matches as a whole or through all of its search-mode parts, so 赣南脐橙
    also finds a listing written 赣南 脐橙.
    """
    clauses = []
    for word in words:
        whole = _quote(word)
        parts = [p for p in segment.search_terms(word) if p != word]
        if parts:
            clauses.append(f"({whole} OR ({' AND '.join(_quote(p) for p in parts)}))")
        else:
            clauses.append(whole)
    return " AND ".join(clauses)


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


_SEARCH_SQL = """
SELECT l.id, l.sku, l.title, l.price_fen, l.unit, l.origin, s.name AS seller, l.stock, l.status
FROM listings_fts
JOIN listings AS l ON l.id = listings_fts.rowid
JOIN sellers AS s ON s.id = l.seller_id
WHERE listings_fts MATCH :match AND l.status = 'live' AND l.stock > 0
  AND (:price_max IS NULL OR l.price_fen <= :price_max)
ORDER BY bm25(listings_fts, {weights})
LIMIT :limit OFFSET :offset
""".format(weights=", ".join(str(w) for w in FTS_WEIGHTS))


def search(
    conn: sqlite3.Connection,
    words: Sequence[str],
    price_max_fen: int | None = None,
    limit: int = 5,
    offset: int = 0,
) -> list[Offer]:
    """Live, in-stock listings matching every word, best bm25 first."""
    match = fts_query(words)
    if not match:
        return []
    rows = conn.execute(_SEARCH_SQL, {"match": match, "price_max": price_max_fen,
                                      "limit": limit, "offset": offset})
    return [Offer(**dict(row)) for row in rows]


def get(conn: sqlite3.Connection, listing_id: int) -> Offer | None:
    row = conn.execute(
        "SELECT l.id, l.sku, l.title, l.price_fen, l.unit, l.origin, s.name AS seller, l.stock,"
        " l.status FROM listings AS l JOIN sellers AS s ON s.id = l.seller_id WHERE l.id = ?",
        (listing_id,),
    ).fetchone()
    return Offer(**dict(row)) if row else None


def count_live(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM listings WHERE status = 'live'").fetchone()[0]
