"""The audit trail: every recorded operator action, newest first (admins only)."""
from __future__ import annotations

from aiohttp import web

from bot.state import STATE
from db import audit
from web.admin.common import BadParameter, int_param, refuse, render

PAGE_SIZE = 100


async def page(request: web.Request) -> web.Response:
    try:
        before = int_param(request.query, "before")
    except BadParameter as exc:
        return refuse(request, 400, str(exc))
    entries = await request.app[STATE].db.run(audit.recent, before, PAGE_SIZE + 1)
    older = entries[PAGE_SIZE - 1].id if len(entries) > PAGE_SIZE else None
    return render(request, "admin/audit.html", {
        "entries": entries[:PAGE_SIZE],
        "next_link": f"/admin/audit?before={older}" if older else None})
