"""Local web sites for the benchmarks: RSS feeds and pages served from 127.0.0.x.

Each benchmark says what its sites serve with a ``route(path, base)`` function
returning ``(body, content type, extra headers)`` or None for a 404; the
handler, the RSS markup, ``robots.txt`` and the quiet logging are shared here.
Also the memory probes both memory-reporting benchmarks print.
"""

from __future__ import annotations

import resource
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler
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
