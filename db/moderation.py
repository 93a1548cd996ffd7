"""The review queue: listings sellers created or edited by chat while
[listings] require_review is on. The verdict reaches the seller through the outbox,
queued in the transaction that records it."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from db import outbox
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


def pending(conn: sqlite3.Connection) -> list[Review]:
    """Waiting for a decision, oldest first."""
    rows = conn.execute(f"{_REVIEW} WHERE l.status = 'pending' AND l.review = 'pending'"
                        " ORDER BY l.updated_at, l.id").fetchall()
    return [Review(**dict(row)) for row in rows]


# (review, approved, reason) -> (text, template fields)
Compose = Callable[[Review, bool, str], tuple[str, dict[str, str]]]


def decide(conn: sqlite3.Connection, listing_id: int, approve: bool, reason: str,
           compose: Compose, now: float) -> tuple[str, Review | None]:
    """Approve (live) or reject (delisted, with the reason) one pending listing.

    Returns ('approved' | 'rejected' | 'missing' | 'not pending', the listing).
    """
    with transaction(conn):
        row = conn.execute(f"{_REVIEW} WHERE l.id = ?", (listing_id,)).fetchone()
        if row is None:
            return "missing", None
        review = Review(**dict(row))
        state = conn.execute("SELECT status, review FROM listings WHERE id = ?",
                             (listing_id,)).fetchone()
        if (state["status"], state["review"]) != ("pending", "pending"):
            return "not pending", review
        conn.execute(
            "UPDATE listings SET status = ?, review = ?, review_note = ?, updated_at = ?"
            " WHERE id = ?", ("live" if approve else "delisted",
                              "approved" if approve else "rejected",
                              None if approve else reason, now, listing_id))
        if review.openid:
            text, fields = compose(review, approve, reason)
            outbox.enqueue(conn, "listing_review", review.openid, text,
                           f"listing_review:{listing_id}:{now!r}", fields, now)
    return ("approved" if approve else "rejected"), review
