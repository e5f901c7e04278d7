"""The pipeline as plain functions: what the Prefect flows (and benchmarks) call.

fetch feed -> parse entries -> drop seen -> fetch page -> extract -> normalize
-> score relevance -> find duplicate -> file.

Functions take Settings and records and return records; engines, HTTP clients
and the extraction process pool are created once per process and cached here,
so Prefect tasks can pass only plain values. Problems with one feed or page are
returned as data (an ``error`` FeedResult, a ``failed`` Outcome with its
reason), never raised: one bad source must not fail a run.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from monitor import store, timing
from monitor.config import Settings
from monitor.db import FeedRow, open_database, retrying, session_factory
from monitor.errors import BadInputError
from monitor.fetch import Fetcher
from monitor.filing import file_batch, ingest_one
from monitor.records import FeedEntry, FeedPoll, Outcome, Outcomes, Status, utcnow

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PollState:
    """What the last poll left: the validators and body hash the next one sends and compares."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass(frozen=True, slots=True)
class FeedTarget:
    """A feed to poll. ``state`` is read with the feed when the run is planned, so a feed
    that has not changed costs its request and one write, not a second read; without
    it (a target built by hand) the poll reads it first."""

    id: int
    url: str
    name: str
    language: str | None = None
    state: PollState | None = None


@dataclass(frozen=True, slots=True)
class FeedResult:
    """One feed's poll. ``new_entries`` travel to the batches; ``new_count`` stays.

    Once the entries are queued, the run keeps the result without them
    (:meth:`handed_over`): a run's summary otherwise held every entry of the run
    until its end, and Prefect walked them all in the flow's return value.
    """

    feed_url: str
    feed_name: str
    outcome: str  # ok, not_modified, unchanged, error
    http_status: int | None = None
    reason: str = ""
    total_entries: int = 0
    new_entries: tuple[FeedEntry, ...] = ()
    new_count: int = -1  # default: len(new_entries)

    def __post_init__(self) -> None:
        if self.new_count < 0:
            object.__setattr__(self, "new_count", len(self.new_entries))

    def handed_over(self) -> FeedResult:
        """The result without its entries, once something else holds them."""
        return replace(self, new_entries=()) if self.new_entries else self


@dataclass(frozen=True, slots=True)
class BatchResult:
    outcomes: tuple[Outcome, ...] = ()


@dataclass(frozen=True, slots=True)
class PollSummary:
    started_at: datetime
    finished_at: datetime
    feeds: tuple[FeedResult, ...] = ()
    outcomes: Outcomes = field(default_factory=Outcomes)
    counts: tuple[tuple[str, int], ...] = ()
    failures_by_reason: tuple[tuple[str, int], ...] = ()
    feed_counts: tuple[tuple[str, int], ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.outcomes, Outcomes):  # built from a tuple or a list
            object.__setattr__(self, "outcomes", Outcomes(self.outcomes))

    @property
    def filed(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.status is Status.FILED)

    def count(self, status: Status) -> int:
        return dict(self.counts).get(status.value, 0)

    def as_text(self) -> str:
        seconds = (self.finished_at - self.started_at).total_seconds()
        feeds = ", ".join(f"{n} {k}" for k, n in self.feed_counts) or "none"
        items = ", ".join(f"{n} {k}" for k, n in self.counts) or "no new items"
        lines = [
            f"Polled {len(self.feeds)} feed(s) in {seconds:.1f}s: {feeds}.",
            f"Items: {items}.",
        ]
        for feed in self.feeds:
            if feed.outcome == "error":
                lines.append(f"  feed failed: {feed.feed_name or feed.feed_url}: {feed.reason}")
        for reason, n in self.failures_by_reason:
            lines.append(f"  pages failed ({n}): {reason}")
        return "\n".join(lines)


# --- per-process resources ----------------------------------------------------

_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_fetchers: dict[str, Fetcher] = {}


def engine_for(settings: Settings) -> Engine:
    """The migrated engine for this database, created once per process."""
    with _lock:
        engine = _engines.get(settings.database_url)
        if engine is None:
            engine = open_database(settings.database_url)
            _engines[settings.database_url] = engine
        return engine


def session_for(settings: Settings) -> Session:
    session: Session = session_factory(engine_for(settings))()
    return session


def fetcher_for(settings: Settings) -> Fetcher:
    """One fetcher per process so per-host limits and robots.txt caches are shared."""
    key = settings.fetch.model_dump_json()
    with _lock:
        fetcher = _fetchers.get(key)
        if fetcher is None:
            fetcher = Fetcher(settings.fetch)
            _fetchers[key] = fetcher
        return fetcher


def close_resources() -> None:
    with _lock:
        for fetcher in _fetchers.values():
            fetcher.close()
        _fetchers.clear()
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


# --- stages ------------------------------------------------------------------


def prepare(settings: Settings) -> None:
    """Migrate the database and sync configured feeds (idempotent)."""

    def sync(session: Session) -> None:
        store.sync_feeds(session, settings.feeds)
        session.commit()

    with_session(settings, sync, "sync feeds")


def _poll_state(row: FeedRow) -> PollState:
    return PollState(row.url, row.etag, row.last_modified, row.body_hash)


def _target(row: FeedRow) -> FeedTarget:
    state = _poll_state(row)
    return FeedTarget(id=row.id, url=row.url, name=row.name, language=row.language, state=state)


def due_feeds(settings: Settings, *, only: Sequence[str] | None = None) -> list[FeedTarget]:
    """Feeds whose time has come; ``only`` names feeds to poll now, whatever their schedule."""

    def pick(session: Session) -> list[FeedTarget]:
        if only:
            rows = [store.ensure_feed(session, url) for url in only]
            session.commit()
        else:
            rows = store.due_feeds(session, utcnow())
        return [_target(row) for row in rows]

    return with_session(settings, pick, "pick due feeds")


def poll_feed(settings: Settings, feed: FeedTarget) -> FeedResult:
    """Fetch and parse one feed, update its poll state, keep only unseen entries."""
    with timing.timed("poll feed"):
        return _poll_feed(settings, feed)


def _poll_feed(settings: Settings, feed: FeedTarget) -> FeedResult:
    from monitor import feeds

    def read(session: Session) -> PollState | None:
        row = session.get(FeedRow, feed.id)
        return None if row is None else _poll_state(row)

    # Read when the run was planned, seconds ago; a run polling the same feed in
    # between at worst costs this one a full response (entries are claimed once).
    state = feed.state or with_session(settings, read, f"read state of {feed.url}")
    if state is None:
        return FeedResult(feed.url, feed.name, "error", reason="feed not in database")
    # No database connection is held while the network is slow.
    poll = feeds.poll_feed(
        fetcher_for(settings),
        state.url,
        etag=state.etag,
        last_modified=state.last_modified,
        body_hash=state.body_hash,
        max_entries=settings.poll.max_entries_per_feed,
    )
    links = [(c, e) for e in poll.entries if (c := _canonical_or_none(e.link)) is not None]

    def save(session: Session) -> list[FeedEntry]:
        """Queue the new entries and store the validators in one transaction: the
        feed never counts as read unless its entries are safely queued."""
        now = utcnow()
        row = session.get(FeedRow, feed.id)
        if row is None:
            return []
        new = store.claim_new(session, links, feed_id=row.id, now=now, lease=_lease(settings))
        _update_feed_state(settings, row, poll, len(new), now)
        session.commit()
        return new

    new = with_session(settings, save, f"save poll of {feed.url}")
    return FeedResult(
        feed_url=feed.url,
        feed_name=feed.name,
        outcome=poll.outcome,
        http_status=poll.http_status,
        reason=poll.reason,
        total_entries=len(poll.entries),
        new_entries=tuple(new),
    )


def expect_pages(settings: Settings, *, only: Sequence[str] | None = None) -> None:
    """Start the extraction workers before planning when the poll has feeds to poll.

    Planning (the migration, the feed sync, the pick) and the first feed tasks take
    about as long as the workers' start-up, 1-2 s of wall clock on two busy cores;
    started after planning, the workers were ready a second after the first pages
    (measured with ``benchmarks/pipeline.py``). A poll with no feeds at all starts
    none; one whose feeds all turn out not to be due has spent the forkserver's
    ~0.7 s of CPU in the background for nothing, and nobody waits for it.
    """
    if only or settings.feeds:
        start_workers(settings)


def start_workers(settings: Settings) -> None:
    """Start the extraction workers in the background, without waiting (idempotent).

    Their forkserver loads the imports and the language model (about 0.7 s of
    CPU in its own process); started when work is known to be coming, that
    happens while the run is planned and its feeds fetched, instead of in front
    of the first page.
    """
    from monitor import analysis

    analysis.warm(settings.extraction)


def plan(
    settings: Settings, *, only: Sequence[str] | None = None
) -> tuple[list[FeedTarget], list[FeedEntry]]:
    """Migrate and sync feeds, then pick the feeds due and claim the pages due a retry.

    With any of either, the extraction workers start now if :func:`expect_pages`
    has not started them already (a poll of pages due a retry and no configured
    feeds): a poll of due feeds usually brings pages, and the workers take longer
    to start than the feeds take to answer. With neither, none start here.
    """
    prepare(settings)
    targets = due_feeds(settings, only=only)
    retries = due_retries(settings)
    if targets or retries:
        start_workers(settings)
    return targets, retries


def _lease(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.poll.claim_minutes)


def with_session(settings: Settings, work: Callable[[Session], T], what: str) -> T:
    """``work`` in its own session, retried while the database is briefly unreachable."""
    return retrying(
        lambda: session_for(settings), work, seconds=settings.poll.db_retry_seconds, what=what
    )


def _canonical_or_none(link: str) -> str | None:
    from monitor.urls import canonicalize

    try:
        return canonicalize(link)
    except BadInputError:
        return None


def _update_feed_state(
    settings: Settings, row: FeedRow, poll: FeedPoll, new_count: int, now: datetime
) -> None:
    from monitor import feeds

    row.last_polled_at = now
    row.last_status = poll.http_status
    row.last_outcome = poll.outcome
    row.last_reason = poll.reason or None
    if poll.etag is not None or poll.outcome != "not_modified":
        row.etag = poll.etag
    if poll.last_modified is not None or poll.outcome != "not_modified":
        row.last_modified = poll.last_modified
    if poll.body_hash:
        row.body_hash = poll.body_hash
    if poll.outcome == "error":
        row.consecutive_failures = (row.consecutive_failures or 0) + 1
        row.next_poll_at = feeds.schedule_failure(
            consecutive_failures=row.consecutive_failures,
            retry_after_s=poll.retry_after_s,
            settings=settings.poll,
            now=now,
        )
        return
    if poll.final_url and poll.final_url != row.url:
        row.url = poll.final_url  # moved permanently (301/308)
    row.consecutive_failures = 0
    row.last_new_entries = new_count
    total = len(poll.entries) if poll.outcome == "ok" else 1
    interval, next_at = feeds.schedule_success(
        configured_minutes=row.interval_minutes,
        current_minutes=row.current_interval_minutes,
        new_entries=new_count,
        total_entries=total,
        settings=settings.poll,
        now=now,
    )
    row.current_interval_minutes = interval
    row.next_poll_at = next_at


def process_entries(settings: Settings, entries: Sequence[FeedEntry]) -> BatchResult:
    """Fetch, analyse and file a batch of entries; failures come back as outcomes."""
    if not entries:
        return BatchResult()
    with session_for(settings) as session:
        outcomes = file_batch(settings, session, fetcher_for(settings), entries)
    return BatchResult(outcomes=tuple(outcomes))


def record_crashed(settings: Settings, entries: Sequence[FeedEntry], reason: str) -> None:
    """Store the entries of a batch that crashed as transient failures.

    Their ``pending`` rows would come back anyway once the claim expires; as
    failures they say why, and come back with backoff.
    """
    now = utcnow()

    def save(session: Session) -> None:
        for entry in entries:
            canonical = _canonical_or_none(entry.link)
            if canonical is None:
                continue
            store.record_failure(
                session,
                canonical_url=canonical,
                url=entry.link,
                title=entry.title,
                reason=reason[:1000],
                transient=True,
                feed_id=None,
                guid=entry.guid or None,
                settings=settings.poll,
                now=now,
            )
        session.commit()

    with_session(settings, save, "record a crashed batch")


def due_retries(settings: Settings, limit: int | None = None) -> list[FeedEntry]:
    """Claim the work whose time has come (failures past their backoff, entries left
    pending by a run that died) and hand it back as entries to process."""

    def claim(session: Session) -> list[FeedEntry]:
        rows = store.claim_due(
            session,
            utcnow(),
            max_attempts=settings.poll.page_retry_max,
            limit=limit or settings.poll.max_due_per_run,
            lease=_lease(settings),
        )
        session.commit()
        return [
            FeedEntry(
                feed_url=feed_url,
                link=row.url,
                guid=row.guid or "",
                title=row.title,
                summary=row.description if row.status == Status.PENDING.value else "",
                published=row.published_at if row.status == Status.PENDING.value else None,
                author=row.author if row.status == Status.PENDING.value else "",
                language=row.language if row.status == Status.PENDING.value else None,
            )
            for row, feed_url in rows
        ]

    return with_session(settings, claim, "claim due work")


def ingest_url(
    settings: Settings, url: str, *, dry_run: bool = False, force: bool = False
) -> Outcome:
    """One URL through the whole pipeline (the manual ``ingest-url`` flow)."""
    with session_for(settings) as session:
        return ingest_one(
            settings, session, fetcher_for(settings), url, dry_run=dry_run, force=force
        )


def summarize(
    feed_results: Sequence[FeedResult], outcomes: Sequence[Outcome], started_at: datetime
) -> PollSummary:
    counts = Counter(o.status.value for o in outcomes)
    order = [s.value for s in Status]
    reasons = Counter(o.reason.split(":")[0] for o in outcomes if o.status is Status.FAILED)
    feed_counts = Counter(f.outcome for f in feed_results)
    return PollSummary(
        started_at=started_at,
        finished_at=utcnow(),
        feeds=tuple(f.handed_over() for f in feed_results),
        outcomes=Outcomes(outcomes),
        counts=tuple((k, counts[k]) for k in order if counts.get(k)),
        failures_by_reason=tuple(reasons.most_common()),
        feed_counts=tuple(sorted(feed_counts.items())),
    )


def record_run(settings: Settings, summary: PollSummary, kind: str = "poll") -> None:
    counts: dict[str, int] = dict(summary.counts)
    counts["feeds"] = len(summary.feeds)
    counts["feeds_failed"] = sum(1 for f in summary.feeds if f.outcome == "error")

    def save(session: Session) -> None:
        store.record_run(session, kind, summary.started_at, counts)
        session.commit()

    with_session(settings, save, "record the run")


def run_poll(settings: Settings, *, only: Sequence[str] | None = None) -> PollSummary:
    """The whole poll without any orchestrator (benchmarks, tests, the no-Prefect baseline)."""
    started = utcnow()
    expect_pages(settings, only=only)
    targets, retries = plan(settings, only=only)
    results = [poll_feed(settings, feed) for feed in targets]
    entries = [e for r in results for e in r.new_entries] + retries
    outcomes: list[Outcome] = []
    size = settings.poll.batch_size
    for start in range(0, len(entries), size):
        outcomes.extend(process_entries(settings, entries[start : start + size]).outcomes)
    summary = summarize(results, outcomes, started)
    record_run(settings, summary)
    return summary
