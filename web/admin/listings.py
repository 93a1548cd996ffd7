"""Listings: search and filter, a listing's page, an admin's edits and delisting
(each with its audit entry) and the recorded reveal of a seller's phone."""
from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from bot.state import STATE
from db import audit, listing_admin
from db.catalogue import CatalogueError, clean_field
from web.admin.access import client_address
from web.admin.common import (SESSION, BadParameter, choice_param, int_param, redirect, refuse,
                              render, text_param)

STATUS_NAMES = {"live": "在售", "pending": "待审核", "delisted": "已下架"}
FIELD_ERRORS = {
    "title": "标题要 1 到 60 个字。",
    "price": "价格要填不小于 0 的数字（元），例如 8.8。",
    "stock": "库存要填不小于 0 的整数。",
}
FILTER_NAMES = ("q", "status", "origin", "seller")


async def page(request: web.Request) -> web.Response:
    query = request.query
    try:
        filters = listing_admin.ListingFilter(
            text=text_param(query, "q", 100), status=choice_param(query, "status", listing_admin.STATUSES),
            origin=text_param(query, "origin", 40), seller=text_param(query, "seller", 40))
        before = int_param(query, "before")
    except BadParameter as exc:
        return refuse(request, 400, str(exc))
    rows, older = await request.app[STATE].db.run(listing_admin.browse, filters, before)
    kept = {name: query[name] for name in FILTER_NAMES if query.get(name)}
    return render(request, "admin/listings.html", {
        "rows": rows, "form": kept, "statuses": STATUS_NAMES,
        "next_link": f"/admin/listings?{urlencode({**kept, 'before': older})}" if older else None,
        "first_link": f"/admin/listings?{urlencode(kept)}" if before else None})


async def _detail_page(request: web.Request, listing_id: int, status: int = 200,
                       errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
                       revealed: str | None = None) -> web.Response:
    db = request.app[STATE].db
    listing = await db.run(listing_admin.detail, listing_id)
    if listing is None:
        return refuse(request, 404, "没有这个商品。")
    history = await db.run(audit.recent, None, 50, "listing", listing_id)
    values = form or {"title": listing.title, "price": f"{listing.price_fen / 100:.2f}",
                      "stock": str(listing.stock), "status": listing.status, "reason": ""}
    return render(request, "admin/listing.html", {
        "listing": listing, "history": history, "statuses": STATUS_NAMES,
        "editable_statuses": listing_admin.EDITABLE_STATUSES, "errors": errors or {},
        "values": values, "saved": request.query.get("saved"), "revealed": revealed}, status)


async def detail(request: web.Request) -> web.Response:
    return await _detail_page(request, int(request.match_info["id"]))


def _changes(form: dict[str, str]) -> tuple[dict[str, object], dict[str, str]]:
    """Clean values for the fields the form filled, and a message per bad field."""
    changes: dict[str, object] = {}
    errors: dict[str, str] = {}
    for name, column in (("title", "title"), ("price", "price_fen"), ("stock", "stock")):
        if form.get(name, "").strip() == "" and name != "title":
            continue
        try:
            changes[column] = clean_field(name, form.get(name, ""))
        except CatalogueError:
            errors[name] = FIELD_ERRORS[name]
    status = form.get("status", "")
    if status:
        changes["status"] = status
    return changes, errors


async def edit(request: web.Request) -> web.Response:
    listing_id = int(request.match_info["id"])
    posted = await request.post()
    form = {name: str(posted.get(name, "")) for name in ("title", "price", "stock", "status",
                                                           "reason")}
    changes, errors = _changes(form)
    if errors:
        return await _detail_page(request, listing_id, 400, errors, form)
    session = request[SESSION]
    try:
        await request.app[STATE].db.run(
            listing_admin.edit, listing_id, changes, session.operator.name,
            " ".join(form["reason"].split())[:200], client_address(request))
    except listing_admin.EditError as exc:
        if exc.field == "id":
            return refuse(request, 404, str(exc))
        return await _detail_page(request, listing_id, 400, {exc.field: str(exc)}, form)
    return redirect(f"/admin/listings/{listing_id}?saved=1")


async def delist(request: web.Request) -> web.Response:
    listing_id = int(request.match_info["id"])
    posted = await request.post()
    reason = str(posted.get("reason", ""))[:200]
    session = request[SESSION]
    try:
        await request.app[STATE].db.run(listing_admin.delist, listing_id, session.operator.name,
                                        reason, client_address(request))
    except listing_admin.EditError as exc:
        if exc.field == "id":
            return refuse(request, 404, str(exc))
        return await _detail_page(request, listing_id, 400, {"delist": str(exc)})
    return redirect(f"/admin/listings/{listing_id}?saved=delisted")


async def reveal(request: web.Request) -> web.Response:
    """An admin sees the seller's phone; the reveal goes into the audit trail."""
    db = request.app[STATE].db
    listing_id = int(request.match_info["id"])
    listing = await db.run(listing_admin.detail, listing_id)
    if listing is None:
        return refuse(request, 404, "没有这个商品。")
    session = request[SESSION]
    await db.run(audit.record, session.operator.name, "reveal", "seller", listing.seller_id,
                 "", {"field": "phone", "listing": listing_id}, client_address(request))
    return render(request, "admin/revealed.html", {
        "what": f"卖家「{listing.seller}」的电话", "value": listing.seller_phone or "（没有登记电话）",
        "back": f"/admin/listings/{listing_id}"})
