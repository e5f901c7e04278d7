"""Reads and writes of pipeline state: feeds, articles, runs.

Every function takes a Session and plain values; the pipeline owns the
transaction boundaries. Work to do is itself stored: a feed's new entries are
``pending`` rows written with the feed's validators, so a crash at any point
loses nothing and the database's unique canonical URL decides which run
processes an entry. Queries are all indexed lookups by key: nothing
here scans the archive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import bindparam, delete, or_, select, text, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.config import FeedConfig, PollSettings
from monitor.db import ARTICLES_TABLE, ArticleRow, FeedRow, OverrideRow, RunRow
from monitor.records import Article, DedupDecision, FeedEntry, Judgement, Status, utcnow

_CHUNK = 500


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- feeds -----------------------------------------------------------------


def sync_feeds(session: Session, feeds: Sequence[FeedConfig], now: datetime | None = None) -> None:
    """Upsert the configured feeds; poll state of existing feeds is kept."""
    now = now or utcnow()
    existing = {row.url: row for row in session.scalars(select(FeedRow))}
    for feed in feeds:
        row = existing.get(feed.url)
        if row is None:
            session.add(
                FeedRow(
                    url=feed.url,
                    name=feed.name or feed.url,
                    language=feed.language,
                    enabled=feed.enabled,
                    interval_minutes=feed.interval_minutes,
                    current_interval_minutes=feed.interval_minutes,
                    created_at=now,
                    next_poll_at=None,
                    consecutive_failures=0,
                    last_new_entries=0,
                )
            )
        else:
            if row.interval_minutes != feed.interval_minutes:
                row.current_interval_minutes = feed.interval_minutes
            row.name = feed.name or row.name
            row.language = feed.language
            row.enabled = feed.enabled
            row.interval_minutes = feed.interval_minutes


def ensure_feed(session: Session, url: str, now: datetime | None = None) -> FeedRow:
    """The row for a feed named on the command line (``poll --feed``), created if new."""
    row = session.scalars(select(FeedRow).where(FeedRow.url == url)).first()
    if row is None:
        row = FeedRow(
            url=url,
            name=url,
            enabled=False,  # not in the config: polled only when named
            interval_minutes=30.0,
            current_interval_minutes=30.0,
            created_at=now or utcnow(),
            consecutive_failures=0,
            last_new_entries=0,
        )
        session.add(row)
        session.flush()
    return row


def due_feeds(session: Session, now: datetime) -> list[FeedRow]:
    stmt = (
        select(FeedRow)
        .where(FeedRow.enabled.is_(True))
        .where(or_(FeedRow.next_poll_at.is_(None), FeedRow.next_poll_at <= now))
        .order_by(FeedRow.next_poll_at.is_not(None), FeedRow.next_poll_at, FeedRow.id)
    )
    return list(session.scalars(stmt))


# --- articles ----------------------------------------------------------------

FILING_LOCK_KEY = 0x6E65_7773  # "news": the advisory lock every filing transaction takes


def acquire_filing_lock(session: Session) -> None:
    """Serialize "find duplicate, then insert" across every worker on every machine.

    Without it two workers can each miss the other's uncommitted original and both
    file the same story. The lock lasts until the transaction ends, and the pipeline
    keeps those transactions short (a few items, no network I/O inside).
    PostgreSQL: a transaction-scoped advisory lock. SQLite: any write statement takes
    the database's single write lock, waiting out ``busy_timeout`` for it.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FILING_LOCK_KEY})
    else:
        session.execute(text("UPDATE runs SET note = note WHERE 0 = 1"))


#: Statuses that mean "this URL has been dealt with": a poll never takes it up again.
DONE = frozenset(s.value for s in (Status.FILED, Status.DUPLICATE, Status.OFF_STORY, Status.REVIEW))
#: Statuses whose rows are work still to do; filing may overwrite them.
OPEN = frozenset({Status.FAILED.value, Status.PENDING.value})


def known_urls(session: Session, urls: Sequence[str]) -> set[str]:
    """URLs (canonical or as linked) that already have a row, whatever its state."""
    return _matching(session, urls, None)


def done_urls(session: Session, urls: Sequence[str]) -> set[str]:
    """URLs (canonical or as linked) already dealt with (filed, duplicate, off-story, review)."""
    return _matching(session, urls, DONE)


def _matching(session: Session, urls: Sequence[str], statuses: frozenset[str] | None) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(set(urls))):
        for column in (ArticleRow.canonical_url, ArticleRow.url):
            stmt = select(column).where(column.in_(chunk))
            if statuses is not None:
                stmt = stmt.where(ArticleRow.status.in_(sorted(statuses)))
            found.update(session.scalars(stmt))
    return found


def claim_new(
    session: Session,
    entries: Sequence[tuple[str, FeedEntry]],
    *,
    feed_id: int | None,
    now: datetime,
    lease: timedelta,
) -> list[FeedEntry]:
    """Queue unseen ``(canonical_url, entry)`` pairs as ``pending`` rows; returns those claimed.

    The rows are the durable record that these entries exist and still need work:
    written in the same transaction as the feed's new validators, so a run killed
    after the poll loses nothing (the next run finds them once ``lease`` expires).
    The unique canonical URL makes the claim exclusive: when two runs see the same
    entry, exactly one insert succeeds and only that run processes it.
    """
    by_canonical: dict[str, FeedEntry] = {}
    for canonical, entry in entries:
        by_canonical.setdefault(canonical, entry)
    known = known_urls(session, [*by_canonical, *(e.link for e in by_canonical.values())])
    fresh = {
        canonical: entry
        for canonical, entry in by_canonical.items()
        if canonical not in known and entry.link not in known
    }
    rows = [
        {
            "canonical_url": canonical,
            "url": entry.link,
            "feed_id": feed_id,
            "guid": entry.guid or None,
            "title": entry.title,
            "description": entry.summary,
            "author": entry.author,
            "language": entry.language,
            "published_at": entry.published,
            "status": Status.PENDING.value,
            "first_seen_at": now,
            "updated_at": now,
            "attempts": 0,
            "next_attempt_at": now + lease,
        }
        for canonical, entry in fresh.items()
    ]
    inserted: dict[str, int] = {}
    for start in range(0, len(rows), _CHUNK):
        inserted |= _insert_new(session, rows[start : start + _CHUNK])
    return [entry for canonical, entry in fresh.items() if canonical in inserted]


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert the rows whose canonical URL is free, in one statement; returns their ids.

    ``ON CONFLICT DO NOTHING`` makes a row another run inserted first a silent skip,
    not an error that would abort the transaction (PostgreSQL and SQLite >= 3.35).
    """
    if not rows:
        return {}
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):  # any other backend: one savepoint per row
        found = ((row["canonical_url"], _insert(session, ArticleRow(**row))) for row in rows)
        return {url: id_ for url, id_ in found if id_ is not None}
    returned = session.execute(_insert_new_statement(dialect), rows)
    return {str(url): int(id_) for url, id_ in returned}


@lru_cache(maxsize=2)
def _insert_new_statement(dialect: str) -> Any:
    """One cached statement run as an executemany (SQLAlchemy batches it into
    multi-row INSERTs with RETURNING). A ``.values(rows)`` statement was compiled
    afresh for every feed, which cost more than the insert (py-spy: ~25 ms a feed)."""
    from sqlalchemy.dialects import postgresql, sqlite

    table = ARTICLES_TABLE
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["canonical_url"])
        .returning(table.c.canonical_url, table.c.id)
    )


def claim_due(
    session: Session, now: datetime, *, max_attempts: int, limit: int, lease: timedelta
) -> list[tuple[ArticleRow, str]]:
    """Take up work whose time has come: failures past their backoff and ``pending``
    entries whose claim expired (their run died). Returns (row, feed url) pairs.

    Each row is claimed with a compare-and-set on ``next_attempt_at``, so two runs
    starting together never both take the same row. A pending entry that keeps
    killing its runs stops after ``max_attempts`` claims, as a failure.
    """
    stmt = (
        select(ArticleRow, FeedRow.url)
        .outerjoin(FeedRow, FeedRow.id == ArticleRow.feed_id)
        .where(ArticleRow.status.in_(sorted(OPEN)))
        .where(ArticleRow.next_attempt_at.is_not(None), ArticleRow.next_attempt_at <= now)
        .order_by(ArticleRow.next_attempt_at)
        .limit(limit)
    )
    claimed: list[tuple[ArticleRow, str]] = []
    for row, feed_url in session.execute(stmt).all():
        if row.attempts >= max_attempts:
            if row.status == Status.PENDING.value:
                _give_up(session, row, now)
            continue
        values: dict[str, Any] = {"next_attempt_at": now + lease, "updated_at": now}
        if row.status == Status.PENDING.value:
            values["attempts"] = row.attempts + 1  # its last claim ended without an answer
        taken = cast(
            CursorResult[Any],
            session.execute(
                update(ArticleRow)
                .where(ArticleRow.id == row.id, ArticleRow.next_attempt_at == row.next_attempt_at)
                .values(**values)
                .execution_options(synchronize_session=False)
            ),
        )
        if taken.rowcount == 1:
            claimed.append((row, feed_url or ""))
    return claimed


def _give_up(session: Session, row: ArticleRow, now: datetime) -> None:
    session.execute(
        update(ArticleRow)
        .where(ArticleRow.id == row.id, ArticleRow.status == Status.PENDING.value)
        .values(
            status=Status.FAILED.value,
            fail_reason="interrupted: every run that took this entry up stopped before it was done",
            next_attempt_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )


def release_pending(session: Session, canonical_url: str) -> None:
    """Drop the queue row of an entry that was filed under another canonical URL."""
    session.execute(
        delete(ArticleRow)
        .where(ArticleRow.canonical_url == canonical_url)
        .where(ArticleRow.status == Status.PENDING.value)
        .execution_options(synchronize_session=False)
    )


def article_by_url(session: Session, canonical_url: str) -> ArticleRow | None:
    return session.scalars(
        select(ArticleRow).where(ArticleRow.canonical_url == canonical_url)
    ).first()


def article_fields(
    article: Article,
    *,
    status: Status,
    judgement: Judgement | None,
    decision: DedupDecision | None,
    text_hash: str | None,
    feed_id: int | None,
    guid: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Column values for a processed article (insert or in-place update)."""
    dup = decision if decision is not None and decision.is_duplicate else None
    return {
        "canonical_url": article.canonical_url,
        "url": article.url,
        "feed_id": feed_id,
        "guid": guid,
        "title": article.title,
        "text": article.text,
        "description": article.description,
        "text_hash": text_hash,
        "language": article.language,
        "author": article.author,
        "site": article.site,
        "published_at": article.published_at,
        "fetched_at": article.fetched_at,
        "status": status.value,
        "story": judgement.story if judgement else None,
        "verdict": judgement.label.value if judgement else None,
        "relevance": judgement.score if judgement else None,
        "evidence": judgement.evidence_json() if judgement else None,
        "duplicate_of_id": dup.original_id if dup else None,
        "dup_method": decision.method if decision else None,
        "dup_score": decision.score if decision else None,
        "dup_threshold": decision.threshold if decision else None,
        "extraction_method": article.extraction_method,
        "fail_reason": None,
        "next_attempt_at": None,
        "updated_at": now,
    }


def upsert_article(
    session: Session, fields: dict[str, Any], now: datetime, *, replace_existing: bool = False
) -> int | None:
    """Insert, or update the row with the same canonical URL when it is work still open
    (``pending``, ``failed``) or ``replace_existing`` (a forced re-ingest). Returns the
    id, or None when the URL is already filed (another worker got there first).

    One UPDATE (a cached statement with bound parameters: it runs once per filed
    article, under the filing lock), and an INSERT only for a URL never queued.
    """
    stmt = _update_open(tuple(fields), replace_existing)
    updated = session.execute(
        stmt, {**{f"v_{k}": v for k, v in fields.items()}, "w_url": fields["canonical_url"]}
    ).scalar()
    if updated is not None:
        return int(updated)
    ids = _insert_new(session, [{**fields, "first_seen_at": now, "attempts": 1}])
    return ids.get(fields["canonical_url"])


@lru_cache(maxsize=8)
def _update_open(columns: tuple[str, ...], replace_existing: bool) -> Any:
    """On the table, not the mapped class: the ORM's bulk-update path cost more parent
    CPU than the statement itself (py-spy), and this UPDATE needs none of it."""
    table = ARTICLES_TABLE
    where = table.c.canonical_url == bindparam("w_url")
    if not replace_existing:
        where = where & table.c.status.in_(sorted(OPEN))
    values: dict[str, Any] = {c: bindparam(f"v_{c}") for c in columns}
    values["attempts"] = table.c.attempts + 1
    return update(table).where(where).values(values).returning(table.c.id)


def _insert(session: Session, row: ArticleRow) -> int | None:
    """Insert in a savepoint; None when another worker stored the URL meanwhile."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row.id


def record_failure(
    session: Session,
    *,
    canonical_url: str,
    url: str,
    title: str,
    reason: str,
    transient: bool,
    feed_id: int | None,
    guid: str | None,
    settings: PollSettings,
    now: datetime,
    retry_after_s: float | None = None,
) -> int | None:
    """Store a page we could not fetch or extract, with when to try again.

    Backoff is linear in the number of attempts and capped; permanent errors
    wait longer (x4) and stop after ``page_retry_max`` attempts. A server's
    ``Retry-After`` is honoured when it asks for longer (up to the cap).
    """
    row = article_by_url(session, canonical_url)
    if row is not None and row.status not in OPEN:
        return row.id  # a good copy exists; never downgrade it
    attempts = (row.attempts if row else 0) + 1
    step = settings.backoff_step_minutes * (1 if transient else 4)
    cap = settings.max_backoff_minutes * (1 if transient else 4)
    delay = min(max(step * attempts, (retry_after_s or 0) / 60), cap)
    next_at = now + timedelta(minutes=delay) if attempts < settings.page_retry_max else None
    if row is None:
        row = ArticleRow(
            canonical_url=canonical_url,
            url=url,
            title=title,
            status=Status.FAILED.value,
            first_seen_at=now,
            updated_at=now,
            feed_id=feed_id,
            guid=guid,
        )
        if _insert(session, row) is None:
            return None
    row.status = Status.FAILED.value  # also a pending entry whose fetch failed
    row.fail_reason = reason
    row.attempts = attempts
    row.next_attempt_at = next_at
    row.updated_at = now
    session.flush()
    return row.id


def has_overrides(session: Session) -> bool:
    """Whether any person's decision is stored at all: most databases have none, and
    then the two override lookups per filed article can be skipped."""
    return session.scalar(select(OverrideRow.id).limit(1)) is not None


def record_run(
    session: Session, kind: str, started_at: datetime, counts: dict[str, Any], note: str = ""
) -> None:
    session.add(
        RunRow(kind=kind, started_at=started_at, finished_at=utcnow(), counts=counts, note=note)
    )
