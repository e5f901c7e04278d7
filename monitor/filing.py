"""Fetch, analyse and file pages: the per-article half of the pipeline.

Pages are fetched by a thread pool (I/O, per-host limits in the Fetcher) and
analysed by the process pool as soon as each arrives (:mod:`monitor.inflight`);
the parent files results in arrival order, a group at a time (``FLUSH_EVERY``
items or ``FLUSH_AFTER_S``) in one short transaction under the filing lock:
writes are batched, concurrent workers cannot both file the same story, and
memory holds only the pages in flight.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import analysis, dedup, review, store, timing
from monitor.analysis import Analysis, AnalysisFailure
from monitor.config import Settings
from monitor.db import ArticleRow, FeedRow, retrying
from monitor.errors import BadInputError, FetchError, TransientFetchError
from monitor.fetch import Fetcher
from monitor.inflight import Item as _Item
from monitor.inflight import Result
from monitor.inflight import fetch_and_analyze as _fetch_and_analyze
from monitor.inflight import story_paths as _story_paths
from monitor.records import (
    Article,
    DedupDecision,
    FeedEntry,
    Judgement,
    Label,
    Outcome,
    Status,
    utcnow,
)
from monitor.urls import canonicalize

T = TypeVar("T")

FLUSH_EVERY = 20  # items filed per transaction, at most
FLUSH_AFTER_S = 0.5  # ...and no item waits longer than this to be filed


def status_for(judgement: Judgement, decision: DedupDecision | None) -> Status:
    if decision is not None and decision.is_duplicate:
        return Status.DUPLICATE
    return {
        Label.ON_STORY: Status.FILED,
        Label.REVIEW: Status.REVIEW,
        Label.OFF_STORY: Status.OFF_STORY,
    }[judgement.label]


def outcome_from_row(row: ArticleRow, session: Session, *, reason: str = "") -> Outcome:
    original = session.get(ArticleRow, row.duplicate_of_id) if row.duplicate_of_id else None
    return Outcome(
        url=row.url,
        canonical_url=row.canonical_url,
        status=Status(row.status),
        title=row.title,
        site=row.site,
        language=row.language,
        score=row.relevance,
        reason=reason or (row.fail_reason or ""),
        duplicate_of=original.canonical_url if original else None,
        article_id=row.id,
    )


def file_batch(
    settings: Settings, session: Session, fetcher: Fetcher, entries: Sequence[FeedEntry]
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    items: dict[str, _Item] = {}
    for entry in entries:
        try:
            canonical = canonicalize(entry.link)
        except BadInputError as exc:
            outcomes.append(
                Outcome(
                    entry.link, entry.link, Status.FAILED, entry.title, reason=f"invalid_url: {exc}"
                )
            )
            continue
        items.setdefault(canonical, _Item(entry, canonical))

    def look_up(s: Session) -> tuple[set[str], dict[str, int]]:
        done = store.done_urls(s, [*items, *(i.entry.link for i in items.values())])
        return done, _feed_ids(s, {i.entry.feed_url for i in items.values()})

    seen, feed_ids = _with_retry(settings, session, look_up, "look up a batch")
    todo = [i for c, i in items.items() if c not in seen and i.entry.link not in seen]
    ready: list[tuple[_Item, Result]] = []
    first_ready = 0.0
    for item, result in _fetch_and_analyze(settings, fetcher, todo, tick_s=FLUSH_AFTER_S / 2):
        if item is not None and result is not None:
            if not ready:
                first_ready = time.monotonic()
            ready.append((item, result))
        if ready and (len(ready) >= FLUSH_EVERY or time.monotonic() - first_ready >= FLUSH_AFTER_S):
            outcomes.extend(_flush_retrying(settings, session, ready, feed_ids))
            ready = []
    outcomes.extend(_flush_retrying(settings, session, ready, feed_ids))
    return outcomes


def _with_retry(settings: Settings, session: Session, work: Callable[[Session], T], what: str) -> T:
    """``work`` on this batch's session, retried (rolled back, run again) while the
    database is briefly unreachable; the session is released between uses, so no
    connection is held while pages are fetched."""
    return retrying(lambda: session, work, seconds=settings.poll.db_retry_seconds, what=what)


def _flush_retrying(
    settings: Settings,
    session: Session,
    ready: Sequence[tuple[_Item, Result]],
    feed_ids: dict[str, int],
) -> list[Outcome]:
    if not ready:
        return []
    return _with_retry(
        settings, session, lambda s: _flush(settings, s, ready, feed_ids), "file a group"
    )


def _flush(
    settings: Settings,
    session: Session,
    ready: Sequence[tuple[_Item, Result]],
    feed_ids: dict[str, int],
) -> list[Outcome]:
    """File the analysed items in one short transaction under the filing lock.

    Grouping whatever is ready keeps writes batched under load while the lock
    is held only for database work (no network, no extraction), so concurrent
    workers wait milliseconds for each other, not a whole batch.
    """
    if not ready:
        return []
    outcomes = []
    with timing.timed("filing lock wait"):
        store.acquire_filing_lock(session)
    now = utcnow()
    overrides = store.has_overrides(session)
    for item, result in ready:
        feed_id = feed_ids.get(item.entry.feed_url)
        if isinstance(result, Analysis):
            for stage, seconds in result.timings:
                timing.add(stage, seconds)
            with timing.timed("dedup + file"):
                outcomes.append(
                    file_analysis(
                        settings, session, item, result, feed_id, now, overrides=overrides
                    )
                )
        else:
            with timing.timed("record failure"):
                outcomes.append(_fail(settings, session, item, result, feed_id, now))
    with timing.timed("commit"):
        session.commit()
    return outcomes


def _feed_ids(session: Session, urls: set[str]) -> dict[str, int]:
    urls.discard("")
    if not urls:
        return {}
    rows = session.execute(select(FeedRow.url, FeedRow.id).where(FeedRow.url.in_(sorted(urls))))
    return {url: id_ for url, id_ in rows}


def _failure_reason(error: FetchError | AnalysisFailure) -> str:
    return error.describe() if isinstance(error, FetchError) else error.reason


def _exact_url_decision(session: Session, row: ArticleRow) -> DedupDecision:
    """The same article already stored under this URL: a copy of that row's original."""
    root = session.get(ArticleRow, row.duplicate_of_id or row.id) or row
    return DedupDecision(
        original_id=root.id,
        original_url=root.canonical_url,
        method="exact_url",
        score=100.0,
        threshold=100.0,
    )


def _fail(
    settings: Settings,
    session: Session,
    item: _Item,
    error: FetchError | AnalysisFailure,
    feed_id: int | None,
    now: datetime,
) -> Outcome:
    reason = _failure_reason(error)
    article_id = store.record_failure(
        session,
        canonical_url=item.canonical,
        url=item.entry.link,
        title=item.entry.title,
        reason=reason[:1000],
        transient=isinstance(error, TransientFetchError),
        feed_id=feed_id,
        guid=item.entry.guid or None,
        settings=settings.poll,
        now=now,
        retry_after_s=error.retry_after if isinstance(error, FetchError) else None,
    )
    return Outcome(
        url=item.entry.link,
        canonical_url=item.canonical,
        status=Status.FAILED,
        title=item.entry.title,
        reason=reason,
        article_id=article_id,
    )


def _decide(
    settings: Settings,
    session: Session,
    item: _Item,
    result: Analysis,
    now: datetime,
    overrides: bool = True,
) -> tuple[Analysis, Judgement, DedupDecision]:
    """Relevance (with any human decision) and the dedup decision for one analysis.

    ``overrides=False`` (no override stored at all) skips looking for one.
    """
    article = result.article
    existing = (
        store.article_by_url(session, article.canonical_url)
        if article.canonical_url != item.canonical
        else None
    )
    if existing is not None and existing.status not in store.OPEN:
        # The page declares a canonical URL we already hold: the same article under another URL.
        decision = _exact_url_decision(session, existing)
        result = replace(result, article=replace(article, canonical_url=item.canonical))
    else:
        decision = dedup.find_duplicate(
            session,
            canonical_url=article.canonical_url,
            title=article.title,
            text=article.text,
            fp=result.fingerprint,
            seen_at=now,
            settings=settings.dedup,
            check_override=overrides,
        )
    judgement = result.judgement
    human = review.relevance_override(session, result.article.canonical_url) if overrides else None
    if human is not None:
        judgement = replace(judgement, label=human, reasons=(*judgement.reasons, "human decision"))
    return result, judgement, decision


def file_analysis(
    settings: Settings,
    session: Session,
    item: _Item,
    result: Analysis,
    feed_id: int | None,
    now: datetime,
    *,
    replace_existing: bool = False,
    dry_run: bool = False,
    overrides: bool = True,
) -> Outcome:
    """Decide (relevance with any human decision, duplicate or not) and write one article.

    The caller holds the filing lock (:func:`monitor.store.acquire_filing_lock`) and
    commits; seeds, polls and manual ingests all file through here.
    """
    result, judgement, decision = _decide(settings, session, item, result, now, overrides)
    article = result.article
    status = status_for(judgement, decision)
    article_id: int | None = None
    if not dry_run:
        fields = store.article_fields(
            article,
            status=status,
            judgement=judgement,
            decision=decision,
            text_hash=result.fingerprint.text_hash,
            feed_id=feed_id,
            guid=item.entry.guid or None,
            now=now,
        )
        article_id = store.upsert_article(session, fields, now, replace_existing=replace_existing)
        if article.canonical_url != item.canonical:
            store.release_pending(session, item.canonical)  # filed under the page's own URL
        if article_id is None:
            return _filed_elsewhere(session, item, article)
        dedup.index_article(session, article_id, result.fingerprint, now, replace=replace_existing)
    return Outcome(
        url=article.url,
        canonical_url=article.canonical_url,
        status=status,
        title=article.title,
        site=article.site,
        language=article.language,
        score=judgement.score,
        duplicate_of=decision.original_url if decision.is_duplicate else None,
        article_id=article_id,
        judgement=judgement,
        dedup=decision,
        dry_run=dry_run,
    )


def _filed_elsewhere(session: Session, item: _Item, article: Article) -> Outcome:
    """Another run stored this URL after our seen-check: report it as that item's copy."""
    row = store.article_by_url(session, article.canonical_url)
    decision = _exact_url_decision(session, row) if row is not None else None
    original = decision.original_url if decision is not None else article.canonical_url
    return Outcome(
        url=article.url,
        canonical_url=article.canonical_url,
        status=Status.DUPLICATE,
        title=article.title,
        site=article.site,
        language=article.language,
        reason="already filed by another run",
        duplicate_of=original,
        article_id=row.id if row is not None else None,
        dedup=decision,
    )


def ingest_one(
    settings: Settings,
    session: Session,
    fetcher: Fetcher,
    url: str,
    *,
    dry_run: bool = False,
    force: bool = False,
) -> Outcome:
    """One URL by hand: already-stored URLs are reported unless ``force``."""
    try:
        canonical = canonicalize(url)
    except BadInputError as exc:
        return Outcome(url, url, Status.FAILED, reason=f"invalid_url: {exc}")
    existing = store.article_by_url(session, canonical)
    if existing is not None and not force and existing.status not in store.OPEN:
        return outcome_from_row(existing, session, reason="already stored (use force to redo)")
    item = _Item(FeedEntry(feed_url="", link=url), canonical)
    now = utcnow()
    try:
        page = fetcher.fetch_page(url)
    except FetchError as exc:
        result: Analysis | AnalysisFailure | FetchError = exc
    else:
        result = analysis.analyze(page, None, settings.extraction, _story_paths(settings))
    if not isinstance(result, Analysis):
        if dry_run:
            return Outcome(
                url, canonical, Status.FAILED, reason=_failure_reason(result), dry_run=True
            )
        outcome = _fail(settings, session, item, result, None, now)
        session.commit()
        return outcome
    if not dry_run:
        store.acquire_filing_lock(session)
    outcome = file_analysis(
        settings, session, item, result, None, now, replace_existing=force, dry_run=dry_run
    )
    if dry_run:
        session.rollback()
    else:
        session.commit()
    return outcome
