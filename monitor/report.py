"""The story report: what was filed, when, by whom, and who reposted it.

:func:`build_report` runs a handful of read-only queries and returns frozen
records; the renderers (:func:`render_html` here, the SVG timeline in
:mod:`monitor.report_svg`, :func:`render_markdown` for Prefect artifacts) are
pure functions of those records. Keeping the two apart lets the same figures
feed the HTML file, the dashboard artifact and the feed server, and lets tests
check rendering on hand-built data without a database.

Reposts are *collapsed* everywhere: an original and its copies are one story
item in the timeline and the counts, and the copies are listed under their
original with the delay and the similarity that caught them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from monitor.db import ArticleRow
from monitor.records import Status, as_utc, utcnow
from monitor.views import AnySelect, ItemFilter, filtered, item_date_column, status_counts

GroupBy = Literal["language", "source"]
#: Series beyond this many are summed into "other" so the legend stays readable.
MAX_SERIES = 7
OTHER = "other"


@dataclass(frozen=True, slots=True)
class ReportItem:
    """An article as the report shows it."""

    id: int
    title: str
    url: str
    site: str
    language: str | None
    date: datetime
    first_seen_at: datetime
    relevance: float | None


@dataclass(frozen=True, slots=True)
class RepostCopy:
    item: ReportItem
    delay: timedelta  # copy first seen minus original first seen
    score: float | None
    method: str | None


@dataclass(frozen=True, slots=True)
class RepostGroup:
    """An original and its first copies; ``total`` counts every copy in the period."""

    original: ReportItem
    copies: tuple[RepostCopy, ...]
    total: int = 0

    @property
    def count(self) -> int:
        return max(self.total, len(self.copies))


@dataclass(frozen=True, slots=True)
class SourceCount:
    """One site's share: its story items, the copies they drew, the reposts it published."""

    site: str
    filed: int
    copied: int  # copies other sites made of this site's items
    reposts: int  # copies of other items this site published


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    counts: tuple[tuple[str, int], ...]  # (series, items) in legend order, zeros kept

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)


@dataclass(frozen=True, slots=True)
class ReportData:
    generated_at: datetime
    since: datetime | None
    by: GroupBy
    stories: tuple[str, ...]
    status_counts: tuple[tuple[str, int], ...]
    series: tuple[str, ...]
    days: tuple[DayCount, ...]
    top_sources: tuple[SourceCount, ...]
    reposts: tuple[RepostGroup, ...]
    filed: tuple[ReportItem, ...]
    filed_total: int
    reposts_total: int
    sources_total: int

    def count(self, status: Status | str) -> int:
        return dict(self.status_counts).get(str(status), 0)


#: What :func:`_item` reads: columns, not ORM rows, so no article text is loaded and
#: the session's identity map does not grow with the period.
_ITEM_COLUMNS = (
    ArticleRow.id,
    ArticleRow.title,
    ArticleRow.url,
    ArticleRow.site,
    ArticleRow.language,
    ArticleRow.published_at,
    ArticleRow.first_seen_at,
    ArticleRow.relevance,
)


def _site_name(site: str | None) -> str:
    return site or "(unknown)"


def _item(row: Any) -> ReportItem:
    """A report item from any row with the columns of :data:`_ITEM_COLUMNS`."""
    first_seen = as_utc(row.first_seen_at) or utcnow()
    return ReportItem(
        id=row.id,
        title=row.title.strip() or row.url,
        url=row.url,
        site=_site_name(row.site),
        language=row.language,
        date=as_utc(row.published_at) or first_seen,
        first_seen_at=first_seen,
        relevance=row.relevance,
    )


def _series_key(item: ReportItem, by: GroupBy) -> str:
    if by == "language":
        return (item.language or "?").lower()
    return item.site


def build_timeline(
    items: list[ReportItem], by: GroupBy, *, max_series: int = MAX_SERIES
) -> tuple[tuple[str, ...], tuple[DayCount, ...]]:
    """Items per day stacked by series, every day in the span present (gaps as zeros).

    The biggest ``max_series`` series keep their name; the rest become "other".
    """
    if not items:
        return (), ()
    totals = Counter(_series_key(i, by) for i in items)
    ranked = [name for name, _ in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))]
    keep = ranked if len(ranked) <= max_series else ranked[: max_series - 1]
    series = tuple(keep) + ((OTHER,) if len(keep) < len(ranked) else ())
    per_day: dict[date, Counter[str]] = defaultdict(Counter)
    for item in items:
        key = _series_key(item, by)
        per_day[item.date.date()][key if key in keep else OTHER] += 1
    first, last = min(per_day), max(per_day)
    days = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        counts = per_day.get(day, Counter())
        days.append(DayCount(day, tuple((s, counts[s]) for s in series)))
    return series, tuple(days)


def build_report(
    session: Session,
    *,
    since: datetime | None,
    by: GroupBy = "language",
    until: datetime | None = None,
    story: str | None = None,
    max_filed: int = 500,
    max_reposts: int = 50,
    max_copies: int = 20,
    max_sources: int = 15,
    now: datetime | None = None,
) -> ReportData:
    """Gather everything the report shows for items first seen in ``[since, until)``.

    The story items are the ``filed`` rows; a ``duplicate`` row is one of their
    reposts. Lists are capped (``max_*``) so a report over years stays a page,
    while the counts and the timeline always cover every row. Memory is bounded
    by the caps, not by the period: reposts are counted in SQL, and only the
    groups shown are read (poll runs build this report for their artifact, after
    thousands of new items).
    """
    flt = ItemFilter(since=since, until=until, story=story)
    counts = status_counts(session, flt)

    filed_stmt = filtered(
        session,
        ItemFilter(statuses=(Status.FILED.value,), since=since, until=until, story=story),
        select(*_ITEM_COLUMNS, ArticleRow.story),
    ).order_by(item_date_column().desc(), ArticleRow.id.desc())
    filed_all: list[ReportItem] = []
    stories: set[str] = set()
    for row in session.execute(filed_stmt.execution_options(yield_per=1000)):
        filed_all.append(_item(row))
        if row.story:
            stories.add(row.story)
    series, days = build_timeline(filed_all, by)

    reposts, repost_sites, copied_sites, reposts_total = _reposts(
        session,
        since=since,
        until=until,
        story=story,
        max_groups=max_reposts,
        max_copies=max_copies,
    )
    filed_sites = Counter(i.site for i in filed_all)
    sites = set(filed_sites) | set(repost_sites) | set(copied_sites)
    top = sorted(
        (SourceCount(s, filed_sites[s], copied_sites[s], repost_sites[s]) for s in sites),
        key=lambda c: (-c.filed, -c.copied, -c.reposts, c.site),
    )[:max_sources]

    return ReportData(
        generated_at=now or utcnow(),
        since=since,
        by=by,
        stories=tuple(sorted(stories)),
        status_counts=tuple(counts.items()),
        series=series,
        days=days,
        top_sources=tuple(top),
        reposts=reposts,
        filed=tuple(filed_all[:max_filed]),
        filed_total=len(filed_all),
        reposts_total=reposts_total,
        sources_total=len(sites),
    )


def _reposts(
    session: Session,
    *,
    since: datetime | None,
    until: datetime | None,
    story: str | None,
    max_groups: int,
    max_copies: int,
) -> tuple[tuple[RepostGroup, ...], Counter[str], Counter[str], int]:
    """Copies first seen in the window, grouped under their originals (any age).

    Counts (copies per site, copies drawn per original site, the total) come from
    GROUP BY queries; the ``max_groups`` biggest groups are then read with their
    first ``max_copies`` copies each, so what is held is bounded by the caps.
    """
    original = aliased(ArticleRow, name="original")

    def scoped(stmt: AnySelect) -> AnySelect:
        stmt = filtered(
            session,
            ItemFilter(statuses=(Status.DUPLICATE.value,), since=since, until=until),
            stmt.select_from(ArticleRow).join(original, ArticleRow.duplicate_of_id == original.id),
        )
        return stmt.where(original.story == story) if story else stmt

    sites: Counter[str] = Counter()
    for site, n in session.execute(
        scoped(select(ArticleRow.site, func.count()).group_by(ArticleRow.site))
    ):
        sites[_site_name(site)] += n
    copied: Counter[str] = Counter()
    for site, n in session.execute(
        scoped(select(original.site, func.count()).group_by(original.site))
    ):
        copied[_site_name(site)] += n
    total = sum(sites.values())
    if not total or max_groups <= 0:
        return (), sites, copied, total

    size = func.count().label("size")
    biggest = session.execute(
        scoped(select(original.id, size))
        .group_by(original.id, original.first_seen_at)
        .order_by(size.desc(), original.first_seen_at.desc(), original.id)
        .limit(max_groups)
    ).all()
    ids = [orig_id for orig_id, _ in biggest]
    originals = {
        row.id: _item(row)
        for row in session.execute(select(*_ITEM_COLUMNS).where(ArticleRow.id.in_(ids)))
    }
    rank = (
        func.row_number()
        .over(
            partition_by=ArticleRow.duplicate_of_id,
            order_by=(ArticleRow.first_seen_at, ArticleRow.id),
        )
        .label("rank")
    )
    numbered = (
        scoped(
            select(
                *_ITEM_COLUMNS,
                ArticleRow.duplicate_of_id,
                ArticleRow.dup_score,
                ArticleRow.dup_method,
                rank,
            )
        )
        .where(ArticleRow.duplicate_of_id.in_(ids))
        .subquery()
    )
    first_copies = (
        select(numbered)
        .where(numbered.c.rank <= max_copies)
        .order_by(numbered.c.first_seen_at, numbered.c.id)
    )
    copies: dict[int, list[RepostCopy]] = {orig_id: [] for orig_id in ids}
    for row in session.execute(first_copies):
        copy = _item(row)
        orig = originals[row.duplicate_of_id]
        copies[row.duplicate_of_id].append(
            RepostCopy(copy, copy.first_seen_at - orig.first_seen_at, row.dup_score, row.dup_method)
        )
    groups = tuple(
        RepostGroup(originals[orig_id], tuple(copies[orig_id]), n) for orig_id, n in biggest
    )
    return groups, sites, copied, total


def format_delay(delay: timedelta) -> str:
    """``3 min``, ``2 h 05``, ``4 d 3 h``: short enough for a table cell."""
    seconds = int(delay.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{sign}{seconds} s"
    if seconds < 3600:
        return f"{sign}{seconds // 60} min"
    if seconds < 86400:
        return f"{sign}{seconds // 3600} h {seconds % 3600 // 60:02d}"
    return f"{sign}{seconds // 86400} d {seconds % 86400 // 3600} h"


def format_similarity(score: float | None, method: str | None) -> str:
    if score is None:
        return method or "—"
    shown = f"{score:.1f}" if score > 1 else f"{score:.2f}"
    return f"{shown} ({method})" if method else shown


def period_label(data: ReportData) -> str:
    if data.since is None:
        return "all items"
    return f"items first seen since {data.since:%Y-%m-%d %H:%M} UTC"


def _md_cell(text: str) -> str:
    """Stored text in a Markdown cell: shown as its characters (see monitor.markup)."""
    from monitor.markup import md_text

    return md_text(text)


def _md_link(text: str, url: str) -> str:
    from monitor.markup import md_link

    return md_link(text, url)


def render_markdown(data: ReportData, *, image_url: str | None = None, max_rows: int = 50) -> str:
    """The report as Markdown for a Prefect artifact: counts, sources, items, reposts."""
    story = ", ".join(data.stories) or "tracked story"
    lines = [
        f"# newsmon report: {_md_cell(story)}",
        "",
        f"{period_label(data)}; generated {data.generated_at:%Y-%m-%d %H:%M} UTC.",
        "",
    ]
    lines += ["| status | items |", "|---|---:|"]
    lines += [f"| {_md_cell(status)} | {n} |" for status, n in data.status_counts]
    lines.append("")
    if image_url:
        lines += [f"![items per day]({image_url})", ""]
    lines += ["## Top sources", ""]
    if data.top_sources:
        lines += [
            "| source | story items | copied by others | reposts of others |",
            "|---|---:|---:|---:|",
        ]
        lines += [
            f"| {_md_cell(s.site)} | {s.filed} | {s.copied} | {s.reposts} |"
            for s in data.top_sources
        ]
    else:
        lines.append("No sources yet.")
    lines += ["", f"## Filed items ({data.filed_total})", ""]
    if data.filed:
        lines += ["| date | source | lang | title | score |", "|---|---|---|---|---:|"]
        for item in data.filed[:max_rows]:
            score = f"{item.relevance:.2f}" if item.relevance is not None else ""
            lines.append(
                f"| {item.date:%Y-%m-%d} | {_md_cell(item.site)} | "
                f"{_md_cell(item.language or '')} | {_md_link(item.title, item.url)} | {score} |"
            )
        if data.filed_total > max_rows:
            lines.append(f"\n… and {data.filed_total - max_rows} more.")
    else:
        lines.append("No filed items in this period.")
    lines += ["", f"## Reposts ({data.reposts_total})", ""]
    if data.reposts:
        lines += ["| original | copy | delay | similarity |", "|---|---|---:|---|"]
        for group in data.reposts[:max_rows]:
            orig = _md_link(group.original.title, group.original.url)
            for copy in group.copies:
                lines.append(
                    f"| {orig} | {_md_link(copy.item.site, copy.item.url)} | "
                    f"{format_delay(copy.delay)} | {format_similarity(copy.score, copy.method)} |"
                )
                orig = "″"
            if group.count > len(group.copies):
                lines.append(f"| {orig} | … {group.count - len(group.copies)} more | | |")
    else:
        lines.append("No reposts in this period.")
    return "\n".join(lines) + "\n"


def render_html(data: ReportData) -> str:
    """The self-contained HTML page (inline CSS and SVG, no external requests)."""
    from monitor.report_html import render_page

    return render_page(data)


def render_timeline_svg(data: ReportData) -> str:
    """The timeline alone (also embedded in the HTML), for artifacts and the feed server."""
    from monitor.report_svg import render_timeline_svg as render

    return render(data)


def render_timeline_png(data: ReportData) -> bytes | None:
    """The timeline as PNG bytes for image artifacts; None where Pillow is not installed."""
    from monitor.report_png import render_timeline_png as render

    return render(data)
