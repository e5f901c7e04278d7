"""Report rendering on hand-built records: timeline, SVG, HTML safety, Markdown."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

from monitor.report import (
    DayCount,
    ReportData,
    ReportItem,
    RepostCopy,
    RepostGroup,
    SourceCount,
    build_timeline,
    format_delay,
    format_similarity,
    render_html,
    render_markdown,
    render_timeline_svg,
)
from monitor.report_svg import nice_ticks

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2024, 6, 18, 9, 0, tzinfo=UTC)


def item(
    n: int, *, day: int = 0, lang: str = "fr", site: str = "a.example", **kw: object
) -> ReportItem:
    when = T0 + timedelta(days=day, minutes=n)
    fields: dict[str, object] = {
        "id": n,
        "title": f"Item {n}",
        "url": f"https://{site}/{n}",
        "site": site,
        "language": lang,
        "date": when,
        "first_seen_at": when,
        "relevance": 0.8,
    }
    fields.update(kw)
    return ReportItem(**fields)  # type: ignore[arg-type]


def data_with(items: list[ReportItem], **kw: object) -> ReportData:
    series, days = build_timeline(items, "language")
    fields: dict[str, object] = {
        "generated_at": T0 + timedelta(days=5),
        "since": None,
        "by": "language",
        "stories": ("russia-dprk",),
        "status_counts": (("filed", len(items)), ("duplicate", 1), ("off_story", 4),
                          ("review", 0), ("failed", 2)),
        "series": series,
        "days": days,
        "top_sources": (SourceCount("a.example", len(items), 1, 0),
                        SourceCount("copy.example", 0, 0, 1)),
        "reposts": (),
        "filed": tuple(items),
        "filed_total": len(items),
        "reposts_total": 0,
        "sources_total": 2,
    }  # fmt: skip
    fields.update(kw)
    return ReportData(**fields)  # type: ignore[arg-type]


def test_timeline_fills_gaps_and_stacks_by_series() -> None:
    items = [item(1, day=0), item(2, day=0, lang="ru"), item(3, day=3, lang="RU")]
    series, days = build_timeline(items, "language")
    assert series == ("ru", "fr")  # biggest first; languages lower-cased
    assert [d.day for d in days] == [date(2024, 6, 18) + timedelta(days=i) for i in range(4)]
    assert [d.total for d in days] == [2, 0, 0, 1]
    assert days[0].counts == (("ru", 1), ("fr", 1))
    by_source, _ = build_timeline([item(1, site="x.example"), item(2)], "source")
    assert set(by_source) == {"x.example", "a.example"}
    assert build_timeline([], "language") == ((), ())


def test_timeline_folds_small_series_into_other() -> None:
    items = [item(i, lang=f"l{i % 10}") for i in range(40)] + [item(99, lang="l0")]
    series, days = build_timeline(items, "language", max_series=4)
    assert series == ("l0", "l1", "l2", "other")
    assert sum(d.total for d in days) == 41
    assert dict(days[0].counts)["other"] == 28


def test_svg_is_well_formed_with_one_rect_per_nonzero_segment() -> None:
    items = [item(1), item(2, lang="ru"), item(3, day=2), item(4, day=2), item(5, day=2)]
    svg = render_timeline_svg(data_with(items))
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(bars) == 3  # day 0: fr + ru, day 2: fr
    titles = sorted(b.findtext(f"{SVG}title") or "" for b in bars)
    assert titles == ["2024-06-18 · fr: 1", "2024-06-18 · ru: 1", "2024-06-20 · fr: 3"]
    heights = {b.findtext(f"{SVG}title"): float(b.get("height", 0)) for b in bars}
    assert heights["2024-06-20 · fr: 3"] > 2.5 * heights["2024-06-18 · fr: 1"]


def test_empty_svg_says_so() -> None:
    root = ET.fromstring(render_timeline_svg(data_with([])))
    assert "No filed items" in "".join(root.itertext())


def test_nice_ticks() -> None:
    assert nice_ticks(0) == [0, 1]
    assert nice_ticks(3) == [0, 1, 2, 3]
    assert nice_ticks(5) == [0, 1, 2, 3, 4, 5]
    assert nice_ticks(17) == [0, 5, 10, 15, 20]
    assert nice_ticks(230)[-1] >= 230 and len(nice_ticks(230)) <= 7


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_is_self_contained_and_escapes_web_strings() -> None:
    evil = item(7, title='<script>alert("x")</script> & co', url="javascript:alert(1)")
    orig = item(1, title="Original")
    copy = item(2, site="copy.example")
    group = RepostGroup(orig, (RepostCopy(copy, timedelta(minutes=42), 93.5, "near_body"),))
    data = data_with([evil, orig], reposts=(group,), reposts_total=1)
    html = render_html(data)
    parser = _Collector()
    parser.feed(html)
    tags = parser.tags
    assert not [t for t, _ in tags if t in ("script", "link", "img", "iframe")]
    hrefs = [a.get("href") for t, a in tags if t == "a"]
    assert "#" in hrefs and not any((h or "").startswith("javascript") for h in hrefs)
    assert all(h == "#" or (h or "").startswith("https://") for h in hrefs)
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert not re.search(r"""(src|href)=["']?//""", html)  # no protocol-relative loads
    assert "+42 min" in html and "93.5 (near_body)" in html
    assert "<svg" in html and "story items filed" in html


def test_markdown_has_counts_sources_items_and_reposts() -> None:
    orig = item(1, title="Sommet | Moscou")
    copy = item(2, site="copy.example")
    group = RepostGroup(
        orig, (RepostCopy(copy, timedelta(hours=2, minutes=5), 0.91, "containment"),)
    )
    md = render_markdown(
        data_with([orig], reposts=(group,), reposts_total=1), image_url="data:image/svg+xml;x"
    )
    assert "| filed | 1 |" in md and "| failed | 2 |" in md
    assert "| a.example | 1 | 1 | 0 |" in md
    assert "[Sommet \\| Moscou](https://a.example/1)" in md
    assert "| [copy.example](https://copy.example/2) | 2 h 05 | 0.91 (containment) |" in md
    assert "![items per day](data:image/svg+xml;x)" in md
    empty = render_markdown(data_with([]))
    assert "No filed items in this period." in empty and "No reposts" in empty


def test_formatting_helpers() -> None:
    assert format_delay(timedelta(seconds=30)) == "30 s"
    assert format_delay(timedelta(minutes=59)) == "59 min"
    assert format_delay(timedelta(hours=2, minutes=5)) == "2 h 05"
    assert format_delay(timedelta(days=4, hours=3)) == "4 d 3 h"
    assert format_delay(timedelta(minutes=-5)) == "-5 min"
    assert format_similarity(None, "exact_url") == "exact_url"
    assert format_similarity(None, None) == "—"
    assert format_similarity(88.04, None) == "88.0"


def test_day_count_total() -> None:
    assert DayCount(date(2024, 1, 1), (("fr", 2), ("en", 3))).total == 5


def test_png_timeline_decodes_and_shows_bars() -> None:
    from PIL import Image

    from monitor.report import render_timeline_png

    items = [item(1), item(2, lang="ru"), item(3, day=2), item(4, day=2)]
    png = render_timeline_png(data_with(items))
    assert png is not None and png.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (960, 300)
        pixels = list(image.convert("RGB").getdata())
    assert sum(1 for p in pixels if p == (0x4E, 0x79, 0xA7)) > 1000  # fr bars, palette blue
    assert sum(1 for p in pixels if p == (0xF2, 0x8E, 0x2B)) > 500  # ru bar
    empty = render_timeline_png(data_with([]))
    assert empty is not None and empty.startswith(b"\x89PNG")
