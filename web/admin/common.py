"""What every console page shares: rendering with the operator's context, masking,
formatting, and reading query parameters into clear errors."""
from __future__ import annotations

import datetime as dt
import json
import re
import time
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup

from bot.state import STATE
from db.operators import Session
from handlers.order_notices import mask_address, mask_name

SESSION = web.RequestKey("console_session", Session)
# Mobile numbers, also written 138-1234-5678 or 138 1234 5678, keep their first three
# and last four digits: enough to tell two apart, not enough to call.
_MOBILE = re.compile(r"(?<![\d])(\+?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)")
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
}


class BadParameter(Exception):
    """A query or form value the page cannot use; the message is shown to the operator."""


async def logged_so_far(request: web.Request) -> None:
    """Pages that read the message log first write the lines this process still holds
    (bot.logbook), so an operator sees every message answered here so far."""
    pipeline = request.app[STATE].pipeline
    if pipeline is not None:
        await pipeline.logbook.flush()


def mask_text(text: str | None) -> str:
    return _MOBILE.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}****{m.group(4)}", text or "")


def has_phone(text: str | None) -> bool:
    return bool(_MOBILE.search(text or ""))


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 8 else "****"


def harden(response: web.StreamResponse) -> web.StreamResponse:
    response.headers.update(HEADERS)
    return response


def redirect(location: str) -> web.Response:
    """303 See Other: after a POST, the browser GETs the page that shows the result."""
    return harden(web.Response(status=303, headers={"Location": location}))


def render(request: web.Request, template: str, context: dict[str, Any],
           status: int = 200) -> web.Response:
    session = request.get(SESSION)
    context = {"session": session, "operator": session.operator if session else None,
               "csrf": session.csrf if session else "", "path": request.path, **context}
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    harden(response)
    return response


def wake_outbox(request: web.Request) -> None:
    """Notices were queued; the sender also polls, so this only saves time."""
    pipeline = request.app[STATE].pipeline
    if pipeline is not None:
        pipeline.services.wake_outbox()


def refuse(request: web.Request, status: int, message: str) -> web.Response:
    return render(request, "admin/refused.html", {"status": status, "message": message}, status)


# -- formatting (Jinja filters) ------------------------------------------------

def when(at: float | None, form: str = "%Y-%m-%d %H:%M:%S") -> str:
    return time.strftime(form, time.localtime(at)) if at else ""


def yuan(fen: int | None) -> str:
    return "" if fen is None else f"¥{fen // 100}.{fen % 100:02d}"


_TAG = re.compile(r"<[^>]*>")


def untag(text: str | None) -> str:
    """A reply without its markup (the ordering links), newlines kept."""
    return _TAG.sub("", text or "")


def pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def setup_filters(env: jinja2.Environment) -> None:
    env.filters.update(when=when, yuan=yuan, masked=mask_text, phone=mask_phone, pretty=pretty,
                       has_phone=has_phone, untag=untag, address=mask_address,
                       person=mask_name)
    env.globals["svg"] = Markup


# -- parameters ------------------------------------------------------------------

def text_param(query: Any, name: str, limit: int = 200) -> str | None:
    value = (query.get(name) or "").strip()
    if len(value) > limit:
        raise BadParameter(f"{name} 太长了（最多 {limit} 个字）")
    return value or None


def int_param(query: Any, name: str) -> int | None:
    value = (query.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise BadParameter(f"{name} 需要是正整数")
    return int(value)


def choice_param(query: Any, name: str, choices: tuple[str, ...] | list[str]) -> str | None:
    value = (query.get(name) or "").strip()
    if value and value not in choices:
        raise BadParameter(f"{name} 只能是：{'、'.join(choices)}")
    return value or None


def time_param(query: Any, name: str) -> float | None:
    """A local date or date-time from a form (2026-11-28 or 2026-11-28T09:30)."""
    value = (query.get(name) or "").strip()
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise BadParameter(f"时间格式不对：{value[:40]}（例如 2026-11-28T09:30）") from None


def day_param(query: Any, name: str, end: bool = False) -> float | None:
    """A local date from a date input: its first moment, or with `end` the first moment
    of the next day (so an end date includes the whole day)."""
    value = (query.get(name) or "").strip()
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise BadParameter(f"日期格式不对：{value[:40]}（例如 2026-11-28）") from None
    if end:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time()).timestamp()


def local_input(at: float | None) -> str:
    """A time as a datetime-local input's value."""
    return time.strftime("%Y-%m-%dT%H:%M", time.localtime(at)) if at else ""


def day_range(days: int, now: float | None = None) -> list[str]:
    """The last `days` local dates, oldest first, today last."""
    today = dt.date.fromtimestamp(time.time() if now is None else now)
    return [(today - dt.timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


def day_start(day: str) -> float:
    return dt.datetime.fromisoformat(day).timestamp()
