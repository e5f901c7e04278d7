"""Peak memory of a poll over many entries stays bounded.

Serves feeds with N entries in all (default 10,000) pointing at distinct small
article pages on 127.0.0.1, runs the whole pipeline (``pipeline.run_poll``:
fetch, extract in the process pool, judge, dedup, file) into a fresh SQLite
database, and prints the peak RSS of the parent and of the largest worker,
beside the peak after a quarter of the entries, so growth with the number of
entries shows.

    python benchmarks/poll_memory.py [--entries 10000] [--feeds 20] [--flow --prefect-api URL]

``--flow`` runs the same poll as one ``poll-feeds`` flow on the Prefect server
at ``--prefect-api`` (as production does) and prints the parent's peak.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sites

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

    def route(path: str, base: str) -> sites.Response:
        if path.startswith("/feed/"):
            f = int(path.split("/")[-1].split(".")[0])
            items = (
                (f"Story number {n}", f"{base}/a/{n}.html", f"{base}/a/{n}")
                for n in range(f * per_feed, (f + 1) * per_feed)
            )
            return sites.rss(f"F{f}", base, items), "application/rss+xml", {}
        if path.startswith("/a/"):
            return article(int(path[3:].split(".")[0])), "text/html; charset=utf-8", {}
        return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), sites.handler(route))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def write_config(tmp: Path, port: int, entries: int, feeds: int) -> Path:
    cfg = tmp / "feeds.yaml"
    lines = [f"poll: {{max_entries_per_feed: {entries}}}", "feeds:"] + [
        f"  - {{url: 'http://127.0.0.1:{port}/feed/{f}.xml', name: f{f}}}" for f in range(feeds)
    ]
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return cfg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--flow", action="store_true", help="one poll-feeds flow run")
    parser.add_argument("--prefect-api", help="the Prefect API for --flow")
    args = parser.parse_args()
    if args.flow:
        if not args.prefect_api:
            parser.error("--flow needs --prefect-api (a running Prefect server)")
        flow_poll(args)
        return
    server = serve(args.entries, args.feeds)
    port = server.server_address[1]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = write_config(Path(tmp), port, args.entries, args.feeds)
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
        rss_quarter = sites.rss_mb()
        rest = pipeline.run_poll(settings, only=[f.url for f in settings.feeds[quarter:]])
        elapsed = time.perf_counter() - start
        workers = sites.worker_peaks_mb()
        pipeline.close_resources()
    server.shutdown()
    done = len(first.outcomes) + len(rest.outcomes)
    print(f"entries processed: {done} in {elapsed:.1f} s ({done / elapsed:.1f}/s)")
    print(f"peak RSS parent after {len(first.outcomes)} entries: {rss_quarter:.0f} MB")
    print(f"peak RSS parent after {done} entries: {sites.rss_mb():.0f} MB")
    shown = ", ".join(f"{mb:.0f} MB" for mb in workers) or "none found"
    print(f"peak RSS of each extraction worker (VmHWM): {shown}")
    print(f"target: parent peak <= 400 MB for {args.entries} entries")


def flow_poll(args: argparse.Namespace) -> None:
    """Every entry in one ``poll-feeds`` flow run; the parent's peak RSS at the end."""
    import os

    server = serve(args.entries, args.feeds)
    port = server.server_address[1]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = write_config(Path(tmp), port, args.entries, args.feeds)
        os.environ.update(
            MONITOR_CONFIG=str(cfg),
            MONITOR_DATABASE_URL=f"sqlite:///{tmp}/mem.db",
            MONITOR_HOST_INTERVAL_S="0",
            MONITOR_ALLOW_PRIVATE_NETWORKS="1",
            PREFECT_API_URL=args.prefect_api,
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            DO_NOT_TRACK="1",
        )
        from flows.poll import poll_feeds

        start = time.perf_counter()
        summary = poll_feeds()
        elapsed = time.perf_counter() - start
        workers = sites.worker_peaks_mb()
        pipeline.close_resources()
    server.shutdown()
    done = len(summary.outcomes)
    print(f"entries processed by one poll-feeds flow run: {done} in {elapsed:.1f} s")
    print(f"peak RSS parent: {sites.peak_rss_mb():.0f} MB (target <= 400 MB)")
    print("peak RSS of each extraction worker: " + ", ".join(f"{mb:.0f} MB" for mb in workers))


if __name__ == "__main__":
    main()
