"""Getting bytes from other people's servers, politely and defensively.

One :class:`Fetcher` (one ``httpx.Client``, a connection pool per host) is shared
by every worker thread of a run, because politeness is a property of the whole
run, not of one request: per-host concurrency, a minimum interval between two
requests to one host, a host-wide pause after a 429 and the robots.txt cache
all live here, behind one condition variable.

Defensive, because a monitoring job runs unattended against servers we do not
control: a total deadline (httpx only bounds each socket operation, so a server
trickling one byte every few seconds would otherwise hold a worker forever), a
byte cap applied *after* decompression with our own bounded inflater (httpx's
decoder inflates a whole network chunk at once, so a gzip bomb would be in
memory before any cap could look at it), HTML only for pages, and every failure
mapped to a :class:`~monitor.errors.FetchError` with a short stable ``reason``.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urldefrag, urljoin

import httpcore
import httpx

from monitor.config import FetchSettings
from monitor.deadline import DeadlineBackend, total_deadline
from monitor.errors import BadInputError, PermanentFetchError, TransientFetchError
from monitor.hostpools import HostPools
from monitor.httpbody import (
    Inflater,
    charset_of,
    looks_like_feed,
    looks_like_html,
    media_type,
    parse_retry_after,
    sniff_binary,
    too_large,
    transport_error,
)
from monitor.netguard import (
    GuardedBackend,
    GuardedTransport,
    check_url_host,
    refuse_unusable_redirect,
    url_error,
)
from monitor.records import Page
from monitor.robots import RobotsCache
from monitor.urls import split_http_url

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
DEFAULT_THROTTLE_S = 60.0  # host pause after a 429 that gave no Retry-After
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, application/feed+json;q=0.8, */*;q=0.5"
)


@dataclass(frozen=True, slots=True)
class FeedResponse:
    """A feed fetch as the poller needs it: body, validators and where the feed now lives.

    ``permanent_redirect`` is true only when every redirect on the way was a 301
    or 308: a temporary hop anywhere means the configured URL must be kept.
    ``etag``/``last_modified`` come from the response; on a 304 without them
    they repeat the validators we sent, so the caller can store them either way.
    """

    url: str
    final_url: str
    status_code: int
    body: bytes
    etag: str | None
    last_modified: str | None
    permanent_redirect: bool
    headers: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


@dataclass(slots=True)
class _HostState:
    active: int = 0
    waiting: int = 0
    next_start: float = 0.0  # monotonic time before which no request may start
    not_before: float = 0.0  # monotonic end of a 429 pause


@dataclass(frozen=True, slots=True)
class _Result:
    url: str
    final_url: str
    status_code: int
    body: bytes
    headers: dict[str, str]
    permanent_redirect: bool


class Fetcher:
    """Thread-safe HTTP fetcher for feeds and pages; see the module docstring for the rules."""

    def __init__(
        self, settings: FetchSettings, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        if transport is None:
            transport = _pooled_transport(settings)
        # An injected transport (tests' MockTransport) gets the URL check only.
        self._client = httpx.Client(
            transport=transport,
            follow_redirects=False,
            event_hooks={"response": [refuse_unusable_redirect]},
            headers={"User-Agent": settings.agent(), "Accept-Encoding": "gzip, deflate"},
            timeout=self._timeout(settings.total_timeout_s),
        )
        self._cond = threading.Condition()
        self._hosts: dict[str, _HostState] = {}
        self._robots = RobotsCache(settings.agent(), self._fetch_robots)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # --- public API ----------------------------------------------------------------------

    def fetch_feed(
        self, url: str, etag: str | None = None, last_modified: str | None = None
    ) -> FeedResponse:
        """GET a feed, conditionally; a 304 is a normal return, failures raise FetchError."""
        headers = {"Accept": FEED_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        res = self._get(url, headers, html_only=False, robots=False, allow_304=True)
        new_etag = res.headers.get("etag")
        new_modified = res.headers.get("last-modified")
        if res.status_code == 304:
            new_etag = new_etag or etag
            new_modified = new_modified or last_modified
        return FeedResponse(
            url=url,
            final_url=res.final_url,
            status_code=res.status_code,
            body=res.body,
            etag=new_etag,
            last_modified=new_modified,
            permanent_redirect=res.permanent_redirect,
            headers=res.headers,
        )

    def fetch_page(self, url: str) -> Page:
        """GET an HTML page (redirects followed, robots.txt honoured); failures raise FetchError."""
        res = self._get(
            url, {"Accept": PAGE_ACCEPT}, html_only=True, robots=self.settings.respect_robots
        )
        _check_page_body(res)
        content_type = res.headers.get("content-type")
        return Page(
            url=url,
            final_url=res.final_url,
            status_code=res.status_code,
            body=res.body,
            content_type=media_type(content_type) or "text/html",
            encoding=charset_of(content_type),
        )

    def host_load(self, host: str) -> tuple[int, int]:
        """(requests in flight, requests waiting for a slot) for ``host`` (``name[:port]``)."""
        with self._cond:
            state = self._hosts.get(host.lower())
            return (state.active, state.waiting) if state else (0, 0)

    def robots_allowed(self, url: str) -> bool:
        """Whether robots.txt lets us fetch ``url`` (fetched and cached on first use per host)."""
        return self._robots.allowed(url)

    # --- host politeness -----------------------------------------------------------------

    @contextmanager
    def _host_slot(self, host: str) -> Iterator[None]:
        """Hold one of the host's concurrency slots, respecting its interval and 429 pause.

        Waits on the condition (woken by releases or until the next start time),
        never in a sleep loop. A 429 pause longer than the request could wait
        fails fast with ``host_throttled``: blocking a worker for minutes would
        starve every other host.
        """
        limit = self.settings.host_concurrency
        with self._cond:
            state = self._hosts.setdefault(host, _HostState())
            while True:
                now = time.monotonic()
                paused = state.not_before - now
                if paused > self.settings.total_timeout_s:
                    raise TransientFetchError(
                        f"{host} is throttled for {paused:.0f} s after a 429",
                        reason="host_throttled",
                        retry_after=paused,
                    )
                wait = max(paused, state.next_start - now)
                if state.active < limit and wait <= 0:
                    state.active += 1
                    state.next_start = now + self.settings.host_interval_s
                    break
                state.waiting += 1
                try:
                    self._cond.wait(wait if wait > 0 else None)
                finally:
                    state.waiting -= 1
        try:
            yield
        finally:
            with self._cond:
                state.active -= 1
                self._cond.notify_all()

    def _throttle(self, host: str, seconds: float) -> None:
        with self._cond:
            state = self._hosts.setdefault(host, _HostState())
            state.not_before = max(state.not_before, time.monotonic() + seconds)
            self._cond.notify_all()

    # --- the request loop ----------------------------------------------------------------

    def _timeout(self, remaining: float) -> httpx.Timeout:
        s = self.settings
        return httpx.Timeout(
            connect=min(s.connect_timeout_s, remaining),
            read=min(s.read_timeout_s, remaining),
            write=min(s.read_timeout_s, remaining),
            pool=remaining,
        )

    def _get(
        self,
        url: str,
        headers: dict[str, str],
        *,
        html_only: bool,
        robots: bool,
        allow_304: bool = False,
        max_bytes: int | None = None,
        truncate: bool = False,
    ) -> _Result:
        current = urldefrag(url.strip())[0] if isinstance(url, str) else repr(url)
        permanent = True
        deadline: float | None = None
        for hop in range(self.settings.max_redirects + 1):
            try:
                _, host, port, _ = split_http_url(current)
            except BadInputError as exc:
                raise url_error(current, exc) from exc
            if not self.settings.allow_private_networks:
                check_url_host(host, current)  # every hop: redirects cannot reach inside either
            if robots and not self._robots.allowed(current):
                raise PermanentFetchError(
                    f"robots.txt disallows {current}", reason="robots_disallowed", url=current
                )
            with self._host_slot(host + port):
                if deadline is None:
                    deadline = time.monotonic() + self.settings.total_timeout_s
                response = self._send(current, headers, deadline)
                try:
                    status = response.status_code
                    location = response.headers.get("location")
                    if status in REDIRECT_CODES and location:
                        permanent = permanent and status in PERMANENT_REDIRECTS
                        current = urldefrag(urljoin(str(response.url), location.strip()))[0]
                        continue
                    self._check_status(response, host + port, allow_304)
                    if html_only and status != 304:
                        self._check_html_type(response)
                    body = b""
                    if status != 304:
                        limit = max_bytes or self.settings.max_bytes
                        with total_deadline(deadline):
                            body = self._read_body(response, deadline, limit, truncate)
                    untyped = html_only and "content-type" not in response.headers
                    if untyped and not looks_like_html(body):
                        raise PermanentFetchError(
                            f"no content type and not HTML: {current}",
                            reason="unsupported_content_type:missing",
                            url=current,
                            status_code=status,
                        )
                    return _Result(
                        url=url,
                        final_url=str(response.url),
                        status_code=status,
                        body=body,
                        headers={k.lower(): v for k, v in response.headers.items()},
                        permanent_redirect=permanent and hop > 0,
                    )
                finally:
                    response.close()
        raise PermanentFetchError(
            f"more than {self.settings.max_redirects} redirects from {url}",
            reason="too_many_redirects",
            url=url,
        )

    def _send(self, url: str, headers: dict[str, str], deadline: float) -> httpx.Response:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TransientFetchError(f"total timeout fetching {url}", reason="timeout", url=url)
        try:
            request = self._client.build_request(
                "GET", url, headers=headers, timeout=self._timeout(remaining)
            )
            with total_deadline(deadline):  # headers dripped byte by byte end here too
                return self._client.send(request, stream=True)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise transport_error(exc, url) from exc

    def _check_status(self, response: httpx.Response, host: str, allow_304: bool) -> None:
        status = response.status_code
        url = str(response.url)
        if 200 <= status < 300 or (status == 304 and allow_304):
            return
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if status == 429:
            self._throttle(host, retry_after if retry_after is not None else DEFAULT_THROTTLE_S)
        if status >= 500 or status in (408, 429):
            raise TransientFetchError(
                f"HTTP {status} from {url}",
                reason=f"http_{status}",
                url=url,
                status_code=status,
                retry_after=retry_after,
            )
        raise PermanentFetchError(
            f"HTTP {status} from {url}", reason=f"http_{status}", url=url, status_code=status
        )

    def _check_html_type(self, response: httpx.Response) -> None:
        mime = media_type(response.headers.get("content-type"))
        if mime is None or mime in HTML_TYPES:
            return  # a missing type is sniffed once the body is read
        raise PermanentFetchError(
            f"not HTML ({mime}): {response.url}",
            reason=f"unsupported_content_type:{mime}",
            url=str(response.url),
            status_code=response.status_code,
        )

    def _read_body(
        self, response: httpx.Response, deadline: float, limit: int, truncate: bool
    ) -> bytes:
        url = str(response.url)
        coding = response.headers.get("content-encoding", "identity").strip().lower()
        inflater: Inflater | None = None
        if coding in ("gzip", "x-gzip", "deflate"):
            inflater = Inflater(coding)
        elif coding not in ("identity", ""):
            raise PermanentFetchError(
                f"unsupported content encoding {coding!r}: {url}",
                reason=f"unsupported_content_encoding:{coding}",
                url=url,
            )
        declared = response.headers.get("content-length", "")
        if inflater is None and declared.isdigit() and int(declared) > limit and not truncate:
            raise too_large(url, limit)
        body = bytearray()
        if response.is_stream_consumed:  # built in memory (MockTransport): already decoded
            inflater = None
            chunks: Iterable[bytes] = [response.content]
        else:
            chunks = response.iter_raw()  # no chunk_size: it would buffer and delay the deadline
        try:
            for chunk in chunks:
                data = inflater.feed(chunk, limit - len(body) + 1) if inflater else chunk
                body += data
                if len(body) > limit:
                    if truncate:
                        return bytes(body[:limit])
                    raise too_large(url, limit)
                if time.monotonic() > deadline:
                    raise TransientFetchError(
                        f"total timeout reading {url}", reason="timeout", url=url
                    )
        except (httpx.ReadError, httpx.RemoteProtocolError) as exc:
            # A reset, or fewer bytes than Content-Length: the body we hold is partial.
            raise _cut_short(url, len(body), str(exc)) from exc
        except httpx.HTTPError as exc:
            raise transport_error(exc, url) from exc
        except zlib.error as exc:
            raise TransientFetchError(
                f"corrupt {coding} body from {url}: {exc}", reason="decode_error", url=url
            ) from exc
        if inflater is not None and not inflater.complete and not truncate:
            raise _cut_short(url, len(body), f"{coding} stream ends before its end marker")
        return bytes(body)

    def _fetch_robots(self, robots_url: str) -> tuple[int, bytes]:
        """GET a robots.txt for the cache: (status, body); failures raise FetchError."""
        res = self._get(
            robots_url,
            {"Accept": "text/plain,*/*;q=0.5"},
            html_only=False,
            robots=False,
            max_bytes=512_000,
            truncate=True,
        )
        return res.status_code, res.body


def _pooled_transport(settings: FetchSettings) -> HostPools:
    """A pool per host (:mod:`monitor.hostpools`) sharing one TLS context and backend.

    Every socket operation obeys the request's total deadline (monitor.deadline);
    the connect-time address check applies unless private networks are allowed.
    """
    inner = httpcore.SyncBackend() if settings.allow_private_networks else GuardedBackend()
    backend = DeadlineBackend(inner)
    tls = httpx.create_ssl_context()
    # One more connection than the host's slots, all kept alive: the next request can
    # take its slot while the previous response is still being closed.
    spare = settings.host_concurrency + 1
    limits = httpx.Limits(max_connections=spare, max_keepalive_connections=spare)
    return HostPools(lambda: GuardedTransport(backend, ssl_context=tls, limits=limits))


def _cut_short(url: str, received: int, detail: str) -> TransientFetchError:
    return TransientFetchError(
        f"body cut short after {received} bytes ({detail}): {url}",
        reason="truncated_body",
        url=url,
    )


def _check_page_body(res: _Result) -> None:
    """Refuse what is not an HTML page whatever its Content-Type claims.

    An empty body is usually a server hiccup (transient). Binary content (PDF,
    images, Office files) and feeds are refused for good: labelled ``text/html``
    they would otherwise reach extraction, which falls back to the feed summary
    and would file an article from a document nobody could read as a page.
    """
    url = res.final_url
    if not res.body.strip():
        raise TransientFetchError(
            f"empty body (HTTP {res.status_code}): {url}",
            reason="empty_body",
            url=url,
            status_code=res.status_code,
        )
    declared = media_type(res.headers.get("content-type")) or "missing"
    sniffed = sniff_binary(res.body)
    if sniffed is not None:
        raise PermanentFetchError(
            f"{sniffed} content served as {declared}: {url}",
            reason=f"unsupported_content_type:{sniffed}",
            url=url,
            status_code=res.status_code,
        )
    if looks_like_feed(res.body):
        raise PermanentFetchError(
            f"an RSS/Atom feed served as {declared}, not an article page: {url}",
            reason="not_html:feed",
            url=url,
            status_code=res.status_code,
        )


__all__ = [
    "FeedResponse",
    "Fetcher",
    "charset_of",
    "looks_like_html",
    "media_type",
    "parse_retry_after",
]
