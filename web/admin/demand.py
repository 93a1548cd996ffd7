"""Unmet demand: what buyers asked for that nobody sells, from where and at what
price, over a window; the restock alerts waiting for each; CSV export."""
from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup

from bot.state import STATE
from db import demand
from web.admin import charts
from web.admin.common import (BadParameter, day_range, day_start, harden, mask_text, render,
                              refuse)

WINDOWS = (1, 7, 30, 90)
DEFAULT_DAYS = 7
LABELS = {"product": "货品", "region": "想要的产地", "city": "买家所在地", "band": "价位"}
GROUPINGS = (("product", "只按货品"), ("product,region", "货品 + 想要的产地"),
             ("product,city", "货品 + 买家所在地"), ("product,region,city,band", "全部"),
             ("region", "只按产地"), ("city", "只按买家所在地"))


@dataclass(frozen=True)
class Window:
    days: int
    by: tuple[str, ...]
    day_list: list[str]
    since: float
    until: float

    @property
    def query(self) -> dict[str, str]:
        return {"days": str(self.days), "by": ",".join(self.by)}


def _window(request: web.Request) -> Window:
    raw_days = request.query.get("days", str(DEFAULT_DAYS)).strip()
    if not raw_days.isdigit() or int(raw_days) not in WINDOWS:
        raise BadParameter(f"days 只能是 {'、'.join(str(d) for d in WINDOWS)}")
    days = int(raw_days)
    raw_by = [part for part in request.query.get("by", ",".join(demand.DIMENSIONS)).split(",")
              if part]
    if not raw_by or any(part not in demand.DIMENSIONS for part in raw_by):
        raise BadParameter("by 只能由 product、region、city、band 组成")
    day_list = day_range(days)
    return Window(days, tuple(d for d in demand.DIMENSIONS if d in raw_by), day_list,
                  day_start(day_list[0]), time.time() + 1)


async def page(request: web.Request) -> web.Response:
    try:
        window = _window(request)
    except BadParameter as exc:
        return refuse(request, 400, str(exc))
    groups = await request.app[STATE].db.run(demand.groups, window.since, window.until,
                                             window.by)
    return render(request, "admin/demand.html", {
        "groups": [(g, _trend(g, window)) for g in groups], "window": window,
        "windows": WINDOWS, "labels": LABELS, "groupings": GROUPINGS,
        "csv_link": f"/admin/demand.csv?{urlencode(window.query)}",
        "total_requests": sum(g.requests for g in groups)})


def _trend(group: demand.Group, window: Window) -> Markup:
    values = [group.trend.get(day, 0) for day in window.day_list]
    return charts.spark(values, f"{window.day_list[0]} 至 {window.day_list[-1]} 每日请求数")


async def export(request: web.Request) -> web.StreamResponse:
    try:
        window = _window(request)
    except BadParameter as exc:
        return refuse(request, 400, str(exc))
    groups = await request.app[STATE].db.run(demand.groups, window.since, window.until,
                                             window.by)
    body = demand.to_csv(groups, window.day_list, mask_text)
    name = f"unmet-demand-{window.day_list[0]}-{window.day_list[-1]}.csv"
    # A byte-order mark lets spreadsheet programs read the Chinese as UTF-8.
    return harden(web.Response(body=("\ufeff" + body).encode("utf-8"), headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{name}"'}))
