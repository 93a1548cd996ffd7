"""Sellers, listings and their FTS5 index."""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import sqlite3
import time
import multiprocessing
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

from db import media, outbox, sellers
from db.catalogue import CatalogueRow
from db.database import transaction
from db.sellers import OwnListing
from nlp import segment
from nlp.goods import goods_terms, search_parts, shelf_text, weight_factor

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
    photo: str | None = None  # /media/NAME on our own host, when the seller sent one


INDEX_VERSION = 22  # bump when what goes into listings_fts changes; stale rows re-index
PARALLEL_MIN_ROWS = 20_000  # below this, worker processes cost more than they save
_CHUNK = 2_000


@dataclass(frozen=True)
class Prepared:
    """A listing's index entry, computed away from the database (in worker processes
    for big imports): segmented FTS columns plus its canonical goods."""
    fts: tuple[str, str, str, str, str]
    product: str | None
    weight_factor: float | None


def prepare(title: str, category: str, tags: Sequence[str], description: str, origin: str,
            unit: str) -> Prepared:
    goods = goods_terms(title, category, tags, description)
    factor = weight_factor(unit)
    return Prepared(
        fts=(segment.index_text(title), " ".join([_short_field(shelf_text(category)), *goods]),
             _short_field(" ".join(tags)), segment.index_text(description),
             _short_field(origin)),
        product=goods[0] if goods else None, weight_factor=float(factor) if factor else None)


@lru_cache(maxsize=65_536)
def _short_field(text: str) -> str:
    """Categories, tag sets and origins repeat across a catalogue: segment each once."""
    return segment.index_text(text)


def _prepare_rows(rows: Sequence[CatalogueRow]) -> list[Prepared]:
    return [prepare(r.title, r.category, r.tags, r.description, r.origin, r.unit) for r in rows]


def _prepared(rows: Sequence[CatalogueRow], workers: int) -> Iterator[Prepared]:
    """Index entries in row order; big imports segment on every core while we write."""
    if workers <= 1 or len(rows) < PARALLEL_MIN_ROWS:
        for start in range(0, len(rows), _CHUNK):
            yield from _prepare_rows(rows[start:start + _CHUNK])
        return
    # fork: workers inherit the loaded dictionaries instead of loading their own.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=segment.load) as pool:
        # A bounded window of chunks in flight keeps memory flat however big the file.
        pending: deque[Future[list[Prepared]]] = deque()
        for start in range(0, len(rows), _CHUNK):
            pending.append(pool.submit(_prepare_rows, rows[start:start + _CHUNK]))
            if len(pending) > 2 * workers:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def _write_index(conn: sqlite3.Connection, listing_id: int, entry: Prepared, fresh: bool) -> None:
    if not fresh:
        conn.execute("DELETE FROM listings_fts WHERE rowid = ?", (listing_id,))
    conn.execute("INSERT INTO listings_fts (rowid, title, category, tags, description, origin)"
                 " VALUES (?, ?, ?, ?, ?, ?)", (listing_id, *entry.fts))


def reindex_stale(conn: sqlite3.Connection) -> int:
    """Re-index listings indexed by an older version of the segmentation or lexicons."""
    rows = conn.execute("SELECT id, title, category, tags, description, origin, unit FROM listings"
                        " WHERE index_version < ?", (INDEX_VERSION,)).fetchall()
    with transaction(conn):
        for row in rows:
            entry = prepare(row["title"], row["category"], json.loads(row["tags"]),
                            row["description"], row["origin"], row["unit"])
            _write_index(conn, row["id"], entry, fresh=False)
            conn.execute("UPDATE listings SET product = ?, weight_factor = ?, index_version = ?"
                         " WHERE id = ?", (entry.product, entry.weight_factor, INDEX_VERSION,
                                           row["id"]))
    return len(rows)


def _seller_id(conn: sqlite3.Connection, row: CatalogueRow, now: float,
               known: dict[tuple[str, str, bool], int]) -> int:
    ident = row.seller_phone or f"name:{row.seller}"
    key = (ident, row.seller, row.assisted)
    if key not in known:
        known[key] = conn.execute(
            "INSERT INTO sellers (ident, name, phone, assisted, created_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(ident) DO UPDATE SET name = excluded.name, assisted = excluded.assisted"
            " RETURNING id", (ident, row.seller, row.seller_phone, int(row.assisted), now),
        ).fetchone()[0]
    return known[key]


def _upsert(conn: sqlite3.Connection, row: CatalogueRow, entry: Prepared, now: float,
            sellers: dict[tuple[str, str, bool], int], fresh: bool) -> int:
    seller_id = _seller_id(conn, row, now, sellers)
    listing_id = conn.execute(
        "INSERT INTO listings (sku, seller_id, title, category, price_fen, unit, stock, origin,"
        " description, tags, status, created_at, updated_at, product, weight_factor, index_version)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'live', ?, ?, ?, ?, ?)"
        " ON CONFLICT(sku) DO UPDATE SET seller_id = excluded.seller_id, title = excluded.title,"
        " category = excluded.category, price_fen = excluded.price_fen, unit = excluded.unit,"
        " stock = excluded.stock, origin = excluded.origin, description = excluded.description,"
        " tags = excluded.tags, status = 'live', updated_at = excluded.updated_at,"
        " product = excluded.product, weight_factor = excluded.weight_factor,"
        " index_version = excluded.index_version RETURNING id",
        (row.sku, seller_id, row.title, row.category, row.price_fen, row.unit, row.stock,
         row.origin, row.description, json.dumps(list(row.tags), ensure_ascii=False), now, now,
         entry.product, entry.weight_factor, INDEX_VERSION),
    ).fetchone()[0]
    _write_index(conn, listing_id, entry, fresh)
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
    workers: int = 1,
) -> ImportResult:
    """Upsert every row in one transaction: all or nothing."""
    now = time.time()
    sellers: dict[tuple[str, str, bool], int] = {}
    with transaction(conn):
        existing = {r[0] for r in conn.execute("SELECT sku FROM listings")}
        for done, (row, entry) in enumerate(zip(rows, _prepared(rows, workers)), 1):
            _upsert(conn, row, entry, now, sellers, fresh=row.sku not in existing)
            if progress and (done % 5000 == 0 or done == len(rows)):
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
        " AND source = 'import' AND sku NOT IN (SELECT sku FROM import_keep)",
        (now,),
    )
    conn.execute("DELETE FROM import_keep")
    return cursor.rowcount


@dataclass(frozen=True)
class Goods:
    """Any of terms among a listing's canonical goods, or all of parts in the title; and
    (for a specialty) any of origin; and any of within among its goods (鲜枣: 枣 in 水果)."""
    terms: tuple[str, ...]
    origin: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
    within: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchSpec:
    goods: tuple[Goods, ...] = ()              # any of these
    categories: tuple[str, ...] = ()           # any of these in the goods column
    words: tuple[str, ...] = ()                # each must match somewhere (fallback)
    title_words: tuple[tuple[str, ...], ...] = ()  # each: one of its wordings in the title
                                               # (白心 in 白心火龙果; 腱子 as 牛腱)
    title_any: tuple[str, ...] = ()            # any of these in the title (title-text fallback)
    described_words: tuple[tuple[str, ...], ...] = ()  # as title_words, in the title, tags or
                                               # description (又名膨风茶: a listing's other name)
    title_unless: tuple[str, ...] = ()         # ... unless the goods column already has one of these
    origin: tuple[str, ...] = ()               # any of these place names
    attributes: tuple[tuple[str, ...], ...] = ()  # each: any of its wordings
    price_min_fen: int | None = None
    price_max_fen: int | None = None
    per_jin: bool = False                      # bounds are per 斤: weight-priced listings only
    unit: str | None = None                    # bounds are per this counted unit
    quantity: float | None = None              # a total budget is spread over this many units
    exclude: tuple[int, ...] = ()
    cap: int = 30                              # candidates ranked exactly
    sold_out: bool = False                     # live listings with no stock instead

    @property
    def empty(self) -> bool:
        return not (self.goods or self.categories or self.words or self.title_any
                    or self.attributes)


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
    parts = search_parts(word)
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
        if goods.within:
            clause = f"({clause} AND category : {_any(goods.within)})"
        alternatives.append(clause)
    if spec.categories:
        alternatives.append("category : " + _any(spec.categories))
    if spec.title_any:
        titled = "title : (" + " OR ".join(_word(w) for w in spec.title_any) + ")"
        if spec.title_unless:  # those the goods index knows were tried already
            titled = f"({titled} NOT category : {_any(spec.title_unless)})"
        alternatives.append(titled)
    clauses = ["(" + " OR ".join(alternatives) + ")"] if alternatives else []
    if spec.words:
        clauses.append(fts_query(spec.words))
    clauses.extend("title : (" + " OR ".join(_word(w) for w in wordings) + ")"
                   for wordings in spec.title_words if wordings)
    clauses.extend("{title tags description} : (" + " OR ".join(_word(w) for w in wordings) + ")"
                   for wordings in spec.described_words if wordings)
    if not clauses and spec.attributes:  # 送礼的, 有机的: any goods with that attribute
        clauses.append("{title tags description} : " + _any(spec.attributes[0]))
    if spec.origin:  # selective: the index intersects it with the goods
        clauses.append("origin : " + _any(spec.origin))
    return " AND ".join(clause for clause in clauses if clause)


def _constraint_sql(spec: SearchSpec) -> tuple[str, dict[str, str]]:
    """Attributes as filters on the candidate row, not FTS phrases: a common phrase
    such as 农家 would make bm25 gather statistics over most of the index."""
    sql, params = [], {}
    for a, wordings in enumerate(spec.attributes):
        names = [f":attribute_{a}_{n}" for n in range(len(wordings))]
        params.update({name[1:]: wording for name, wording in zip(names, wordings)})
        text = "(l.title || ' ' || l.tags || ' ' || l.description)"
        sql.append("(" + " OR ".join(f"instr({text}, {name}) > 0" for name in names) + ")")
    return "".join(f"\n  AND {clause}" for clause in sql), params


_FIND_SQL = """
SELECT l.id, l.sku, l.title, l.price_fen, l.unit, l.origin, s.name AS seller, l.stock, l.status,
       l.seller_id, s.assisted, l.product, l.tags, l.updated_at,
       bm25(listings_fts, {weights}) AS bm25,
       CASE WHEN l.weight_factor IS NOT NULL THEN l.price_fen / l.weight_factor END AS jin_price_fen
FROM listings_fts
JOIN listings AS l ON l.id = listings_fts.rowid
JOIN sellers AS s ON s.id = l.seller_id
WHERE listings_fts MATCH :match AND l.status = 'live'
  AND (CASE WHEN :sold_out THEN l.stock = 0 ELSE l.stock > 0 END)
  AND (:per_jin = 0 OR l.weight_factor IS NOT NULL)
  AND (:unit IS NULL OR l.unit = :unit)
  AND (:low IS NULL OR (CASE WHEN :per_jin THEN l.price_fen / l.weight_factor
                             ELSE l.price_fen * :quantity END) >= :low)
  AND (:high IS NULL OR (CASE WHEN :per_jin THEN l.price_fen / l.weight_factor
                              ELSE l.price_fen * :quantity END) <= :high){constraints}
ORDER BY listings_fts.rowid DESC
LIMIT :cap
""".replace("{weights}", ", ".join(str(w) for w in FTS_WEIGHTS))


def find(conn: sqlite3.Connection, spec: SearchSpec) -> list[Candidate]:
    """Live, in-stock listings meeting every constraint: the newest spec.cap of them.

    The candidate cap is what keeps search fast on big catalogues: FTS5 walks its
    matches in rowid order (newest listing first) and stops once `cap` rows pass the
    filters, so bm25 is computed for those rows only, never for every match. The
    caller ranks the candidates exactly (bm25 plus boosts).
    """
    if spec.empty:
        return []
    constraints, extra = _constraint_sql(spec)
    rows = conn.execute(_FIND_SQL.replace("{constraints}", constraints), {
        "match": match_expression(spec), "per_jin": int(spec.per_jin), "unit": spec.unit,
        "low": spec.price_min_fen, "high": spec.price_max_fen, "quantity": spec.quantity or 1,
        "cap": spec.cap + len(spec.exclude), "sold_out": int(spec.sold_out), **extra})
    excluded = set(spec.exclude)
    return [Candidate(**{**dict(row), "assisted": bool(row["assisted"])})
            for row in rows if row["id"] not in excluded]


def indexed_goods(conn: sqlite3.Connection, listing_ids: Sequence[int]) -> list[str]:
    """The goods words listings are indexed under (their goods column), in order, once."""
    marks = ",".join("?" for _ in listing_ids)
    rows = conn.execute(f"SELECT category FROM listings_fts WHERE rowid IN ({marks})",
                        tuple(listing_ids)) if listing_ids else []
    return list(dict.fromkeys(term for row in rows for term in row[0].split()))


def described_count(conn: sqlite3.Connection, listing_ids: Sequence[int],
                    described: Sequence[Sequence[str]]) -> dict[int, int]:
    """For each listing, how many of the described things (each: any of its wordings) its
    title, tags or description show as written."""
    if not listing_ids or not described:
        return {}
    text = "(title || ' ' || tags || ' ' || description)"
    counts, params = [], []
    for wordings in described:
        counts.append("(" + " OR ".join(f"instr({text}, ?) > 0" for _ in wordings) + ")")
        params.extend(wordings)
    marks = ",".join("?" for _ in listing_ids)
    rows = conn.execute(f"SELECT id, {' + '.join(counts)} FROM listings WHERE id IN ({marks})",
                        (*params, *listing_ids))
    return {row[0]: row[1] for row in rows}


def title_words_like(conn: sqlite3.Connection, patterns: Sequence[str],
                     limit: int = 50) -> list[str]:
    """Words the titles are indexed under that match a LIKE pattern beginning with one
    character as written (挂_ , 大_), from the FTS vocabulary: a buyer's word no title
    shows may be one of them mistyped. Only the terms that begin so are read (a range on
    the vocabulary, never a scan of it). The vocabulary table is the connection's own
    (temp), over the one index, so nothing is stored."""
    firsts = {p[0] for p in patterns if p and p[0] not in "_%"}
    if len(firsts) != 1 or len(firsts) != len({p[:1] for p in patterns}):
        return []
    first = firsts.pop()
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.listings_vocab"
                 " USING fts5vocab(main, listings_fts, 'col')")
    likes = " OR ".join("term LIKE ?" for _ in patterns)
    rows = conn.execute(f"SELECT DISTINCT term FROM temp.listings_vocab WHERE col = 'title'"
                        f" AND term >= ? AND term < ? AND ({likes}) LIMIT ?",
                        (first, chr(ord(first) + 1), *patterns, limit))
    return [row[0] for row in rows]


def title_terms_within(conn: sqlite3.Connection, text: str) -> list[str]:
    """Words of two or more characters the titles are indexed under that are part of this
    text (侗家酸鱼: 侗家, 酸鱼), longest first, then by where they start. Each part is looked
    up as a title term of the index; the fts5vocab table took ~5 ms a text at 100,000
    listings, whether asked by ranges or by term, and single characters (的, 四) have
    doclists as long as the catalogue."""
    parts = list(dict.fromkeys(
        text[i:j] for i in range(len(text))
        for j in range(i + 2, min(len(text), i + _LONGEST_TERM) + 1)))
    parts = [part for part in parts if _TERM_TEXT.fullmatch(part)]
    found: set[str] = set()
    for at in range(0, len(parts), _PARTS_PER_STATEMENT):
        batch = parts[at:at + _PARTS_PER_STATEMENT]
        sql = " UNION ALL ".join(["SELECT ? WHERE EXISTS (SELECT 1 FROM listings_fts"
                                  " WHERE listings_fts MATCH ?)"] * len(batch))
        params = [value for part in batch for value in (part, f"title : {_quote(part)}")]
        found.update(row[0] for row in conn.execute(sql, params))
    return sorted(found, key=lambda term: (-len(term), text.find(term)))


_LONGEST_TERM = 16
_PARTS_PER_STATEMENT = 200  # SQLite allows 500 terms in a compound SELECT
_TERM_TEXT = re.compile(r"\w+")


def search(conn: sqlite3.Connection, words: Sequence[str], price_max_fen: int | None = None,
           limit: int = 5) -> list[Candidate]:
    """Words only: every word must match (used where no understanding is at hand)."""
    return find(conn, SearchSpec(words=tuple(words), price_max_fen=price_max_fen))[:limit]


def get(conn: sqlite3.Connection, listing_id: int) -> Offer | None:
    row = conn.execute(
        "SELECT l.id, l.sku, l.title, l.price_fen, l.unit, l.origin, s.name AS seller, l.stock,"
        " l.status, l.photo FROM listings AS l JOIN sellers AS s ON s.id = l.seller_id"
        " WHERE l.id = ?", (listing_id,),
    ).fetchone()
    if row is None:
        return None
    return Offer(**{**dict(row), "photo": media.url_path(row["photo"])})


def reliability(conn: sqlite3.Connection, seller_ids: Sequence[int]) -> dict[int, float]:
    """Share of each seller's orders that completed, among those that completed or that
    the seller (or the system, for want of a confirmation) cancelled. A buyer's or an
    operator's cancellation says nothing about the seller. Sellers without any are absent."""
    if not seller_ids:
        return {}
    marks = ",".join("?" * len(seller_ids))
    counted = "(status = 'completed' OR cancelled_by IN ('seller', 'system'))"
    rows = conn.execute(
        f"SELECT seller_id, sum(status = 'completed') * 1.0 / sum({counted}) FROM orders"
        f" WHERE seller_id IN ({marks}) GROUP BY seller_id HAVING sum({counted}) > 0",
        list(seller_ids))
    return {row[0]: row[1] for row in rows}


@dataclass(frozen=True)
class Versions:
    """Counters that changes bump in their own transactions (schema v11 and v13
    triggers), named with the database file: what is cached under them holds until they
    move, in every process sharing the file."""
    file: str
    catalogue: int  # listings and sellers, views excepted: search results
    orders: int     # orders' sellers, statuses and cancellations: seller reliability


def versions(conn: sqlite3.Connection) -> Versions:
    row = conn.execute("SELECT c.n, o.n FROM catalogue_version AS c, orders_version AS o"
                       " WHERE c.id = 1 AND o.id = 1").fetchone()
    return Versions(_file(conn), row[0], row[1])


def catalogue_version(conn: sqlite3.Connection) -> tuple[str, int]:
    """(database file, the catalogue's counter): see Versions."""
    row = conn.execute("SELECT n FROM catalogue_version WHERE id = 1").fetchone()
    return _file(conn), row[0]


def _file(conn: sqlite3.Connection) -> str:
    known = getattr(conn, "file", None)  # our connections know it; a plain one asks
    if known is not None:
        return known
    return conn.execute("SELECT file FROM pragma_database_list WHERE name = 'main'").fetchone()[0]


def count_live(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM listings WHERE status = 'live'").fetchone()[0]


# -- listings sellers create and change by chat -------------------------------
# Indexed through prepare() and _write_index() like an import: one indexing path.

@dataclass(frozen=True)
class NewListing:
    title: str
    price_fen: int
    unit: str
    stock: int
    origin: str
    category: str = ""
    photo: str | None = None


@dataclass(frozen=True)
class Created:
    id: int
    number: int
    status: str
    seller_id: int


def chat_sku(message_key: str | None) -> str:
    """A chat listing's sku: from the message that published it, so a retry of that
    message after a crash finds the listing instead of making a second one."""
    if message_key is None:
        return f"chat-{secrets.token_hex(8)}"
    return "chat-" + hashlib.sha256(message_key.encode("utf-8")).hexdigest()[:16]


def create(conn: sqlite3.Connection, openid: str, new: NewListing, pending: bool,
           now: float | None = None, message_key: str | None = None) -> Created:
    """A seller's listing, live or waiting for review, and the seller on a first listing.

    Idempotent per message_key: the same message again returns the listing it made.
    """
    now = time.time() if now is None else now
    entry = prepare(new.title, new.category, (), "", new.origin, new.unit)
    status = "pending" if pending else "live"
    sku = chat_sku(message_key)
    with transaction(conn):
        seller = sellers.ensure(conn, openid, now)
        made = conn.execute("SELECT id, seller_no, status FROM listings WHERE sku = ?",
                            (sku,)).fetchone()
        if made is not None:
            return Created(made["id"], made["seller_no"], made["status"], seller.id)
        number = sellers.next_number(conn, seller.id)
        listing_id = conn.execute(
            "INSERT INTO listings (sku, seller_id, title, category, price_fen, unit, stock, origin,"
            " status, created_at, updated_at, product, weight_factor, index_version, seller_no,"
            " photo, source, review) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " 'chat', ?) RETURNING id",
            (sku, seller.id, new.title,
             new.category, new.price_fen, new.unit, new.stock, new.origin, status, now, now,
             entry.product, entry.weight_factor, INDEX_VERSION, number, new.photo,
             "pending" if pending else None)).fetchone()[0]
        _write_index(conn, listing_id, entry, fresh=True)
    return Created(listing_id, number, status, seller.id)


# Columns a seller may change; the ones that feed the search index re-index the row.
CHANGEABLE = ("title", "price_fen", "unit", "stock", "origin", "status", "review", "review_note",
              "photo")
_INDEXED = {"title", "unit", "origin"}


def change(conn: sqlite3.Connection, seller_id: int, number: int, changes: dict[str, object],
           now: float | None = None) -> tuple[OwnListing, OwnListing] | None:
    """Change the seller's listing `number` (before, after); None when the seller has no
    such listing, so nobody can touch another seller's goods."""
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)}")
    now = time.time() if now is None else now
    with transaction(conn):
        before = sellers.own_listing(conn, seller_id, number)
        if before is None:
            return None
        if changes:
            assignments = ", ".join(f"{name} = :{name}" for name in changes)
            conn.execute(f"UPDATE listings SET {assignments}, updated_at = :now WHERE id = :id",
                         {**changes, "now": now, "id": before.id})
        if _INDEXED & set(changes):
            row = conn.execute("SELECT title, category, tags, description, origin, unit"
                               " FROM listings WHERE id = ?", (before.id,)).fetchone()
            entry = prepare(row["title"], row["category"], json.loads(row["tags"]),
                            row["description"], row["origin"], row["unit"])
            _write_index(conn, before.id, entry, fresh=False)
            conn.execute("UPDATE listings SET product = ?, weight_factor = ? WHERE id = ?",
                         (entry.product, entry.weight_factor, before.id))
        after = sellers.own_listing(conn, seller_id, number)
    assert after is not None
    return before, after


@dataclass(frozen=True)
class StockOut:
    listing_id: int
    number: int | None
    title: str
    openid: str


StockOutCompose = Callable[[StockOut], tuple[str, dict[str, str]]]


def take_stock(conn: sqlite3.Connection, listing_id: int, quantity: int,
               compose: StockOutCompose,
               now: float | None = None) -> bool:
    """Take `quantity` off a listing's stock if it is there (call inside the transaction
    that records why, an order). Reaching 0 queues the seller's stock_out notice in that
    same transaction. False: not enough stock, nothing changed."""
    now = time.time() if now is None else now
    row = conn.execute("UPDATE listings SET stock = stock - ?, updated_at = ? WHERE id = ?"
                       " AND stock >= ? RETURNING stock, seller_no, title, seller_id",
                       (quantity, now, listing_id, quantity)).fetchone()
    if row is None:
        return False
    if row["stock"] == 0:
        seller = sellers.get(conn, row["seller_id"])
        if seller and seller.openid:
            text, fields = compose(StockOut(listing_id, row["seller_no"], row["title"],
                                            seller.openid))
            outbox.enqueue(conn, "stock_out", seller.openid, text,
                           f"stock_out:{listing_id}:{now!r}", fields, now)
    return True


def add_view_counts(conn: sqlite3.Connection, counts: Mapping[int, int]) -> None:
    """Buyers were shown each listing this many more times; in id order, so the pages
    are visited once each. A listing deleted meanwhile is skipped."""
    conn.executemany("INSERT INTO listing_views (listing_id, n) SELECT id, ? FROM listings"
                     " WHERE id = ? ON CONFLICT(listing_id) DO UPDATE SET n = n + excluded.n",
                     [(n, listing_id) for listing_id, n in sorted(counts.items())])


def photo_url(conn: sqlite3.Connection, listing_id: int) -> str | None:
    """Where the listing's photo is served on our own host (/media/NAME), or None."""
    row = conn.execute("SELECT photo FROM listings WHERE id = ?", (listing_id,)).fetchone()
    return media.url_path(row["photo"]) if row else None
