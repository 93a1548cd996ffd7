"""Restock alerts (到货提醒): buyers waiting for a product that had no offers."""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from db import outbox
from db.database import transaction


@dataclass(frozen=True)
class Due:
    alert_id: int
    openid: str
    product: str
    listing_id: int
    title: str
    price_fen: int
    unit: str


def subscribe(conn: sqlite3.Connection, openid: str, product: str) -> None:
    """One open alert per buyer and product."""
    with transaction(conn):
        exists = conn.execute("SELECT 1 FROM restock_alerts WHERE openid = ? AND product = ?"
                              " AND notified_at IS NULL", (openid, product)).fetchone()
        if not exists:
            conn.execute("INSERT INTO restock_alerts (openid, product, created_at) VALUES (?, ?, ?)",
                         (openid, product, time.time()))


def due(conn: sqlite3.Connection) -> list[Due]:
    """Open alerts that a live, in-stock listing of the product now answers (best: cheapest)."""
    rows = conn.execute(
        "SELECT a.id, a.openid, a.product, l.id AS listing_id, l.title, l.price_fen, l.unit"
        " FROM restock_alerts AS a JOIN listings AS l ON l.product = a.product"
        " WHERE a.notified_at IS NULL AND l.status = 'live' AND l.stock > 0"
        " ORDER BY a.id, l.price_fen").fetchall()
    seen: set[int] = set()
    found = []
    for row in rows:
        if row["id"] not in seen:
            seen.add(row["id"])
            found.append(Due(row["id"], row["openid"], row["product"], row["listing_id"],
                             row["title"], row["price_fen"], row["unit"]))
    return found


def mark_notified(conn: sqlite3.Connection, alert_id: int) -> bool:
    """True for the one caller that gets to notify: each buyer is told once."""
    cursor = conn.execute("UPDATE restock_alerts SET notified_at = ? WHERE id = ?"
                          " AND notified_at IS NULL", (time.time(), alert_id))
    return cursor.rowcount == 1


def notify_due(conn: sqlite3.Connection,
               compose: Callable[[Due], tuple[str, dict[str, str]]]) -> int:
    """Mark each answered alert notified and queue its notice, in one transaction."""
    with transaction(conn):
        told = 0
        for alert in due(conn):
            if mark_notified(conn, alert.alert_id):
                text, fields = compose(alert)
                outbox.enqueue(conn, "restock", alert.openid, text, f"restock:{alert.alert_id}",
                               fields)
                told += 1
    return told


def waiting(conn: sqlite3.Connection) -> dict[str, int]:
    """Open alerts per product: buyers still waiting to be told it is in stock."""
    rows = conn.execute("SELECT product, count(*) FROM restock_alerts WHERE notified_at IS NULL"
                        " GROUP BY product")
    return {row[0]: row[1] for row in rows}
