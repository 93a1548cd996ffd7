"""Server-rendered SVG charts: no script, no CDN, readable offline.

Every mark carries data-label and data-value (what it shows) and a <title> (the
hover text), so the numbers can be read back and checked.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 960
HEIGHT = 240
RANK_WIDTH = 400
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 12, 12, 28


def _nice_ceiling(value: float) -> float:
    """1, 2, 5 × a power of ten at or above value (at least 1)."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _open(kind: str, label: str, height: int = HEIGHT, width: int = WIDTH) -> str:
    return (f'<svg class="chart {kind}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg" '
            f'preserveAspectRatio="xMidYMid meet">')


def _grid(top: float, unit: str) -> str:
    parts = []
    inner = HEIGHT - PAD_TOP - PAD_BOTTOM
    for share in (0, 0.5, 1):
        y = PAD_TOP + inner * (1 - share)
        parts.append(f'<line class="grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" '
                     f'y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{_number(top * share)}{escape(unit)}</text>')
    return "".join(parts)


def _x_labels(labels: Sequence[str], centre: list[float]) -> str:
    every = max(1, math.ceil(len(labels) / 10))
    return "".join(
        f'<text class="axis" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
        f'{escape(label[5:] if len(label) == 10 else label)}</text>'
        for n, (label, x) in enumerate(zip(labels, centre)) if n % every == 0
        or n == len(labels) - 1)


def bars(points: Sequence[tuple[str, float]], label: str, unit: str = "") -> Markup:
    """Vertical bars, one per point (day, value)."""
    top = _nice_ceiling(max((value for _, value in points), default=0))
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = inner_w / max(len(points), 1)
    parts = [_open("bars", label), _grid(top, unit)]
    centres = []
    for n, (name, value) in enumerate(points):
        height = inner_h * value / top
        x = PAD_LEFT + n * slot + slot * 0.15
        centres.append(PAD_LEFT + n * slot + slot / 2)
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{PAD_TOP + inner_h - height:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{height:.1f}" data-label="{escape(name)}" '
            f'data-value="{_number(value)}"><title>{escape(name)}：{_number(value)}{escape(unit)}'
            f'</title></rect>')
    parts.append(_x_labels([name for name, _ in points], centres))
    parts.append("</svg>")
    return Markup("".join(parts))


def lines(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]],
          label: str, unit: str = "%", top: float | None = None) -> Markup:
    """One line per series over the labels; None leaves a gap (no data that day)."""
    values = [v for _, points in series for v in points if v is not None]
    top = top if top is not None else _nice_ceiling(max(values, default=0))
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = inner_w / max(len(labels), 1)
    centres = [PAD_LEFT + n * slot + slot / 2 for n in range(len(labels))]
    parts = [_open("lines", label), _grid(top, unit)]
    for index, (name, points) in enumerate(series):
        run: list[str] = []
        dots = []
        for x, day, value in zip(centres, labels, points):
            if value is None:
                if len(run) > 1:
                    parts.append(f'<polyline class="line s{index}" points="{" ".join(run)}"/>')
                run = []
                continue
            y = PAD_TOP + inner_h * (1 - value / top)
            run.append(f"{x:.1f},{y:.1f}")
            dots.append(f'<circle class="dot s{index}" cx="{x:.1f}" cy="{y:.1f}" r="3" '
                        f'data-series="{escape(name)}" data-label="{escape(day)}" '
                        f'data-value="{_number(value)}"><title>{escape(name)} {escape(day)}：'
                        f'{_number(value)}{escape(unit)}</title></circle>')
        if len(run) > 1:
            parts.append(f'<polyline class="line s{index}" points="{" ".join(run)}"/>')
        parts.extend(dots)
    parts.append(_x_labels(labels, centres))
    parts.append("</svg>")
    return Markup("".join(parts))


def ranking(items: Sequence[tuple[str, float]], label: str, unit: str = "",
            links: Sequence[str | None] | None = None) -> Markup:
    """Horizontal bars, largest first as given, each with its name and value."""
    row, name_w, value_w = 26, 110, 60
    height = max(row * len(items), row) + 8
    top = max((value for _, value in items), default=0) or 1
    inner = RANK_WIDTH - name_w - value_w
    parts = [_open("ranking", label, height, RANK_WIDTH)]
    if not items:
        parts.append(f'<text class="empty" x="{RANK_WIDTH / 2}" y="{row - 6}" '
                     'text-anchor="middle">暂无数据</text>')
    for n, (name, value) in enumerate(items):
        y = 4 + n * row
        width = max(inner * value / top, 1)
        bar = (f'<rect class="bar" x="{name_w}" y="{y + 3}" width="{width:.1f}" height="{row - 8}" '
               f'data-label="{escape(name)}" data-value="{_number(value)}"><title>'
               f'{escape(name)}：{_number(value)}{escape(unit)}</title></rect>')
        text = (f'<text class="name" x="{name_w - 6}" y="{y + row / 2 + 4}" text-anchor="end">'
                f'{escape(name[:9])}</text>')
        link = links[n] if links and n < len(links) else None
        if link:
            text = f'<a href="{escape(link)}">{text}</a>'
            bar = f'<a href="{escape(link)}">{bar}</a>'
        parts.append(text + bar)
        parts.append(f'<text class="value" x="{name_w + width + 6:.1f}" y="{y + row / 2 + 4}">'
                     f'{_number(value)}{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def spark(values: Sequence[int], label: str) -> Markup:
    """A small daily trend: one bar per day."""
    width, height = 4 * max(len(values), 1) + 2, 22
    top = max(values, default=0) or 1
    parts = [f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width * 2}" '
             f'height="{height}" role="img" aria-label="{escape(label)}" '
             f'data-values="{",".join(str(v) for v in values)}" '
             'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="none">']
    for n, value in enumerate(values):
        bar = (height - 2) * value / top
        parts.append(f'<rect x="{1 + n * 4}" y="{height - 1 - bar:.1f}" width="3" '
                     f'height="{max(bar, 0.5):.1f}"/>')
    parts.append(f"<title>{escape(label)}</title></svg>")
    return Markup("".join(parts))
