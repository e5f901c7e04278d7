"""Peak memory of a poll over many entries stays bounded.

Serves feeds with N entries in all (default 10,000) pointing at distinct small
article pages on 127.0.0.1, runs the whole pipeline (``pipeline.run_poll``:
fetch, extract in the process pool, judge, dedup, file) into a fresh SQLite
database, and prints the peak RSS of the parent and of the largest worker,
beside the peak after a quarter of the entries, so growth with the number of
entries shows.

    python benchmarks/poll_memory.py [--entries 10000] [--feeds 20]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor import pipeline
from monitor.config import load_settings

WORDS = [
    "government",
    "minister",
    "talks",
    "summit",
    "economy",
    "border",
    "trade",
    "energy",
    "agreement",
    "delegation",
    "official",
    "statement",
    "press",
    "week",
    "region",
    "security",
    "council",
    "vote",
    "meeting",
    "capital",
    "city",
    "report",
    "analysts",
    "market",
    "growth",
    "inflation",
    "budget",
    "parliament",
    "election",
    "campaign",
]


def article(n: int) -> bytes:
    paras = []
    for p in range(6):
        words = [WORDS[(n * 7 + p * 13 + i * i) % len(WORDS)] for i in range(60)]
        paras.append(f"<p>Article {n} paragraph {p}: {' '.join(words)}.</p>")
    return (
        f"<html lang='en'><head><title>Story number {n}</title></head><body><article>"
        f"<h1>Story number {n}</h1>{''.join(paras)}</article></body></html>"
    ).encode()


def serve(entries: int, feeds: int) -> ThreadingHTTPServer:
    per_feed = entries // feeds

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            if self.path.startswith("/feed/"):
                f = int(self.path.split("/")[-1].split(".")[0])
                items = "".join(
                    f"<item><title>Story number {n}</title><link>{base}/a/{n}.html</link>"
                    f"<guid>{base}/a/{n}</guid></item>"
                    for n in range(f * per_feed, (f + 1) * per_feed)
                )
                body = (
                    f"<?xml version='1.0'?><rss version='2.0'><channel><title>F{f}</title>"
                    f"<link>{base}</link><description>d</description>{items}</channel></rss>"
                ).encode()
                ctype = "application/rss+xml"
            elif self.path.startswith("/a/"):
                body, ctype = article(int(self.path[3:].split(".")[0])), "text/html; charset=utf-8"
            elif self.path == "/robots.txt":
                body, ctype = b"User-agent: *\nAllow: /\n", "text/plain"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def worker_peaks_mb() -> list[float]:
    """Peak RSS of the live extraction workers, read from /proc (they are not reaped yet)."""
    from monitor import analysis

    pool = analysis._pool
    peaks = []
    for proc in getattr(pool, "_processes", {}).values():
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--feeds", type=int, default=20)
    args = parser.parse_args()
    server = serve(args.entries, args.feeds)
    port = server.server_address[1]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "feeds.yaml"
        lines = [f"poll: {{max_entries_per_feed: {args.entries}}}", "feeds:"] + [
            f"  - {{url: 'http://127.0.0.1:{port}/feed/{f}.xml', name: f{f}}}"
            for f in range(args.feeds)
        ]
        cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
        settings = load_settings(
            cfg,
            env={
                "MONITOR_DATABASE_URL": f"sqlite:///{tmp}/mem.db",
                "MONITOR_HOST_INTERVAL_S": "0",
                "MONITOR_ALLOW_PRIVATE_NETWORKS": "1",  # served from 127.0.0.1
            },
        )
        start = time.perf_counter()
        quarter = max(1, args.feeds // 4)
        first = pipeline.run_poll(settings, only=[f.url for f in settings.feeds[:quarter]])
        rss_quarter = rss_mb()
        rest = pipeline.run_poll(settings, only=[f.url for f in settings.feeds[quarter:]])
        elapsed = time.perf_counter() - start
        workers = worker_peaks_mb()
        pipeline.close_resources()
    server.shutdown()
    done = len(first.outcomes) + len(rest.outcomes)
    print(f"entries processed: {done} in {elapsed:.1f} s ({done / elapsed:.1f}/s)")
    print(f"peak RSS parent after {len(first.outcomes)} entries: {rss_quarter:.0f} MB")
    print(f"peak RSS parent after {done} entries: {rss_mb():.0f} MB")
    shown = ", ".join(f"{mb:.0f} MB" for mb in workers) or "none found"
    print(f"peak RSS of each extraction worker (VmHWM): {shown}")
    print(f"target: parent peak <= 400 MB for {args.entries} entries")


if __name__ == "__main__":
    main()
