"""Unmet demand: what buyers asked for and did not find."""
from __future__ import annotations

import sqlite3
import time


def record(conn: sqlite3.Connection, openid: str, text: str, product: str | None,
           origin: str | None = None, price_max_fen: int | None = None,
           buyer_city: str | None = None) -> None:
    """buyer_city is where the buyer is or wants it sent (我在上海, 寄到广州), never the origin."""
    conn.execute(
        "INSERT INTO unmet_demand (openid, text, product, origin, price_max_fen, buyer_city,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (openid, text, product, origin, price_max_fen, buyer_city, time.time()),
    )
