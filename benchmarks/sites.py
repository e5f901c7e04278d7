"""Local web sites for the benchmarks: RSS feeds and pages served from 127.0.0.x.

Each benchmark says what its sites serve with a ``route(path, base)`` function
returning ``(body, content type, extra headers)`` or None for a 404; the
handler, the RSS markup, ``robots.txt`` and the quiet logging are shared here.
Also the memory probes both memory-reporting benchmarks print.
"""

from __future__ import annotations

import multiprocessing
import resource
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

#: (body, Content-Type, extra headers), or None for a 404.
Response = tuple[bytes, str, dict[str, str]] | None
Route = Callable[[str, str], Response]


def rss(title: str, base: str, items: Iterable[tuple[str, str, str | None]]) -> bytes:
    """An RSS 2.0 channel of ``(title, link, guid or None)`` items."""
    body = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link>"
        + (f"<guid>{escape(guid)}</guid>" if guid else "")
        + "</item>"
        for t, link, guid in items
    )
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>{escape(title)}</title>"
        f"<link>{escape(base)}</link><description>d</description>{body}</channel></rss>"
    ).encode()


def handler(route: Route, *, keep_alive: bool = False) -> type[BaseHTTPRequestHandler]:
    """A request handler serving ``route``; ``keep_alive`` speaks HTTP/1.1 as real sites do."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

        def do_GET(self) -> None:
            base = f"http://{self.server.server_address[0]}:{self.server.server_address[1]}"
            if self.path == "/robots.txt":
                found: Response = (b"User-agent: *\nAllow: /\n", "text/plain", {})
            else:
                found = route(self.path, base)
            if found is None:
                self.send_error(404)
                return
            body, ctype, headers = found
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


def loopback_sites(
    handler_class: type[BaseHTTPRequestHandler], n_hosts: int
) -> list[ThreadingHTTPServer]:
    """One server per loopback address (127.0.0.1, 127.0.0.2, ...), all on one port,
    as a real poll's pages come from many sites, each under the per-host limits."""
    first = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    port = first.server_address[1]
    others = [
        ThreadingHTTPServer((f"127.0.0.{h}", port), handler_class) for h in range(2, n_hosts + 1)
    ]
    return [first, *others]


def _serve_all(servers: list[ThreadingHTTPServer]) -> None:
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()


def serve_in_subprocess(servers: list[ThreadingHTTPServer]) -> multiprocessing.Process:
    """The sites run in their own process, as remote sites would: serving must not take
    the measured process's GIL or CPU."""
    proc = multiprocessing.get_context("fork").Process(
        target=_serve_all, args=(servers,), daemon=True
    )
    proc.start()
    for server in servers:
        server.server_close()  # the child keeps its copies of the listening sockets
    return proc


def rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    """Start this process's peak RSS (VmHWM) afresh, so a later :func:`peak_rss_mb`
    covers only what ran since (Linux; False where the kernel does not allow it)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """This process's peak RSS since start, or since :func:`reset_peak_rss`."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return rss_mb()


def worker_peaks_mb() -> list[float]:
    """Peak RSS (VmHWM) of each live extraction worker. They are children of the
    forkserver, not of this process, so RUSAGE_CHILDREN never sees them."""
    from monitor import analysis

    pool = analysis._pool  # the benchmarks may look inside; the product never does
    peaks = []
    for pid in sorted((pool._processes or {}) if pool is not None else {}):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return peaks
