"""The timeline as a PNG, for places that show images but not SVG (run artifacts, chat).

Pillow is not a dependency of newsmon; it arrives with Prefect. When it is
missing this returns ``None`` and callers fall back to the SVG or no image,
so the library never fails for want of a plotting backend. The drawing
mirrors :mod:`monitor.report_svg` (same palette, same stacking order).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from monitor.report_svg import nice_ticks, series_colours

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

    from monitor.report import ReportData


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def render_timeline_png(data: ReportData, *, width: int = 960, height: int = 300) -> bytes | None:
    """Stacked bars of story items per day as PNG bytes, or None without Pillow."""
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        return None

    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=12)
    grey, ink, grid = (107, 114, 128), (55, 65, 81), (229, 231, 235)
    if not data.days:
        draw.text((width / 2, height / 2), "No filed items in this period", fill=grey, font=font,
                  anchor="mm")  # fmt: skip
        return _png(image)

    colours = {k: _rgb(v) for k, v in series_colours(data.series).items()}
    left, right, top, bottom = 44, 12, 40, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = nice_ticks(max(d.total for d in data.days))

    def y(value: float) -> float:
        return top + plot_h - value / ticks[-1] * plot_h

    x_cursor = float(left)
    for name in data.series:
        draw.rectangle((x_cursor, 10, x_cursor + 10, 20), fill=colours[name])
        label = name if len(name) <= 28 else name[:27] + "…"
        draw.text((x_cursor + 15, 15), label, fill=ink, font=font, anchor="lm")
        x_cursor += 30 + draw.textlength(label, font=font)
    for tick in ticks:
        draw.line((left, y(tick), width - right, y(tick)), fill=grid if tick else grey)
        draw.text((left - 6, y(tick)), str(tick), fill=grey, font=font, anchor="rm")

    n = len(data.days)
    slot = plot_w / n
    bar = max(1.0, slot * (0.78 if n > 3 else 0.5))
    every = max(1, -(-n // max(1, plot_w // 56)))
    for index, day in enumerate(data.days):
        x0 = left + index * slot + (slot - bar) / 2
        base = 0
        for name, count in day.counts:
            if count:
                draw.rectangle((x0, y(base + count), x0 + bar - 1, y(base)), fill=colours[name])
                base += count
        if index % every == 0:
            draw.text((x0 + bar / 2, top + plot_h + 12), f"{day.day:%d %b}", fill=grey,
                      font=font, anchor="mm")  # fmt: skip
    return _png(image)


def _png(image: PILImage) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
