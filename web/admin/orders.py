"""Orders: by status and date in keyset pages, one order with its status history and
audit entries, an admin's status change (the transition table decides which, a reason
is required, both sides are told) and the recorded reveal of the delivery details."""
from __future__ import annotations

import time
from urllib.parse import urlencode

from aiohttp import web

from bot.state import STATE
from db import audit, orders
from db.orders import Changed, Order
from handlers.order_notices import composer
from web.admin.access import client_address
from web.admin.common import (SESSION, BadParameter, choice_param, day_param, int_param,
                              redirect, refuse, render, text_param, wake_outbox)

FILTER_NAMES = ("status", "since", "until", "q")
ACTORS = {"buyer": "买家", "seller": "卖家", "operator": "平台", "system": "系统"}
MAX_REASON = 200
MAX_SHIPMENT = 40
REFUSALS = {
    "reason": "请写明原因：会记入审计，并告诉买卖双方。",
    "shipment": "登记发货要填快递公司和单号（卖家自己送就填「自送」）。",
    "status": "订单现在的状态不能这样改（可能刚被别人改过），请刷新后再看。",
    "actor": "运营不能做这个改动。",
}


def _filters(query: object) -> orders.OrderFilter:
    return orders.OrderFilter(
        status=choice_param(query, "status", orders.STATUSES),
        since=day_param(query, "since"), until=day_param(query, "until", end=True),
        number=text_param(query, "q", 20))


async def page(request: web.Request) -> web.Response:
    db = request.app[STATE].db
    kept = {name: request.query[name] for name in FILTER_NAMES if request.query.get(name)}
    try:
        filters = _filters(request.query)
        before = int_param(request.query, "before")
    except BadParameter as exc:
        return render(request, "admin/orders.html", {
            "error": str(exc), "rows": [], "form": kept, "labels": orders.LABELS,
            "counts": await db.run(orders.open_counts), "tabs": _tabs(kept),
            "next_link": None, "first_link": None}, 400)
    rows, older = await db.run(orders.browse, filters, before)
    return render(request, "admin/orders.html", {
        "error": "", "rows": rows, "form": kept, "labels": orders.LABELS,
        "counts": await db.run(orders.open_counts), "tabs": _tabs(kept),
        "next_link": f"/admin/orders?{urlencode({**kept, 'before': older})}" if older else None,
        "first_link": f"/admin/orders?{urlencode(kept)}" if before else None})


def _tabs(kept: dict[str, str]) -> list[tuple[str, str, str]]:
    """(status or '', its name, its link keeping the other filters)."""
    others = {k: v for k, v in kept.items() if k != "status"}
    tabs = [("", "全部", f"/admin/orders?{urlencode(others)}")]
    for status in orders.STATUSES:
        tabs.append((status, orders.LABELS[status],
                     f"/admin/orders?{urlencode({**others, 'status': status})}"))
    return tabs


def _steps(history: list) -> list[dict[str, object]]:
    return [{"at": row["at"], "from": orders.LABELS.get(row["from_status"] or "", "—"),
             "to": orders.LABELS[row["to_status"]], "actor": ACTORS[row["actor"]],
             "actor_name": row["actor_name"] or "", "reason": row["reason"] or ""}
            for row in history]


async def _detail_page(request: web.Request, order_id: int, status: int = 200,
                       error: str = "", values: dict[str, str] | None = None) -> web.Response:
    db = request.app[STATE].db
    order = await db.run(orders.get, order_id)
    if order is None:
        return refuse(request, 404, "没有这个订单。")
    history = await db.run(orders.history, order_id)
    entries = await db.run(audit.recent, None, 50, "order", order_id)
    return render(request, "admin/order.html", {
        "order": order, "labels": orders.LABELS, "steps": _steps(history), "audit": entries,
        "targets": orders.operator_targets(order.status), "error": error,
        "values": values or {"to": "", "reason": "", "carrier": "", "tracking": ""},
        "saved": request.query.get("saved")}, status)


async def detail(request: web.Request) -> web.Response:
    return await _detail_page(request, int(request.match_info["id"]))


def _one_line(value: object, limit: int) -> str:
    return " ".join(str(value or "").split())[:limit]


async def change_status(request: web.Request) -> web.Response:
    order_id = int(request.match_info["id"])
    posted = await request.post()
    values = {"to": _one_line(posted.get("to"), 20),
              "reason": _one_line(posted.get("reason"), MAX_REASON + 1),
              "carrier": _one_line(posted.get("carrier"), MAX_SHIPMENT + 1),
              "tracking": _one_line(posted.get("tracking"), MAX_SHIPMENT + 1)}
    if values["to"] not in orders.STATUSES:
        return await _detail_page(request, order_id, 400, "请选择要改成的状态。", values)
    if len(values["reason"]) > MAX_REASON or max(len(values["carrier"]),
                                                 len(values["tracking"])) > MAX_SHIPMENT:
        return await _detail_page(request, order_id, 400,
                                  f"原因最多 {MAX_REASON} 个字，快递公司和单号各 {MAX_SHIPMENT} 个字。",
                                  values)
    state = request.app[STATE]
    result = await state.db.run(
        orders.change_as_operator, order_id, values["to"], request[SESSION].operator.name,
        values["reason"], client_address(request), time.time(), composer(state.pipeline.services),
        values["carrier"], values["tracking"])
    if isinstance(result, Changed):
        wake_outbox(request)
        return redirect(f"/admin/orders/{order_id}?saved={result.order.status}")
    if result.why == "missing":
        return refuse(request, 404, "没有这个订单。")
    status = 409 if result.why == "status" else 400
    return await _detail_page(request, order_id, status, REFUSALS[result.why], values)


def delivery(order: Order) -> str:
    return " ".join(part for part in (order.name, order.phone, order.address) if part)


async def reveal(request: web.Request) -> web.Response:
    """An admin sees the buyer's name, phone and address; the reveal is recorded."""
    db = request.app[STATE].db
    order_id = int(request.match_info["id"])
    order = await db.run(orders.get, order_id)
    if order is None:
        return refuse(request, 404, "没有这个订单。")
    await db.run(audit.record, request[SESSION].operator.name, "reveal", "order", order_id, "",
                 {"field": "name,phone,address", "order_no": order.order_no},
                 client_address(request))
    return render(request, "admin/revealed.html", {
        "what": f"订单 {order.order_no} 的收货信息",
        "value": delivery(order) or "（收货信息已删除：买家已退订）",
        "back": f"/admin/orders/{order_id}"})
