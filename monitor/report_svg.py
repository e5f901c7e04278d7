"""The timeline plot as hand-written SVG: stacked bars of story items per day.

A plotting library would be the heaviest import of the package for one bar
chart; SVG is text, renders inline in the HTML report and in any browser,
scales without blur, and needs nothing at runtime. Each bar segment carries a
``<title>`` so hovering shows the day, the series and the count.
"""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

if TYPE_CHECKING:
    from monitor.report import ReportData

#: Colour-blind-friendly palette (Tableau 10); "other" is always grey.
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1")
OTHER_COLOUR = "#bab0ac"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


def series_colours(series: tuple[str, ...]) -> dict[str, str]:
    colours: dict[str, str] = {}
    palette = iter(PALETTE)
    for name in series:
        colours[name] = OTHER_COLOUR if name == "other" else next(palette, OTHER_COLOUR)
    return colours


def nice_ticks(maximum: int, *, target: int = 5) -> list[int]:
    """Whole-number y ticks from 0 that cover ``maximum`` in about ``target`` steps."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / target
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next((m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw), 10 * magnitude)
    step = max(1, int(step))
    top = step * math.ceil(maximum / step)
    return list(range(0, top + 1, step))


def _label_every(days: int, width: float) -> int:
    """Show a date label every N days so labels (≈56 px wide) never overlap."""
    fits = max(1, int(width // 56))
    every = math.ceil(days / fits)
    for nice in (1, 2, 7, 14, 30, 61, 91, 182, 365):
        if nice >= every:
            return nice
    return every


def _day_label(day: date, first: bool) -> str:
    return f"{day:%d %b %Y}" if first or (day.month == 1 and day.day == 1) else f"{day:%d %b}"


def render_timeline_svg(data: ReportData, *, width: int = 960, height: int = 300) -> str:
    """Stacked bars of filed items per day (reposts collapsed), one colour per series."""
    by = "language" if data.by == "language" else "source"
    label = f"Story items per day by {by} (reposts collapsed)"
    svg_open = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label={quoteattr(label)} '
        f'font-family="{FONT}" font-size="12">'
    )
    parts = [svg_open, f"<title>{escape(label)}</title>"]
    if not data.days:
        parts.append(
            f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="#fafafa" '
            f'stroke="#e5e7eb" rx="6"/><text x="{width / 2}" y="{height / 2}" '
            f'text-anchor="middle" fill="#6b7280" font-size="15">'
            f"No filed items in this period</text></svg>"
        )
        return "".join(parts)

    colours = series_colours(data.series)
    left, right, top, bottom = 44, 12, 50, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = nice_ticks(max(d.total for d in data.days))
    y_max = ticks[-1]

    def y(value: float) -> float:
        return top + plot_h - value / y_max * plot_h

    # Legend along the top, wrapping when there are many long names.
    totals = {name: sum(dict(d.counts).get(name, 0) for d in data.days) for name in data.series}
    x_cursor, y_cursor = float(left), 16.0
    for name in data.series:
        short = name if len(name) <= 28 else name[:27] + "…"
        text = f"{short} ({totals[name]})"
        item_w = 22 + 7.2 * len(text)
        if x_cursor + item_w > width - right and x_cursor > left:
            x_cursor, y_cursor = float(left), y_cursor + 16
        parts.append(
            f'<rect x="{x_cursor:.1f}" y="{y_cursor - 9:.1f}" width="11" height="11" rx="2" '
            f'fill="{colours[name]}"/><text x="{x_cursor + 16:.1f}" y="{y_cursor:.1f}" '
            f'fill="#374151">{escape(text)}</text>'
        )
        x_cursor += item_w + 10

    # Grid and y axis.
    for tick in ticks:
        ty = y(tick)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" '
            f'stroke="{"#9ca3af" if tick == 0 else "#e5e7eb"}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" fill="#6b7280">{tick}</text>'
        )

    # Bars.
    n = len(data.days)
    slot = plot_w / n
    bar = max(1.0, slot * (0.78 if n > 3 else 0.5))
    for index, day in enumerate(data.days):
        x0 = left + index * slot + (slot - bar) / 2
        base = 0
        for name, count in day.counts:
            if count == 0:
                continue
            y_top, y_bottom = y(base + count), y(base)
            parts.append(
                f'<rect x="{x0:.2f}" y="{y_top:.2f}" width="{bar:.2f}" '
                f'height="{max(0.5, y_bottom - y_top):.2f}" fill="{colours[name]}">'
                f"<title>{day.day.isoformat()} · {escape(name)}: {count}</title></rect>"
            )
            base += count
        if n <= 45 and day.total:
            parts.append(
                f'<text x="{x0 + bar / 2:.1f}" y="{y(day.total) - 4:.1f}" text-anchor="middle" '
                f'fill="#374151" font-size="11">{day.total}</text>'
            )

    # X labels.
    every = _label_every(n, plot_w)
    for index, day in enumerate(data.days):
        if index % every:
            continue
        cx = left + index * slot + slot / 2
        parts.append(
            f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" '
            f'stroke="#9ca3af"/><text x="{cx:.1f}" y="{top + plot_h + 18}" '
            f'text-anchor="middle" fill="#6b7280">{escape(_day_label(day.day, index == 0))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
