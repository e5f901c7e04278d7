"""The ``poll-feeds`` flow: poll the due feeds, process their new entries, report.

Task granularity follows the measured cost of Prefect on these machines
(docs/orchestration.md): about 11 ms of client time per task run and a server
that absorbs 20-25 task runs per second make one task per article cost more
than extracting it. So there is one task per *feed* (network-bound, run on a
bounded thread pool, each feed's failure isolated) and one task per *batch* of
entries (``poll.batch_size``); inside a batch the library fetches on threads
with per-host limits and extracts on a process pool. A batch starts as soon as
enough entries are queued, while the remaining feeds are still being polled, so
the extraction workers do not idle through the feed phase, and the next batch
starts before the current one ends (``BATCHES_IN_FLIGHT``), so they do not idle
at batch boundaries either. Filing is serialised by the library's filing lock,
so overlapping batches cannot both file one story.

Timeouts: every HTTP request carries its own connect/read/total timeouts (the
library's Fetcher), which is what bounds a feed task, and every page analysis
has its own limit (``extraction.timeout_s``: the stuck worker is killed), which
with the fetch timeouts bounds a batch. Feed and batch tasks run on worker
threads, where a Prefect timeout cannot interrupt a blocked call, so they carry
none of their own (Prefect warns on every such task run).

Large parameters (settings, a batch's entries, a run's summary) are passed
through :func:`unwalked`, so Prefect does not walk them looking for futures.

Retries happen only for transient errors (:func:`flows.shared.is_transient`):
the library returns feed and page problems as data, so what retries is mostly
a database connection that dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar, cast

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.context import FlowRunContext
from prefect.futures import PrefectConcurrentFuture, PrefectFuture, as_completed
from prefect.runtime import flow_run as current_run
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import TaskRunNameCallbackWithParameters
from prefect.utilities.annotations import quote

from flows.artifacts import publish_poll
from flows.limits import ensure_host_limits, host_slot
from flows.present import filed_by_this_run
from flows.shared import (
    failed_feed,
    failed_outcomes,
    feed_timeout_s,
    feeds_label,
    host_of,
    retry_if_transient,
    short_url,
)
from monitor import pipeline
from monitor.config import Settings, load_settings
from monitor.records import FeedEntry, Outcome, utcnow

T = TypeVar("T")

#: Feeds polled at once by one flow run (the library caps requests per host too).
MAX_FEED_THREADS = 8
#: Batch tasks running at once: the next one fetches while the current one's last
#: pages are extracted, so the workers never drain between batches.
BATCHES_IN_FLIGHT = 2
#: The report artifact covers this much history, not just this run.
REPORT_WINDOW = timedelta(days=1)

#: Shared by every task: retry transient errors only; inputs are settings and
#: records, never worth hashing for a cache, and results stay in memory.
RETRIES = 2
RETRY_DELAYS = [2.0, 10.0]
TASK_OPTIONS: dict[str, Any] = {
    "retries": RETRIES,
    "retry_delay_seconds": RETRY_DELAYS,
    "retry_condition_fn": retry_if_transient,
    "cache_policy": NO_CACHE,
    "persist_result": False,
}


def unwalked(value: T) -> T:
    """``quote(value)``, typed as the value itself, which is what the task receives.

    Prefect walks every task parameter (twice per task run) and every flow result
    looking for futures; a batch of entries or a run's summary cost it more parent
    CPU than the rest of the task's bookkeeping (measured with py-spy). Quoted,
    it is not walked; none of these parameters ever holds a future.
    """
    return cast(T, quote(value))


def _named(fn: Callable[[dict[str, Any]], str]) -> TaskRunNameCallbackWithParameters:
    """Prefect passes the task's parameters to a namer whose argument is ``parameters``.

    (Its Protocol carries a classmethod, so a plain function needs this cast.)
    """
    return cast(TaskRunNameCallbackWithParameters, fn)


def _feed_task_name(parameters: dict[str, Any]) -> str:
    feed = parameters.get("feed")
    name = getattr(feed, "name", "") or short_url(str(getattr(feed, "url", "?")), 60)
    return f"poll-feed {name}"


def _batch_task_name(parameters: dict[str, Any]) -> str:
    return f"process-batch {parameters.get('label', '')}".strip()


@task(
    name="plan-poll",
    timeout_seconds=300,
    **TASK_OPTIONS,
)
def plan_poll(
    settings: Settings, only: Sequence[str] | None
) -> tuple[list[pipeline.FeedTarget], list[FeedEntry]]:
    """Migrate and sync feeds, pick the feeds due and the pages due a retry, and start
    the extraction workers if there are any."""
    return pipeline.plan(settings, only=only or None)


@task(
    name="poll-feed",
    task_run_name=_named(_feed_task_name),
    **TASK_OPTIONS,
)
def poll_feed(
    settings: Settings, feed: pipeline.FeedTarget, limits: frozenset[str] = frozenset()
) -> pipeline.FeedResult:
    slots = settings.fetch.host_concurrency
    with host_slot(host_of(feed.url), set(limits), feed_timeout_s(settings), slots):
        return pipeline.poll_feed(settings, feed)


@task(
    name="process-batch",
    task_run_name=_named(_batch_task_name),
    **TASK_OPTIONS,
)
def process_batch(
    settings: Settings, entries: tuple[FeedEntry, ...], label: str = ""
) -> pipeline.BatchResult:
    return pipeline.process_entries(settings, entries)


@task(
    name="record-run",
    timeout_seconds=120,
    **TASK_OPTIONS,
)
def record_run(settings: Settings, summary: pipeline.PollSummary) -> None:
    pipeline.record_run(settings, summary)


def _poll_run_name() -> str:
    feeds = current_run.parameters.get("feeds") or []
    if feeds:
        return "poll " + feeds_label([short_url(str(f), 50) for f in feeds])
    return "poll due feeds"


def _rename_run(name: str) -> None:
    """Say which feeds ran once they are known (the name was set before planning)."""
    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        return
    try:
        ctx.client.set_flow_run_name(ctx.flow_run.id, name)
    except Exception as exc:  # cosmetic: never fail a poll over it
        get_run_logger().debug("could not rename flow run: %s", exc)


def poll_and_process(
    settings: Settings, targets: Sequence[pipeline.FeedTarget], retries: Sequence[FeedEntry]
) -> tuple[list[pipeline.FeedResult], list[Outcome]]:
    """Feeds as tasks on a bounded thread pool; batches start as soon as enough entries
    are queued, while the other feeds are still being polled.

    Waiting for every feed first left the extraction workers idle for the whole feed
    phase (2.5 s for 20 feeds of one host, measured). A crashed feed task is an
    ``error`` feed; a crashed batch counts as failed entries; the run goes on.
    """
    size = settings.poll.batch_size
    queue: list[FeedEntry] = list(retries)
    results: dict[int, pipeline.FeedResult] = {}
    with _Batches(settings) as batches:

        def run_batches(final: bool) -> None:
            # Full batches as entries come; a short one at once if the workers would
            # otherwise wait (the first feed's entries, a slow feed phase).
            while len(queue) >= size or (queue and (final or batches.idle())):
                batches.start(tuple(queue[:size]))
                del queue[:size]

        if targets:
            limits = frozenset(
                ensure_host_limits(
                    {host_of(t.url) for t in targets}, settings.fetch.host_concurrency
                )
            )
            threads = max(1, min(MAX_FEED_THREADS, settings.fetch.workers, len(targets)))
            with ThreadPoolTaskRunner(max_workers=threads) as runner:  # type: ignore[var-annotated]
                futures: dict[PrefectFuture[Any], int] = {
                    runner.submit(
                        poll_feed, {"settings": unwalked(settings), "feed": t, "limits": limits}
                    ): i
                    for i, t in enumerate(targets)
                }
                for future in as_completed(list(futures)):
                    i = futures[future]
                    value = future.result(raise_on_failure=False)
                    if isinstance(value, pipeline.FeedResult):
                        results[i] = value
                    else:
                        error = (
                            value if isinstance(value, BaseException) else RuntimeError(repr(value))
                        )
                        results[i] = failed_feed(targets[i], error)
                    queue.extend(results[i].new_entries)
                    results[i] = results[i].handed_over()  # the queue holds them now
                    run_batches(final=False)
        run_batches(final=True)
        outcomes = batches.finish()
    return [results[i] for i in sorted(results)], outcomes


class _Batches:
    """Batch tasks, ``BATCHES_IN_FLIGHT`` at a time, in the order they were started.

    One batch at a time drained the pipeline at every batch boundary: the last pages
    of a batch were extracted while no page of the next one was being fetched, and the
    next one's first pages were fetched while the workers idled. With the next batch
    already running, its pages queue behind the current one's in the same worker pool.
    Filing stays serialised (the filing lock), so a story reposted across two batches
    is still caught. A crashed batch becomes failed outcomes kept for a retry.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runner: ThreadPoolTaskRunner[Any] = ThreadPoolTaskRunner(max_workers=BATCHES_IN_FLIGHT)
        self.running: list[tuple[PrefectConcurrentFuture[Any], tuple[FeedEntry, ...]]] = []
        self.outcomes: list[Outcome] = []
        self.count = 0

    def __enter__(self) -> _Batches:
        self.runner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.runner.__exit__(*exc)

    def start(self, batch: tuple[FeedEntry, ...]) -> None:
        while len(self.running) >= BATCHES_IN_FLIGHT:
            self._collect_oldest()
        self.count += 1
        params = {
            "settings": unwalked(self.settings),
            "entries": unwalked(batch),
            "label": f"{self.count} ({len(batch)} entries)",
        }
        self.running.append((self.runner.submit(process_batch, params), batch))

    def idle(self) -> bool:
        """Fewer batches running than may run: one more would keep the workers fed."""
        running = sum(1 for future, _ in self.running if not future.wrapped_future.done())
        return running < BATCHES_IN_FLIGHT

    def finish(self) -> list[Outcome]:
        while self.running:
            self._collect_oldest()
        return self.outcomes

    def _collect_oldest(self) -> None:
        future, batch = self.running.pop(0)
        future.wait()
        self.outcomes.extend(batch_outcomes(self.settings, batch, future.state))


def batch_outcomes(
    settings: Settings, batch: tuple[FeedEntry, ...], state: State[Any]
) -> list[Outcome]:
    """A finished batch task's outcomes; if it crashed, its entries as failed outcomes."""
    value = state.result(raise_on_failure=False)
    if isinstance(value, pipeline.BatchResult):
        return list(value.outcomes)
    error = value if isinstance(value, BaseException) else RuntimeError(str(state))
    failed = failed_outcomes(batch, error)
    try:  # say why now; their pending rows would come back anyway once the claim expires
        pipeline.record_crashed(settings, batch, failed[0].reason if failed else "")
    except Exception as exc:
        get_run_logger().warning("crashed batch not recorded for retry: %s", exc)
    return failed


def report_markdown(settings: Settings, summary: pipeline.PollSummary) -> str | None:
    """The story report (last day) from :mod:`monitor.report`, if that module is present."""
    try:
        from monitor import report
    except ImportError:
        return None
    try:
        with pipeline.session_for(settings) as session:
            data = report.build_report(session, since=summary.started_at - REPORT_WINDOW)
        return report.render_markdown(data)
    except Exception as exc:
        get_run_logger().warning("story report not built: %s", exc)
        return None


def notify(settings: Settings, outcomes: Sequence[Outcome], run_name: str) -> None:
    """Alert on newly filed items through :mod:`monitor.alerts` when it is configured."""
    filed = [o for o in outcomes if filed_by_this_run(o) and not o.dry_run]
    if not filed or not settings.alerts.enabled:
        return
    try:
        from monitor import alerts
    except ImportError:
        return
    try:
        alerts.notify(settings.alerts, filed, run_name=run_name)
    except Exception as exc:  # an alert channel down must not fail the run
        get_run_logger().warning("alerts not sent: %s", exc)


@flow(name="poll-feeds", flow_run_name=_poll_run_name, log_prints=True)
def poll_feeds(feeds: list[str] | None = None) -> pipeline.PollSummary:
    """Poll the feeds that are due (or exactly `feeds`, whatever their schedule), fetch and
    judge their new entries, file what is new and on the story, publish the run's tables."""
    logger = get_run_logger()
    settings = load_settings()
    started = utcnow()
    pipeline.expect_pages(settings, only=feeds)
    targets, retries = plan_poll(unwalked(settings), feeds)
    run_name = "poll " + feeds_label([t.name or short_url(t.url, 40) for t in targets])
    if not feeds:
        _rename_run(run_name)
    logger.info("%s; %d page(s) due a retry", run_name, len(retries))

    results, outcomes = poll_and_process(settings, targets, retries)

    summary = pipeline.summarize(results, outcomes, started)
    record_run(unwalked(settings), unwalked(summary))
    publish_poll(summary, run_name, report_markdown(settings, summary))
    notify(settings, summary.outcomes, run_name)
    logger.info(summary.as_text())
    return summary
