"""The ordering link's page at /o/{token}."""
from __future__ import annotations

import time

import aiohttp_jinja2
from aiohttp import web

from bot.state import STATE
from db import listings
from handlers import links


def add_routes(app: web.Application) -> None:
    app.router.add_get("/o/{token}", order_page)


def message_page(request: web.Request, heading: str, detail: str, status: int) -> web.Response:
    return aiohttp_jinja2.render_template("message.html", request,
                                          {"heading": heading, "detail": detail}, status=status)


async def order_page(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        claims = links.verify(state.config.server.link_secret, request.match_info["token"],
                              time.time())
    except links.InvalidLink as exc:
        return message_page(request, str(exc), "", 400)
    offer = await state.db.run(listings.get, claims.listing_id)
    if offer is None or offer.status != "live":
        return message_page(request, "这个商品已下架", "看看别的好货吧。", 404)
    price = f"¥{offer.price_fen / 100:.2f}/{offer.unit}"
    return aiohttp_jinja2.render_template("order.html", request, {"offer": offer, "price": price})
