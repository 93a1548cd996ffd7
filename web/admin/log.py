"""The conversation log: filtered keyset pages, one user's transcript, and an
admin's recorded reveal of a message's phone numbers."""
from __future__ import annotations

import time
from urllib.parse import quote, urlencode

from aiohttp import web

from bot.state import STATE
from db import audit, listing_admin, messages
from web.admin.common import (SESSION, BadParameter, choice_param, int_param, local_input,
                              logged_so_far, refuse, render, text_param, time_param)
from web.admin.access import client_address

QUICK_RANGES = (("最近1小时", 3600), ("最近24小时", 86400), ("最近7天", 7 * 86400))
FILTER_NAMES = ("since", "until", "openid", "intent", "outcome", "q")


def _filters(request: web.Request, intents: list[str]) -> messages.LogFilter:
    query = request.query
    return messages.LogFilter(
        since=time_param(query, "since"), until=time_param(query, "until"),
        openid=text_param(query, "openid", 128),
        intent=choice_param(query, "intent", intents),
        outcome=choice_param(query, "outcome", messages.OUTCOMES),
        text=text_param(query, "q", 100))


def _kept(request: web.Request) -> dict[str, str]:
    """The filters as given, to carry into the next page's link."""
    return {name: request.query[name] for name in FILTER_NAMES if request.query.get(name)}


async def page(request: web.Request) -> web.Response:
    db = request.app[STATE].db
    await logged_so_far(request)
    intents = await db.run(messages.intents)
    try:
        filters = _filters(request, intents)
        before = int_param(request.query, "before")
    except BadParameter as exc:
        return render(request, "admin/log.html", {
            "error": str(exc), "rows": [], "older": None, "form": dict(request.query),
            "intents": intents, "outcomes": messages.OUTCOMES, "quick": _quick(),
            "next_link": None, "first_link": None}, 400)
    found = await db.run(messages.page, filters, before)
    kept = _kept(request)
    return render(request, "admin/log.html", {
        "error": "", "rows": found.rows, "form": kept, "intents": intents,
        "outcomes": messages.OUTCOMES, "quick": _quick(),
        "next_link": f"/admin/log?{urlencode({**kept, 'before': found.older})}"
                     if found.older else None,
        "first_link": f"/admin/log?{urlencode(kept)}" if before else None})


def _quick() -> list[tuple[str, str]]:
    now = time.time()
    return [(label, local_input(now - seconds)) for label, seconds in QUICK_RANGES]


async def transcript(request: web.Request) -> web.Response:
    db = request.app[STATE].db
    openid = request.match_info["openid"]
    try:
        before = int_param(request.query, "before")
        after = int_param(request.query, "after")
        focus = int_param(request.query, "focus")
    except BadParameter as exc:
        return refuse(request, 400, str(exc))
    if focus is not None and before is None and after is None:
        before = focus + 1
    await logged_so_far(request)
    found = await db.run(messages.transcript, openid, before, after)
    offers = await db.run(listing_admin.briefs, [i for row in found.rows for i in row.offers])
    base = f"/admin/log/user/{quote(openid, safe='')}"
    return render(request, "admin/transcript.html", {
        "openid": openid, "rows": found.rows, "offers": offers, "focus": focus,
        "earlier_link": f"{base}?before={found.earlier}" if found.earlier else None,
        "later_link": f"{base}?after={found.later}" if found.later else None})


async def reveal(request: web.Request) -> web.Response:
    """An admin sees one message unmasked; the reveal goes into the audit trail."""
    state = request.app[STATE]
    log_id = int(request.match_info["id"])
    row = await state.db.run(messages.get, log_id)
    if row is None:
        return refuse(request, 404, "没有这条消息。")
    session = request[SESSION]
    await state.db.run(audit.record, session.operator.name, "reveal", "message", log_id,
                       "", {"field": "text"}, client_address(request))
    return render(request, "admin/revealed.html", {
        "what": f"消息 #{log_id}（{row.openid or '-'}）", "value": row.text or "",
        "back": f"/admin/log/user/{quote(row.openid, safe='')}?focus={log_id}#m{log_id}"
                if row.openid
                else "/admin/log"})
