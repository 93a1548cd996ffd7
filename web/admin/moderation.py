"""The moderation queue: pending listings with their photos, approve, or reject with a
reason. The verdict takes the same path as `python -m bot listings approve|reject`
(handlers.notices.moderate): the seller is told through the outbox, the audit trail
records it, and an approval answers the restock alerts waiting for it."""
from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from aiohttp import web

from bot.state import STATE
from db import media, moderation
from handlers.notices import moderate
from web.admin.access import client_address
from web.admin.common import SESSION, redirect, refuse, render, wake_outbox

MAX_REASON = 200
PATH = "/admin/moderation"


async def _page(request: web.Request, status: int = 200, errors: dict[int, str] | None = None,
                reasons: dict[int, str] | None = None) -> web.Response:
    rows = await request.app[STATE].db.run(moderation.pending)
    return render(request, "admin/moderation.html", {
        "rows": rows, "photos": {r.id: media.url_path(r.photo) for r in rows},
        "errors": errors or {}, "reasons": reasons or {}, "done": _done(request.query)}, status)


def _done(query: Mapping[str, str]) -> dict[str, object] | None:
    """What the last verdict did, as the redirect after it says."""
    outcome = query.get("done")
    if outcome not in ("approved", "rejected"):
        return None
    return {"outcome": outcome, "id": query.get("id", ""), "title": query.get("title", "")[:60],
            "told": query.get("told") == "1", "alerts": query.get("alerts", "0")}


async def page(request: web.Request) -> web.Response:
    return await _page(request)


async def approve(request: web.Request) -> web.Response:
    return await _decide(request, approve=True)


async def reject(request: web.Request) -> web.Response:
    return await _decide(request, approve=False)


async def _decide(request: web.Request, approve: bool) -> web.Response:
    listing_id = int(request.match_info["id"])
    posted = await request.post()
    reason = " ".join(str(posted.get("reason", "")).split())
    if not approve and not reason:
        return await _page(request, 400, {listing_id: "请写明不通过的原因，卖家会看到。"})
    if len(reason) > MAX_REASON:
        return await _page(request, 400, {listing_id: f"原因最多 {MAX_REASON} 个字。"},
                           {listing_id: reason})
    operator = request[SESSION].operator.name
    verdict = await request.app[STATE].db.run(moderate, listing_id, approve, reason, operator,
                                              client_address(request))
    if verdict.outcome == "missing":
        return refuse(request, 404, "没有这个商品。")
    if verdict.outcome == "not pending":
        return refuse(request, 409, "这个商品已经不在待审核队列里了（可能别人刚审核过）。")
    wake_outbox(request)
    listing = verdict.listing
    told = "1" if listing and listing.openid else "0"
    return redirect(f"{PATH}?" + urlencode({
        "done": verdict.outcome, "id": listing_id, "title": listing.title if listing else "",
        "told": told, "alerts": verdict.alerts}))
