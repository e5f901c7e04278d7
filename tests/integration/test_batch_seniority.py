"""Two batches in one process share the extraction pool unequally: the older one
keeps the workers, the younger keeps only as many pages ahead as there are workers,
and takes over when the older ends. (Equal shares made both end together and the
next two start together, with the workers idling at every such boundary.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest

from monitor import analysis, filing
from monitor.analysis import AnalysisFailure
from monitor.config import load_settings
from monitor.records import FeedEntry, Page

WORKERS = 2


class FakePool:
    """Analyses that finish when the test says so; counts what is outstanding per host."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.futures: dict[str, list[Future[Any]]] = {"a.test": [], "b.test": []}

    def submit(self, settings: Any, story_paths: Any, page: Page, entry: Any) -> tuple[Any, Any]:
        fut: Future[Any] = Future()
        with self.lock:
            self.futures[page.url.split("/")[2]].append(fut)
        return fut, self

    def outstanding(self, host: str) -> int:
        with self.lock:
            return sum(1 for f in self.futures[host] if not f.done())

    def finish(self, host: str, n: int | None = None) -> None:
        with self.lock:
            todo = [f for f in self.futures[host] if not f.done()][:n]
        for fut in todo:
            fut.set_result(AnalysisFailure("test"))


class FakeFetcher:
    def fetch_page(self, url: str) -> Page:
        return Page(url=url, final_url=url, status_code=200, body=b"<html></html>")


def _items(host: str, n: int) -> list[filing._Item]:
    links = [f"http://{host}/{i}" for i in range(n)]
    return [filing._Item(FeedEntry(feed_url="http://f.test/", link=u), u) for u in links]


def _wait(check: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)  # polling with a deadline


def test_the_older_batch_keeps_the_workers_and_the_younger_takes_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = FakePool()
    monkeypatch.setattr(analysis, "submit", pool.submit)
    monkeypatch.setattr(analysis, "process_count", lambda settings: WORKERS)
    settings = load_settings()
    done = {"a.test": 0, "b.test": 0}

    def run(host: str) -> None:
        items, tick = _items(host, 40), filing.FLUSH_AFTER_S / 2
        for item, _ in filing._fetch_and_analyze(settings, FakeFetcher(), items, tick_s=tick):
            if item is not None:
                done[host] += 1

    older = threading.Thread(target=run, args=("a.test",))
    older.start()
    _wait(lambda: pool.outstanding("a.test") > WORKERS, "the older batch to fill the pool")
    younger = threading.Thread(target=run, args=("b.test",))
    younger.start()
    _wait(lambda: pool.outstanding("b.test") == WORKERS, "the younger batch's pages ahead")
    for _ in range(10):  # the older batch moves on; the younger never queues more
        pool.finish("a.test", 3)
        pool.finish("b.test", 1)
        time.sleep(0.05)
        assert pool.outstanding("b.test") <= WORKERS
    while older.is_alive():
        pool.finish("a.test")
        older.join(0.05)
    assert done["a.test"] == 40
    _wait(lambda: pool.outstanding("b.test") > WORKERS, "the younger batch to take over")
    while younger.is_alive():
        pool.finish("b.test")
        younger.join(0.05)
    assert done["b.test"] == 40
    assert not analysis.SENIORITY._active  # both left the list
