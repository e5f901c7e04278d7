"""A fault-injecting HTTP server on 127.0.0.1 for the reliability tests.

Real servers fail in ways a mocked transport cannot show: a reset arrives as a
TCP RST in the middle of a body, a trickle keeps every single read short of its
timeout, a dropped SYN leaves ``connect()`` hanging. So this is a raw-socket
HTTP/1.1 server (one request per connection, ``Connection: close``) whose paths
are mapped to *faults*: small functions that get the connection and misbehave
on purpose. Every request is counted per path, so tests can assert that a
permanent failure is not fetched again.

Bodies are generated lazily (a 50 MB body is never held in memory) and every
fault that stalls waits on the server's stop event, so :meth:`FaultServer.stop`
ends all handler threads promptly; only the drip fault sleeps between bytes,
in its own handler thread, which is what a dripping server is.

:class:`BlackholeServer` is the connect-timeout fault: a listening socket whose
backlog is full, so the kernel drops further SYNs and ``connect()`` times out.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import select
import socket
import socketserver
import struct
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from types import TracebackType

__all__ = [
    "BlackholeServer",
    "Conn",
    "Fault",
    "FaultServer",
    "drip",
    "drip_headers",
    "gzip_bomb",
    "header_flood",
    "huge",
    "never_answer",
    "redirect",
    "reset_mid_body",
    "respond",
    "sequence",
    "short_body",
    "truncated_gzip",
]

_MAX_HEAD = 65_536
_FILLER = b"<p>" + b"filler text " * 5000 + b"</p>\n"  # ~60 KB of cheap HTML


class Conn:
    """One accepted connection and its parsed request, with ways to answer badly."""

    def __init__(self, sock: socket.socket, method: str, path: str, stop: threading.Event) -> None:
        self.sock = sock
        self.method = method
        self.path = path
        self.stop = stop

    def head(self, status: int = 200, headers: Mapping[str, str] | None = None) -> None:
        """Status line and headers; ``Connection: close`` is always added."""
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        lines.append("Connection: close")
        self.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def respond(
        self, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> None:
        self.head(status, {**(headers or {}), "Content-Length": str(len(body))})
        self.write(body)

    def reset(self) -> None:
        """Close with SO_LINGER 0: the kernel sends RST instead of FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


Fault = Callable[[Conn], None]

_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class _Handler(socketserver.BaseRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(5)
        try:
            head = _read_head(sock)
        except OSError:
            return
        if head is None:
            return
        method, _, rest = head.partition(" ")
        path = rest.split(" ", 1)[0].split("?", 1)[0]
        owner = self.server.owner
        fault = owner.fault_for(path)
        # OSError: the client hung up first (caps, timeouts), which is the point.
        with contextlib.suppress(OSError):
            fault(Conn(sock, method, path, owner.stopping))

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            self.request.close()


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = True
    allow_reuse_address = True
    # socketserver's default backlog (5) drops SYNs under a burst of parallel fetches,
    # which the client sees as a connect timeout: the very fault BlackholeServer makes.
    request_queue_size = 128
    owner: FaultServer


def _read_head(sock: socket.socket) -> str | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk or len(data) > _MAX_HEAD:
            return None
        data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1")


class FaultServer:
    """Threaded HTTP server on 127.0.0.1 routing paths to faults; a context manager.

    ``hits`` counts requests per path (query strings ignored). Unknown paths get
    a plain 404 (``/robots.txt`` included, which means "everything allowed").
    """

    def __init__(self, routes: Mapping[str, Fault] | None = None) -> None:
        self.routes: dict[str, Fault] = dict(routes or {})
        self.hits: Counter[str] = Counter()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._server = _TCPServer(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.port: int = self._server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, fault: Fault) -> str:
        with self._lock:
            self.routes[path] = fault
        return self.url(path)

    def count(self, path: str) -> int:
        with self._lock:
            return self.hits[path]

    def fault_for(self, path: str) -> Fault:
        with self._lock:
            self.hits[path] += 1
            return self.routes.get(path, respond(404, b"no such fault", "text/plain"))

    def start(self) -> FaultServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # stalled faults return
        self._server.shutdown()
        self._server.server_close()  # joins the handler threads (block_on_close)
        self._thread.join(5)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class BlackholeServer:
    """A port where ``connect()`` hangs: listen(0) with its one backlog slot taken.

    Linux drops a SYN when the accept queue is full (no RST), so the client keeps
    retransmitting until its connect timeout: a real ConnectTimeout, no routing
    tricks. Filling is checked, not assumed: we open connections until one does
    not complete.
    """

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self.port: int = self._listener.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._fillers: list[socket.socket] = []
        for _ in range(16):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            self._fillers.append(filler)
            filler.connect_ex(("127.0.0.1", self.port))
            _, writable, _ = select.select([], [filler], [], 0.2)
            if not writable:
                return  # this SYN was dropped: the backlog is full
        self.close()
        raise RuntimeError("could not fill the listen backlog: no connect-timeout server")

    def url(self, path: str) -> str:
        return self.base + path

    def close(self) -> None:
        for filler in self._fillers:
            filler.close()
        self._listener.close()

    def __enter__(self) -> BlackholeServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --- faults ------------------------------------------------------------------------------


def respond(
    status: int = 200,
    body: bytes = b"",
    content_type: str | None = "text/html; charset=utf-8",
    headers: Mapping[str, str] | None = None,
) -> Fault:
    """A well-formed response (of any status): the baseline every fault bends."""
    extra = dict(headers or {})
    if content_type is not None:
        extra.setdefault("Content-Type", content_type)

    def fault(conn: Conn) -> None:
        conn.respond(status, body, extra)

    return fault


def redirect(location: str, status: int = 302) -> Fault:
    return respond(status, b"", None, {"Location": location})


def sequence(*faults: Fault) -> Fault:
    """The n-th request gets the n-th fault; the last one repeats (a server that recovers)."""
    calls = itertools.count()
    lock = threading.Lock()

    def fault(conn: Conn) -> None:
        with lock:
            n = next(calls)
        faults[min(n, len(faults) - 1)](conn)

    return fault


def never_answer() -> Fault:
    """Accept and read the request, then say nothing until the server stops."""

    def fault(conn: Conn) -> None:
        conn.stop.wait(30)

    return fault


def drip(interval_s: float, content_type: str = "text/html") -> Fault:
    """Headers at once, then one byte of an endless body every ``interval_s``.

    With an interval below the read timeout every socket read succeeds: only a
    total deadline can stop the fetch.
    """

    def fault(conn: Conn) -> None:
        conn.head(200, {"Content-Type": content_type})
        body = itertools.cycle(b"<html><body><p>drip drip drip</p>")
        while not conn.stop.wait(interval_s):
            conn.write(bytes([next(body)]))

    return fault


def drip_headers(interval_s: float) -> Fault:
    """The status line at once, then one byte of an endless header every ``interval_s``:
    every read succeeds, the headers never end (slowloris, the other way round)."""

    def fault(conn: Conn) -> None:
        conn.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        while not conn.stop.wait(interval_s):
            conn.write(b"z")

    return fault


def header_flood(size: int = 1_000_000) -> Fault:
    """Headers that never stop coming, fast: a megabyte of them."""

    def fault(conn: Conn) -> None:
        conn.write(b"HTTP/1.1 200 OK\r\n")
        line = b"X-Flood: " + b"a" * 1000 + b"\r\n"
        for _ in range(size // len(line)):
            if conn.stop.is_set():
                return
            conn.write(line)

    return fault


def reset_mid_body(body: bytes, declared: int, content_type: str = "text/html") -> Fault:
    """Promise ``declared`` bytes, send ``body``, then reset the connection (RST)."""

    def fault(conn: Conn) -> None:
        conn.head(200, {"Content-Type": content_type, "Content-Length": str(declared)})
        conn.write(body)
        conn.reset()

    return fault


def short_body(body: bytes, declared: int, content_type: str = "text/html") -> Fault:
    """Promise ``declared`` bytes, send ``body``, then close normally (FIN)."""

    def fault(conn: Conn) -> None:
        conn.head(200, {"Content-Type": content_type, "Content-Length": str(declared)})
        conn.write(body)

    return fault


def truncated_gzip(body: bytes, content_type: str = "text/html; charset=utf-8") -> Fault:
    """A gzip stream cut in half, its Content-Length matching what is sent.

    The transfer is complete and well-formed HTTP; only the gzip trailer (and
    half the data) is missing, which only the decompressor can notice.
    """
    compressed = gzip.compress(body)
    cut = compressed[: len(compressed) // 2]
    return respond(200, cut, content_type, {"Content-Encoding": "gzip"})


def _chunks(total: int) -> Iterator[bytes]:
    yield b"<!doctype html><html><head><title>big</title></head><body>\n"
    sent = 0
    while sent < total:
        piece = _FILLER[: total - sent]
        sent += len(piece)
        yield piece


def huge(total: int, *, declare_length: bool, content_type: str = "text/html") -> Fault:
    """A body of ``total`` bytes made on the fly, with Content-Length or chunked."""

    def fault(conn: Conn) -> None:
        if declare_length:
            head_len = len(next(_chunks(0)))
            conn.head(200, {"Content-Type": content_type, "Content-Length": str(total + head_len)})
            for piece in _chunks(total):
                conn.write(piece)
            return
        conn.head(200, {"Content-Type": content_type, "Transfer-Encoding": "chunked"})
        for piece in _chunks(total):
            conn.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.write(b"0\r\n\r\n")

    return fault


@cache
def _bomb(size: int) -> bytes:
    """``size`` bytes of HTML-looking zeros, gzipped in pieces (never all in memory)."""
    z = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    parts = [z.compress(b"<!doctype html><html><body><p>")]
    block = b"\0" * 1_048_576
    for _ in range(size // len(block)):
        parts.append(z.compress(block))
    parts.append(z.flush())
    return b"".join(parts)


def gzip_bomb(size: int = 64 * 1_048_576, content_type: str = "text/html") -> Fault:
    """A small gzip body that inflates to ``size`` bytes (64 MB from ~64 KB by default)."""
    return respond(200, _bomb(size), content_type, {"Content-Encoding": "gzip"})
