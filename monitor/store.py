"""Reads and writes of pipeline state: feeds, articles, runs.

Every function takes a Session and plain values; the pipeline owns the
transaction boundaries (one commit per batch), so writes are batched and a
crash loses at most one batch. Queries are all indexed lookups by key: nothing
here scans the archive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.config import FeedConfig, PollSettings
from monitor.db import ArticleRow, FeedRow, RunRow
from monitor.records import Article, DedupDecision, Judgement, Status, utcnow

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


def seen_urls(session: Session, urls: Sequence[str], now: datetime, max_attempts: int) -> set[str]:
    """URLs (canonical or as linked) already stored and not due for another try."""
    wanted = sorted(set(urls))
    seen: set[str] = set()
    for chunk in _chunks(wanted):
        for column in (ArticleRow.canonical_url, ArticleRow.url):
            rows = session.execute(
                select(
                    column, ArticleRow.status, ArticleRow.next_attempt_at, ArticleRow.attempts
                ).where(column.in_(chunk))
            )
            for url, status, next_at, attempts in rows:
                retry_due = (
                    status == Status.FAILED.value
                    and attempts < max_attempts
                    and next_at is not None
                    and next_at <= now
                )
                if not retry_due:
                    seen.add(url)
    return seen


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
    """Insert, or update the row with the same canonical URL when it is a failure being
    retried or ``replace_existing`` (a forced re-ingest). Returns the id, or None when
    the URL is already filed (another worker got there first)."""
    row = article_by_url(session, fields["canonical_url"])
    if row is not None:
        if row.status != Status.FAILED.value and not replace_existing:
            return None
        for key, value in fields.items():
            setattr(row, key, value)
        row.attempts = (row.attempts or 0) + 1
        session.flush()
        return row.id
    return _insert(session, ArticleRow(first_seen_at=now, attempts=1, **fields))


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
) -> int | None:
    """Store a page we could not fetch or extract, with when to try again.

    Backoff is linear in the number of attempts and capped; permanent errors
    wait longer (x4) and stop after ``page_retry_max`` attempts.
    """
    row = article_by_url(session, canonical_url)
    if row is not None and row.status != Status.FAILED.value:
        return row.id  # a good copy exists; never downgrade it
    attempts = (row.attempts if row else 0) + 1
    step = settings.backoff_step_minutes * (1 if transient else 4)
    delay = min(step * attempts, settings.max_backoff_minutes * (1 if transient else 4))
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
    row.fail_reason = reason
    row.attempts = attempts
    row.next_attempt_at = next_at
    row.updated_at = now
    session.flush()
    return row.id


def due_retries(session: Session, now: datetime, max_attempts: int, limit: int) -> list[ArticleRow]:
    stmt = (
        select(ArticleRow)
        .where(ArticleRow.status == Status.FAILED.value)
        .where(ArticleRow.next_attempt_at.is_not(None), ArticleRow.next_attempt_at <= now)
        .where(ArticleRow.attempts < max_attempts)
        .order_by(ArticleRow.next_attempt_at)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def record_run(
    session: Session, kind: str, started_at: datetime, counts: dict[str, Any], note: str = ""
) -> None:
    session.add(
        RunRow(kind=kind, started_at=started_at, finished_at=utcnow(), counts=counts, note=note)
    )
