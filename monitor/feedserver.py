"""A tiny local HTTP server for the outputs: Atom feed, HTML report, JSON items.

``newsmon serve`` starts it next to the scheduled flows so a feed reader can
subscribe to ``http://127.0.0.1:8765/feed.atom`` and a person can open
``/report.html``. The standard library's threaded server is enough for a
handful of readers polling a feed, and adds no dependency. Each request opens
its own short session, so the server never holds a transaction open while
the pipeline writes.

Routes (GET and HEAD):

* ``/feed.atom``   on-story items, newest first (``?limit=``, default 100); ETag + 304
* ``/report.html`` the story report (``?since=7d``, ``?by=source``)
* ``/items.json``  latest items as the export's JSON objects (``?status=``, ``?limit=``)
* ``/healthz``     ``{"ok": true}`` when the database answers, else 503
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from monitor.config import Settings
from monitor.db import open_database, session_factory
from monitor.errors import BadInputError
from monitor.export import write_atom
from monitor.report import build_report, render_html
from monitor.views import ItemFilter, item_to_dict, iter_items, parse_since, parse_statuses

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

INDEX = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>newsmon</title></head><body style="font-family:system-ui,sans-serif;margin:2em">
<h1>newsmon</h1><ul>
<li><a href="/feed.atom">/feed.atom</a>: Atom feed of the on-story items</li>
<li><a href="/report.html">/report.html</a>: the story report
(<a href="/report.html?since=7d">last 7 days</a>,
<a href="/report.html?by=source">by source</a>)</li>
<li><a href="/items.json">/items.json</a>: the latest items as JSON</li>
<li><a href="/healthz">/healthz</a>: health check</li>
</ul></body></html>
"""


#: Sent with every response. Bodies quote stored text from other people's pages:
#: no browser may sniff a JSON error or an Atom feed into HTML, and nothing the
#: server returns may run a script or load anything (the report is inline CSS and SVG).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
}


class Reply:
    """A response body with its type; handlers return these, the server sends them."""

    def __init__(self, body: bytes, content_type: str, status: int = 200) -> None:
        self.body = body
        self.content_type = content_type
        self.status = status


def _json(data: Any, status: int = 200) -> Reply:
    body = json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
    return Reply(body, "application/json; charset=utf-8", status)


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _limit(query: dict[str, list[str]]) -> int:
    raw = _one(query, "limit")
    if raw is None:
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise BadInputError(f"limit: expected a whole number (got {raw!r})") from None
    if not 1 <= value <= MAX_LIMIT:
        raise BadInputError(f"limit: expected 1 to {MAX_LIMIT} (got {value})")
    return value


def feed_atom(session: Session, query: dict[str, list[str]], self_url: str) -> Reply:
    flt = ItemFilter(statuses=("filed",), limit=_limit(query))
    out = io.StringIO()
    write_atom(iter_items(session, flt), out, self_url=self_url)
    return Reply(out.getvalue().encode("utf-8"), "application/atom+xml; charset=utf-8")


def report_html(session: Session, query: dict[str, list[str]], _self_url: str) -> Reply:
    since_raw = _one(query, "since")
    by = _one(query, "by") or "language"
    if by not in ("language", "source"):
        raise BadInputError(f"by: expected language or source (got {by!r})")
    since = parse_since(since_raw) if since_raw else None
    data = build_report(session, since=since, by="language" if by == "language" else "source")
    return Reply(render_html(data).encode("utf-8"), "text/html; charset=utf-8")


def items_json(session: Session, query: dict[str, list[str]], _self_url: str) -> Reply:
    statuses = parse_statuses(query.get("status", []))
    flt = ItemFilter(statuses=statuses, limit=_limit(query))
    return _json([item_to_dict(i) for i in iter_items(session, flt)])


def healthz(session: Session, _query: dict[str, list[str]], _self_url: str) -> Reply:
    session.execute(text("SELECT 1"))
    return _json({"ok": True})


Route = Callable[[Session, dict[str, list[str]], str], Reply]
ROUTES: dict[str, Route] = {
    "/feed.atom": feed_atom,
    "/report.html": report_html,
    "/items.json": items_json,
    "/healthz": healthz,
}


class FeedServer(ThreadingHTTPServer):
    """The HTTP server plus the engine its requests share; closing it disposes the engine."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], engine: Engine) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)
        super().__init__(address, FeedHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def server_close(self) -> None:
        super().server_close()
        self.engine.dispose()


class FeedHandler(BaseHTTPRequestHandler):
    server: FeedServer
    server_version = "newsmon"

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, *, send_body: bool) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        reply = self._dispatch(parts.path, query)
        etag = '"' + hashlib.sha256(reply.body).hexdigest()[:32] + '"'
        if reply.status == 200 and etag in (self.headers.get("If-None-Match") or ""):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Cache-Control", "no-cache")
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        if reply.status == 200:
            self.send_header("ETag", etag)
        self.end_headers()
        if send_body:
            self.wfile.write(reply.body)

    def _dispatch(self, path: str, query: dict[str, list[str]]) -> Reply:
        if path in ("/", "/index.html"):
            return Reply(INDEX.encode("utf-8"), "text/html; charset=utf-8")
        route = ROUTES.get(path)
        if route is None:
            return _json({"error": f"not found: {path}", "routes": sorted(ROUTES)}, 404)
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        try:
            with self.server.sessions() as session:
                return route(session, query, f"http://{host}{path}")
        except BadInputError as exc:
            return _json({"error": str(exc)}, 400)
        except Exception as exc:  # the server must outlive one bad request
            log.exception("feed server: %s failed", path)
            status = 503 if path == "/healthz" else 500
            return _json({"ok": False, "error": type(exc).__name__}, status)

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


def make_server(settings: Settings, host: str | None = None, port: int | None = None) -> FeedServer:
    """A server bound to ``host:port`` (default: ``settings.serve``), not yet serving.

    Port 0 picks a free port (tests); read it back from ``server.server_address``.
    """
    engine = open_database(settings.database_url)
    address = (host or settings.serve.host, settings.serve.port if port is None else port)
    try:
        return FeedServer(address, engine)
    except OSError:
        engine.dispose()
        raise


def serve_in_background(server: FeedServer) -> threading.Thread:
    """Run ``server`` on a daemon thread; stop with ``server.shutdown(); server.server_close()``."""
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.1},  # how fast shutdown() is noticed
        name="newsmon-feedserver",
        daemon=True,
    )
    thread.start()
    return thread
