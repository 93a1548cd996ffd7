"""The dashboard: messages per day, match and no-match rates, orders and their value
per day, what buyers search for, what they cannot find, and where sellers are; all
charts server-rendered SVG."""
from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from bot.state import STATE
from db import demand, listing_admin, messages, orders
from nlp.goods import short_place
from web.admin import charts
from web.admin.common import day_range, day_start, logged_so_far, refuse, render

WINDOWS = (7, 14, 30)
DEFAULT_DAYS = 14
TOP = 10


@dataclass(frozen=True)
class Figures:
    """Everything the dashboard shows, computed once from the database."""
    days: list[str]
    per_day: list[messages.Day]
    searched: list[tuple[str, int]]
    unmet: list[tuple[str, int, int]]
    regions: list[tuple[str, int, int]]
    live: int
    order_days: list[orders.Day]

    @property
    def messages(self) -> int:
        return sum(d.messages for d in self.per_day)

    @property
    def orders(self) -> int:
        return sum(d.orders for d in self.order_days)

    @property
    def order_value_fen(self) -> int:
        return sum(d.value_fen for d in self.order_days)

    @property
    def searches(self) -> int:
        return sum(d.searches for d in self.per_day)

    def rate(self, field: str) -> float | None:
        searches = self.searches
        return 100 * sum(getattr(d, field) for d in self.per_day) / searches if searches else None


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _figures(conn: object, days: list[str]) -> Figures:
    first, last = days[0], days[-1]
    counted = messages.days(conn, first, last)
    per_day = [counted.get(day, messages.Day(day, 0, 0, 0, 0)) for day in days]
    since, until = day_start(first), time.time() + 1
    bounds = [(day, day_start(day), day_start(after)) for day, after in zip(days, days[1:])]
    order_days = orders.per_day(conn, [*bounds, (last, day_start(last), until)])
    return Figures(days, per_day, messages.top_searched(conn, first, last, TOP),
                   demand.top_products(conn, since, until, TOP),
                   listing_admin.seller_regions(conn, TOP), listing_admin.count(conn),
                   order_days)


async def page(request: web.Request) -> web.Response:
    raw = request.query.get("days", str(DEFAULT_DAYS))
    if not raw.isdigit() or int(raw) not in WINDOWS:
        return refuse(request, 400, f"days 只能是 {'、'.join(str(d) for d in WINDOWS)}")
    days = day_range(int(raw))
    await logged_so_far(request)
    figures = await request.app[STATE].db.run(_figures, days)
    demand_days = 7 if int(raw) <= 7 else 30
    return render(request, "admin/dashboard.html", {
        "figures": figures, "windows": WINDOWS, "days": int(raw),
        "match_rate": figures.rate("matched"), "no_match_rate": figures.rate("no_match"),
        "chart_messages": charts.bars([(d.day, d.messages) for d in figures.per_day],
                                      "每日消息数", ""),
        "chart_rates": charts.lines(
            days, [("匹配率", [percent(d.matched, d.searches) for d in figures.per_day]),
                   ("无结果率", [percent(d.no_match, d.searches) for d in figures.per_day])],
            "每日匹配率与无结果率", "%", 100),
        "chart_orders": charts.bars([(d.day, d.orders) for d in figures.order_days],
                                    "每日订单数", ""),
        "chart_order_value": charts.bars(
            [(d.day, d.value_fen / 100) for d in figures.order_days], "每日订单金额", "元"),
        "chart_searched": charts.ranking(figures.searched, "搜索最多的货品", "次"),
        "chart_unmet": charts.ranking(
            [(name, requests) for name, requests, _ in figures.unmet], "找不到最多的货品", "次",
            [f"/admin/demand?days={demand_days}&by=product,region#p-{quote(name)}"
             for name, _, _ in figures.unmet]),
        "chart_regions": charts.ranking(
            [(short_place(name), n) for name, n, _ in figures.regions], "卖家最多的产地", "件"),
    })
