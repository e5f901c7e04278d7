"""poll-feeds on a real Prefect server: counts, isolation of a dead feed, dashboard artifacts.

The flow runs in this process against the session's server; the pages come
from the demo site (the five seeds, three off-story pages, five reposts) on
127.0.0.1, and the newsmon database is SQLite or PostgreSQL (``db_url``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from prefect_harness import PrefectServer, free_port, wait_for, write_config
from sqlalchemy import func, select

from monitor.config import Settings
from monitor.db import ArticleRow, open_database, session_factory
from monitor.demo import serve_demo
from monitor.records import FeedEntry

pytestmark = pytest.mark.slow


def _table(artifacts: list[dict[str, object]], key: str) -> list[dict[str, object]]:
    import json

    found = [a for a in artifacts if a.get("key") == key]
    assert found, f"no artifact {key!r} among {[a.get('key') for a in artifacts]}"
    data = found[0]["data"]
    rows = json.loads(data) if isinstance(data, str) else data
    assert isinstance(rows, list)
    return rows


def test_poll_feeds_files_seeds_catches_reposts_and_isolates_a_dead_feed(
    prefect_api: PrefectServer, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.poll import poll_feeds

    dead = f"http://127.0.0.1:{free_port()}/gone.xml"  # nothing listens: connection refused
    with serve_demo() as site:
        feeds = [site.feed_url("originals"), site.feed_url("reposts"), dead]
        config = write_config(tmp_path / "feeds.yaml", feeds=feeds)
        monkeypatch.setenv("MONITOR_CONFIG", str(config))
        monkeypatch.setenv("MONITOR_DATABASE_URL", db_url)
        state = poll_feeds(return_state=True)

    assert state.is_completed(), state.message
    summary = state.result()
    assert dict(summary.counts) == {"filed": 5, "off_story": 3, "duplicate": 5}
    by_feed = {f.feed_url: f for f in summary.feeds}
    assert by_feed[dead].outcome == "error" and by_feed[dead].reason
    assert {by_feed[u].outcome for u in feeds[:2]} == {"ok"}

    # The database holds each page once: five seeds filed, their copies as duplicates.
    engine = open_database(db_url)
    try:
        with session_factory(engine)() as session:
            rows = dict(
                session.execute(
                    select(ArticleRow.status, func.count()).group_by(ArticleRow.status)
                ).all()
            )
    finally:
        engine.dispose()
    assert rows == {"filed": 5, "off_story": 3, "duplicate": 5}

    # The dashboard: the run says what ran, and carries its tables and report.
    run_id = str(state.state_details.flow_run_id)
    run = prefect_api.flow_run(run_id)
    assert run["name"].startswith("poll 3 feeds: ")
    assert "originals.xml" in run["name"]
    artifacts = prefect_api.artifacts(run_id)
    filed = _table(artifacts, "newsmon-filed")
    assert len(filed) == 5
    assert all(r["link"] and r["title"] and r["score"] is not None for r in filed)
    counts = {r["outcome"]: r["count"] for r in _table(artifacts, "newsmon-counts")}
    assert counts["new (filed)"] == 5
    assert counts["duplicate"] == 5
    assert counts["off-story"] == 3
    assert counts["failed"] == 0
    assert counts["feeds failed"] == 1
    feed_rows = {r["url"]: r for r in _table(artifacts, "newsmon-feeds")}
    assert feed_rows[dead]["outcome"] == "error"
    assert feed_rows[feeds[0]]["new"] == 8
    report = [a for a in artifacts if a["key"] == "newsmon-report"]
    assert report and report[0]["type"] == "markdown"
    assert "Polled 3 feed(s)" in report[0]["data"]

    # Feed tasks took a slot of a per-host Prefect limit (the scale-out guard).
    limits = prefect_api.api("POST", "/v2/concurrency_limits/filter", json={"limit": 200})
    assert any(lim["name"] == "newsmon-host-127.0.0.1" for lim in limits)


def test_batches_overlap_and_a_repost_in_a_later_batch_is_still_caught(
    prefect_api: PrefectServer, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two batch tasks run at once (the workers must not drain between batches), yet
    filing stays serialised: with batches of two entries, the originals and their
    reposts land in different, overlapping batches and every repost is still caught."""
    from flows.poll import BATCHES_IN_FLIGHT, poll_feeds

    with serve_demo() as site:
        feeds = [site.feed_url("originals"), site.feed_url("reposts")]
        config = write_config(tmp_path / "feeds.yaml", feeds=feeds, poll={"batch_size": 2})
        monkeypatch.setenv("MONITOR_CONFIG", str(config))
        monkeypatch.setenv("MONITOR_DATABASE_URL", db_url)
        state = poll_feeds(return_state=True)

    assert state.is_completed(), state.message
    assert dict(state.result().counts) == {"filed": 5, "off_story": 3, "duplicate": 5}

    run_id = str(state.state_details.flow_run_id)
    body = {"flow_runs": {"id": {"any_": [run_id]}}, "limit": 200}

    def batch_runs() -> list[dict[str, object]] | None:
        runs = prefect_api.api("POST", "/task_runs/filter", json=body)
        batches = [r for r in runs if str(r["name"]).startswith("process-batch")]
        done = len(batches) == 7 and all(r["end_time"] for r in batches)  # 13 entries / 2
        return batches if done else None

    batches = sorted(wait_for(batch_runs, 30, "the batch task runs"), key=lambda r: r["start_time"])
    overlapping = max(
        sum(1 for o in batches if o["start_time"] <= b["start_time"] < o["end_time"])
        for b in batches
    )
    assert overlapping == BATCHES_IN_FLIGHT


def test_a_crashed_batch_fails_its_entries_for_a_retry_and_the_others_are_filed(
    prefect_api: PrefectServer, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch task that crashes (a bug, not a page problem) turns its entries into
    failed outcomes stored for a retry; the overlapping batches still file theirs."""
    from flows.poll import poll_feeds
    from monitor import pipeline

    real = pipeline.process_entries
    doomed = "/articles/002_"  # the batch holding this entry crashes

    def crashing(settings: Settings, entries: Sequence[FeedEntry]) -> pipeline.BatchResult:
        if any(doomed in e.link for e in entries):
            raise ValueError("boom")
        return real(settings, entries)

    monkeypatch.setattr(pipeline, "process_entries", crashing)
    with serve_demo() as site:
        config = write_config(
            tmp_path / "feeds.yaml", feeds=[site.feed_url("originals")], poll={"batch_size": 2}
        )
        monkeypatch.setenv("MONITOR_CONFIG", str(config))
        monkeypatch.setenv("MONITOR_DATABASE_URL", db_url)
        state = poll_feeds(return_state=True)

    assert state.is_completed(), state.message
    outcomes = state.result().outcomes
    failed = [o for o in outcomes if o.status.value == "failed"]
    assert len(outcomes) == 8
    assert failed, "no batch crashed: the demo feed's links changed"
    assert all(o.reason == "task_failed: ValueError: boom" for o in failed)
    assert len(failed) in (1, 2)  # one batch of at most two

    engine = open_database(db_url)
    try:
        with session_factory(engine)() as session:
            rows = {
                r.url: (r.status, r.fail_reason or "")
                for r in session.execute(select(ArticleRow)).scalars()
            }
    finally:
        engine.dispose()
    for outcome in failed:
        status, reason = rows[outcome.url]
        assert status == "failed" and "boom" in reason
    assert sum(1 for status, _ in rows.values() if status != "failed") == 8 - len(failed)


def test_poll_feeds_with_nothing_due_completes_quietly(
    prefect_api: PrefectServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.poll import poll_feeds

    config = write_config(tmp_path / "feeds.yaml", feeds=[])
    monkeypatch.setenv("MONITOR_CONFIG", str(config))
    monkeypatch.setenv("MONITOR_DATABASE_URL", f"sqlite:///{tmp_path / 'n.db'}")
    state = poll_feeds(return_state=True)
    assert state.is_completed()
    summary = state.result()
    assert summary.feeds == () and summary.outcomes == ()
    run = prefect_api.flow_run(str(state.state_details.flow_run_id))
    assert run["name"] == "poll no feeds due"
