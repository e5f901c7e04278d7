"""A local news site for durability tests: generated feeds and pages on 127.0.0.1.

Pages are distinct articles (random prose from a fixed seed, so no two are
near-duplicates) unless a test registers copies. The server counts requests per
path and can hold page requests behind a gate (an Event the test opens), which
is how a test makes sure a run is still mid-batch when it kills it: the
server waits, the test never sleeps.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

_SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "sa",
    "ti",
    "vo",
    "de",
    "pa",
    "li",
    "go",
    "na",
    "re",
    "to",
    "bu",
    "fe",
    "ha",
    "jo",
    "ki",
]


def _words(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(n)]


def article_html(title: str, paragraphs: list[str]) -> str:
    body = "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title></head><body><header><nav>Home | World</nav></header>"
        f"<article><h1>{escape(title)}</h1>{body}</article>"
        "<footer>Copyright the site</footer></body></html>"
    )


def prose(seed: int, paragraphs: int = 5, words: int = 60) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(paragraphs):
        sentence_words = _words(rng, words)
        chunks = [" ".join(sentence_words[i : i + 12]) for i in range(0, words, 12)]
        out.append(". ".join(c.capitalize() for c in chunks) + ".")
    return out


@dataclass
class SiteFarm:
    """Feeds (``/feeds/<name>.xml``) listing pages (``/p/<slug>.html``) on one server."""

    base: str = ""
    pages: dict[str, bytes] = field(default_factory=dict)
    feeds: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # name -> (slug, title)
    hits: Counter[str] = field(default_factory=Counter)
    gate: threading.Event = field(default_factory=threading.Event)
    gated: Callable[[str], bool] = lambda slug: False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_page(self, slug: str, title: str, paragraphs: list[str]) -> str:
        self.pages[slug] = article_html(title, paragraphs).encode()
        return self.page_url(slug)

    def add_generated(self, feed: str, count: int, *, seed: int = 0) -> list[str]:
        """``count`` distinct articles listed in ``feed``; returns their URLs."""
        urls = []
        for i in range(count):
            slug = f"{feed}-{seed}-{i}"
            title = f"Story {feed} number {i} " + " ".join(
                _words(random.Random(seed * 7919 + i), 3)
            )
            urls.append(self.add_page(slug, title, prose(seed * 100_003 + i)))
            self.feeds.setdefault(feed, []).append((slug, title))
        return urls

    def list_in(self, feed: str, slug: str, title: str) -> None:
        self.feeds.setdefault(feed, []).append((slug, title))

    def page_url(self, slug: str) -> str:
        return f"{self.base}/p/{slug}.html"

    def feed_url(self, name: str) -> str:
        return f"{self.base}/feeds/{name}.xml"

    def feed_xml(self, name: str) -> bytes:
        start = datetime(2026, 11, 1, tzinfo=UTC)
        items = "".join(
            f"<item><title>{escape(title)}</title><link>{self.page_url(slug)}</link>"
            f"<guid>{self.page_url(slug)}</guid>"
            f"<pubDate>{format_datetime(start + timedelta(minutes=i))}</pubDate></item>"
            for i, (slug, title) in enumerate(self.feeds.get(name, []))
        )
        return (
            "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
            f"<title>{name}</title><link>{self.base}/</link><description>d</description>"
            f"{items}</channel></rss>"
        ).encode()


@contextmanager
def serve_farm(farm: SiteFarm | None = None) -> Iterator[SiteFarm]:
    farm = farm or SiteFarm()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            with farm.lock:
                farm.hits[path] += 1
            if path == "/robots.txt":
                return self._send(404, b"", "text/plain")
            if path.startswith("/feeds/") and path.endswith(".xml"):
                name = path[len("/feeds/") : -len(".xml")]
                if name in farm.feeds:
                    return self._send(200, farm.feed_xml(name), "application/rss+xml")
            if path.startswith("/p/") and path.endswith(".html"):
                slug = path[len("/p/") : -len(".html")]
                if slug in farm.pages:
                    if farm.gated(slug):
                        farm.gate.wait(120)
                    return self._send(200, farm.pages[slug], "text/html; charset=utf-8")
            self._send(404, b"not found", "text/plain")

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client died (a killed run): nothing to answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    farm.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield farm
    finally:
        farm.gate.set()
        server.shutdown()
        server.server_close()
