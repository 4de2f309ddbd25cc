"""Server-rendered SVG bar charts: no library, no script, readable without colour (every bar
has a ``<title>`` and each chart a data table beside it on the page).

Labels are escaped here because the result is marked safe for the template.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

from markupsafe import Markup

PALETTE: tuple[str, ...] = (
    "#2f6feb",
    "#e8743b",
    "#19a979",
    "#945ecf",
    "#ed4a7b",
    "#13a4b4",
    "#bf9b30",
    "#6c757d",
)
WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 40


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _axis(value: float, integer: bool) -> tuple[float, int]:
    """The axis top and its number of divisions, so every tick is a round number: tops are 1, 2
    or 5 times a power of ten (2 -> 4 divisions, else 5); counts get whole-number ticks."""
    if integer:
        top = max(4, math.ceil(value / 4) * 4)
        return float(top), 4
    if value <= 0:
        return 1.0, 5
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * magnitude >= value * (1 - 1e-9):
            return step * magnitude, 4 if step == 2 else 5
    return 10 * magnitude, 5


def stacked_bars(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    fmt: Callable[[float], str],
    *,
    integer: bool = False,
) -> Markup:
    """One bar per label, stacked by series (e.g. days x models). ``fmt`` formats values."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top, divisions = _axis(max(totals, default=0.0), integer)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    bar_w = max(min(slot * 0.7, 48), 2)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in range(divisions + 1):
        value = top * tick / divisions
        y = TOP + plot_h - plot_h * tick / divisions
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{escape(fmt(value))}</text>'
        )
    every = max(1, len(labels) // 10)
    for i, label in enumerate(labels):
        x = LEFT + slot * i + (slot - bar_w) / 2
        y = TOP + plot_h
        for s_index, (name, values) in enumerate(series.items()):
            v = values[i]
            if v <= 0:
                continue
            h = plot_h * v / top
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{max(h, 0.5):.1f}" '
                f'fill="{colour(s_index)}"><title>{escape(label)} · {escape(name)}: '
                f"{escape(fmt(v))}</title></rect>"
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'class="axis">{escape(label[5:] if len(label) == 10 else label)}</text>'
            )
    if not any(totals):
        parts.append(
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="empty">'
            "nothing in this period</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
