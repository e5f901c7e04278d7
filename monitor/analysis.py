"""The CPU-bound half of the pipeline, run in worker processes.

Extraction holds the GIL for ~100 ms per page, so pages are analysed in a
process pool: a worker gets the fetched bytes once and returns everything the
filing step needs (article, relevance judgement, dedup fingerprint). The bytes
never come back and nothing is parsed twice. Judging and fingerprinting here,
next to extraction, keeps the parent process free for I/O and the database.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from functools import lru_cache
from multiprocessing import forkserver
from pathlib import Path

# ``sketch``, not ``dedup``: the workers need the fingerprint, not the database half
# of dedup, and importing SQLAlchemy cost each forkserver 0.3 s of CPU (``sketch``
# itself leaves numpy to ``monitor.minhash``, which only the workers load). ``extract``
# (trafilatura, lxml, htmldate...) is imported where pages are extracted: the parent
# only submits pages and files results, and importing it there cost every poll's
# start about 0.16 s (``python -X importtime``) on the core it was waiting on.
from monitor import relevance, sketch, urls
from monitor.config import ExtractionSettings
from monitor.errors import BadInputError, MonitorError
from monitor.records import Article, FeedEntry, Judgement, Page


@dataclass(frozen=True, slots=True)
class Analysis:
    """A page turned into a fileable article."""

    article: Article
    judgement: Judgement
    fingerprint: sketch.Fingerprint
    timings: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class AnalysisFailure:
    """Why a fetched page could not become an article (no exception crosses processes)."""

    reason: str


@lru_cache(maxsize=8)
def _stories(paths: tuple[str, ...]) -> tuple[relevance.Story, ...]:
    return relevance.load_stories([Path(p) for p in paths])


def judge_text(story_paths: tuple[str, ...], title: str, text: str) -> Judgement:
    return relevance.judge_all(_stories(story_paths), title, text)


def _extracted(page: Page, entry: FeedEntry | None, settings: ExtractionSettings) -> Article:
    from monitor import extract

    result = extract.extract_article(page, entry, settings)
    article = result.article
    canonical = urls.choose_canonical(page.final_url, result.declared_canonical)
    return replace(article, canonical_url=canonical, url=entry.link if entry else page.url)


def analyze(
    page: Page,
    entry: FeedEntry | None,
    settings: ExtractionSettings,
    story_paths: tuple[str, ...],
) -> Analysis | AnalysisFailure:
    """Extract, judge and fingerprint one page; failures come back as data."""
    start = time.perf_counter()
    try:
        article = _extracted(page, entry, settings)
    except BadInputError as exc:
        return AnalysisFailure(f"extraction: {exc}")
    except MonitorError as exc:
        return AnalysisFailure(f"extraction: {exc}")
    except Exception as exc:  # a library bug on hostile input must not kill the batch
        return AnalysisFailure(f"extraction_error: {type(exc).__name__}: {exc}"[:500])
    extracted = time.perf_counter()
    judgement = judge_text(story_paths, article.title, article.text)
    judged = time.perf_counter()
    fp = sketch.fingerprint(article.title, article.text)
    timings = (
        ("worker: extract", extracted - start),
        ("worker: relevance", judged - extracted),
        ("worker: fingerprint", time.perf_counter() - judged),
    )
    return Analysis(article=article, judgement=judgement, fingerprint=fp, timings=timings)


_WARM_PAGE = Page(
    url="http://warm-up.invalid/",
    final_url="http://warm-up.invalid/",
    status_code=200,
    body=b"<html><head><title>newsmon</title></head><body><article><h1>newsmon</h1>"
    + b"<p>newsmon warms up its extraction libraries on this paragraph of text.</p>" * 8
    + b"</article></body></html>",
)


def warm_up() -> None:
    """Imports, models and first-use caches, built before the first page arrives.

    Run by the forkserver (:mod:`monitor.worker_preload`), so workers inherit them;
    again in each worker as its initializer, where it then costs nothing.
    """
    from monitor import extract, language

    # The language model (~0.9 s) needs a text long enough to be worth identifying.
    language.detect_language("newsmon loads its language identification model here. " * 3)
    with contextlib.suppress(Exception):  # first-call caches of trafilatura and htmldate
        extract.extract_article(_WARM_PAGE)
    # numpy and the MinHash permutations (monitor.minhash), which the parent never loads
    sketch.fingerprint("newsmon", "newsmon warms up its sketch on this line of text. " * 4)


class Seniority:
    """Which of this process's batches started first: it gets the extraction workers.

    Two batches run at once so that the workers never wait, but with equal shares
    of the pool they also finished together, and so the next two started together,
    with a dip in the workers' load at every such boundary (the benchmark's CPU
    timeline). A younger batch keeps only enough pages queued to fill a gap; it
    takes over the pool when the older one ends, while the next batch starts.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: list[int] = []
        self._count = 0

    def join(self) -> int:
        with self._lock:
            self._count += 1
            self._active.append(self._count)
            return self._count

    def leave(self, token: int) -> None:
        with self._lock:
            self._active.remove(token)

    def is_eldest(self, token: int) -> bool:
        with self._lock:
            return not self._active or self._active[0] == token


#: The batches of this process, oldest first (one pool per process, so one list).
SENIORITY = Seniority()


_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()
_warmed_pool: ProcessPoolExecutor | None = None  # the pool already asked to start


@lru_cache(maxsize=1)
def _cores() -> int:
    # os.cpu_count() reads /sys on every call (4 us), and get_pool asks on every submit.
    return max(1, os.cpu_count() or 1)


def process_count(settings: ExtractionSettings) -> int:
    return settings.extract_processes or _cores()


def get_pool(settings: ExtractionSettings) -> ProcessPoolExecutor:
    """One pool per process, kept across batches (start-up costs ~1 s per worker).

    ``forkserver`` avoids forking a parent that runs threads (HTTP fetchers,
    Prefect's own), which can deadlock with ``fork``.
    """
    global _pool, _pool_size
    size = process_count(settings)
    with _pool_lock:
        if _pool is None or _pool_size != size:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["monitor.worker_preload"])
            _pool = ProcessPoolExecutor(max_workers=size, mp_context=ctx, initializer=warm_up)
            _pool_size = size
        return _pool


def warm(settings: ExtractionSettings) -> None:
    """Start the workers' forkserver now, in the background, without waiting for it.

    The forkserver takes ~1.5 s to start (imports, language model), and the first
    worker fork waits for it. Called when a poll knows work is coming, that
    happens while the feeds are still being polled, instead of in front of the
    first page, and nobody waits: the workers themselves are forked by the first
    page's submit. (Forking them here, on a thread of their own, raced with the
    executor's shutdown at interpreter exit: a worker forked after the shutdown
    sentinels were sent waited forever, and so did the exiting process.)
    Idempotent per pool. (Each worker compiles the story's patterns on its first page.)
    """
    global _warmed_pool
    pool = get_pool(settings)
    with _pool_lock:
        if _warmed_pool is pool:
            return
        _warmed_pool = pool
    forkserver.ensure_running()  # spawns the server process and returns at once


def reset_pool(broken: ProcessPoolExecutor | None = None) -> None:
    """Drop a broken pool (a worker died); the next call builds a new one.

    With ``broken``, only if that is still the current pool: every page in flight
    on a pool that broke reports it, and the first report must not be followed by
    the others tearing down its replacement.
    """
    global _pool
    with _pool_lock:
        if broken is not None and _pool is not broken:
            return
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def kill_pool(pool: ProcessPoolExecutor) -> None:
    """Kill a pool's workers and drop it: a worker stuck in a loop ignores shutdown().

    Uses the executor's process table (CPython 3.11; 3.14 adds terminate_workers()).
    """
    processes = dict(getattr(pool, "_processes", None) or {})
    for process in processes.values():
        with contextlib.suppress(Exception):
            process.kill()
    reset_pool(pool)


def submit(
    settings: ExtractionSettings,
    story_paths: tuple[str, ...],
    page: Page,
    entry: FeedEntry | None,
) -> tuple[Future[Analysis | AnalysisFailure], ProcessPoolExecutor]:
    """The page's analysis in the pool, and the pool it went to (to reset it if it breaks)."""
    pool = get_pool(settings)
    return pool.submit(analyze, page, entry, settings, story_paths), pool


atexit.register(reset_pool)
