"""A planned feed carries its poll state: one request and one write when nothing changed.

Planning (``pipeline.due_feeds``) reads each feed's validators and body hash with
the feed itself; the poll sends them without reading the row again. A target
built by hand has no state and is read first; a target kept from an earlier plan
polls with what it carries, which costs a full response, never a lost or
duplicated entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import event
from werkzeug import Request, Response

from monitor import pipeline
from monitor.config import Settings, load_settings

RSS = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    b"<item><title>Moscou et Pyongyang</title><link>https://news.example.fr/a1.html</link>"
    b"</item><item><title>Second</title><link>https://news.example.fr/a2.html</link></item>"
    b"</channel></rss>"
)
ETAG = '"v1"'


@pytest.fixture
def feed(httpserver: HTTPServer) -> Iterator[list[str | None]]:
    """The feed's URL is httpserver's; yields the If-None-Match of every request."""
    sent: list[str | None] = []

    def answer(request: Request) -> Response:
        sent.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == ETAG:
            return Response(status=304, headers={"ETag": ETAG})
        return Response(RSS, headers={"Content-Type": "application/rss+xml", "ETag": ETAG})

    httpserver.expect_request("/feed.xml").respond_with_handler(answer)
    yield sent


def settings_for(tmp_path: Path, url: str, db_url: str) -> Settings:
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(f"fetch: {{host_interval_s: 0}}\nfeeds:\n  - {{url: '{url}', name: f}}\n")
    return load_settings(
        cfg, env={"MONITOR_DATABASE_URL": db_url, "MONITOR_ALLOW_PRIVATE_NETWORKS": "1"}
    )


def statements_during(settings: Settings, work: object) -> list[str]:
    engine = pipeline.engine_for(settings)
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert callable(work)
        work()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


@pytest.fixture
def polled(
    httpserver: HTTPServer, feed: list[str | None], db_url: str, tmp_path: Path
) -> Iterator[tuple[Settings, pipeline.FeedTarget]]:
    """The feed planned and polled once (its 2 entries queued), and the target it had."""
    settings = settings_for(tmp_path, httpserver.url_for("/feed.xml"), db_url)
    pipeline.prepare(settings)
    [first] = pipeline.due_feeds(settings)
    assert first.state is not None and first.state.etag is None
    assert len(pipeline.poll_feed(settings, first).new_entries) == 2
    yield settings, first
    pipeline.close_resources()


def test_a_planned_feed_polls_with_its_state_and_reads_nothing_more(
    httpserver: HTTPServer, feed: list[str | None], polled: tuple[Settings, pipeline.FeedTarget]
) -> None:
    settings, _ = polled
    [again] = pipeline.due_feeds(settings, only=[httpserver.url_for("/feed.xml")])
    assert again.state is not None and again.state.etag == ETAG
    results = []
    statements = statements_during(
        settings, lambda: results.append(pipeline.poll_feed(settings, again))
    )
    assert results[0].outcome == "not_modified"
    assert feed == [None, ETAG]
    # the row once (to update it), the update: no read of the state before the request
    assert statements.count("SELECT") == 1
    assert statements.count("UPDATE") == 1


def test_a_target_without_state_reads_it_and_a_stale_one_still_files_each_entry_once(
    feed: list[str | None], polled: tuple[Settings, pipeline.FeedTarget]
) -> None:
    settings, planned = polled

    by_hand = pipeline.FeedTarget(id=planned.id, url=planned.url, name=planned.name)
    assert pipeline.poll_feed(settings, by_hand).outcome == "not_modified"
    assert feed[-1] == ETAG  # read from the database

    stale = pipeline.poll_feed(settings, planned)  # the state of before the first poll
    assert feed[-1] is None
    assert stale.outcome == "ok"
    assert stale.new_entries == ()  # both already queued by the first poll
