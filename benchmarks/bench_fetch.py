"""Fetcher figures on 127.0.0.1: gzip-bomb memory, page throughput, feed parsing speed.

1. Memory: a gzip bomb (small compressed, --bomb-mb decompressed) fetched with the
   Fetcher (bounded inflater, stops at max_bytes) beside plain httpx streaming
   with the same cap checked per decoded chunk; peak traced allocations of each.
2. Throughput: --pages small HTML pages fetched by --threads threads through one
   Fetcher, spread over --hosts local servers (host interval 0), pages/s.
3. parse_feed over every feed file of the shared corpus, feeds/s.
4. Connection pools, side by side: --pages pages over --pool-hosts loopback sites
   (127.0.0.1, 127.0.0.2, ...) served from another process, fetched by --threads
   threads through one shared pool (httpx's own, what the Fetcher used before
   monitor/hostpools.py) and through a pool per host, alternately; CPU of this
   process per page and connections opened.

    python benchmarks/bench_fetch.py [--bomb-mb 256] [--pages 400] [--threads 8]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import multiprocessing
import sys
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.config import FetchSettings
from monitor.deadline import DeadlineBackend
from monitor.errors import BadInputError, FetchError
from monitor.feeds import parse_feed
from monitor.fetch import Fetcher
from monitor.netguard import GuardedTransport

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sites  # benchmarks/, beside this script

PAGE = b"<!doctype html><html><head><title>t</title></head><body>" + b"<p>word</p>" * 400


class Handler(BaseHTTPRequestHandler):
    bomb: ClassVar[bytes] = b""

    def do_GET(self) -> None:
        if self.path.startswith("/bomb"):
            body, extra = self.bomb, [("Content-Encoding", "gzip")]
        else:
            body, extra = PAGE, []
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def serve() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def compare_pools(pages: int, threads: int, hosts: int) -> None:
    opened = multiprocessing.Value("i", 0)  # shared with the sites' process

    keep_alive = sites.handler(lambda path, base: (PAGE, "text/html", {}), keep_alive=True)

    class Counting(keep_alive):  # type: ignore[misc,valid-type]
        """Counts the connections the sites accept."""

        def setup(self) -> None:
            with opened.get_lock():
                opened.value += 1
            super().setup()

    servers = sites.loopback_sites(Counting, hosts)
    port = servers[0].server_address[1]
    child = sites.serve_in_subprocess(servers)
    settings = FetchSettings(
        host_interval_s=0, host_concurrency=2, allow_private_networks=True, respect_robots=False
    )
    urls = [f"http://127.0.0.{1 + i % hosts}:{port}/page/{i}" for i in range(pages)]
    figures: dict[str, list[tuple[float, float]]] = {"one shared pool": [], "a pool per host": []}
    for _ in range(3):
        for name in figures:
            transport = GuardedTransport(DeadlineBackend()) if name == "one shared pool" else None
            with Fetcher(settings, transport) as fetcher, ThreadPoolExecutor(threads) as pool:
                list(pool.map(fetcher.fetch_page, urls[: 2 * hosts]))  # connections up
                before, cpu = opened.value, time.process_time()
                list(pool.map(fetcher.fetch_page, urls))
                figures[name].append(
                    (1000 * (time.process_time() - cpu) / pages, (opened.value - before) / pages)
                )
    child.terminate()
    print(f"connection pools: {pages} pages over {hosts} sites, {threads} threads (3 rounds)")
    for name, rounds in figures.items():
        cpu_ms = ", ".join(f"{c:.2f}" for c, _ in rounds)
        new = ", ".join(f"{n:.2f}" for _, n in rounds)
        print(f"  {name:<16} CPU {cpu_ms} ms/page; connections opened per page {new}")


def naive_httpx(url: str, cap: int) -> None:
    with httpx.Client() as client, client.stream("GET", url) as response:
        total = 0
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > cap:
                return


def traced_peak(func: object, *args: object) -> tuple[float, float]:
    tracemalloc.start()
    start = time.perf_counter()
    with contextlib.suppress(FetchError):
        func(*args)  # type: ignore[operator]
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bomb-mb", type=int, default=256)
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--pool-hosts", type=int, default=20)
    parser.add_argument("--corpus", type=Path, default=Path("/work/shared/corpus/feeds"))
    args = parser.parse_args()

    Handler.bomb = gzip.compress(b"\0" * (args.bomb_mb * 1_000_000), compresslevel=9)
    servers = [serve() for _ in range(args.hosts)]
    base = [f"http://127.0.0.1:{s.server_address[1]}" for s in servers]
    cap = 8_000_000
    settings = FetchSettings(
        host_interval_s=0, max_bytes=cap, host_concurrency=4, allow_private_networks=True
    )

    print(
        f"gzip bomb: {len(Handler.bomb) / 1e6:.2f} MB compressed, {args.bomb_mb} MB inflated,"
        f" cap {cap / 1e6:.0f} MB"
    )
    with Fetcher(settings) as fetcher:
        ours, t_ours = traced_peak(fetcher.fetch_page, base[0] + "/bomb")
    theirs, t_theirs = traced_peak(naive_httpx, base[0] + "/bomb", cap)
    print(f"  Fetcher (bounded inflater)   peak {ours:8.1f} MB  {t_ours * 1e3:7.1f} ms")
    print(f"  httpx iter_bytes + cap check peak {theirs:8.1f} MB  {t_theirs * 1e3:7.1f} ms")
    print(f"  memory ratio httpx/Fetcher: {theirs / max(ours, 0.001):.1f}x")

    urls = [f"{base[i % len(base)]}/page/{i}" for i in range(args.pages)]
    with Fetcher(settings) as fetcher, ThreadPoolExecutor(args.threads) as pool:
        start = time.perf_counter()
        pages = list(pool.map(fetcher.fetch_page, urls))
        elapsed = time.perf_counter() - start
    assert all(p.body == PAGE for p in pages)
    print(
        f"pages: {len(pages)} x {len(PAGE)} B over {len(base)} hosts, {args.threads} threads:"
        f" {len(pages) / elapsed:.0f} pages/s"
    )

    if args.corpus.is_dir():
        files = sorted(args.corpus.rglob("*.xml"))
        files += [
            p
            for p in args.corpus.rglob("*.json")
            if "jsonfeed" in p.parts and ".serde." not in p.name
        ]
        bodies = [p.read_bytes() for p in files]
        start = time.perf_counter()
        ok = 0
        for body in bodies:
            with contextlib.suppress(BadInputError):
                ok += bool(parse_feed(body, "http://example.org/feed").entries)
        elapsed = time.perf_counter() - start
        print(
            f"parse_feed: {len(bodies)} corpus feeds ({ok} with entries)"
            f" {len(bodies) / elapsed:.0f} feeds/s"
        )
    for server in servers:
        server.shutdown()
    compare_pools(args.pages, args.threads, args.pool_hosts)


if __name__ == "__main__":
    main()
