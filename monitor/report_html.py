"""The HTML page of the story report: one file, inline CSS and SVG, no scripts.

The file is mailed around, attached to runs and opened from disk, so it must
not fetch anything (fonts, styles, scripts) and must render the same offline.
Every string from the web is escaped and only http(s) links are kept: titles
and URLs come from other people's pages.
"""

from __future__ import annotations

from html import escape

from monitor.markup import http_href
from monitor.records import Status
from monitor.report import (
    ReportData,
    ReportItem,
    format_delay,
    format_similarity,
    period_label,
)
from monitor.report_svg import render_timeline_svg

CSS = """
:root { --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --card:#ffffff; --bg:#f3f4f6;
  --accent:#4e79a7; --good:#59a14f; --warn:#f28e2b; --bad:#e15759; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif; }
main { max-width:1100px; margin:0 auto; padding:28px 24px 48px; }
header h1 { font-size:26px; margin:0 0 4px; letter-spacing:-.01em; }
header p { margin:0; color:var(--muted); }
.brand { color:var(--accent); font-weight:700; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(150px,1fr)); gap:12px;
  margin:22px 0; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px;
  padding:14px 16px; }
.card .n { font-size:28px; font-weight:700; line-height:1.1; }
.card .l { color:var(--muted); font-size:13px; }
.card.filed .n { color:var(--good); } .card.dup .n { color:var(--accent); }
.card.review .n { color:var(--warn); } .card.failed .n { color:var(--bad); }
section { background:var(--card); border:1px solid var(--line); border-radius:10px;
  padding:18px 20px; margin:16px 0; }
section h2 { font-size:18px; margin:0 0 12px; }
section h2 small { color:var(--muted); font-weight:400; font-size:13px; margin-left:6px; }
svg { width:100%; height:auto; display:block; }
table { width:100%; border-collapse:collapse; font-size:14px; }
th { text-align:left; color:var(--muted); font-weight:600; font-size:12px;
  text-transform:uppercase; letter-spacing:.04em; border-bottom:1px solid var(--line);
  padding:6px 8px; white-space:nowrap; }
td { border-bottom:1px solid var(--line); padding:7px 8px; vertical-align:top; }
tr:last-child td { border-bottom:0; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
td.date { white-space:nowrap; color:var(--muted); font-variant-numeric:tabular-nums; }
a { color:#1d4ed8; text-decoration:none; } a:hover { text-decoration:underline; }
.site { color:var(--muted); white-space:nowrap; }
.lang { display:inline-block; min-width:26px; text-align:center; font-size:11px;
  font-weight:600; text-transform:uppercase; background:#eef2ff; color:#3730a3;
  border-radius:4px; padding:1px 5px; }
.bar { height:8px; background:var(--good); border-radius:4px; display:inline-block; }
table.copies, table.sources { table-layout:fixed; }
.group { border-top:1px solid var(--line); padding:10px 0; }
.group:first-of-type { border-top:0; padding-top:0; }
.group .orig { font-weight:600; }
.group .meta { color:var(--muted); font-size:13px; }
.group table { margin-top:6px; }
.cols { display:grid; grid-template-columns:1fr; gap:16px; }
.empty { color:var(--muted); font-style:italic; margin:0; }
.more { color:var(--muted); font-size:13px; margin:8px 0 0; }
footer { color:var(--muted); font-size:12px; text-align:center; margin-top:28px; }
"""


#: Nothing but the inline style may run or load, even if an escape were ever missed:
#: the page has no scripts and fetches nothing, so this costs nothing.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)

COPIES_COLS = (
    '<colgroup><col><col style="width:170px"><col style="width:120px">'
    '<col style="width:170px"></colgroup>'
)


def safe_href(url: str) -> str:
    """The URL if it is http(s), else ``#``: a scraped ``javascript:`` link stays inert."""
    href = http_href(url)
    return escape(href) if href is not None else "#"


def _link(item: ReportItem) -> str:
    title = escape(item.title or item.url)
    return f'<a href="{safe_href(item.url)}" rel="noopener noreferrer">{title}</a>'


def _lang(code: str | None) -> str:
    return f'<span class="lang">{escape(code)}</span>' if code else ""


def _cards(data: ReportData) -> str:
    cards = [
        ("filed", data.count(Status.FILED), "story items filed"),
        ("dup", data.count(Status.DUPLICATE), "reposts caught"),
        ("review", data.count(Status.REVIEW), "waiting for review"),
        ("", data.count(Status.OFF_STORY), "off story"),
        ("failed", data.count(Status.FAILED), "failed to fetch"),
        ("", data.sources_total, "sources on the story"),
    ]
    body = "".join(
        f'<div class="card {cls}"><div class="n">{n:,}</div><div class="l">{label}</div></div>'
        for cls, n, label in cards
    )
    return f'<div class="cards">{body}</div>'


def _sources(data: ReportData) -> str:
    if not data.top_sources:
        return '<p class="empty">No sources yet.</p>'
    peak = max(s.filed for s in data.top_sources) or 1
    rows = []
    for s in data.top_sources:
        width = 160 * s.filed / peak
        rows.append(
            f"<tr><td>{escape(s.site)}</td>"
            f'<td class="num">{s.filed}</td>'
            f'<td><span class="bar" style="width:{width:.0f}px"></span></td>'
            f'<td class="num">{s.copied or ""}</td>'
            f'<td class="num">{s.reposts or ""}</td>'
            "</tr>"
        )
    more = (
        f'<p class="more">Top {len(data.top_sources)} of {data.sources_total} sources.</p>'
        if len(data.top_sources) < data.sources_total
        else ""
    )
    return (
        '<table class="sources"><colgroup><col><col style="width:110px"><col style="width:190px">'
        '<col style="width:150px"><col style="width:170px"></colgroup>'
        '<thead><tr><th>source</th><th class="num">story items</th><th></th>'
        '<th class="num">copied by others</th><th class="num">reposts of others</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>{more}"
    )


def _reposts(data: ReportData) -> str:
    if not data.reposts:
        return '<p class="empty">No reposts in this period.</p>'
    groups = []
    for group in data.reposts:
        o = group.original
        rows = "".join(
            f'<tr><td><a href="{safe_href(c.item.url)}" rel="noopener noreferrer">'
            f"{escape(c.item.site)}</a> {_lang(c.item.language)}</td>"
            f'<td class="date">{c.item.first_seen_at:%Y-%m-%d %H:%M}</td>'
            f'<td class="num">+{escape(format_delay(c.delay))}</td>'
            f'<td class="num">{escape(format_similarity(c.score, c.method))}</td></tr>'
            for c in group.copies
        )
        n = group.count
        groups.append(
            f'<div class="group"><div class="orig">{_link(o)}</div>'
            f'<div class="meta">original: {escape(o.site)} {_lang(o.language)} · first seen '
            f"{o.first_seen_at:%Y-%m-%d %H:%M} UTC · {n} cop{'y' if n == 1 else 'ies'}"
            + (f" (first {len(group.copies)} shown)" if n > len(group.copies) else "")
            + "</div>"
            f'<table class="copies">{COPIES_COLS}<thead><tr><th>copy</th><th>first seen</th>'
            '<th class="num">delay</th>'
            f'<th class="num">similarity</th></tr></thead><tbody>{rows}</tbody></table></div>'
        )
    shown = sum(len(g.copies) for g in data.reposts)
    more = (
        f'<p class="more">Showing {shown} of {data.reposts_total} reposts.</p>'
        if shown < data.reposts_total
        else ""
    )
    return "".join(groups) + more


def _filed(data: ReportData) -> str:
    if not data.filed:
        return '<p class="empty">No filed items in this period.</p>'
    rows = "".join(
        f'<tr><td class="date">{item.date:%Y-%m-%d}</td>'
        f'<td class="site">{escape(item.site)}</td><td>{_lang(item.language)}</td>'
        f"<td>{_link(item)}</td>"
        f'<td class="num">{"" if item.relevance is None else f"{item.relevance:.2f}"}</td></tr>'
        for item in data.filed
    )
    more = (
        f'<p class="more">Showing the newest {len(data.filed)} of {data.filed_total}.</p>'
        if len(data.filed) < data.filed_total
        else ""
    )
    return (
        "<table><thead><tr><th>date</th><th>source</th><th>lang</th><th>title</th>"
        f'<th class="num">score</th></tr></thead><tbody>{rows}</tbody></table>{more}'
    )


def render_page(data: ReportData) -> str:
    story = ", ".join(data.stories) or "tracked story"
    by = "language" if data.by == "language" else "source"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>newsmon report: {escape(story)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<header>
<h1><span class="brand">newsmon</span> · {escape(story)}</h1>
<p>{escape(period_label(data))} · generated {data.generated_at:%Y-%m-%d %H:%M} UTC</p>
</header>
{_cards(data)}
<section id="timeline">
<h2>Timeline<small>story items per day by {by}; an original and its reposts count once</small></h2>
{render_timeline_svg(data)}
</section>
<section id="sources">
<h2>Top sources<small>story items per site, how often others copied them,
and how many copies the site itself published</small></h2>
{_sources(data)}
</section>
<section id="reposts">
<h2>Reposts<small>{data.reposts_total} copies of earlier items, grouped by original</small></h2>
{_reposts(data)}
</section>
<section id="filed">
<h2>Filed items<small>{data.filed_total} on the story, newest first</small></h2>
{_filed(data)}
</section>
<footer>Generated by newsmon. Links go to the original publishers.</footer>
</main>
</body>
</html>
"""
