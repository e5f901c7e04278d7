"""poll_feed end to end against a local HTTP server: validators, hashes, moves, errors."""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor import feeds
from monitor.config import FetchSettings
from monitor.fetch import Fetcher
from monitor.records import FeedPoll

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
RSS = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
    b"<title>Actualit\xc3\xa9s</title><language>fr</language>"
    b"<item><title>Moscou et Pyongyang</title><link>/monde/a1.html</link>"
    b"<guid>a1</guid><pubDate>Wed, 19 Jun 2024 08:00:00 +0200</pubDate></item>"
    b"<item><title>Second</title><link>https://news.example.fr/monde/a2.html</link></item>"
    b"</channel></rss>"
)


@pytest.fixture(scope="module")
def shared_server() -> Iterator[HTTPServer]:
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def server(shared_server: HTTPServer, release: threading.Event) -> Iterator[HTTPServer]:
    shared_server.clear()
    try:
        yield shared_server
    finally:
        release.set()
        shared_server.clear()


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    settings = FetchSettings(
        connect_timeout_s=1,
        read_timeout_s=0.3,
        total_timeout_s=2,
        host_interval_s=0,
        allow_private_networks=True,
    )
    with Fetcher(settings) as f:
        yield f


def poll(fetcher: Fetcher, url: str, **state: Any) -> FeedPoll:
    state.setdefault("etag", None)
    state.setdefault("last_modified", None)
    state.setdefault("body_hash", None)
    return feeds.poll_feed(fetcher, url, **state)


def feed_response(body: bytes = RSS, **headers: str) -> Response:
    return Response(body, headers={"Content-Type": "application/rss+xml", **headers})


def test_first_poll_parses_and_stores_validators(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_request("/rss").respond_with_response(
        feed_response(ETag='"abc"', **{"Last-Modified": "Wed, 19 Jun 2024 06:00:00 GMT"})
    )
    result = poll(fetcher, server.url_for("/rss"))
    assert result.outcome == "ok" and result.http_status == 200
    assert result.etag == '"abc"' and result.last_modified == "Wed, 19 Jun 2024 06:00:00 GMT"
    assert result.body_hash == hashlib.sha256(RSS).hexdigest()
    assert result.title == "Actualités" and result.language == "fr"
    assert result.final_url is None and result.reason == ""
    first, second = result.entries
    assert first.link == server.url_for("/monde/a1.html")  # relative link resolved
    assert first.guid == server.url_for("/a1")  # feedparser resolves ids like links
    assert first.published is not None
    assert first.published.isoformat() == "2024-06-19T06:00:00+00:00"
    assert first.feed_url == server.url_for("/rss")
    assert second.guid == second.link


def test_304_keeps_or_updates_validators(server: HTTPServer, fetcher: Fetcher) -> None:
    sent: list[tuple[str | None, str | None]] = []

    def handler(request: Request) -> Response:
        sent.append(
            (request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since"))
        )
        return Response(status=304, headers={"ETag": '"v2"'})

    server.expect_request("/rss").respond_with_handler(handler)
    result = poll(
        fetcher,
        server.url_for("/rss"),
        etag='"v1"',
        last_modified="Tue, 18 Jun 2024",
        body_hash="h",
    )
    assert sent == [('"v1"', "Tue, 18 Jun 2024")]
    assert result.outcome == "not_modified" and result.http_status == 304
    assert result.etag == '"v2"'  # the server's new validator is stored
    assert result.last_modified == "Tue, 18 Jun 2024"  # not resent: ours kept
    assert result.body_hash == "h" and result.entries == ()


def test_unchanged_body_is_not_parsed(
    server: HTTPServer, fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.expect_request("/rss").respond_with_response(feed_response(ETag='"new"'))
    first = poll(fetcher, server.url_for("/rss"))
    calls: list[bytes] = []
    real = feeds.parse_feed

    def spy(body: bytes, *args: Any, **kwargs: Any) -> feeds.ParsedFeed:
        calls.append(body)
        return real(body, *args, **kwargs)

    monkeypatch.setattr(feeds, "parse_feed", spy)
    again = poll(fetcher, server.url_for("/rss"), body_hash=first.body_hash)
    assert again.outcome == "unchanged" and again.entries == () and calls == []
    assert again.etag == '"new"' and again.body_hash == first.body_hash
    changed = poll(fetcher, server.url_for("/rss"), body_hash="something else")
    assert changed.outcome == "ok" and len(calls) == 1


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_moves_the_feed(
    server: HTTPServer, fetcher: Fetcher, status: int
) -> None:
    server.expect_request("/old").respond_with_data("", status, {"Location": "/new/rss"})
    server.expect_request("/new/rss").respond_with_response(feed_response())
    result = poll(fetcher, server.url_for("/old"))
    assert result.outcome == "ok" and result.final_url == server.url_for("/new/rss")
    assert result.entries[0].link == server.url_for("/monde/a1.html")


@pytest.mark.parametrize("status", [302, 303, 307])
def test_temporary_redirect_keeps_the_feed_url(
    server: HTTPServer, fetcher: Fetcher, status: int
) -> None:
    server.expect_request("/old").respond_with_data("", status, {"Location": "/tmp/rss"})
    server.expect_request("/tmp/rss").respond_with_response(feed_response())
    result = poll(fetcher, server.url_for("/old"))
    assert result.outcome == "ok" and result.final_url is None


def test_gzip_feed(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_request("/rss").respond_with_response(
        feed_response(gzip.compress(RSS), **{"Content-Encoding": "gzip"})
    )
    result = poll(fetcher, server.url_for("/rss"))
    assert result.outcome == "ok" and len(result.entries) == 2
    assert result.body_hash == hashlib.sha256(RSS).hexdigest()  # of the decoded body


def test_content_location_is_the_base_for_relative_links(
    server: HTTPServer, fetcher: Fetcher
) -> None:
    body = FEEDS / "feedparser/wellformed/base/http_entry_link_base_content_location.xml"
    server.expect_request("/feed").respond_with_response(
        Response(
            body.read_bytes(),
            headers={"Content-Type": "application/atom+xml", "Content-Location": "/elsewhere/"},
        )
    )
    result = poll(fetcher, server.url_for("/feed"))
    assert [e.link for e in result.entries] == [server.url_for("/relative/link")]


def test_bozo_but_usable_feed_is_ok_with_a_warning(server: HTTPServer, fetcher: Fetcher) -> None:
    body = (FEEDS / "feed-rs/rss2/rss_2.0_dbengines.xml").read_bytes()
    server.expect_request("/rss").respond_with_response(feed_response(body))
    result = poll(fetcher, server.url_for("/rss"))
    assert result.outcome == "ok" and len(result.entries) == 1
    assert "undefined entity" in result.reason


def test_broken_feed_is_an_error_and_forgets_validators(
    server: HTTPServer, fetcher: Fetcher
) -> None:
    body = (FEEDS / "feed-rs/rss2/rss_2.0_invalid_1.xml").read_bytes()
    server.expect_request("/rss").respond_with_response(feed_response(body, ETag='"x"'))
    result = poll(fetcher, server.url_for("/rss"), etag='"old"', body_hash="old")
    assert result.outcome == "error" and not result.transient
    assert result.reason.startswith("not_a_feed:") and "no element found" in result.reason
    assert result.etag is None and result.body_hash is None and result.http_status == 200


def test_html_page_instead_of_feed(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_request("/rss").respond_with_data(
        b"<html><body>Site en maintenance</body></html>", content_type="text/html"
    )
    result = poll(fetcher, server.url_for("/rss"))
    assert result.outcome == "error" and result.reason.startswith("not_a_feed: an HTML page")


@pytest.mark.parametrize(
    ("status", "headers", "transient", "retry_after"),
    [
        (404, {}, False, None),
        (410, {}, False, None),
        (500, {}, True, None),
        (503, {"Retry-After": "600"}, True, 600.0),
        (429, {"Retry-After": "0"}, True, 0.0),
    ],
)
def test_http_errors_are_outcomes_not_exceptions(
    server: HTTPServer,
    fetcher: Fetcher,
    status: int,
    headers: dict[str, str],
    transient: bool,
    retry_after: float | None,
) -> None:
    server.expect_request("/rss").respond_with_data("no", status, headers)
    result = poll(
        fetcher, server.url_for("/rss"), etag='"keep"', last_modified="lm", body_hash="hh"
    )
    assert result.outcome == "error" and result.reason.startswith(f"http_{status}")
    assert result.http_status == status and result.transient is transient
    assert result.retry_after_s == retry_after
    assert (result.etag, result.last_modified, result.body_hash) == ('"keep"', "lm", "hh")


def test_timeout_is_a_transient_error(
    server: HTTPServer, fetcher: Fetcher, release: threading.Event
) -> None:
    def stall(request: Request) -> Response:
        release.wait(10)
        return feed_response()

    server.expect_request("/rss").respond_with_handler(stall)
    result = poll(fetcher, server.url_for("/rss"))
    assert (result.outcome, result.reason.split(":")[0], result.transient) == (
        "error",
        "timeout",
        True,
    )


def test_invalid_feed_url(fetcher: Fetcher) -> None:
    result = poll(fetcher, "feed://nonsense")
    assert (result.outcome, result.reason.split(":")[0], result.transient) == (
        "error",
        "unsupported_scheme",
        False,
    )
    result = poll(fetcher, "http://")
    assert (result.outcome, result.reason.split(":")[0]) == ("error", "invalid_url")


def test_max_entries_is_applied(server: HTTPServer, fetcher: Fetcher) -> None:
    items = "".join(f"<item><link>https://e.fr/{i}</link></item>" for i in range(50))
    body = f'<rss version="2.0"><channel><title>x</title>{items}</channel></rss>'.encode()
    server.expect_request("/rss").respond_with_response(feed_response(body))
    result = feeds.poll_feed(
        fetcher,
        server.url_for("/rss"),
        etag=None,
        last_modified=None,
        body_hash=None,
        max_entries=10,
    )
    assert len(result.entries) == 10 and "40 more ignored" in result.reason
