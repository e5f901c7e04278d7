"""robots.txt rules, fetched once per host and cached with a time-to-live.

Kept apart from the fetcher so the caching policy is readable on its own: the
fetcher hands us a function that GETs a robots.txt through its own client (same
User-Agent, same per-host politeness), we decide what the answer means:

* 2xx: parse it, cache for ``ttl_s``;
* 4xx: the site has no rules for us, allow everything, cache for ``ttl_s``;
* 5xx, 429, timeouts, connection errors: allow (a flaky robots.txt must not
  stop monitoring) but cache only ``error_ttl_s`` so real rules are picked up soon.

Each host's robots.txt is fetched by one thread at a time: the others wait for
that answer instead of firing the same request in parallel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.robotparser import RobotFileParser

from monitor.errors import BadInputError, FetchError
from monitor.urls import split_http_url

RobotsGetter = Callable[[str], tuple[int, bytes]]


@dataclass(frozen=True, slots=True)
class _Entry:
    parser: RobotFileParser | None  # None: everything allowed
    expires: float  # monotonic


class RobotsCache:
    """Thread-safe per-origin cache of robots.txt verdicts."""

    def __init__(
        self,
        agent: str,
        getter: RobotsGetter,
        *,
        ttl_s: float = 3600.0,
        error_ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self.agent = agent
        self._get = getter
        self.ttl_s = ttl_s
        self.error_ttl_s = error_ttl_s
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._origin_locks: dict[str, threading.Lock] = {}

    def allowed(self, url: str) -> bool:
        """Whether ``url`` may be fetched; invalid URLs are left for the fetcher to reject."""
        try:
            scheme, host, port, _ = split_http_url(url)
        except BadInputError:
            return True
        entry = self._entry(f"{scheme}://{host}{port}")
        return entry.parser is None or entry.parser.can_fetch(self.agent, url)

    def _cached(self, origin: str) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(origin)
        if entry is not None and entry.expires > self._clock():
            return entry
        return None

    def _entry(self, origin: str) -> _Entry:
        entry = self._cached(origin)
        if entry is not None:
            return entry
        with self._lock:
            origin_lock = self._origin_locks.setdefault(origin, threading.Lock())
        with origin_lock:
            entry = self._cached(origin)  # another thread may have fetched it meanwhile
            if entry is None:
                entry = self._load(origin)
                with self._lock:
                    self._entries[origin] = entry
        return entry

    def _load(self, origin: str) -> _Entry:
        now = self._clock()
        try:
            _status, body = self._get(origin + "/robots.txt")
        except FetchError as exc:
            code = exc.status_code
            if code is not None and 400 <= code < 500 and code != 429:
                return _Entry(None, now + self.ttl_s)
            return _Entry(None, now + self.error_ttl_s)
        parser = RobotFileParser()
        parser.parse(body.decode("utf-8", "replace").splitlines())
        return _Entry(parser, now + self.ttl_s)
