"""JSON for the columns written on every message (sessions, log lines): orjson, several
times faster than the standard library, with the standard library's output as the
fallback for what orjson refuses (integers past 64 bits)."""
from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS  # int keys become strings, as json.dumps makes them


def dumps(value: Any) -> str:
    """UTF-8 JSON text; what JSON cannot hold (Decimal, dates) is written as its str()."""
    try:
        return orjson.dumps(value, default=str, option=_OPTIONS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, ensure_ascii=False, default=str)


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)
