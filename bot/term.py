"""Printing what users wrote to a terminal: one record per line, whatever the text.

A message may hold newlines, carriage returns, escape sequences or bidi controls;
printed raw they could forge lines, recolour the terminal or reorder what is shown.
`safe` makes each visible, and `clip` cuts text to display columns (CJK is wide).
"""
from __future__ import annotations

import shutil
import unicodedata
from collections.abc import Sequence

_SHOWN = {"\n": "⏎", "\r": "␍", "\t": " "}
# Bidirectional controls reorder what follows them on screen.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
SPARK = "▁▂▃▄▅▆▇█"


def safe(text: object) -> str:
    if text is None:
        return ""
    out = []
    for char in str(text):
        if char in _SHOWN:
            out.append(_SHOWN[char])
        elif char in _BIDI or unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def width(text: str) -> int:
    return sum(char_width(char) for char in text)


def clip(text: str, columns: int) -> str:
    """At most `columns` display columns, ending in … when cut."""
    if width(text) <= columns:
        return text
    out, used = [], 0
    for char in text:
        w = char_width(char)
        if used + w > columns - 1:
            break
        out.append(char)
        used += w
    return "".join(out) + "…"


def pad(text: str, columns: int, right: bool = False) -> str:
    text = clip(text, columns)
    space = " " * (columns - width(text))
    return space + text if right else text + space


def columns() -> int:
    return max(shutil.get_terminal_size((120, 24)).columns, 40)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], total: int | None = None,
          right: Sequence[int] = ()) -> list[str]:
    """Lines of a table that fits `total` columns: every cell made safe, the widest
    columns shrunk first when it does not fit."""
    total = total or columns()
    cells = [[safe(cell) for cell in row] for row in rows]
    widths = [max([width(h)] + [width(row[n]) for row in cells]) for n, h in enumerate(headers)]
    while sum(widths) + 2 * (len(widths) - 1) > total and max(widths) > 4:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    def line(row: Sequence[str]) -> str:
        return "  ".join(pad(cell, widths[n], n in right) for n, cell in enumerate(row)).rstrip()
    return [line(list(headers)), line(["-" * w for w in widths]), *(line(row) for row in cells)]


def spark(values: Sequence[int]) -> str:
    top = max(values, default=0)
    if not top:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(len(SPARK) - 1, round(v * (len(SPARK) - 1) / top))] if v else " "
                   for v in values)
