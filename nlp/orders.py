"""Order commands: 订单 N, 取消订单 N 原因, 收到了 N, 确认订单 N, 发货 N 顺丰SF1234567890.

`parse(norm)` reads normalised text (nlp.normalize) and returns the slots of a
command, or None when the message is not one:

    action    show | cancel | received | confirm | ship
    order_no  20261201-7K3F9Q, or just its code 7K3F9Q (upper case)
    index     a position in the list 我的订单 showed last (订单 2, 第二个订单, 2号订单)
    reason    why, for a cancellation
    carrier   canonical carrier (顺丰, 中通 ... or 自送), for a shipment
    tracking  the tracking number (upper case)

A weak cue (发货, 取消, 确认, 订单) is a command only with an order reference; a strong
one (取消订单, 收到了) is one without. A question (发货了吗, 收到了吗) is never a command,
except looking an order up. Pure: the cues are data (data/orders.json).
"""
from __future__ import annotations

import re
from functools import cache
from typing import Any

from nlp import lexicon, numbers

_FULL = re.compile(r"(?<![0-9a-z])(20\d{6})\s*-\s*([2-9a-hjkmnp-z]{6})(?![0-9a-z])")
_CODE = re.compile(r"(?<![0-9a-z])([2-9a-hjkmnp-z]{6})(?![0-9a-z])")
_TRACKING = re.compile(r"(?<![0-9a-z])([a-z]{0,4}\d{8,22})(?![0-9a-z])")
_ORDINAL = r"\d{1,2}|[一二三四五六七八九十两]{1,3}"
_NTH = re.compile(rf"第\s*({_ORDINAL})\s*(?:个|笔|单)?")
_NUMBERED = re.compile(r"(?<![0-9a-z.])(\d{1,2})\s*号\s*(?=订单|单|[, ]|$)")
_AFTER = r"\s*(\d{1,2})(?![0-9a-z.]|\s*[斤两克箱个袋盒件只枚瓶包罐])"
_EDGES = " ,:"
MAX_CHARS = 120  # commands are short; longer text is something else
ACTIONS = ("received", "ship", "cancel", "confirm", "show")


@cache
def _data() -> dict[str, Any]:
    return lexicon.table("orders.json")


@cache
def _longest_first(name: str) -> tuple[str, ...]:
    return tuple(sorted(_data()[name], key=len, reverse=True))


@cache
def _carriers() -> tuple[tuple[str, str], ...]:
    pairs = [(alias.lower(), name) for name, aliases in _data()["carriers"].items()
             for alias in aliases]
    return tuple(sorted(pairs, key=lambda pair: len(pair[0]), reverse=True))


def _blank(text: str, start: int, end: int) -> str:
    """Remove a recognised piece without moving anything else."""
    return text[:start] + " " * (end - start) + text[end:]


def _mixed(code: str) -> bool:
    return any(c.isdigit() for c in code) and any(c.isalpha() for c in code)


def _cue(text: str, action: str) -> tuple[bool, int, int] | None:
    """(strong, start, end) of the action's first cue, longest cues first."""
    cues = _data()["actions"][action]
    found = [(strong, text.find(cue), len(cue)) for strong in (True, False)
             for cue in sorted(cues["strong" if strong else "weak"], key=len, reverse=True)
             if cue in text]
    if not found:
        return None
    strong, start, size = min(found, key=lambda f: (f[1], -f[2]))
    return strong, start, start + size


def _index(text: str, anchors: list[int]) -> tuple[int, int, int] | None:
    """(index, start, end): 第二个, 2号订单, or a number right after a cue or 订单."""
    for pattern in (_NTH, _NUMBERED):
        match = pattern.search(text)
        if match:
            value = numbers.to_decimal(match.group(1))
            if value is not None and 0 < value <= 99:
                return int(value), match.start(), match.end()
    for anchor in sorted(anchors):
        match = re.compile(_AFTER).match(text, anchor)
        if match:
            return int(match.group(1)), match.start(), match.end()
    return None


def _only_filler(text: str) -> bool:
    for word in _longest_first("filler"):
        text = text.replace(word, " ")
    return not text.strip(_EDGES)


def _asks(text: str) -> bool:
    return any(word in text for word in _data()["questions"])


def _reason(rest: str) -> str | None:
    rest = rest.strip(_EDGES)
    for prefix in _longest_first("reason_prefixes"):
        if rest.startswith(prefix):
            rest = rest[len(prefix):].strip(_EDGES)
            break
    rest = rest.lstrip("了").strip(_EDGES)
    return None if not rest or _only_filler(rest) else rest[:100]


def _shipment(text: str, tracking: str | None) -> dict[str, str]:
    slots: dict[str, str] = {}
    carrier = next((name for alias, name in _carriers() if alias in text), None)
    if carrier is None and any(word in text for word in _data()["self_delivery"]):
        carrier = "自送"
    if carrier is None and tracking:
        prefix = re.match(r"[a-z]*", tracking).group(0)
        carrier = _data()["tracking_prefixes"].get(prefix)
    if carrier:
        slots["carrier"] = carrier
    if tracking:
        slots["tracking"] = tracking.upper()
    return slots


def parse(norm: str) -> dict[str, Any] | None:
    """The command's slots, or None: see the module docstring."""
    if not norm or len(norm) > MAX_CHARS:
        return None
    text, slots = norm, {}
    ref_end = -1
    full = _FULL.search(text)
    if full:
        slots["order_no"] = f"{full.group(1)}-{full.group(2).upper()}"
        text, ref_end = _blank(text, *full.span()), full.end()
    tracking = _TRACKING.search(text)
    if tracking:
        text = _blank(text, *tracking.span())
    if not full:
        code = next((m for m in _CODE.finditer(text) if _mixed(m.group(1))), None)
        if code:
            slots["order_no"] = code.group(1).upper()
            text, ref_end = _blank(text, *code.span()), code.end()
    return _command(text, slots, ref_end, tracking.group(1) if tracking else None)


def _command(text: str, slots: dict[str, Any], ref_end: int,
             tracking: str | None) -> dict[str, Any] | None:
    anchors = [m.end() for m in re.finditer("订单号|订单|单号", text)]
    for action in ACTIONS:
        cue = _cue(text, action)
        if cue is None:
            continue
        strong, start, end = cue
        if "order_no" not in slots:
            index = _index(text, anchors + [end])
            if index:
                slots["index"], _, ref_end = index
                text = _blank(text, index[1], index[2])
        has_ref = "order_no" in slots or "index" in slots
        if not (strong or has_ref):
            continue
        head_end = max(end, ref_end)
        if action != "show" and _asks(text[:head_end] if action in ("cancel", "ship") else text):
            return None
        rest = _blank(text, start, end)
        if action in ("received", "confirm", "show") and not _only_filler(rest):
            return None
        slots = {"action": action, **slots}
        if action == "cancel":
            reason = _reason(text[head_end:])
            if reason:
                slots["reason"] = reason
        if action == "ship":
            slots.update(_shipment(text, tracking))
        return slots
    if "order_no" in slots and _only_filler(text):
        return {"action": "show", **slots}  # a bare order number: look it up
    return None
