"""Unmet demand: what buyers asked for and did not find, and who is waiting for it."""
from __future__ import annotations

import csv
import io
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from db import restock

# Upper bounds (fen) of the price bands a buyer's stated ceiling falls in.
PRICE_BANDS: tuple[tuple[int, str], ...] = (
    (2_000, "20元以内"), (5_000, "20–50元"), (10_000, "50–100元"), (20_000, "100–200元"))
TOP_BAND = "200元以上"
NO_PRICE = "未说价格"
ANY_REGION = "不限产地"
NO_CITY = "没说在哪"
UNKNOWN_PRODUCT = "（没听懂货名）"
DIMENSIONS = ("product", "region", "city", "band")


def record(conn: sqlite3.Connection, openid: str, text: str, product: str | None,
           origin: str | None = None, price_max_fen: int | None = None,
           buyer_city: str | None = None, now: float | None = None) -> None:
    """One request that found nothing. origin is the place the goods should come from
    (云南的); buyer_city is where the buyer is or wants it sent (我在上海, 寄到广州)."""
    conn.execute(
        "INSERT INTO unmet_demand (openid, text, product, origin, price_max_fen, buyer_city,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (openid, text, product, origin, price_max_fen, buyer_city,
         time.time() if now is None else now),
    )


def _band_sql() -> str:
    cases = " ".join(f"WHEN price_max_fen <= {limit} THEN '{label}'"
                     for limit, label in PRICE_BANDS)
    return f"CASE WHEN price_max_fen IS NULL THEN '{NO_PRICE}' {cases} ELSE '{TOP_BAND}' END"


_EXPRESSIONS = {
    "product": f"coalesce(nullif(product, ''), '{UNKNOWN_PRODUCT}')",
    "region": f"coalesce(nullif(origin, ''), '{ANY_REGION}')",
    "city": f"coalesce(nullif(buyer_city, ''), '{NO_CITY}')",
    "band": _band_sql(),
}


@dataclass
class Group:
    product: str
    region: str          # where the buyer wants it from
    city: str            # where the buyer is
    band: str
    requests: int
    buyers: int
    last_at: float
    waiting: int = 0                                   # open restock alerts for the product
    trend: dict[str, int] = field(default_factory=dict)  # local day -> requests
    examples: list[str] = field(default_factory=list)  # a few of the buyers' own words


def groups(conn: sqlite3.Connection, since: float, until: float,
           by: tuple[str, ...] = DIMENSIONS, limit: int = 200) -> list[Group]:
    """Requests in [since, until) grouped by the chosen dimensions, most asked first.

    A dimension left out of `by` shows as '' on every group.
    """
    by = tuple(d for d in DIMENSIONS if d in by) or ("product",)
    keys = ", ".join(f"{_EXPRESSIONS[d]} AS {d}" for d in by)
    names = ", ".join(by)
    window = {"since": since, "until": until, "limit": limit}
    rows = conn.execute(
        f"SELECT {keys}, count(*) AS requests, count(DISTINCT openid) AS buyers,"
        f" max(created_at) AS last_at FROM unmet_demand"
        f" WHERE created_at >= :since AND created_at < :until"
        f" GROUP BY {names} ORDER BY requests DESC, buyers DESC, {names} LIMIT :limit",
        window).fetchall()
    found = {tuple(row[d] for d in by): Group(
        product=row["product"] if "product" in by else "",
        region=row["region"] if "region" in by else "",
        city=row["city"] if "city" in by else "",
        band=row["band"] if "band" in by else "",
        requests=row["requests"], buyers=row["buyers"], last_at=row["last_at"]) for row in rows}
    daily = conn.execute(
        f"SELECT {keys}, date(created_at, 'unixepoch', 'localtime') AS day, count(*) AS n,"
        f" max(text) AS example FROM unmet_demand"
        f" WHERE created_at >= :since AND created_at < :until GROUP BY {names}, day", window)
    for row in daily:
        group = found.get(tuple(row[d] for d in by))
        if group is not None:
            group.trend[row["day"]] = row["n"]
            if row["example"] not in group.examples and len(group.examples) < 3:
                group.examples.append(row["example"])
    waiting = restock.waiting(conn)
    for group in found.values():
        group.waiting = waiting.get(group.product, 0) if "product" in by else 0
    return list(found.values())


def top_products(conn: sqlite3.Connection, since: float, until: float,
                 limit: int = 10) -> list[tuple[str, int, int]]:
    """(product, requests, distinct buyers) over the window, most asked first."""
    return [(g.product, g.requests, g.buyers)
            for g in groups(conn, since, until, ("product",), limit)]


def to_csv(found: list[Group], days: list[str],
           words: Callable[[str], str] = lambda text: text) -> str:
    """The groups as CSV for a spreadsheet: one column per day of the trend.

    `words` shows the buyers' own words (the console masks phone numbers in them).
    Cells that a spreadsheet would run as a formula are quoted with a leading '.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["货品", "想要的产地", "买家所在地", "价位", "请求数", "买家数",
                     "等待到货提醒", "最近一次", "买家原话", *days])
    for g in found:
        last = time.strftime("%Y-%m-%d %H:%M", time.localtime(g.last_at))
        writer.writerow([_cell(g.product), _cell(g.region), _cell(g.city), _cell(g.band),
                         g.requests,
                         g.buyers, g.waiting, last, _cell(words(" / ".join(g.examples))),
                         *(g.trend.get(day, 0) for day in days)])
    return out.getvalue()


def _cell(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
