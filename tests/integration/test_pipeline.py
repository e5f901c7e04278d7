"""The whole pipeline without Prefect, on the demo site served from 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor import pipeline
from monitor.config import Settings, load_settings
from monitor.db import ArticleRow, FeedRow, session_factory
from monitor.demo import DemoSite, serve_demo
from monitor.records import Status


@pytest.fixture
def site() -> Iterator[DemoSite]:
    with serve_demo() as demo:
        yield demo


@pytest.fixture
def settings(db_url: str, tmp_path: Path, site: DemoSite) -> Iterator[Settings]:
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(
        "extraction: {extract_processes: 2}\n"
        "feeds:\n"
        f"  - {{url: '{site.feed_url('originals')}', name: originals, language: fr}}\n",
        encoding="utf-8",
    )
    stories = Path(__file__).resolve().parents[2] / "config" / "stories"
    yield load_settings(
        cfg,
        env={
            "MONITOR_DATABASE_URL": db_url,
            "MONITOR_HOST_INTERVAL_S": "0",
            "MONITOR_ALLOW_PRIVATE_NETWORKS": "1",  # the demo site is on 127.0.0.1
            "MONITOR_STORIES": ",".join(str(p) for p in sorted(stories.glob("*.yaml"))),
        },
    )
    pipeline.close_resources()


def rows(settings: Settings) -> list[ArticleRow]:
    with session_factory(pipeline.engine_for(settings))() as s:
        return list(s.scalars(select(ArticleRow).order_by(ArticleRow.id)))


def test_poll_files_originals_then_catches_reposts(settings: Settings, site: DemoSite) -> None:
    first = pipeline.run_poll(settings)
    assert first.count(Status.FILED) == 5, first.as_text()
    assert first.count(Status.OFF_STORY) + first.count(Status.REVIEW) == 3, first.as_text()
    assert first.count(Status.FAILED) == 0, first.as_text()

    second = pipeline.run_poll(settings, only=[site.feed_url("reposts")])
    assert second.count(Status.DUPLICATE) == 5, second.as_text()
    originals = {r.id: r for r in rows(settings) if r.status == Status.FILED.value}
    for row in rows(settings):
        if row.status == Status.DUPLICATE.value:
            assert row.duplicate_of_id in originals
            assert row.dup_method and row.dup_score is not None and row.dup_threshold is not None


def test_second_poll_of_unchanged_feed_fetches_nothing(settings: Settings) -> None:
    pipeline.run_poll(settings)
    again = pipeline.run_poll(settings, only=[settings.feeds[0].url])
    assert again.outcomes == ()
    assert again.feeds[0].outcome in {"unchanged", "not_modified"}
    with session_factory(pipeline.engine_for(settings))() as s:
        feed = s.scalars(select(FeedRow)).one()
        assert feed.body_hash and feed.next_poll_at is not None


def test_unreachable_feed_is_recorded_and_run_ends(settings: Settings) -> None:
    summary = pipeline.run_poll(settings, only=["http://127.0.0.1:9/feed.xml"])
    assert summary.feeds[0].outcome == "error"
    assert summary.feeds[0].reason
    with session_factory(pipeline.engine_for(settings))() as s:
        feed = s.scalars(select(FeedRow).where(FeedRow.url == "http://127.0.0.1:9/feed.xml")).one()
        assert feed.consecutive_failures == 1 and feed.last_reason


def test_ingest_url_dry_run_writes_nothing_then_files(settings: Settings, site: DemoSite) -> None:
    url = site.base + site.pages[0].path
    dry = pipeline.ingest_url(settings, url, dry_run=True)
    assert dry.dry_run and dry.status is Status.FILED and dry.judgement is not None
    assert rows(settings) == []
    real = pipeline.ingest_url(settings, url)
    assert real.status is Status.FILED and real.article_id
    again = pipeline.ingest_url(settings, url)
    assert "already stored" in again.reason
