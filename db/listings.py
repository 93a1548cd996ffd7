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
from nlp.goods import goods_terms, weight_factor

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


INDEX_VERSION = 7  # bump when what goes into listings_fts changes; stale rows re-index


def _index(conn: sqlite3.Connection, listing_id: int, title: str, category: str,
           tags: Sequence[str], description: str, origin: str) -> None:
    """Segmented text plus the listing's canonical goods (product, category path)."""
    goods = goods_terms(title, category)
    conn.execute("DELETE FROM listings_fts WHERE rowid = ?", (listing_id,))
    conn.execute(
        "INSERT INTO listings_fts (rowid, title, category, tags, description, origin) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (listing_id, segment.index_text(title),
         " ".join([segment.index_text(category), *goods]),
         segment.index_text(" ".join(tags)), segment.index_text(description),
         segment.index_text(origin)),
    )
    factor = weight_factor(_unit_of(conn, listing_id))
    conn.execute("UPDATE listings SET product = ?, weight_factor = ?, index_version = ? WHERE id = ?",
                 (goods[0] if goods else None, float(factor) if factor else None, INDEX_VERSION,
                  listing_id))


def _unit_of(conn: sqlite3.Connection, listing_id: int) -> str:
    return conn.execute("SELECT unit FROM listings WHERE id = ?", (listing_id,)).fetchone()[0]


def reindex_stale(conn: sqlite3.Connection) -> int:
    """Re-index listings indexed by an older version of the segmentation or lexicons."""
    rows = conn.execute("SELECT id, title, category, tags, description, origin FROM listings"
                        " WHERE index_version < ?", (INDEX_VERSION,)).fetchall()
    with transaction(conn):
        for row in rows:
            _index(conn, row["id"], row["title"], row["category"], json.loads(row["tags"]),
                   row["description"], row["origin"])
    return len(rows)


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
    _index(conn, listing_id, row.title, row.category, row.tags, row.description, row.origin)
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


@dataclass(frozen=True)
class Goods:
    """Any of terms among a listing's canonical goods, or all of parts in the title; and
    (for a specialty) any of origin."""
    terms: tuple[str, ...]
    origin: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchSpec:
    goods: tuple[Goods, ...] = ()              # any of these
    categories: tuple[str, ...] = ()           # any of these in the goods column
    words: tuple[str, ...] = ()                # each must match somewhere (fallback)
    origin: tuple[str, ...] = ()               # any of these place names
    attributes: tuple[tuple[str, ...], ...] = ()  # each: any of its wordings
    price_min_fen: int | None = None
    price_max_fen: int | None = None
    per_jin: bool = False                      # bounds are per 斤: weight-priced listings only
    unit: str | None = None                    # bounds are per this counted unit
    quantity: float | None = None              # a total budget is spread over this many units
    exclude: tuple[int, ...] = ()
    cap: int = 200                             # candidates ranked exactly

    @property
    def empty(self) -> bool:
        return not (self.goods or self.categories or self.words)


@dataclass(frozen=True)
class Candidate(Offer):
    seller_id: int = 0
    assisted: bool = False
    product: str | None = None
    tags: str = "[]"
    updated_at: float = 0.0
    bm25: float = 0.0
    jin_price_fen: float | None = None


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _any(terms: Sequence[str]) -> str:
    return "(" + " OR ".join(_quote(t) for t in dict.fromkeys(terms)) + ")"


def _word(word: str) -> str:
    """A word as a whole, or through all of its search-mode parts (赣南脐橙 = 赣南 脐橙)."""
    parts = [p for p in segment.search_terms(word) if p != word]
    whole = _quote(word)
    return f"({whole} OR ({' AND '.join(_quote(p) for p in parts)}))" if parts else whole


def fts_query(words: Sequence[str]) -> str:
    """Every buyer word must match; each is quoted, so FTS syntax in it is only text."""
    return " AND ".join(_word(word) for word in words if word.strip())


def match_expression(spec: SearchSpec) -> str:
    """The FTS5 MATCH text for a spec: goods, then origin and attribute constraints."""
    alternatives = []
    for goods in spec.goods:
        clause = "category : " + _any(goods.terms)
        if goods.parts:
            clause = f"({clause} OR title : ({' AND '.join(_quote(p) for p in goods.parts)}))"
        if goods.origin:
            clause = f"({clause} AND origin : {_any(goods.origin)})"
        alternatives.append(clause)
    if spec.categories:
        alternatives.append("category : " + _any(spec.categories))
    clauses = ["(" + " OR ".join(alternatives) + ")"] if alternatives else []
    if spec.words:
        clauses.append(fts_query(spec.words))
    if spec.origin:
        clauses.append("origin : " + _any(spec.origin))
    clauses += ["{title tags description} : " + _any(wordings) for wordings in spec.attributes]
    return " AND ".join(clause for clause in clauses if clause)


_FIND_SQL = """
SELECT l.id, l.sku, l.title, l.price_fen, l.unit, l.origin, s.name AS seller, l.stock, l.status,
       l.seller_id, s.assisted, l.product, l.tags, l.updated_at,
       bm25(listings_fts, {weights}) AS bm25,
       CASE WHEN l.weight_factor IS NOT NULL THEN l.price_fen / l.weight_factor END AS jin_price_fen
FROM listings_fts
JOIN listings AS l ON l.id = listings_fts.rowid
JOIN sellers AS s ON s.id = l.seller_id
WHERE listings_fts MATCH :match AND l.status = 'live' AND l.stock > 0
  AND (:per_jin = 0 OR l.weight_factor IS NOT NULL)
  AND (:unit IS NULL OR l.unit = :unit)
  AND (:low IS NULL OR (CASE WHEN :per_jin THEN l.price_fen / l.weight_factor
                             ELSE l.price_fen * :quantity END) >= :low)
  AND (:high IS NULL OR (CASE WHEN :per_jin THEN l.price_fen / l.weight_factor
                              ELSE l.price_fen * :quantity END) <= :high)
ORDER BY listings_fts.rowid DESC
LIMIT :cap
""".format(weights=", ".join(str(w) for w in FTS_WEIGHTS))


def find(conn: sqlite3.Connection, spec: SearchSpec) -> list[Candidate]:
    """Live, in-stock listings meeting every constraint: the newest spec.cap of them.

    The candidate cap is what keeps search fast on big catalogues: FTS5 walks its
    matches in rowid order (newest listing first) and stops once `cap` rows pass the
    filters, so bm25 is computed for those rows only, never for every match. The
    caller ranks the candidates exactly (bm25 plus boosts).
    """
    if spec.empty:
        return []
    rows = conn.execute(_FIND_SQL, {
        "match": match_expression(spec), "per_jin": int(spec.per_jin), "unit": spec.unit,
        "low": spec.price_min_fen, "high": spec.price_max_fen, "quantity": spec.quantity or 1,
        "cap": spec.cap + len(spec.exclude)})
    excluded = set(spec.exclude)
    return [Candidate(**{**dict(row), "assisted": bool(row["assisted"])})
            for row in rows if row["id"] not in excluded]


def search(conn: sqlite3.Connection, words: Sequence[str], price_max_fen: int | None = None,
           limit: int = 5) -> list[Candidate]:
    """Words only: every word must match (used where no understanding is at hand)."""
    return find(conn, SearchSpec(words=tuple(words), price_max_fen=price_max_fen))[:limit]


def get(conn: sqlite3.Connection, listing_id: int) -> Offer | None:
    row = conn.execute(
        "SELECT l.id, l.sku, l.title, l.price_fen, l.unit, l.origin, s.name AS seller, l.stock,"
        " l.status FROM listings AS l JOIN sellers AS s ON s.id = l.seller_id WHERE l.id = ?",
        (listing_id,),
    ).fetchone()
    return Offer(**dict(row)) if row else None


def reliability(conn: sqlite3.Connection, seller_ids: Sequence[int]) -> dict[int, float]:
    """Share of each seller's closed orders that were fulfilled; sellers without any are absent."""
    if not seller_ids:
        return {}
    marks = ",".join("?" * len(seller_ids))
    rows = conn.execute(
        f"SELECT seller_id, sum(status = 'fulfilled') * 1.0 / count(*) FROM orders"
        f" WHERE seller_id IN ({marks}) AND status != 'placed' GROUP BY seller_id",
        list(seller_ids))
    return {row[0]: row[1] for row in rows}


def count_live(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM listings WHERE status = 'live'").fetchone()[0]
