"""Corpus sweep: every feed and every page of the shared corpus through the real pipeline.

830 feeds are served from a local HTTP server (with the headers their test
cases ask for) and polled with the real fetcher; the 384 article pages are
served too (the gzipped ones with ``Content-Encoding: gzip``, the others as
found, charsets undeclared) behind one generated RSS feed, and a real poll
(``pipeline.run_poll``: fetch threads, extraction process pool, relevance,
dedup, filing) files them into a SQLite database. Nothing may raise; every
feed or page that fails carries a reason tag. The corpus lives outside the
repository (see tests/corpus.py): where it is absent the sweep is skipped.
"""

from __future__ import annotations

import mimetypes
import re
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import func, select

from monitor import analysis, pipeline
from monitor.config import FetchSettings, load_settings
from monitor.db import ArticleRow, open_database, session_factory
from monitor.feeds import FeedPoll, poll_feed
from monitor.fetch import Fetcher
from monitor.records import Status, utcnow
from tests.corpus import require_corpus

pytestmark = pytest.mark.slow

FEED_FILES = 830
PAGES = 181 + 203
#: A stable tag first (``http_404``, ``not_html``, ``extraction``...), then the detail.
REASON_TAG = re.compile(r"^[a-z][a-z0-9_ ]*[a-z0-9](:|$)")
_HEADER = re.compile(r"^Header:\s*([A-Za-z-]+):\s*(.*?)\s*$", re.MULTILINE)

Site = dict[str, tuple[bytes, dict[str, str]]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _SiteServer

    def do_GET(self) -> None:
        found = self.server.site.get(unquote(urlsplit(self.path).path))
        body, headers = found if found is not None else (b"not found", {})
        self.send_response(200 if found is not None else 404)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, site: Site) -> None:
        self.site = site
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture(scope="module")
def corpus() -> Path:
    return require_corpus()


@pytest.fixture(scope="module")
def site() -> Iterator[_SiteServer]:
    """One server for the module: a dict lookup per request, so 1,200 files cost nothing."""
    server = _SiteServer({})
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def feed_documents(root: Path) -> list[Path]:
    """Feed files: XML and JSON Feed documents (not feed-rs's expected parses or indexes)."""
    files = list(root.rglob("*.xml"))
    files += [p for p in root.rglob("*.json") if "jsonfeed" in p.parts and ".serde." not in p.name]
    return sorted(files)


def served_headers(path: Path) -> dict[str, str]:
    """The headers a feedparser case asks for (``Header:`` lines), else a static server's."""
    head = path.read_bytes()[:600].decode("latin-1")
    asked = {name.title(): value for name, value in _HEADER.findall(head)}
    if "Content-Type" not in asked:
        guessed = "application/feed+json" if path.suffix == ".json" else None
        asked["Content-Type"] = guessed or mimetypes.guess_type(path.name)[0] or "application/xml"
    return asked


def test_every_corpus_feed_polls_without_an_exception(corpus: Path, site: _SiteServer) -> None:
    root = corpus / "feeds"
    files = feed_documents(root)
    assert len(files) == FEED_FILES
    urls = {}
    for path in files:
        route = "/feeds/" + path.relative_to(root).as_posix()
        site.site[route] = (path.read_bytes(), served_headers(path))
        urls[route] = site.base + quote(route)

    settings = FetchSettings(
        host_interval_s=0,
        host_concurrency=16,
        total_timeout_s=10,
        respect_robots=False,
        allow_private_networks=True,
    )
    crashed: dict[str, str] = {}

    def poll(url: str) -> FeedPoll | None:
        try:
            return poll_feed(fetcher, url, etag=None, last_modified=None, body_hash=None)
        except Exception as exc:  # the assertion below names every one
            crashed[url] = f"{type(exc).__name__}: {exc}"
            return None

    with Fetcher(settings) as fetcher, ThreadPoolExecutor(max_workers=16) as pool:
        results = dict(zip(urls, pool.map(poll, urls.values()), strict=True))

    assert crashed == {}
    polls = {route: r for route, r in results.items() if r is not None}
    assert len(polls) == FEED_FILES
    outcomes = Counter(p.outcome for p in polls.values())
    assert set(outcomes) <= {"ok", "error"}, outcomes
    for route, p in polls.items():
        assert p.http_status == 200, (route, p.http_status, p.reason)
        if p.outcome == "error":
            assert p.reason and "\n" not in p.reason, (route, p.reason)
            assert REASON_TAG.match(p.reason), (route, p.reason)
        for entry in p.entries:
            assert entry.link.startswith(("http://", "https://")), (route, entry.link)
    # the in-process parse (test_feed_corpus) accepts more than 300 of them
    assert outcomes["ok"] > 300, outcomes


def corpus_pages(root: Path) -> dict[str, tuple[bytes, dict[str, str]]]:
    """Route -> (body, headers) for every page, served the way the README says."""
    pages: dict[str, tuple[bytes, dict[str, str]]] = {}
    for path in sorted((root / "article-extraction-benchmark" / "html").glob("*.html.gz")):
        headers = {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"}
        pages["/aeb/" + path.name.removesuffix(".gz")] = (path.read_bytes(), headers)
    for path in sorted((root / "trafilatura-eval" / "html").iterdir()):
        pages["/tev/" + path.name] = (path.read_bytes(), {"Content-Type": "text/html"})
    return pages


def rss(base: str, routes: list[str]) -> bytes:
    """Items with a link and nothing else: no feed summary to stand in for a page."""
    when = format_datetime(utcnow())
    items = "".join(
        f"<item><link>{escape(base + quote(route))}</link>"
        f"<guid>{escape(route)}</guid><pubDate>{when}</pubDate></item>"
        for route in routes
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>corpus</title><link>{base}/</link>{items}</channel></rss>"
    ).encode()


def test_every_corpus_page_goes_through_a_real_poll(
    corpus: Path, site: _SiteServer, tmp_path: Path
) -> None:
    pages = corpus_pages(corpus)
    assert len(pages) == PAGES
    site.site.update(pages)
    site.site["/pages.xml"] = (
        rss(site.base, sorted(pages)),
        {"Content-Type": "application/rss+xml"},
    )
    config = tmp_path / "feeds.yaml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path / 'sweep.db'}\n"
        f"data_dir: {tmp_path}\n"
        "fetch: {host_interval_s: 0, host_concurrency: 8, workers: 8, respect_robots: false,"
        " allow_private_networks: true, total_timeout_s: 20}\n"
        f"poll: {{max_entries_per_feed: {PAGES + 10}, batch_size: 100}}\n"
        f"feeds:\n  - {{url: '{site.base}/pages.xml', name: corpus pages}}\n",
        encoding="utf-8",
    )
    settings = load_settings(config, env={})
    try:
        summary = pipeline.run_poll(settings)
    finally:
        pipeline.close_resources()
        analysis.reset_pool()

    assert [f.outcome for f in summary.feeds] == ["ok"], summary.feeds
    assert summary.feeds[0].total_entries == PAGES
    assert len(summary.outcomes) == PAGES
    statuses = Counter(o.status for o in summary.outcomes)
    failed = {o.url: o.reason for o in summary.outcomes if o.status is Status.FAILED}
    for url, reason in failed.items():
        assert reason and REASON_TAG.match(reason), (url, reason)
    # Feed items carry a link only, so a page without an extractable body has no feed
    # summary to fall back on: the client-rendered page must fail, with its reason.
    assert len(failed) <= 4, failed
    assert [url for url in failed if "lanouvellerepublique" in url], failed
    assert statuses[Status.FILED] + statuses[Status.OFF_STORY] + statuses[Status.REVIEW] > 300

    engine = open_database(settings.database_url)
    try:
        with session_factory(engine)() as session:
            rows = dict(
                session.execute(
                    select(ArticleRow.status, func.count()).group_by(ArticleRow.status)
                ).all()
            )
            stored_failures = dict(
                session.execute(
                    select(ArticleRow.url, ArticleRow.fail_reason).where(
                        ArticleRow.status == Status.FAILED.value
                    )
                ).all()
            )
    finally:
        engine.dispose()
    assert sum(rows.values()) == PAGES, rows  # one row per page, none lost, none twice
    assert rows.get("pending", 0) == 0, rows  # the run finished: nothing left half-done
    assert stored_failures == failed  # each failure stored with the reason reported
