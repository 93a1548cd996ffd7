"""understand(text) -> Understanding: intent plus the slots a buyer search needs.

Pure: lexicons are read once; no I/O at call time after the first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import cn2an

from nlp import lexicon, segment

_CN_NUM = "零一二两三四五六七八九十百千"
_NUMBER = rf"(\d+(?:\.\d+)?|[{_CN_NUM}]+)"
_MONEY = r"(?:块钱|块|元|rmb|¥)"
_PRICE_MAX = [
    re.compile(rf"{_NUMBER}\s*{_MONEY}\s*(?:钱)?\s*(?:以内|以下|之内|内)"),
    re.compile(rf"(?:不超过|最多|低于|不高于|少于)\s*{_NUMBER}\s*{_MONEY}?"),
    re.compile(rf"{_NUMBER}\s*{_MONEY}?\s*(?:以内|以下|之内)"),
]
# Number spans (with an optional unit) are never search words.
_QUANTITY = re.compile(rf"[¥]?{_NUMBER}\s*(?:块钱|块|元|毛|角|斤|公斤|千克|kg|箱|袋|个|只|盒|瓶|罐|件|份)?")


@dataclass(frozen=True)
class Understanding:
    intent: str
    slots: dict[str, Any] = field(default_factory=dict)

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(self.slots.get("terms", ()))


def _to_decimal(raw: str) -> Decimal | None:
    try:
        if raw[0].isdigit():
            return Decimal(raw)
        return Decimal(str(cn2an.cn2an(raw, "smart")))
    except (ValueError, InvalidOperation, KeyError, IndexError):
        return None


def price_max(text: str) -> tuple[Decimal | None, str]:
    """The buyer's upper price bound, and the text with that phrase removed."""
    for pattern in _PRICE_MAX:
        match = pattern.search(text)
        if match:
            value = _to_decimal(match.group(1))
            if value is not None:
                return value, text[: match.start()] + " " + text[match.end():]
    return None, text


def _cue_intent(text: str) -> tuple[str | None, str]:
    rules = lexicon.table("intents.json")
    for intent in rules["order"]:
        for cue in rules["cues"][intent]:
            if cue in text:
                return intent, text.replace(cue, " ")
    return None, text


def search_words(text: str) -> list[str]:
    """Content words of a request: no stopwords, numbers or quantities."""
    stop = lexicon.words("stopwords.txt")
    stripped = _QUANTITY.sub(" ", text)
    return [w for w in segment.words(stripped) if w not in stop]


def understand(text: str, context: dict[str, Any] | None = None) -> Understanding:
    normal = segment.normalise(text)
    if not normal:
        return Understanding("other")
    intent, rest = _cue_intent(normal)
    bound, rest = price_max(rest)
    terms = search_words(rest)
    standalone = lexicon.table("intents.json")["standalone"]
    if intent is not None and (intent not in standalone or not terms):
        return Understanding(intent, {"terms": terms})
    if not terms:
        return Understanding("other")
    slots: dict[str, Any] = {"terms": terms}
    if bound is not None:
        slots["price_max"] = bound
    return Understanding("search", slots)
