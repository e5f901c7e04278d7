"""Pages in flight: fetched on threads, analysed on the process pool, handed back
as each is ready.

Filing (:mod:`monitor.filing`) consumes this stream a group at a time. Fetching
is I/O (the Fetcher's per-host limits apply), analysis is CPU in the workers;
keeping a bounded number of pages between the two keeps both cores busy and
memory to the pages in flight.

Completed fetches and analyses arrive on one queue, through a done-callback on
each future. ``concurrent.futures.wait`` registers a waiter on every pending
future and removes it again on every call: with two dozen pages in flight and two
calls per page, that bookkeeping was a tenth of the pipeline process's CPU
(py-spy ``--gil`` on ``benchmarks/pipeline.py``), taken from the workers' cores.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from monitor import analysis, timing
from monitor.analysis import Analysis, AnalysisFailure
from monitor.config import Settings
from monitor.errors import FetchError, TransientFetchError
from monitor.fetch import Fetcher
from monitor.records import FeedEntry, Page


@dataclass(frozen=True, slots=True)
class Item:
    """One entry to fetch, under its canonical URL."""

    entry: FeedEntry
    canonical: str


Result = Analysis | AnalysisFailure | FetchError


def story_paths(settings: Settings) -> tuple[str, ...]:
    return tuple(str(p) for p in settings.story_paths)


def _timed_fetch(fetcher: Fetcher, url: str) -> Page:
    with timing.timed("fetch page (threads)"):
        return fetcher.fetch_page(url)


@dataclass(frozen=True, slots=True)
class _InFlight:
    """A page in the extraction pool: where it went, since when, and if it is a retry."""

    item: Item
    page: Page
    pool: ProcessPoolExecutor
    again: bool
    since: float


def _overdue(
    analysing: dict[Future[Analysis | AnalysisFailure], _InFlight], timeout_s: float
) -> Iterator[tuple[Item, Result]]:
    """Give up on analyses running past ``timeout_s``: a hostile page can send a parser
    into a loop that never ends. The stuck worker is killed (nothing else stops it);
    the other pages on that pool come back broken and are resubmitted once."""
    now = time.monotonic()
    for fut, flight in list(analysing.items()):
        if not fut.done() and now - flight.since > timeout_s:
            del analysing[fut]
            analysis.kill_pool(flight.pool)
            yield (
                flight.item,
                AnalysisFailure(f"analysis_timeout: no result after {timeout_s:.0f} s"),
            )


def fetch_and_analyze(
    settings: Settings, fetcher: Fetcher, items: Sequence[Item], *, tick_s: float
) -> Iterator[tuple[Item, Result] | tuple[None, None]]:
    """Yield each item with its analysis or error as soon as it is ready, and a
    ``(None, None)`` tick after ``tick_s`` without one, so filing never waits on slow
    fetches to file what is ready."""
    if not items:
        return
    token = analysis.SENIORITY.join()
    try:
        yield from _pipelined(settings, fetcher, items, token, tick_s)
    finally:
        analysis.SENIORITY.leave(token)


def _pipelined(
    settings: Settings, fetcher: Fetcher, items: Sequence[Item], token: int, tick_s: float
) -> Iterator[tuple[Item, Result] | tuple[None, None]]:
    paths = story_paths(settings)
    n_fetch = max(1, min(settings.fetch.workers, len(items)))
    # Pages fetched ahead of the extraction workers: enough that a worker never waits
    # for a fetch (fetches queue behind per-host limits), few enough to bound memory.
    processes = analysis.process_count(settings.extraction)
    max_in_flight = n_fetch + 4 * processes
    waiting = iter(items)
    fetching: dict[Future[Page], Item] = {}
    analysing: dict[Future[Analysis | AnalysisFailure], _InFlight] = {}
    # Futures that finished; one that was given up on (overdue) arrives too, later,
    # and is ignored: it is in neither dict any more.
    completed: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()

    def send(item: Item, page: Page, again: bool) -> None:
        task, on = analysis.submit(settings.extraction, paths, page, item.entry)
        analysing[task] = _InFlight(item, page, on, again, time.monotonic())
        task.add_done_callback(completed.put)

    def top_up(pool: ThreadPoolExecutor) -> None:
        # A younger batch only keeps the workers from waiting: as many pages ahead
        # (being fetched or queued) as there are workers.
        ahead = max_in_flight if analysis.SENIORITY.is_eldest(token) else processes
        while len(fetching) < n_fetch and len(fetching) + len(analysing) < ahead:
            item = next(waiting, None)
            if item is None:
                return
            fut = pool.submit(_timed_fetch, fetcher, item.entry.link)
            fetching[fut] = item
            fut.add_done_callback(completed.put)

    with ThreadPoolExecutor(n_fetch, thread_name_prefix="newsmon-fetch") as pool:
        top_up(pool)
        while fetching or analysing:
            done = _completed(completed, tick_s)
            yield from _overdue(analysing, settings.extraction.timeout_s)
            if not done:
                top_up(pool)  # an older batch may have ended: this one takes over
                yield None, None  # a tick: lets the caller file what is ready
                continue
            for fut in done:
                if fut in fetching:
                    item = fetching.pop(fut)
                    try:
                        page = fut.result()
                    except FetchError as exc:
                        yield item, exc
                        continue
                    except Exception as exc:  # defensive: a fetcher bug is one failed page
                        yield item, TransientFetchError(f"{type(exc).__name__}: {exc}")
                        continue
                    send(item, page, again=False)
                elif fut in analysing:
                    flight = analysing.pop(fut)
                    item = flight.item
                    try:
                        result: Analysis | AnalysisFailure = fut.result()
                    except (BrokenProcessPool, CancelledError):
                        # A worker died (a crash in a C library, the OOM killer): every
                        # page in flight on that pool lands here. Each is tried once more
                        # on a fresh pool, never in this process: the page that killed a
                        # worker would kill the run.
                        analysis.reset_pool(flight.pool)
                        if not flight.again:
                            send(item, flight.page, again=True)
                            continue
                        result = AnalysisFailure(
                            "worker_crashed: the extraction worker died twice on this page"
                        )
                    except Exception as exc:  # e.g. a bad story file: this page fails, not the run
                        result = AnalysisFailure(f"analysis_error: {type(exc).__name__}: {exc}")
                    yield item, result
            top_up(pool)


def _completed(completed: queue.SimpleQueue[Future[Any]], wait_s: float) -> list[Future[Any]]:
    """The futures finished since the last call, waiting up to ``wait_s`` for one."""
    try:
        done = [completed.get(timeout=wait_s)]
    except queue.Empty:
        return []
    while True:
        try:
            done.append(completed.get_nowait())
        except queue.Empty:
            return done
