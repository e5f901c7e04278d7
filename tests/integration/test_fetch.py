"""The Fetcher against a real local HTTP server (127.0.0.1) and httpx.MockTransport.

Timeouts are provoked by handlers that stall on an Event (released at teardown),
with short timeouts in the settings; nothing here sleeps to wait for a result.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import FetchSettings
from monitor.errors import FetchError, PermanentFetchError, TransientFetchError
from monitor.fetch import Fetcher, parse_retry_after
from monitor.records import utcnow

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
HTML = b"<!doctype html><html><head><title>t</title></head><body><p>Hello</p></body></html>"


def settings(**overrides: Any) -> FetchSettings:
    base: dict[str, Any] = {
        "connect_timeout_s": 1.0,
        "read_timeout_s": 0.5,
        "total_timeout_s": 3.0,
        "max_bytes": 1_000_000,
        "host_interval_s": 0.0,
        "host_concurrency": 4,
        "respect_robots": False,
        "contact_url": "https://monitor.example/contact",
        "allow_private_networks": True,  # the servers are on 127.0.0.1
    }
    base.update(overrides)
    return FetchSettings(**base)


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown so stalled handlers return and the server can stop."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture(scope="module")
def shared_server() -> Iterator[HTTPServer]:
    # one threaded server per module: stopping one costs half a second
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def server(shared_server: HTTPServer) -> Iterator[HTTPServer]:
    shared_server.clear()
    yield shared_server
    shared_server.clear()


@pytest.fixture
def stall_server(release: threading.Event) -> Iterator[HTTPServer]:
    """A server of its own for stalling handlers: they finish after the test, and
    their late log entries must not leak into the next test's shared server."""
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    try:
        yield srv
    finally:
        release.set()
        srv.clear()
        srv.stop()


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(settings()) as f:
        yield f


def html_response(body: bytes = HTML, content_type: str = "text/html", **headers: str) -> Response:
    return Response(body, status=200, headers={"Content-Type": content_type, **headers})


def reason_of(call: Callable[[], object]) -> tuple[type[FetchError], str]:
    with pytest.raises(FetchError) as info:
        call()
    return type(info.value), info.value.reason


# --- the happy path ------------------------------------------------------------------


def test_page_with_charset_and_identifying_user_agent(server: HTTPServer) -> None:
    seen: dict[str, str] = {}

    def handler(request: Request) -> Response:
        seen.update(request.headers)
        return html_response(content_type="text/html; charset=ISO-8859-1")

    server.expect_request("/article").respond_with_handler(handler)
    with Fetcher(settings()) as fetcher:
        page = fetcher.fetch_page(server.url_for("/article"))
    assert page.body == HTML
    assert page.content_type == "text/html" and page.encoding == "iso-8859-1"
    assert page.status_code == 200 and page.final_url == page.url == server.url_for("/article")
    assert page.fetched_at.tzinfo is not None
    assert seen["User-Agent"] == "newsmon/0.1 (+https://monitor.example/contact)"
    assert "gzip" in seen["Accept-Encoding"]


def test_xhtml_is_html(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_request("/x").respond_with_data(HTML, content_type="application/xhtml+xml")
    assert fetcher.fetch_page(server.url_for("/x")).content_type == "application/xhtml+xml"


def test_redirect_chain_gives_final_url(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_request("/a").respond_with_data("", 301, {"Location": "/b?x=1"})
    server.expect_request("/b").respond_with_data("", 302, {"Location": server.url_for("/c")})
    server.expect_request("/c").respond_with_response(html_response())
    page = fetcher.fetch_page(server.url_for("/a") + "#frag")
    assert page.final_url == server.url_for("/c")
    assert page.url == server.url_for("/a") + "#frag"
    assert page.body == HTML


def test_too_many_redirects(server: HTTPServer) -> None:
    server.expect_request("/loop").respond_with_data("", 302, {"Location": "/loop"})
    with Fetcher(settings(max_redirects=3)) as fetcher:
        kind, reason = reason_of(lambda: fetcher.fetch_page(server.url_for("/loop")))
    assert (kind, reason) == (PermanentFetchError, "too_many_redirects")
    assert len(server.log) == 4


def test_redirect_to_another_scheme_is_unsupported(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_request("/r").respond_with_data("", 301, {"Location": "ftp://e.com/f"})
    assert reason_of(lambda: fetcher.fetch_page(server.url_for("/r"))) == (
        PermanentFetchError,
        "unsupported_scheme",
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("not a url", "invalid_url"),
        ("http://", "invalid_url"),
        ("/relative", "invalid_url"),
        ("ftp://example.com/x", "unsupported_scheme"),
        ("file:///etc/passwd", "unsupported_scheme"),
    ],
)
def test_invalid_urls(fetcher: Fetcher, url: str, reason: str) -> None:
    assert reason_of(lambda: fetcher.fetch_page(url)) == (PermanentFetchError, reason)


# --- compression and size ------------------------------------------------------------


def test_gzip_page_from_the_corpus(server: HTTPServer, fetcher: Fetcher) -> None:
    raw = PAGES / "85439e26c41c75901820d01a13e8cea7836abb58635ea3986f71a163ab0311d3.html.gz"
    compressed = raw.read_bytes()
    server.expect_request("/gz").respond_with_response(
        html_response(compressed, **{"Content-Encoding": "gzip"})
    )
    page = fetcher.fetch_page(server.url_for("/gz"))
    assert page.body == gzip.decompress(compressed)


@pytest.mark.parametrize("raw_deflate", [False, True])
def test_deflate(server: HTTPServer, fetcher: Fetcher, raw_deflate: bool) -> None:
    body = HTML * 50
    if raw_deflate:
        z = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        encoded = z.compress(body) + z.flush()
    else:
        encoded = zlib.compress(body)
    server.expect_request("/d").respond_with_response(
        html_response(encoded, **{"Content-Encoding": "deflate"})
    )
    assert fetcher.fetch_page(server.url_for("/d")).body == body


def test_gzip_bomb_is_stopped_at_the_cap(server: HTTPServer) -> None:
    bomb = gzip.compress(b"<html>" + b"\0" * 30_000_000, compresslevel=9)
    assert len(bomb) < 50_000
    server.expect_request("/bomb").respond_with_response(
        html_response(bomb, **{"Content-Encoding": "gzip"})
    )
    with Fetcher(settings(max_bytes=1_000_000)) as fetcher:
        kind, reason = reason_of(lambda: fetcher.fetch_page(server.url_for("/bomb")))
    assert (kind, reason) == (PermanentFetchError, "too_large")


def test_oversized_body_with_content_length(server: HTTPServer) -> None:
    server.expect_request("/big").respond_with_response(html_response(b"<html>" + b"x" * 5000))
    with Fetcher(settings(max_bytes=4096)) as fetcher:
        assert reason_of(lambda: fetcher.fetch_page(server.url_for("/big"))) == (
            PermanentFetchError,
            "too_large",
        )


def test_oversized_streamed_body_without_length(server: HTTPServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"<html>"
        for _ in range(100):
            yield b"y" * 1000

    server.expect_request("/stream").respond_with_handler(
        lambda request: Response(chunks(), content_type="text/html", direct_passthrough=True)
    )
    with Fetcher(settings(max_bytes=20_000)) as fetcher:
        assert reason_of(lambda: fetcher.fetch_page(server.url_for("/stream"))) == (
            PermanentFetchError,
            "too_large",
        )


def test_body_exactly_at_the_cap_is_accepted(server: HTTPServer) -> None:
    body = b"<html>" + b"z" * (4096 - 6)
    server.expect_request("/edge").respond_with_response(html_response(body))
    with Fetcher(settings(max_bytes=4096)) as fetcher:
        assert fetcher.fetch_page(server.url_for("/edge")).body == body


# --- content types -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "reason"),
    [
        ("application/pdf", "unsupported_content_type:application/pdf"),
        ("image/png", "unsupported_content_type:image/png"),
        ("application/json; charset=utf-8", "unsupported_content_type:application/json"),
        ("text/plain", "unsupported_content_type:text/plain"),
    ],
)
def test_non_html_is_refused(
    server: HTTPServer, fetcher: Fetcher, content_type: str, reason: str
) -> None:
    server.expect_request("/f").respond_with_data(b"%PDF-1.4 ...", content_type=content_type)
    assert reason_of(lambda: fetcher.fetch_page(server.url_for("/f"))) == (
        PermanentFetchError,
        reason,
    )


def mock_fetcher(handler: Callable[[httpx.Request], httpx.Response]) -> Fetcher:
    return Fetcher(settings(), transport=httpx.MockTransport(handler))


def test_missing_content_type_sniffed_as_html() -> None:
    with mock_fetcher(lambda request: httpx.Response(200, content=b"\n  " + HTML)) as fetcher:
        page = fetcher.fetch_page("https://site.example/a")
    assert page.content_type == "text/html" and page.encoding is None


def test_missing_content_type_and_not_html() -> None:
    with mock_fetcher(lambda request: httpx.Response(200, content=b"\x89PNG\r\n")) as fetcher:
        assert reason_of(lambda: fetcher.fetch_page("https://site.example/a")) == (
            PermanentFetchError,
            "unsupported_content_type:missing",
        )


def test_feeds_are_not_held_to_html() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert "application/rss+xml" in request.headers["accept"]
        return httpx.Response(200, content=b"<rss/>", headers={"content-type": "text/plain"})

    with mock_fetcher(handler) as fetcher:
        response = fetcher.fetch_feed("https://site.example/rss")
    assert response.body == b"<rss/>" and response.content_type == "text/plain"


# --- HTTP errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (404, PermanentFetchError),
        (410, PermanentFetchError),
        (403, PermanentFetchError),
        (408, TransientFetchError),
        (500, TransientFetchError),
        (502, TransientFetchError),
    ],
)
def test_status_mapping(status: int, kind: type[FetchError]) -> None:
    fetcher = mock_fetcher(lambda request: httpx.Response(status, content=b"no"))
    with fetcher, pytest.raises(kind) as info:
        fetcher.fetch_page("https://site.example/a")
    assert info.value.reason == f"http_{status}" and info.value.status_code == status


def test_503_carries_retry_after() -> None:
    response = httpx.Response(503, headers={"Retry-After": "120"})
    fetcher = mock_fetcher(lambda request: response)
    with fetcher, pytest.raises(TransientFetchError) as info:
        fetcher.fetch_page("https://site.example/a")
    assert info.value.retry_after == 120


def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with Fetcher(settings()) as fetcher:
        assert reason_of(lambda: fetcher.fetch_page(f"http://127.0.0.1:{port}/")) == (
            TransientFetchError,
            "connect_error",
        )


# --- timeouts ------------------------------------------------------------------------


def test_server_that_never_answers_times_out(
    stall_server: HTTPServer, release: threading.Event
) -> None:
    def stall(request: Request) -> Response:
        release.wait(10)
        return html_response()

    stall_server.expect_request("/stall").respond_with_handler(stall)
    with Fetcher(settings(read_timeout_s=0.3)) as fetcher:
        started = time.monotonic()
        kind, reason = reason_of(lambda: fetcher.fetch_page(stall_server.url_for("/stall")))
    assert (kind, reason) == (TransientFetchError, "timeout")
    assert time.monotonic() - started < 2.0


def test_body_that_stalls_midway_times_out(
    stall_server: HTTPServer, release: threading.Event
) -> None:
    def body() -> Iterator[bytes]:
        yield b"<html><head><title>half</title>"
        release.wait(10)
        yield b"</head></html>"

    stall_server.expect_request("/half").respond_with_handler(
        lambda request: Response(body(), content_type="text/html", direct_passthrough=True)
    )
    with Fetcher(settings(read_timeout_s=0.3)) as fetcher:
        assert reason_of(lambda: fetcher.fetch_page(stall_server.url_for("/half"))) == (
            TransientFetchError,
            "timeout",
        )


def test_trickling_server_hits_the_total_deadline(server: HTTPServer) -> None:
    def body() -> Iterator[bytes]:
        yield b"<html>"
        for _ in range(200):
            time.sleep(0.05)  # the server under test is slow on purpose
            yield b"."

    server.expect_request("/slow").respond_with_handler(
        lambda request: Response(body(), content_type="text/html", direct_passthrough=True)
    )
    with Fetcher(settings(read_timeout_s=0.5, total_timeout_s=0.6)) as fetcher:
        started = time.monotonic()
        kind, reason = reason_of(lambda: fetcher.fetch_page(server.url_for("/slow")))
        elapsed = time.monotonic() - started
    assert (kind, reason) == (TransientFetchError, "timeout")
    assert 0.5 < elapsed < 2.0  # each read was quick; the deadline stopped it


# --- robots.txt ----------------------------------------------------------------------


def test_robots_disallow_and_cache(server: HTTPServer) -> None:
    server.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nDisallow: /private/\n\nUser-agent: newsmon\nDisallow: /no-bots/\n",
        content_type="text/plain",
    )
    server.expect_request("/public").respond_with_response(html_response())
    server.expect_request("/private/a").respond_with_response(html_response())
    with Fetcher(settings(respect_robots=True)) as fetcher:
        assert fetcher.fetch_page(server.url_for("/public")).body == HTML
        assert reason_of(lambda: fetcher.fetch_page(server.url_for("/no-bots/x"))) == (
            PermanentFetchError,
            "robots_disallowed",
        )
        fetcher.fetch_page(server.url_for("/public"))
    paths = [request.path for request, _ in server.log]
    assert paths == ["/robots.txt", "/public", "/public"]  # fetched once, /no-bots never asked


def test_robots_group_for_our_agent_overrides_star(server: HTTPServer) -> None:
    server.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nDisallow: /\n\nUser-agent: newsmon\nAllow: /\n", content_type="text/plain"
    )
    server.expect_request("/a").respond_with_response(html_response())
    with Fetcher(settings(respect_robots=True)) as fetcher:
        assert fetcher.fetch_page(server.url_for("/a")).body == HTML


@pytest.mark.parametrize("status", [404, 403, 500, 503])
def test_robots_errors_allow(server: HTTPServer, status: int) -> None:
    server.expect_request("/robots.txt").respond_with_data("Disallow: /", status=status)
    server.expect_request("/a").respond_with_response(html_response())
    with Fetcher(settings(respect_robots=True)) as fetcher:
        assert fetcher.fetch_page(server.url_for("/a")).body == HTML


def test_robots_timeout_allows(stall_server: HTTPServer, release: threading.Event) -> None:
    def stall(request: Request) -> Response:
        release.wait(10)
        return Response("User-agent: *\nDisallow: /")

    stall_server.expect_request("/robots.txt").respond_with_handler(stall)
    stall_server.expect_request("/a").respond_with_response(html_response())
    with Fetcher(settings(respect_robots=True, read_timeout_s=0.3)) as fetcher:
        assert fetcher.fetch_page(stall_server.url_for("/a")).body == HTML


def test_robots_not_consulted_when_disabled(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_request("/a").respond_with_response(html_response())
    fetcher.fetch_page(server.url_for("/a"))
    assert [request.path for request, _ in server.log] == ["/a"]


# --- politeness: 429, interval, concurrency ------------------------------------------


def test_429_throttles_the_whole_host(server: HTTPServer) -> None:
    arrivals: list[tuple[str, float]] = []

    def record(request: Request) -> Response:
        arrivals.append((request.path, time.monotonic()))
        if request.path == "/busy":
            return Response("slow down", status=429, headers={"Retry-After": "1"})
        return html_response()

    server.expect_request("/busy").respond_with_handler(record)
    server.expect_request("/other").respond_with_handler(record)
    with Fetcher(settings()) as fetcher:
        with pytest.raises(TransientFetchError) as info:
            fetcher.fetch_page(server.url_for("/busy"))
        assert info.value.reason == "http_429" and info.value.retry_after == 1
        fetcher.fetch_page(server.url_for("/other"))  # waits out the pause, then goes
    (_, t_busy), (_, t_other) = arrivals
    assert t_other - t_busy >= 0.9


def test_long_429_pause_fails_fast_without_a_request(server: HTTPServer) -> None:
    other = HTTPServer(host="127.0.0.1", port=0)
    other.start()
    try:
        when = format_datetime(utcnow().replace(microsecond=0) + _hours(2), usegmt=True)
        server.expect_request("/busy").respond_with_data("", 429, {"Retry-After": when})
        server.expect_request("/other").respond_with_response(html_response())
        other.expect_request("/fine").respond_with_response(html_response())
        with Fetcher(settings()) as fetcher:
            with pytest.raises(TransientFetchError) as first:
                fetcher.fetch_page(server.url_for("/busy"))
            assert 7000 < (first.value.retry_after or 0) <= 7200
            with pytest.raises(TransientFetchError) as second:
                fetcher.fetch_page(server.url_for("/other"))
            assert second.value.reason == "host_throttled"
            assert (second.value.retry_after or 0) > 7000
            assert fetcher.fetch_page(other.url_for("/fine")).body == HTML  # other host
        assert [request.path for request, _ in server.log] == ["/busy"]
    finally:
        other.clear()
        other.stop()


def _hours(n: int) -> Any:
    from datetime import timedelta

    return timedelta(hours=n)


def test_minimum_interval_between_requests_to_one_host(server: HTTPServer) -> None:
    arrivals: list[float] = []
    lock = threading.Lock()

    def record(request: Request) -> Response:
        with lock:
            arrivals.append(time.monotonic())
        return html_response()

    server.expect_request("/p").respond_with_handler(record)
    fetcher = Fetcher(settings(host_interval_s=0.2, host_concurrency=4))
    with fetcher, ThreadPoolExecutor(5) as pool:
        pages = list(pool.map(lambda _: fetcher.fetch_page(server.url_for("/p")), range(5)))
    assert len(pages) == 5
    gaps = [b - a for a, b in zip(sorted(arrivals), sorted(arrivals)[1:], strict=False)]
    assert len(gaps) == 4 and min(gaps) >= 0.15, gaps


def test_interval_zero_turns_spacing_off(server: HTTPServer) -> None:
    server.expect_request("/p").respond_with_response(html_response())
    with Fetcher(settings(host_interval_s=0)) as fetcher:
        started = time.monotonic()
        for _ in range(10):
            fetcher.fetch_page(server.url_for("/p"))
        assert time.monotonic() - started < 1.0


def test_per_host_concurrency_limit(stall_server: HTTPServer, release: threading.Event) -> None:
    lock = threading.Lock()
    load = {"active": 0, "peak": 0}

    def hold(request: Request) -> Response:
        with lock:
            load["active"] += 1
            load["peak"] = max(load["peak"], load["active"])
        release.wait(10)
        with lock:
            load["active"] -= 1
        return html_response()

    stall_server.expect_request("/hold").respond_with_handler(hold)
    host = f"127.0.0.1:{stall_server.port}"
    with Fetcher(settings(host_concurrency=2)) as fetcher, ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(fetcher.fetch_page, stall_server.url_for("/hold")) for _ in range(6)]
        deadline = time.monotonic() + 5
        while fetcher.host_load(host) != (2, 4) or load["active"] != 2:
            assert time.monotonic() < deadline, (fetcher.host_load(host), load)
            threading.Event().wait(0.01)
        release.set()
        assert all(f.result(timeout=5).body == HTML for f in futures)
        assert fetcher.host_load(host) == (0, 0)
    assert load["peak"] == 2


# --- feeds ---------------------------------------------------------------------------


def test_fetch_feed_conditional_and_304(server: HTTPServer) -> None:
    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(
            b"<rss/>",
            content_type="application/rss+xml",
            headers={"ETag": '"v1"', "Last-Modified": "Wed, 19 Jun 2024 10:00:00 GMT"},
        )

    server.expect_request("/feed").respond_with_handler(handler)
    with Fetcher(settings()) as fetcher:
        first = fetcher.fetch_feed(server.url_for("/feed"))
        assert (first.status_code, first.etag, first.body) == (200, '"v1"', b"<rss/>")
        assert first.last_modified == "Wed, 19 Jun 2024 10:00:00 GMT"
        second = fetcher.fetch_feed(server.url_for("/feed"), etag='"v1"', last_modified="x")
    assert second.status_code == 304 and second.body == b""
    assert second.etag == '"v1"' and second.last_modified == "x"  # echoed when not resent
    assert not second.permanent_redirect


@pytest.mark.parametrize(
    ("first", "second", "permanent"),
    [(301, 308, True), (308, 301, True), (301, 302, False), (302, 301, False)],
)
def test_feed_permanent_redirect_only_if_every_hop_is(
    server: HTTPServer, first: int, second: int, permanent: bool
) -> None:
    server.expect_request("/old").respond_with_data("", first, {"Location": "/mid"})
    server.expect_request("/mid").respond_with_data("", second, {"Location": "/new"})
    server.expect_request("/new").respond_with_data(b"<rss/>", content_type="application/xml")
    with Fetcher(settings()) as fetcher:
        response = fetcher.fetch_feed(server.url_for("/old"))
    assert response.final_url == server.url_for("/new")
    assert response.permanent_redirect is permanent


# --- helpers -------------------------------------------------------------------------


def test_parse_retry_after() -> None:
    now = utcnow().replace(microsecond=0)
    assert parse_retry_after("120") == 120
    assert parse_retry_after(format_datetime(now + _hours(1), usegmt=True), now) == 3600
    assert parse_retry_after(format_datetime(now - _hours(1), usegmt=True), now) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None


# --- connection pools ------------------------------------------------------------------


def test_each_host_keeps_its_own_connections_alive() -> None:
    """Interleaved requests to 25 sites reuse one connection each: a pool per host.

    One pool shared by every host kept 20 idle connections in all, so a poll over
    more sites than that reconnected to some of them on every round.
    """
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    peers: dict[str, set[int]] = {f"127.0.0.{n}": set() for n in range(1, 26)}

    class KeepAlive(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            peers[self.server.server_address[0]].add(self.client_address[1])
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(HTML)))
            self.end_headers()
            self.wfile.write(HTML)

        def log_message(self, format: str, *args: object) -> None:
            pass

    sites = [ThreadingHTTPServer((host, 0), KeepAlive) for host in peers]
    threads = [threading.Thread(target=s.serve_forever, args=(0.05,), daemon=True) for s in sites]
    for thread in threads:
        thread.start()
    try:
        with Fetcher(settings(host_concurrency=1)) as fetcher:
            for _ in range(5):
                for site in sites:
                    host, port = site.server_address[:2]
                    assert fetcher.fetch_page(f"http://{host}:{port}/p").body == HTML
    finally:
        for site in sites:
            site.shutdown()
            site.server_close()
    assert {host: len(ports) for host, ports in peers.items()} == dict.fromkeys(peers, 1)
