"""The ordering link's page at /o/{token}: the offer, the order form, the order.

GET shows the offer and a form; POST to the same URL places the order. The form
carries a hidden field signed for this link (CSRF protection without cookies), which
is also the order's idempotency key: submitting twice shows the same order.
Statuses: 200 form or order, 400 form with errors, 403 tampered link or form,
404 delisted, 409 out of stock, 410 expired link.
"""
from __future__ import annotations

import time
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.state import STATE
from db import faults, listings, orders
from db.listings import Offer
from db.orders import Gone, Order, Placed
from handlers import links
from handlers.links import LinkClaims
from handlers.notices import yuan
from handlers.order_notices import shipment, when
from handlers.order_form import FIELDS, check, place, whole_number

STOCK_WORD = "库存不足"
ACTOR_NAMES = {"buyer": "您", "seller": "卖家", "operator": "平台", "system": "系统"}


def add_routes(app: web.Application) -> None:
    app.router.add_get("/o/{token}", order_page)
    app.router.add_post("/o/{token}", submit_order)
    app.router.add_get("/order/{token}", view_order)


def message_page(request: web.Request, heading: str, detail: str, status: int,
                 again: str = "") -> web.Response:
    """A short page that says what happened and leads back to the chat (or the form)."""
    return aiohttp_jinja2.render_template("message.html", request, {
        "heading": heading, "detail": detail, "again": again}, status=status)


def _claims(request: web.Request) -> LinkClaims | web.Response:
    state = request.app[STATE]
    days = state.config.orders.link_days
    try:
        return links.verify(state.config.server.link_secret, request.match_info["token"],
                            time.time(), days * 86400)
    except links.ExpiredLink:
        return message_page(request, "链接已过期", f"下单链接{days}天内有效。回到公众号再说一次想买什么，"
                            "就能拿到新的下单链接。", 410)
    except links.InvalidLink:
        return message_page(request, "链接无效", "这个链接不完整或被改动过。请回到公众号，"
                            "点回复里的「下单」重新打开。", 403)


async def _live_offer(request: web.Request, claims: LinkClaims) -> Offer | web.Response:
    offer = await request.app[STATE].db.run(listings.get, claims.listing_id)
    if offer is None or offer.status != "live":
        return message_page(request, "这个商品已下架", "看看别的好货吧：回到公众号直接说想买什么。", 404)
    return offer


def _form(request: web.Request, offer: Offer, values: dict[str, str],
          errors: dict[str, str], status: int = 200) -> web.Response:
    secret = request.app[STATE].config.server.link_secret
    quantity = whole_number(values["quantity"])
    total = yuan(offer.price_fen * quantity) if quantity else "—"
    return aiohttp_jinja2.render_template("order.html", request, {
        "offer": offer, "price": f"{yuan(offer.price_fen)}/{offer.unit}", "total": total,
        "values": values, "errors": errors, "photo_url": offer.photo,
        "form_field": links.form_field(secret, request.match_info["token"])}, status=status)


async def order_page(request: web.Request) -> web.Response:
    claims = _claims(request)
    if isinstance(claims, web.Response):
        return claims
    offer = await _live_offer(request, claims)
    if isinstance(offer, web.Response):
        return offer
    quantity = claims.quantity if claims.quantity and claims.quantity <= offer.stock else 1
    values = {name: "" for name in FIELDS} | {"quantity": str(quantity)}
    return _form(request, offer, values, {})


async def submit_order(request: web.Request) -> web.Response:
    state = request.app[STATE]
    claims = _claims(request)
    if isinstance(claims, web.Response):
        return claims
    form = await request.post()
    try:
        form_key = links.check_form_field(state.config.server.link_secret,
                                          request.match_info["token"], str(form.get("form", "")))
    except links.InvalidLink:
        return message_page(request, "页面已失效", "请回到公众号重新打开下单链接再提交。", 403)
    already = await state.db.run(orders.by_form_key, form_key)
    if already:  # the same form again: the order it made, never a second one
        return _done(request, already, repeated=True)
    offer = await _live_offer(request, claims)
    if isinstance(offer, web.Response):
        return offer
    if offer.stock <= 0:
        return _sold_out(request, 0, offer.unit)
    checked = check(form, offer.stock, offer.unit)
    if not checked.ok:
        return _form(request, offer, checked.values, checked.errors, status=400)
    result = await place(state.pipeline.services, claims, form_key, checked)
    faults.hit("after_commit")
    if isinstance(result, Placed):
        return _done(request, result.order, repeated=not result.fresh)
    if isinstance(result, Gone):
        return message_page(request, "这个商品已下架", "看看别的好货吧：回到公众号直接说想买什么。", 404)
    return _sold_out(request, result.stock, offer.unit)


def _sold_out(request: web.Request, stock: int, unit: str) -> web.Response:
    if stock <= 0:
        return message_page(request, f"{STOCK_WORD}，已经卖完了", "别人刚刚买走了最后的库存。"
                            "回到公众号看看别的好货吧。", 409)
    return message_page(request, STOCK_WORD, f"只剩{stock}{unit}了，请减少数量再提交。", 409,
                        again=request.path)


def _facts(request: web.Request, order: Order) -> dict[str, Any]:
    state = request.app[STATE]
    return {"order": order, "total": yuan(order.total_fen),
            "price": f"{yuan(order.price_fen)}/{order.unit}", "shipment": shipment(order),
            "confirm_hours": state.config.orders.confirm_hours,
            "view": "/order/" + links.sign_order(state.config.server.link_secret,
                                                 order.order_no, order.buyer)}


def _done(request: web.Request, order: Order, repeated: bool) -> web.Response:
    context = _facts(request, order) | {"repeated": repeated}
    return aiohttp_jinja2.render_template("order_done.html", request, context)


async def view_order(request: web.Request) -> web.Response:
    """The buyer's own page of one order: where it stands and what happened."""
    state = request.app[STATE]
    try:
        number, openid = links.verify_order(state.config.server.link_secret,
                                            request.match_info["token"])
    except links.InvalidLink:
        return message_page(request, "链接无效", "请在公众号回复「我的订单」查看您的订单。", 403)
    found = [o for o in await state.db.run(orders.by_number, number) if o.buyer == openid]
    if not found:
        return message_page(request, "没有找到这个订单", "请在公众号回复「我的订单」查看。", 404)
    order = found[0]
    history = await state.db.run(orders.history, order.id)
    steps = [{"label": orders.LABELS[row["to_status"]], "when": when(row["at"]),
              "actor": ACTOR_NAMES[row["actor"]], "reason": row["reason"] or ""}
             for row in history]
    return aiohttp_jinja2.render_template("order_view.html", request,
                                          _facts(request, order) | {"steps": steps})
