"""Read-only queries over the stored articles, shared by every output.

``items``, ``export``, the Atom feed, the JSON endpoint and the report all ask
the same questions (which rows, in what order, what did a repost copy), so
they share one filter record and one streaming query here instead of each
writing its own SQL. Rows come out as frozen :class:`ItemView` records, read
in batches (``yield_per``) so exporting a million rows never holds them all.

"Since" always means *first seen by newsmon* (``first_seen_at``): that is what
"what is new since the last run" needs, and it is indexed. Ordering uses the
item's own date (``published_at``, falling back to ``first_seen_at``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from monitor.db import ArticleRow
from monitor.errors import BadInputError
from monitor.records import Status, as_utc, utcnow

AnySelect = TypeVar("AnySelect", bound=Select[*tuple[Any, ...]])

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """A point in time from what people type: ``7d``, ``12h``, ``2024-05-01``, ISO datetimes.

    Dates without a zone are taken as UTC: the database stores UTC and a
    report should not shift by the machine's locale.
    """
    raw = text.strip()
    match = _RELATIVE.match(raw)
    if match:
        amount = float(match.group(1))
        unit = _UNITS[match.group(2).lower()]
        return (now or utcnow()) - timedelta(**{unit: amount})
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadInputError(
            f"--since: expected a date (2024-05-01), an ISO datetime or a duration "
            f"like 7d / 12h / 30m (got {text!r})"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_statuses(values: Sequence[str]) -> tuple[str, ...]:
    """Validate ``--status`` values (comma-separated or repeated) against :class:`Status`."""
    known = {s.value for s in Status}
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            part = part.strip().lower()
            if not part:
                continue
            if part not in known:
                expected = ", ".join(sorted(known))
                raise BadInputError(
                    f"--status: unknown status {part!r} (expected one of {expected})"
                )
            out.append(part)
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True, slots=True)
class ItemFilter:
    """Which articles an output shows; empty fields do not filter."""

    statuses: tuple[str, ...] = ()
    language: str | None = None
    site: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None
    story: str | None = None
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class ItemView:
    """One article as every output sees it, with its original's URL resolved."""

    id: int
    url: str
    canonical_url: str
    title: str
    status: str
    duplicate_of: str | None
    text: str
    description: str
    relevance: float | None
    evidence: dict[str, Any] | None
    verdict: str | None
    language: str | None
    site: str
    author: str
    published_at: datetime | None
    fetched_at: datetime | None
    first_seen_at: datetime
    extraction_method: str | None
    dup_method: str | None
    dup_score: float | None
    story: str | None
    fail_reason: str | None

    @property
    def date(self) -> datetime:
        """The item's own date: when it was published, else when we first saw it."""
        return self.published_at or self.first_seen_at

    def summary(self, limit: int = 300) -> str:
        """The description, else the start of the text cut at a word boundary."""
        base = " ".join((self.description or "").split()) or " ".join(self.text.split())
        if len(base) <= limit:
            return base
        cut = base[:limit].rsplit(" ", 1)[0] or base[:limit]
        return cut.rstrip(" ,.;:") + "…"


def item_to_dict(item: ItemView) -> dict[str, Any]:
    """The public JSON shape (export, ``--json``, ``/items.json``); dates as ISO 8601 UTC."""
    return {
        "id": item.id,
        "url": item.url,
        "canonical_url": item.canonical_url,
        "title": item.title,
        "status": item.status,
        "duplicate_of": item.duplicate_of,
        "text": item.text,
        "description": item.description,
        "relevance": item.relevance,
        "evidence": item.evidence,
        "verdict": item.verdict,
        "language": item.language,
        "site": item.site,
        "author": item.author,
        "published_at": _iso(item.published_at),
        "fetched_at": _iso(item.fetched_at),
        "first_seen_at": _iso(item.first_seen_at),
        "extraction_method": item.extraction_method,
        "dup_method": item.dup_method,
        "dup_score": item.dup_score,
        "story": item.story,
        "fail_reason": item.fail_reason,
    }


def _iso(value: datetime | None) -> str | None:
    value = as_utc(value)
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


_original = aliased(ArticleRow, name="original")
_COLUMNS = (
    ArticleRow.id,
    ArticleRow.url,
    ArticleRow.canonical_url,
    ArticleRow.title,
    ArticleRow.status,
    _original.canonical_url,
    ArticleRow.text,
    ArticleRow.description,
    ArticleRow.relevance,
    ArticleRow.evidence,
    ArticleRow.verdict,
    ArticleRow.language,
    ArticleRow.site,
    ArticleRow.author,
    ArticleRow.published_at,
    ArticleRow.fetched_at,
    ArticleRow.first_seen_at,
    ArticleRow.extraction_method,
    ArticleRow.dup_method,
    ArticleRow.dup_score,
    ArticleRow.story,
    ArticleRow.fail_reason,
)


def item_date_column() -> ColumnElement[datetime]:
    """SQL for :attr:`ItemView.date`, so the database sorts the way outputs display."""
    return func.coalesce(ArticleRow.published_at, ArticleRow.first_seen_at)


def _fold(value: str) -> str:
    return value.casefold()


def _search_clause(session: Session, search: str) -> ColumnElement[bool]:
    """Case-insensitive "title or text contains", Unicode-aware on both databases.

    PostgreSQL's ILIKE folds Cyrillic and accents; SQLite's only folds ASCII, so
    on SQLite a non-ASCII search goes through a Python ``casefold`` registered on
    this session's connection.
    """
    if session.get_bind().dialect.name == "sqlite" and not search.isascii():
        raw = session.connection().connection.driver_connection
        raw.create_function("newsmon_fold", 1, _fold, deterministic=True)  # type: ignore[union-attr]
        needle = search.casefold()
        return or_(
            func.newsmon_fold(ArticleRow.title).contains(needle, autoescape=True),
            func.newsmon_fold(ArticleRow.text).contains(needle, autoescape=True),
        )
    return or_(
        ArticleRow.title.icontains(search, autoescape=True),
        ArticleRow.text.icontains(search, autoescape=True),
    )


def filtered(session: Session, flt: ItemFilter, stmt: AnySelect) -> AnySelect:
    """Apply ``flt``'s conditions (not its limit) to a select over :class:`ArticleRow`."""
    if flt.statuses:
        stmt = stmt.where(ArticleRow.status.in_(flt.statuses))
    if flt.language:
        stmt = stmt.where(func.lower(ArticleRow.language) == flt.language.lower())
    if flt.site:
        site = flt.site.lower().removeprefix("www.")
        stmt = stmt.where(
            or_(func.lower(ArticleRow.site) == site, func.lower(ArticleRow.site) == "www." + site)
        )
    if flt.since is not None:
        stmt = stmt.where(ArticleRow.first_seen_at >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(ArticleRow.first_seen_at < flt.until)
    if flt.story:
        stmt = stmt.where(ArticleRow.story == flt.story)
    if flt.search is not None:
        stmt = stmt.where(_search_clause(session, flt.search) if flt.search.strip() else false())
    return stmt


def items_query(session: Session, flt: ItemFilter, *, newest_first: bool = True) -> Select[Any]:
    stmt = select(*_COLUMNS).outerjoin(_original, ArticleRow.duplicate_of_id == _original.id)
    stmt = filtered(session, flt, stmt)
    date = item_date_column()
    order = (date.desc(), ArticleRow.id.desc()) if newest_first else (date, ArticleRow.id)
    stmt = stmt.order_by(*order)
    if flt.limit is not None:
        stmt = stmt.limit(flt.limit)
    return stmt


def iter_items(
    session: Session, flt: ItemFilter, *, newest_first: bool = True, batch: int = 500
) -> Iterator[ItemView]:
    """Stream matching items; a server-side cursor on PostgreSQL, batches on SQLite.

    Columns (not ORM objects) are selected so the session's identity map does
    not grow with the export.
    """
    stmt = items_query(session, flt, newest_first=newest_first)
    result = session.execute(stmt.execution_options(yield_per=batch))
    for row in result:
        yield ItemView(*row)


def list_items(session: Session, flt: ItemFilter, *, newest_first: bool = True) -> list[ItemView]:
    """All matching items at once: for small, limited listings only."""
    return list(iter_items(session, flt, newest_first=newest_first))


def count_items(session: Session, flt: ItemFilter) -> int:
    """How many items an export will write (for the progress bar), honouring the limit."""
    stmt = filtered(session, flt, select(func.count(ArticleRow.id)))
    total = int(session.execute(stmt).scalar_one())
    return min(total, flt.limit) if flt.limit is not None else total


def status_counts(session: Session, flt: ItemFilter) -> dict[str, int]:
    """Rows per status under ``flt`` (its status filter ignored), every status present."""
    base = ItemFilter(
        language=flt.language,
        site=flt.site,
        since=flt.since,
        until=flt.until,
        search=flt.search,
        story=flt.story,
    )
    stmt = filtered(session, base, select(ArticleRow.status, func.count(ArticleRow.id))).group_by(
        ArticleRow.status
    )
    counts = {s.value: 0 for s in Status}
    for status, n in session.execute(stmt):
        counts[str(status)] = int(n)
    return counts


def latest_date(session: Session, flt: ItemFilter) -> datetime | None:
    """The newest item date under ``flt``: a feed's ``updated`` without reading its entries."""
    stmt = filtered(session, flt, select(func.max(item_date_column())))
    return as_utc(session.execute(stmt).scalar_one_or_none())
