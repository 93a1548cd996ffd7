"""The review queue: listings sellers created or edited by chat while
[listings] require_review is on, and a listing an operator delisted and the seller put
up again. The verdict reaches the seller through the outbox, queued in the transaction
that records it with its audit entry."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from db import audit, outbox
from db.database import transaction


@dataclass(frozen=True)
class Review:
    id: int
    number: int | None
    title: str
    price_fen: int
    unit: str
    stock: int
    origin: str
    photo: str | None
    seller: str
    openid: str | None
    updated_at: float


_REVIEW = ("SELECT l.id, l.seller_no AS number, l.title, l.price_fen, l.unit, l.stock, l.origin,"
           " l.photo, s.name AS seller, s.openid, l.updated_at FROM listings AS l"
           " JOIN sellers AS s ON s.id = l.seller_id")


def review(conn: sqlite3.Connection, listing_id: int) -> Review | None:
    """A listing as its seller's notices describe it, whatever its status."""
    row = conn.execute(f"{_REVIEW} WHERE l.id = ?", (listing_id,)).fetchone()
    return Review(**dict(row)) if row else None


def pending(conn: sqlite3.Connection) -> list[Review]:
    """Waiting for a decision, oldest first."""
    rows = conn.execute(f"{_REVIEW} WHERE l.status = 'pending' AND l.review = 'pending'"
                        " ORDER BY l.updated_at, l.id").fetchall()
    return [Review(**dict(row)) for row in rows]


# (review, approved, reason) -> (text, template fields)
Compose = Callable[[Review, bool, str], tuple[str, dict[str, str]]]


def decide(conn: sqlite3.Connection, listing_id: int, approve: bool, reason: str,
           compose: Compose, now: float, operator: str = "",
           client: str = "") -> tuple[str, Review | None]:
    """Approve (live) or reject (delisted, with the reason) one pending listing.

    Returns ('approved' | 'rejected' | 'missing' | 'not pending', the listing).
    """
    with transaction(conn):
        listing = review(conn, listing_id)
        if listing is None:
            return "missing", None
        state = conn.execute("SELECT status, review FROM listings WHERE id = ?",
                             (listing_id,)).fetchone()
        if (state["status"], state["review"]) != ("pending", "pending"):
            return "not pending", listing
        conn.execute(
            "UPDATE listings SET status = ?, review = ?, review_note = ?, updated_at = ?"
            " WHERE id = ?", ("live" if approve else "delisted",
                              "approved" if approve else "rejected",
                              None if approve else reason, now, listing_id))
        if listing.openid:
            text, fields = compose(listing, approve, reason)
            outbox.enqueue(conn, "listing_review", listing.openid, text,
                           f"listing_review:{listing_id}:{now!r}", fields, now)
        if operator:
            audit.record(conn, operator, "listing.approve" if approve else "listing.reject",
                         "listing", listing_id, "" if approve else reason,
                         {"status": ["pending", "live" if approve else "delisted"],
                          "seller_told": bool(listing.openid)}, client, now)
    return ("approved" if approve else "rejected"), listing
