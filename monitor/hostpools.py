"""One connection pool per host, behind one ``httpx`` transport.

A poll talks to dozens of sites at once. On every request, httpcore's pool
walks all its connections, polling each one's socket, and for each idle one
counts the whole list again: with one pool shared by every site, the work per
request grows with the square of the sites in use. Over 20 sites with 8
threads (``benchmarks/bench_fetch.py``), a pool per host took about a quarter
less CPU per fetched page than one shared pool. A request now looks at its
own host's one or two connections only, and one busy site's idle connections
no longer push another site's out of a shared keep-alive quota.

Pools are created on a host's first request. A pool is closed once it is
beyond the ``max_hosts`` most recently used, or unused for ``idle_s`` (its
connections would have expired anyway), and only when no request or unread
response is using it: a long-lived process over thousands of sites holds a
bounded number of idle sockets (at most ``max_hosts`` times the per-host
connections, well under the usual limit of 1,024 open files) without ever
cutting a download short.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType

import httpx

#: scheme, host and port as httpx holds them (``None``: the scheme's default port).
Origin = tuple[bytes, bytes, int | None]


@dataclass(slots=True)
class _Pool:
    transport: httpx.BaseTransport
    in_use: int = 0
    last_used: float = 0.0


class HostPools(httpx.BaseTransport):
    """Routes each request to its origin's own transport, made by ``make``."""

    def __init__(
        self,
        make: Callable[[], httpx.BaseTransport],
        *,
        max_hosts: int = 64,
        idle_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_hosts < 1:
            raise ValueError("max_hosts must be at least 1")
        self._make = make
        self._max_hosts = max_hosts
        self._idle_s = idle_s
        self._clock = clock
        self._lock = threading.Lock()
        self._pools: OrderedDict[Origin, _Pool] = OrderedDict()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        pool = self._acquire((url.raw_scheme, url.raw_host, url.port))
        try:
            response = pool.transport.handle_request(request)
        except BaseException:
            self._release(pool)
            raise
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_ReleasingStream(response.stream, lambda: self._release(pool)),
            extensions=response.extensions,
        )

    def hosts(self) -> int:
        """How many origins have a pool now (bounded by ``max_hosts`` when idle)."""
        with self._lock:
            return len(self._pools)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            pool.transport.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self.close()

    def _acquire(self, origin: Origin) -> _Pool:
        with self._lock:
            if self._closed:
                raise RuntimeError("HostPools is closed")
            now = self._clock()
            pool = self._pools.get(origin)
            if pool is None:
                pool = self._pools[origin] = _Pool(self._make(), in_use=1, last_used=now)
            else:
                self._pools.move_to_end(origin)
                pool.in_use += 1
                pool.last_used = now
            idle = self._evict_idle(now)  # the pool just taken is in use: never a victim
        for old in idle:  # sockets are closed outside the lock
            old.transport.close()
        return pool

    def _evict_idle(self, now: float) -> list[_Pool]:
        """Pools nothing uses, beyond ``max_hosts`` or unused for ``idle_s`` (lock held).

        The dict is in order of use, so the walk stops at the first pool that is
        neither surplus nor stale: it costs what it evicts, not the number of hosts.
        """
        evicted: list[_Pool] = []
        surplus = len(self._pools) - self._max_hosts
        for origin in list(self._pools):
            pool = self._pools[origin]
            stale = now - pool.last_used > self._idle_s
            if surplus <= 0 and not stale:
                break
            if pool.in_use == 0:
                evicted.append(self._pools.pop(origin))
                surplus -= 1
        return evicted

    def _release(self, pool: _Pool) -> None:
        with self._lock:
            pool.in_use -= 1
            pool.last_used = self._clock()


class _ReleasingStream(httpx.SyncByteStream):
    """The inner response stream; closing it (once) gives the pool back."""

    def __init__(self, inner: httpx.SyncByteStream, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> Iterator[bytes]:
        yield from self._inner

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()
