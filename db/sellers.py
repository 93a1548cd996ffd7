"""Sellers who work by chat: who an openid is, profiles, listing numbers, claim codes.

A catalogue row names its seller by phone and no openid; the operator hands that
seller a one-time claim code, and 认领 CODE binds the openid to the seller. A phone
number alone never proves ownership.
"""
from __future__ import annotations

import secrets
import sqlite3
import time
from dataclasses import dataclass

from db.database import transaction

DEFAULT_NAME = "农货通卖家"
# No 0/O, 1/I/L: read out over the phone without mistakes.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
CLAIM_TRIES = 5             # wrong codes per openid ...
CLAIM_WINDOW_SECONDS = 3600  # ... within this window, then claims wait


@dataclass(frozen=True)
class Seller:
    id: int
    name: str
    phone: str | None
    region: str
    openid: str | None
    onboarding: str
    assisted: bool


@dataclass(frozen=True)
class OwnListing:
    """One line of 我的商品."""
    id: int
    number: int
    title: str
    price_fen: int
    unit: str
    stock: int
    origin: str
    status: str
    review: str | None
    review_note: str | None
    views: int
    orders: int
    photo: str | None
    product: str | None


@dataclass(frozen=True)
class ClaimCode:
    code: str
    seller_id: int
    name: str
    phone: str | None
    listings: int


_SELLER = "SELECT id, name, phone, region, openid, onboarding, assisted FROM sellers"


def _seller(row: sqlite3.Row | None) -> Seller | None:
    if row is None:
        return None
    return Seller(row["id"], row["name"], row["phone"], row["region"], row["openid"],
                  row["onboarding"], bool(row["assisted"]))


def by_openid(conn: sqlite3.Connection, openid: str) -> Seller | None:
    return _seller(conn.execute(f"{_SELLER} WHERE openid = ?", (openid,)).fetchone())


def get(conn: sqlite3.Connection, seller_id: int) -> Seller | None:
    return _seller(conn.execute(f"{_SELLER} WHERE id = ?", (seller_id,)).fetchone())


def ensure(conn: sqlite3.Connection, openid: str, now: float) -> Seller:
    """The openid's seller, created on its first listing (call inside a transaction).

    The ident is random, never the openid: erasure must leave nothing that names the user.
    """
    found = by_openid(conn, openid)
    if found:
        return found
    conn.execute("INSERT INTO sellers (ident, name, openid, created_at) VALUES (?, ?, ?, ?)",
                 (f"chat:{secrets.token_hex(8)}", DEFAULT_NAME, openid, now))
    seller = by_openid(conn, openid)
    assert seller is not None
    return seller


def update_profile(conn: sqlite3.Connection, seller_id: int, *, name: str | None = None,
                   phone: str | None = None, region: str | None = None) -> None:
    """Set what is given. A phone is contact data only: it never links other sellers."""
    for column, value in (("name", name), ("phone", phone), ("region", region)):
        if value is not None:
            conn.execute(f"UPDATE sellers SET {column} = ? WHERE id = ?", (value, seller_id))


def set_onboarding(conn: sqlite3.Connection, seller_id: int, state: str) -> None:
    conn.execute("UPDATE sellers SET onboarding = ? WHERE id = ?", (state, seller_id))


# -- listing numbers --------------------------------------------------------

def number_listings(conn: sqlite3.Connection, seller_id: int) -> None:
    """Give unnumbered listings (imported, or just claimed) the next numbers, oldest first.
    A number once given never changes, so 下架 2 always means the same goods."""
    rows = conn.execute("SELECT id FROM listings WHERE seller_id = ? AND seller_no IS NULL"
                        " ORDER BY id", (seller_id,)).fetchall()
    if not rows:
        return
    top = conn.execute("SELECT coalesce(max(seller_no), 0) FROM listings WHERE seller_id = ?",
                       (seller_id,)).fetchone()[0]
    conn.executemany("UPDATE listings SET seller_no = ? WHERE id = ?",
                     [(top + n, row["id"]) for n, row in enumerate(rows, 1)])


def next_number(conn: sqlite3.Connection, seller_id: int) -> int:
    number_listings(conn, seller_id)
    return conn.execute("SELECT coalesce(max(seller_no), 0) + 1 FROM listings"
                        " WHERE seller_id = ?", (seller_id,)).fetchone()[0]


_OWN = """
SELECT l.id, l.seller_no AS number, l.title, l.price_fen, l.unit, l.stock, l.origin, l.status,
       l.review, l.review_note, coalesce(v.n, 0) AS views, l.photo, l.product,
       (SELECT count(*) FROM orders AS o WHERE o.listing_id = l.id
          AND o.status != 'cancelled') AS orders
FROM listings AS l LEFT JOIN listing_views AS v ON v.listing_id = l.id WHERE l.seller_id = ?
"""


def own_listings(conn: sqlite3.Connection, seller_id: int) -> list[OwnListing]:
    """Every listing of the seller by number, numbering new ones first."""
    with transaction(conn):
        number_listings(conn, seller_id)
    rows = conn.execute(_OWN + " ORDER BY l.seller_no", (seller_id,)).fetchall()
    return [OwnListing(**dict(row)) for row in rows]


def own_listing(conn: sqlite3.Connection, seller_id: int, number: int) -> OwnListing | None:
    """The seller's listing with that number; another seller's number finds nothing."""
    row = conn.execute(_OWN + " AND l.seller_no = ?", (seller_id, number)).fetchone()
    return OwnListing(**dict(row)) if row else None


# -- claim codes ------------------------------------------------------------

def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def issue_claim_codes(conn: sqlite3.Connection, now: float | None = None) -> list[ClaimCode]:
    """One code for each seller with listings, no openid and no code yet: the ones an
    import just created. Returns the new codes."""
    now = time.time() if now is None else now
    with transaction(conn):
        waiting = conn.execute(
            "SELECT s.id FROM sellers AS s WHERE s.openid IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM claim_codes AS c WHERE c.seller_id = s.id)"
            " AND EXISTS (SELECT 1 FROM listings AS l WHERE l.seller_id = s.id) ORDER BY s.id"
        ).fetchall()
        for row in waiting:
            while conn.execute("INSERT INTO claim_codes (code, seller_id, created_at)"
                               " VALUES (?, ?, ?) ON CONFLICT(code) DO NOTHING",
                               (_new_code(), row["id"], now)).rowcount == 0:
                pass  # a collision: draw again
    new = {row["id"] for row in waiting}  # once: a 100,000-row import makes tens of thousands
    return [code for code in unclaimed_codes(conn) if code.seller_id in new]


def unclaimed_codes(conn: sqlite3.Connection) -> list[ClaimCode]:
    rows = conn.execute(
        "SELECT c.code, c.seller_id, s.name, s.phone,"
        " (SELECT count(*) FROM listings AS l WHERE l.seller_id = s.id) AS listings"
        " FROM claim_codes AS c JOIN sellers AS s ON s.id = c.seller_id"
        " WHERE c.claimed_at IS NULL ORDER BY c.seller_id").fetchall()
    return [ClaimCode(**dict(row)) for row in rows]


@dataclass(frozen=True)
class Claim:
    outcome: str  # claimed | unknown | used | throttled | own
    seller_id: int | None = None
    listings: int = 0


def claim(conn: sqlite3.Connection, openid: str, code: str, now: float) -> Claim:
    """Bind the openid to the code's seller, once. A seller the openid already made by
    chat merges into the claimed one: its listings (renumbered after the claimed
    seller's) and orders move over, so later imports keep them together."""
    with transaction(conn):
        conn.execute("DELETE FROM claim_failures WHERE at <= ?", (now - CLAIM_WINDOW_SECONDS,))
        recent = conn.execute("SELECT count(*) FROM claim_failures WHERE openid = ?",
                              (openid,)).fetchone()[0]
        if recent >= CLAIM_TRIES:
            return Claim("throttled")
        row = conn.execute("SELECT seller_id, claimed_at FROM claim_codes WHERE code = ?",
                           (code,)).fetchone()
        if row is None:
            conn.execute("INSERT INTO claim_failures (openid, at) VALUES (?, ?)", (openid, now))
            return Claim("unknown")
        target = row["seller_id"]
        current = by_openid(conn, openid)
        if current and current.id == target:
            return Claim("own", target)
        if row["claimed_at"] is not None:
            return Claim("used")
        if current:
            _merge(conn, current.id, target)
        conn.execute("UPDATE sellers SET openid = ? WHERE id = ?", (openid, target))
        conn.execute("UPDATE claim_codes SET claimed_at = ? WHERE code = ?", (now, code))
        number_listings(conn, target)
        count = conn.execute("SELECT count(*) FROM listings WHERE seller_id = ?",
                             (target,)).fetchone()[0]
    return Claim("claimed", target, count)


def _merge(conn: sqlite3.Connection, source: int, target: int) -> None:
    number_listings(conn, target)
    conn.execute("UPDATE listings SET seller_no = NULL WHERE seller_id = ?", (source,))
    conn.execute("UPDATE listings SET seller_id = ? WHERE seller_id = ?", (target, source))
    conn.execute("UPDATE orders SET seller_id = ? WHERE seller_id = ?", (target, source))
    old = get(conn, source)
    if old:
        conn.execute("UPDATE sellers SET region = CASE WHEN region = '' THEN ? ELSE region END,"
                     " phone = coalesce(phone, ?) WHERE id = ?", (old.region, old.phone, target))
    conn.execute("DELETE FROM claim_codes WHERE seller_id = ?", (source,))
    conn.execute("DELETE FROM sellers WHERE id = ?", (source,))
