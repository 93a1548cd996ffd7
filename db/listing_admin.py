"""The operator's side of listings: browse and filter, edit, delist with a reason.

Every change is written with its audit entry in one transaction.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from db import audit, listings
from db.database import transaction
from nlp import segment

STATUSES = ("live", "pending", "delisted")
EDITABLE_STATUSES = ("live", "delisted")  # pending listings wait for moderation (phase 2)
PAGE_SIZE = 50


class EditError(Exception):
    """A refused edit; `field` names the form field, the message is for the operator."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Listing:
    id: int
    sku: str
    title: str
    category: str
    price_fen: int
    unit: str
    stock: int
    origin: str
    description: str
    tags: tuple[str, ...]
    status: str
    product: str | None
    created_at: float
    updated_at: float
    seller_id: int
    seller: str
    seller_phone: str | None
    assisted: bool

    @classmethod
    def of(cls, row: sqlite3.Row) -> Listing:
        data = dict(row)
        data["tags"] = tuple(json.loads(data["tags"] or "[]"))
        data["assisted"] = bool(data["assisted"])
        return cls(**data)


_COLUMNS = ("l.id, l.sku, l.title, l.category, l.price_fen, l.unit, l.stock, l.origin,"
            " l.description, l.tags, l.status, l.product, l.created_at, l.updated_at,"
            " l.seller_id, s.name AS seller, s.phone AS seller_phone, s.assisted")


@dataclass(frozen=True)
class ListingFilter:
    text: str | None = None       # a SKU, or words of the title, goods, tags, description, origin
    status: str | None = None
    origin: str | None = None     # part of the origin text (云南, 赣州市)
    seller: str | None = None     # part of the seller's name


def browse(conn: sqlite3.Connection, filters: ListingFilter, before: int | None = None,
           limit: int = PAGE_SIZE) -> tuple[list[Listing], int | None]:
    """Newest first, keyset pages: (rows, `before` of the next page or None)."""
    text = (filters.text or "").strip()
    if text:
        by_sku = conn.execute(f"SELECT {_COLUMNS} FROM listings AS l JOIN sellers AS s"
                              " ON s.id = l.seller_id WHERE l.sku = ?", (text,)).fetchone()
        if by_sku is not None:
            return [Listing.of(by_sku)], None
    match = listings.fts_query(segment.words(text)) if text else ""
    if text and not match:
        return [], None
    key = "f.rowid" if match else "l.id"
    clauses, params = [], {"limit": limit + 1}
    for sql, name, value in ((f"{key} < :before", "before", before),
                             ("l.status = :status", "status", filters.status),
                             ("instr(l.origin, :origin) > 0", "origin", filters.origin),
                             ("instr(s.name, :seller) > 0", "seller", filters.seller)):
        if value:
            clauses.append(sql)
            params[name] = value
    source = "listings AS l"
    if match:
        source = "listings_fts AS f CROSS JOIN listings AS l ON l.id = f.rowid"
        clauses.insert(0, "listings_fts MATCH :match")
        params["match"] = match
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM {source} JOIN sellers AS s ON s.id = l.seller_id"
        f" WHERE {' AND '.join(clauses) or '1'} ORDER BY {key} DESC LIMIT :limit", params
    ).fetchall()
    found = [Listing.of(row) for row in rows[:limit]]
    return found, found[-1].id if len(rows) > limit else None


def detail(conn: sqlite3.Connection, listing_id: int) -> Listing | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM listings AS l JOIN sellers AS s"
                       " ON s.id = l.seller_id WHERE l.id = ?", (listing_id,)).fetchone()
    return Listing.of(row) if row else None


def briefs(conn: sqlite3.Connection, ids: list[int]) -> dict[int, Listing]:
    """Listings by id (for the offers a transcript shows); missing ids are absent."""
    found: dict[int, Listing] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT {_COLUMNS} FROM listings AS l JOIN sellers AS s"
                                f" ON s.id = l.seller_id WHERE l.id IN ({marks})", chunk):
            found[row["id"]] = Listing.of(row)
    return found


def seller_phone(conn: sqlite3.Connection, seller_id: int) -> str | None:
    row = conn.execute("SELECT phone FROM sellers WHERE id = ?", (seller_id,)).fetchone()
    return row[0] if row else None


def edit(conn: sqlite3.Connection, listing_id: int, changes: dict[str, Any], operator: str,
         reason: str = "", client: str = "", now: float | None = None) -> dict[str, list[Any]]:
    """Apply clean values (title, price_fen, stock, status); returns {field: [old, new]}
    for what changed, as recorded in the audit trail."""
    now = time.time() if now is None else now
    with transaction(conn):
        current = detail(conn, listing_id)
        if current is None:
            raise EditError("id", "没有这个商品")
        diff = {name: [getattr(current, name), value] for name, value in changes.items()
                if value is not None and getattr(current, name) != value}
        if "status" in diff and current.status == "pending":
            raise EditError("status", "待审核的商品要经过审核才能上架或下架")
        if "status" in diff and diff["status"][1] not in EDITABLE_STATUSES:
            raise EditError("status", "状态只能改成「在售」或「已下架」")
        if not diff:
            return {}
        assignments = ", ".join(f"{name} = :{name}" for name in diff)
        reindex = ", index_version = 0" if "title" in diff else ""
        conn.execute(f"UPDATE listings SET {assignments}, updated_at = :now{reindex}"
                     " WHERE id = :id", {**{n: v[1] for n, v in diff.items()},
                                         "now": now, "id": listing_id})
        audit.record(conn, operator, "listing.edit", "listing", listing_id, reason, diff,
                     client, now)
    if "title" in diff:
        # A new title means new index terms and goods; a crash before this line is
        # caught by the re-index at the next start.
        listings.reindex_stale(conn)
    return diff


def delist(conn: sqlite3.Connection, listing_id: int, operator: str, reason: str,
           client: str = "", now: float | None = None) -> bool:
    """Take a listing off sale with a reason; False when it was not on sale."""
    reason = " ".join(reason.split())
    if not reason:
        raise EditError("reason", "请写下架原因")
    now = time.time() if now is None else now
    with transaction(conn):
        current = detail(conn, listing_id)
        if current is None:
            raise EditError("id", "没有这个商品")
        if current.status == "delisted":
            return False
        conn.execute("UPDATE listings SET status = 'delisted', updated_at = ? WHERE id = ?",
                     (now, listing_id))
        audit.record(conn, operator, "listing.delist", "listing", listing_id, reason,
                     {"status": [current.status, "delisted"]}, client, now)
    return True


def seller_regions(conn: sqlite3.Connection, limit: int = 10) -> list[tuple[str, int, int]]:
    """(province, live listings, sellers) by the first part of the listings' origin."""
    rows = conn.execute(
        "SELECT substr(origin, 1, instr(origin || ' ', ' ') - 1) AS province, count(*) AS n,"
        " count(DISTINCT seller_id) FROM listings WHERE status = 'live' AND origin != ''"
        " GROUP BY province ORDER BY n DESC, province LIMIT ?", (limit,))
    return [(r[0], r[1], r[2]) for r in rows]


def count(conn: sqlite3.Connection, status: str = "live") -> int:
    return conn.execute("SELECT count(*) FROM listings WHERE status = ?", (status,)).fetchone()[0]
