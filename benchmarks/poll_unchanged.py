"""Polling feeds that did not change must cost one request each and no parsing.

Serves N feeds (default 200) from 127.0.0.1: half answer conditional requests
with 304, half ignore validators and send the same body again (caught by the
body hash). Polls them all once with every feed changed (new entries each),
then again unchanged, and prints both times side by side with their ratio and
how many feeds were parsed.

    python benchmarks/poll_unchanged.py [--feeds 200] [--entries 30]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor import feeds as feeds_module
from monitor import pipeline
from monitor.config import load_settings

THREADS = 8  # feeds polled at once, as flows/poll.py's MAX_FEED_THREADS


def feed_body(n: int, version: int, entries: int, base: str) -> bytes:
    now = format_datetime(datetime(2024, 6, 19, 8, 0, tzinfo=UTC) + timedelta(hours=version))
    items = "".join(
        f"<item><title>Feed {n} item {version}-{i}: a headline of ordinary length</title>"
        f"<link>{base}/a/{n}/{version}/{i}.html</link><guid>{base}/a/{n}/{version}/{i}</guid>"
        f"<pubDate>{now}</pubDate><description>Summary of item {i}, a sentence or two of "
        f"text as feeds carry them, with <b>markup</b> and entities &amp; more."
        f"</description></item>"
        for i in range(entries)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {n}</title><link>{base}/</link><description>d</description>{items}"
        f"</channel></rss>"
    ).encode()


def serve(n_feeds: int, entries: int) -> tuple[multiprocessing.Process, int, dict[str, Any]]:
    """The feeds run in their own process, as remote servers would: serving must not
    take the poller's GIL. Version and request count are shared counters."""
    ctx = multiprocessing.get_context("fork")
    state: dict[str, Any] = {"version": ctx.Value("i", 1), "requests": ctx.Value("i", 0)}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with state["requests"].get_lock():
                state["requests"].value += 1
            n = int(self.path.split("/")[-1].split(".")[0])
            version = state["version"].value
            etag = f'"{n}-{version}"'
            if n % 2 == 0 and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            body = feed_body(
                n, version, entries, f"http://127.0.0.1:{self.server.server_address[1]}"
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            if n % 2 == 0:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    proc = ctx.Process(target=server.serve_forever, daemon=True)
    proc.start()
    server.server_close()
    return proc, port, state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=30)
    args = parser.parse_args()

    server, port, state = serve(args.feeds, args.entries)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "feeds.yaml"
        lines = ["feeds:"] + [
            f"  - {{url: 'http://127.0.0.1:{port}/feed/{n}.xml', name: f{n}}}"
            for n in range(args.feeds)
        ]
        cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
        settings = load_settings(
            cfg,
            env={
                "MONITOR_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
                "MONITOR_HOST_INTERVAL_S": "0",
                "MONITOR_ALLOW_PRIVATE_NETWORKS": "1",  # served from 127.0.0.1
            },
        )
        pipeline.prepare(settings)
        urls = [f.url for f in settings.feeds]
        parsed = {"n": 0}
        real_parse = feeds_module.parse_feed

        def counting_parse(*a: object, **k: object) -> object:
            parsed["n"] += 1
            return real_parse(*a, **k)  # type: ignore[arg-type]

        def poll_all() -> tuple[float, int, int]:
            # Planned afresh, as every run plans its own: a target carries the poll
            # state (validators, body hash) read at planning time.
            targets = pipeline.due_feeds(settings, only=urls)
            parsed["n"] = 0
            before = state["requests"].value
            start = time.perf_counter()
            with (
                mock.patch.object(feeds_module, "parse_feed", counting_parse),
                ThreadPoolExecutor(THREADS) as pool,  # as the poll-feeds flow does
            ):
                list(pool.map(lambda t: pipeline.poll_feed(settings, t), targets))
            return time.perf_counter() - start, state["requests"].value - before, parsed["n"]

        poll_all()  # warm-up: validators and hashes stored, imports done
        state["version"].value += 1
        changed, changed_req, changed_parsed = poll_all()
        unchanged, unchanged_req, unchanged_parsed = poll_all()
        pipeline.close_resources()
    server.terminate()

    print(f"feeds: {args.feeds} ({args.feeds // 2} answer 304, the rest resend the same body)")
    print(f"entries per feed: {args.entries}")
    print(f"changed poll:   {changed:7.3f} s  requests={changed_req}  parsed={changed_parsed}")
    print(
        f"unchanged poll: {unchanged:7.3f} s  requests={unchanged_req}  parsed={unchanged_parsed}"
    )
    print(f"ratio unchanged/changed: {unchanged / changed:.3f}  (target <= 0.2)")


if __name__ == "__main__":
    main()
