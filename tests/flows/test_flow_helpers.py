"""The flows' pure helpers: retry policy, naming, batching, timeouts (no server)."""

from __future__ import annotations

import pytest
from sqlalchemy import exc as sa_exc

from flows.shared import (
    batch_timeout_s,
    chunks,
    failed_feed,
    failed_outcomes,
    feed_timeout_s,
    feeds_label,
    host_limit_name,
    host_of,
    is_transient,
    retry_if_transient,
    short_url,
)
from monitor.config import load_settings
from monitor.errors import DatabaseUnavailableError, PermanentFetchError, TransientFetchError
from monitor.pipeline import FeedTarget
from monitor.records import FeedEntry, Status


def _operational() -> sa_exc.OperationalError:
    return sa_exc.OperationalError("select 1", {}, Exception("server closed the connection"))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_operational(), True),
        (sa_exc.InterfaceError("select 1", {}, Exception("connection already closed")), True),
        (TransientFetchError("timeout", reason="timeout"), True),
        (ConnectionResetError("reset"), True),
        (TimeoutError("slow"), True),
        (sa_exc.IntegrityError("insert", {}, Exception("duplicate key")), False),
        (PermanentFetchError("gone", reason="http_404"), False),
        (ValueError("a bug"), False),
        (AttributeError("a bug"), False),
        (None, False),
    ],
)
def test_only_transient_errors_are_retried(error: BaseException | None, expected: bool) -> None:
    assert is_transient(error) is expected


def test_a_database_gone_past_the_library_retry_window_is_not_retried_again() -> None:
    error = DatabaseUnavailableError("file a group: database unreachable for 60 s: gone")
    error.__cause__ = _operational()
    assert not is_transient(error)


def test_a_wrapped_transient_cause_counts() -> None:
    wrapper = RuntimeError("batch failed")
    wrapper.__cause__ = _operational()
    assert is_transient(wrapper)


class _State:
    """Stands in for a Prefect Failed state: ``result()`` hands back the exception."""

    def __init__(self, value: object) -> None:
        self.value = value

    def result(self, raise_on_failure: bool = True) -> object:
        if isinstance(self.value, Exception) and raise_on_failure:
            raise self.value
        return self.value


def test_retry_condition_reads_the_exception_from_the_state() -> None:
    assert retry_if_transient(None, None, _State(_operational())) is True
    assert retry_if_transient(None, None, _State(KeyError("bug"))) is False
    assert retry_if_transient(None, None, _State("not an exception")) is False


def test_names_say_what_ran() -> None:
    assert (
        short_url("https://www.rfi.fr/fr/asie-pacifique/rss?x=1")
        == "www.rfi.fr/fr/asie-pacifique/rss"
    )
    long = "https://example.org/" + "a" * 200
    assert len(short_url(long, 40)) == 40 and short_url(long, 40).endswith("…")
    assert feeds_label([]) == "no feeds due"
    assert feeds_label(["Le Monde"]) == "Le Monde"
    assert feeds_label(["Le Monde", "RFI"]) == "2 feeds: Le Monde, RFI"
    many = feeds_label([f"Feed number {i}" for i in range(30)], width=60)
    assert many.startswith("30 feeds: Feed number 0, ") and many.endswith(" more")
    assert len(many) <= 60


def test_host_limit_names_are_stable_and_safe() -> None:
    assert host_of("https://WWW.Example.org:8443/feed") == "www.example.org"
    assert host_limit_name("www.example.org") == "newsmon-host-www.example.org"
    assert host_limit_name("weird_host!") == "newsmon-host-weird-host"
    assert host_limit_name("") == "newsmon-host-unknown"


def test_chunks_cover_everything_in_order() -> None:
    assert chunks(list(range(7)), 3) == [(0, 1, 2), (3, 4, 5), (6,)]
    assert chunks([], 50) == []
    assert chunks([1, 2], 0) == [(1,), (2,)]


def test_timeouts_grow_with_the_fetch_budget_and_the_batch() -> None:
    settings = load_settings()
    slow = settings.model_copy(
        update={"fetch": settings.fetch.model_copy(update={"total_timeout_s": 120.0})}
    )
    assert feed_timeout_s(slow) > feed_timeout_s(settings) > settings.fetch.total_timeout_s
    assert batch_timeout_s(settings, 50) > batch_timeout_s(settings, 1)


def test_crashed_tasks_become_data_not_a_failed_run() -> None:
    feed = FeedTarget(id=1, url="https://example.org/rss", name="Example")
    result = failed_feed(feed, _operational())
    assert result.outcome == "error" and result.reason.startswith("task_failed: OperationalError")
    entries = [FeedEntry(feed_url=feed.url, link=f"https://example.org/{i}") for i in range(3)]
    outcomes = failed_outcomes(entries, ValueError("boom"))
    assert [o.status for o in outcomes] == [Status.FAILED] * 3
    assert outcomes[0].reason == "task_failed: ValueError: boom"


def test_feed_tasks_of_one_run_queue_locally_before_asking_prefect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only as many tasks as the limit has slots ever ask the server at once: a refused
    Prefect acquisition retries about a second later, which made feeds go in waves."""
    import threading

    import flows.limits as limits
    from flows.limits import host_slot

    lock = threading.Lock()
    state = {"asking": 0, "most": 0, "calls": 0}
    release = threading.Event()

    def fake_acquire(name: str, wait_s: float) -> str:
        with lock:
            state["asking"] += 1
            state["calls"] += 1
            state["most"] = max(state["most"], state["asking"])
        release.wait(5)
        return "lease"

    def fake_release(lease: str) -> None:
        with lock:
            state["asking"] -= 1

    monkeypatch.setattr(limits, "_acquire", fake_acquire)
    monkeypatch.setattr(limits, "_release", fake_release)
    name = host_limit_name("busy.example")

    def feed_task() -> None:
        with host_slot("busy.example", {name}, 30.0, 2):
            pass

    import time

    threads = [threading.Thread(target=feed_task) for _ in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while state["asking"] < 2 and time.monotonic() < deadline:
        time.sleep(0.01)  # polling with a deadline until two tasks hold server slots
    watch_until = time.monotonic() + 0.3
    while time.monotonic() < watch_until:  # meanwhile the other four never ask
        assert state["calls"] == 2
        time.sleep(0.01)
    release.set()
    for t in threads:
        t.join(10)
    assert state["calls"] == 6 and state["most"] <= 2


def test_foreground_runs_have_no_heartbeat_and_keep_every_other_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.settings import get_current_settings

    from flows.cli import foreground

    monkeypatch.delenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", raising=False)
    before = get_current_settings()
    with foreground():
        inside = get_current_settings()
        assert inside.flows.heartbeat_frequency is None
        assert inside.api.url == before.api.url
        assert inside.flows.default_retries == before.flows.default_retries
        assert inside.home == before.home
    assert get_current_settings().flows.heartbeat_frequency == before.flows.heartbeat_frequency
    assert before.flows.heartbeat_frequency is not None


def test_foreground_respects_an_explicit_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import get_current_settings

    from flows.cli import foreground

    monkeypatch.setenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "60")
    before = get_current_settings().flows.heartbeat_frequency
    with foreground():
        assert get_current_settings().flows.heartbeat_frequency == before


def test_a_foreground_poll_freezes_its_imports_before_the_flow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The workers start first, then Prefect is imported, then what the imports built
    is frozen out of the collector's way, then the flow runs."""
    import gc

    import flows.cli
    import flows.poll
    from monitor import pipeline

    calls: list[str] = []
    monkeypatch.setattr(pipeline, "expect_pages", lambda *a, **k: calls.append("workers"))
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(flows.poll, "poll_feeds", lambda feeds: calls.append("flow") or feeds)
    assert flows.cli.poll_in_foreground(load_settings(), ["http://a.test/f.xml"]) == [
        "http://a.test/f.xml"
    ]
    assert calls == ["workers", "freeze", "flow"]


def test_prefect_does_not_walk_a_run_s_outcomes_or_entries() -> None:
    """Prefect searches a flow's return value for futures, node by node; a run's
    summary must cost it the same at 10 entries as at 10,000."""
    from datetime import timedelta

    from prefect.utilities.collections import visit_collection

    from monitor.pipeline import FeedResult, summarize
    from monitor.records import Outcome, utcnow

    def nodes(n: int) -> int:
        entries = tuple(FeedEntry(feed_url="u", link=f"https://a.example/{i}") for i in range(n))
        feed = FeedResult("u", "A", "ok", 200, "", n, entries)
        outcomes = [Outcome(f"https://a.example/{i}", "", Status.DUPLICATE) for i in range(n)]
        summary = summarize([feed], outcomes, utcnow() - timedelta(seconds=1))
        seen: list[object] = []
        visit_collection(
            summary, lambda expr, ctx: seen.append(expr), return_data=False, context={}
        )
        return len(seen)

    assert nodes(10) == nodes(1000) < 100
