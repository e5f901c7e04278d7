"""What Prefect costs on this machine, and the task granularity that follows from it.

Prints four figures, all measured in this one run, side by side:

1. per-task overhead: a flow of N no-op tasks, called in sequence and submitted
   to a thread pool, minus an empty flow; and how long the server takes to
   show all N task runs as completed (its catch-up rate);
2. per-flow-run overhead: an empty flow, start to finish;
3. poll overhead: the same pages (the demo site's seeds, reposts and off-story
   pages, plus corpus pages) through ``pipeline.run_poll`` (no Prefect) and
   through the ``poll-feeds`` flow against a Prefect server, alternating, each
   on a fresh database; the ratio is the orchestration overhead;
4. ingest-url latency: trigger-to-verdict of runs of the served deployment
   (``newsmon serve``), with ``serve.query_seconds`` from the config and with
   Prefect's default runner poll (10 s) for comparison.

Usage (PostgreSQL on 127.0.0.1:5432 is used for the Prefect server it starts,
unless ``--api-url``/``PREFECT_API_URL`` names a running one)::

    .venv/bin/python benchmarks/prefect_overhead.py
    .venv/bin/python benchmarks/prefect_overhead.py --pages 40 --repeat 3 --triggers 5
    .venv/bin/python benchmarks/prefect_overhead.py --skip-serve --tasks 200
"""

from __future__ import annotations

import argparse
import gzip
import html
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
CORPUS = (
    Path(os.environ.get("NEWSMON_CORPUS", ROOT.parent / "shared" / "corpus"))
    / "article-extraction-benchmark"
    / "html"
)
BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get(
    "MONITOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BENCH_DB = "prefect_newsmon_bench"
PRIVACY = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
for _k, _v in PRIVACY.items():
    os.environ.setdefault(_k, _v)
# every site it serves is on 127.0.0.x; also inherited by `newsmon serve` and flow runs
os.environ.setdefault("MONITOR_ALLOW_PRIVATE_NETWORKS", "1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception:
            pass
        time.sleep(every)
    raise SystemExit(f"timed out waiting for {what}")


# --- the local site -------------------------------------------------------------


@contextmanager
def local_site(
    corpus_pages: int, hosts: int = 1, delay_s: float = 0.0
) -> Iterator[tuple[str, list[str], list[str]]]:
    """Demo pages (seeds, reposts, off-story) and corpus pages on loopback hosts.

    Pages are spread over ``hosts`` addresses (127.0.0.2, 127.0.0.3, ...: all of
    127/8 is the loopback interface), so per-host spacing applies as it would
    to real sites; every response waits ``delay_s`` first, like a real server.
    The three feeds (originals, reposts, corpus) are on 127.0.0.1. Yields
    (feed host base URL, feed URLs, page URLs).
    """
    from monitor.demo import build_pages, render_page
    from monitor.records import utcnow

    files: dict[tuple[str, str], tuple[str, bytes]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if delay_s:
                time.sleep(delay_s)
            host = self.server.server_address[0]
            found = files.get((str(host), self.path.split("?")[0]))
            if found is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", found[0])
            self.send_header("Content-Length", str(len(found[1])))
            self.end_headers()
            self.wfile.write(found[1])

        def log_message(self, format: str, *args: object) -> None:
            return

    addresses = ["127.0.0.1"] + [f"127.0.0.{i + 2}" for i in range(max(1, hosts))]
    servers = {a: ThreadingHTTPServer((a, 0), Handler) for a in addresses}
    bases = {a: f"http://{a}:{srv.server_address[1]}" for a, srv in servers.items()}
    page_hosts = addresses[1:]
    now = format_datetime(utcnow())
    items: dict[str, list[str]] = {"originals": [], "reposts": [], "corpus": []}
    pages: list[str] = []

    def add(i: int, path: str, ctype: str, body: bytes, feed: str, title: str) -> None:
        host = page_hosts[i % len(page_hosts)]
        files[(host, path)] = (ctype, body)
        link = bases[host] + path
        pages.append(link)
        items[feed].append(
            f"<item><title>{html.escape(title)}</title><link>{link}</link>"
            f"<guid>{link}</guid><pubDate>{now}</pubDate></item>"
        )

    for i, page in enumerate(build_pages()):
        base = bases[page_hosts[i % len(page_hosts)]]
        add(
            i, page.path, "text/html; charset=utf-8", render_page(page, base), page.feed, page.title
        )
    for j, path in enumerate(sorted(CORPUS.glob("*.html.gz"))[:corpus_pages]):
        slug = path.name.split(".")[0][:16]
        body = gzip.decompress(path.read_bytes())
        add(j, f"/corpus/{slug}.html", "text/html; charset=utf-8", body, "corpus", slug)
    feed_base = bases["127.0.0.1"]
    for feed, entries in items.items():
        xml = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{feed}</title><link>{feed_base}/</link><description>bench</description>"
            + "".join(entries)
            + "</channel></rss>"
        )
        files[("127.0.0.1", f"/{feed}.xml")] = ("application/rss+xml", xml.encode())
    threads = [threading.Thread(target=srv.serve_forever, daemon=True) for srv in servers.values()]
    for thread in threads:
        thread.start()
    try:
        yield feed_base, [f"{feed_base}/{feed}.xml" for feed in items], pages
    finally:
        for srv in servers.values():
            srv.shutdown()
            srv.server_close()


def write_config(path: Path, fetch: dict[str, Any] | None = None, **serve: Any) -> Path:
    """A config on the repository's stories; ``fetch`` None = no host spacing (local)."""
    stories = sorted(str(p) for p in (ROOT / "config" / "stories").glob("*.yaml"))
    data = {
        "stories": stories,
        "fetch": {"host_interval_s": 0, "host_concurrency": 4} if fetch is None else fetch,
        "poll": {"schedule_minutes": 24 * 60},
        "serve": {"run_limit": 4, **serve},
        "feeds": [],
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


# --- the Prefect server -----------------------------------------------------------


@contextmanager
def prefect_server(api_url: str | None, workdir: Path) -> Iterator[str]:
    """The given API, or a fresh ``prefect server start`` on a PostgreSQL database."""
    if api_url:
        yield api_url
        return
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{BENCH_DB}"'))
    url = admin.url
    db = f"postgresql+asyncpg://{url.username}@{url.host}:{url.port or 5432}/{BENCH_DB}"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PRIVACY)
    env.update(
        {
            "PREFECT_HOME": str(workdir / "server-home"),
            "PREFECT_API_DATABASE_CONNECTION_URL": db,
            "PREFECT_UI_ENABLED": "false",
        }
    )
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}/api"
    started = time.monotonic()
    try:
        wait_for(lambda: httpx.get(f"{api}/health").status_code == 200, 180, "the server", 0.25)
        print(f"Prefect server on PostgreSQL started in {time.monotonic() - started:.1f} s")
        yield api
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
        admin.dispose()


# --- 1 and 2: per-task and per-flow overhead ------------------------------------------


def task_overhead(n: int, api: str) -> None:
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect.task_runners import ThreadPoolTaskRunner

    @task(cache_policy=NO_CACHE, persist_result=False)
    def noop(i: int) -> int:
        return i

    @flow(name="bench-empty", persist_result=False)
    def empty() -> None:
        return None

    @flow(name="bench-sequential", persist_result=False)
    def sequential(n: int) -> None:
        for i in range(n):
            noop(i)

    @flow(name="bench-threads", persist_result=False, task_runner=ThreadPoolTaskRunner(8))
    def threaded(n: int) -> None:
        for f in [noop.submit(i) for i in range(n)]:
            f.wait()

    from flows.cli import foreground

    empty()  # warm up the client
    figures = {}
    for label, context in (("heartbeat on (Prefect default)", nullcontext), ("off", foreground)):
        runs = []
        for _ in range(3):
            with context():
                t0 = time.perf_counter()
                empty()
                runs.append(time.perf_counter() - t0)
        figures[label] = statistics.median(runs)
    # The heartbeat's cost is a 0-1 s wait at the end of a run: too noisy to subtract.
    flow_s = figures["off"]
    print(
        "\n[2] empty flow run, median of 3: "
        + "; ".join(f"{label}: {secs:.2f} s" for label, secs in figures.items())
    )

    http = httpx.Client(base_url=api, timeout=30)
    for name, fn in (("sequential", sequential), ("8 threads", threaded)):
        with foreground():
            t0 = time.perf_counter()
            state = fn(n, return_state=True)
            took = time.perf_counter() - t0
        run_id = str(state.state_details.flow_run_id)
        done_at = time.perf_counter()

        def caught_up(run_id: str = run_id) -> bool:
            body = {
                "flow_runs": {"id": {"any_": [run_id]}},
                "task_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
            }
            return int(http.post("/task_runs/count", json=body).json()) >= n

        wait_for(caught_up, 300, "task runs to reach the server", 0.1)
        lag = time.perf_counter() - done_at
        per_task_ms = (took - flow_s) / n * 1000
        rate = n / (took + lag - flow_s) if took + lag > flow_s else float("nan")
        print(
            f"[1] {n} no-op tasks, {name}: flow {took:.2f} s -> {per_task_ms:.1f} ms client "
            f"time per task; server shows all completed {lag:.1f} s later "
            f"({rate:.0f} task runs/s end to end)"
        )
    http.close()


# --- 3: the poll with and without Prefect -------------------------------------------------


def poll_overhead(
    label: str, feeds: list[str], config: Path, repeat: int, workdir: Path
) -> tuple[float, float]:
    from flows.cli import foreground
    from flows.poll import poll_feeds
    from monitor import pipeline
    from monitor.config import load_settings

    os.environ["MONITOR_CONFIG"] = str(config)

    def run(mode: str, tag: str) -> tuple[float, dict[str, int]]:
        db = f"sqlite:///{workdir / f'{label[:5]}-{mode}-{tag}.db'}"
        os.environ["MONITOR_DATABASE_URL"] = db
        settings = load_settings(config)
        pipeline.prepare(settings)  # migrations: not part of either figure
        t0 = time.perf_counter()
        if mode == "plain":
            summary = pipeline.run_poll(settings, only=feeds)
        else:
            with foreground():  # as `newsmon poll` runs it
                summary = poll_feeds(feeds=feeds)
        return time.perf_counter() - t0, dict(summary.counts)

    print(f"\n[3] {label}")
    run("plain", "warm")  # process pool, imports, Prefect client
    run("prefect", "warm")
    times: dict[str, list[float]] = {"plain": [], "prefect": []}
    counts: dict[str, dict[str, int]] = {}
    for i in range(repeat):
        order = ("plain", "prefect") if i % 2 == 0 else ("prefect", "plain")
        for mode in order:
            took, c = run(mode, str(i))
            times[mode].append(took)
            counts[mode] = c
    plain, flow = statistics.median(times["plain"]), statistics.median(times["prefect"])
    entries = sum(counts["plain"].values())
    print(f"    entries per poll: {entries} {counts['plain']}")
    if counts["plain"] != counts["prefect"]:
        print(f"    WARNING: different outcomes with Prefect: {counts['prefect']}")
    for mode, label in (
        ("plain", "without Prefect (pipeline.run_poll)"),
        ("prefect", "poll-feeds flow (Prefect server)  "),
    ):
        print(f"    {label}: {', '.join(f'{t:.2f}' for t in times[mode])} s")
    print(
        f"    median {plain:.2f} s vs {flow:.2f} s: orchestration overhead "
        f"{(flow / plain - 1) * 100:+.1f} % ({flow - plain:+.2f} s per poll)"
    )
    return plain, flow


# --- 4: trigger-to-verdict on a served deployment -------------------------------------


def served_latency(
    api: str, pages: list[str], triggers: int, workdir: Path, query_s: float
) -> None:
    warm = query_s < 10
    label = (
        f"query_seconds={query_s:g}, warm starts"
        if warm
        else f"Prefect defaults: query_seconds={query_s:g}, a cold process per run"
    )
    config = write_config(
        workdir / f"serve-{query_s:g}.yaml", query_seconds=query_s, warm_start=warm
    )
    env = dict(os.environ)
    env.update(PRIVACY)
    env.update(
        {
            "PREFECT_API_URL": api,
            "MONITOR_DATABASE_URL": f"sqlite:///{workdir / f'serve-{query_s:g}.db'}",
        }
    )
    log = (workdir / f"serve-{query_s:g}.log").open("wb")
    t_start = time.monotonic()
    proc = subprocess.Popen(
        [str(BIN / "newsmon"), "serve", "--config", str(config), "--no-feed-server"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=workdir,
    )
    http = httpx.Client(base_url=api, timeout=30)
    try:
        dep = wait_for(
            lambda: http.get("/deployments/name/ingest-url/newsmon").json().get("id"),
            120,
            "newsmon serve",
            0.2,
        )
        time.sleep(3)  # let the served schedule's first poll come and go
        print(f"\n[4] {label}: newsmon serve ready in {time.monotonic() - t_start:.1f} s")
        latencies, pickups, runs = [], [], []
        for url in pages[:triggers]:
            t0 = time.perf_counter()
            run = http.post(
                f"/deployments/{dep}/create_flow_run", json={"parameters": {"url": url}}
            ).json()

            def final(run_id: str = run["id"]) -> dict[str, Any] | None:
                data: dict[str, Any] = http.get(f"/flow_runs/{run_id}").json()
                kind = (data.get("state") or {}).get("type")
                return data if kind in {"COMPLETED", "FAILED", "CRASHED"} else None

            data = wait_for(final, 120, "the ingest-url run", 0.05)
            latencies.append(time.perf_counter() - t0)
            created = _ts(data["created"])
            pickups.append(_ts(data["start_time"]) - created)
            runs.append(_ts(data["end_time"]) - _ts(data["start_time"]))
            if data["state"]["type"] != "COMPLETED":
                log.flush()
                tail = (workdir / f"serve-{query_s:g}.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"ingest-url run ended {data['state']['type']}:\n{tail}")
        print(
            f"    trigger -> verdict: median {statistics.median(latencies):.2f} s, "
            f"max {max(latencies):.2f} s over {len(latencies)} runs"
        )
        print(
            f"    of which trigger -> running (poll + subprocess start): median "
            f"{statistics.median(pickups):.2f} s; running -> completed: median "
            f"{statistics.median(runs):.2f} s"
        )
    finally:
        http.close()
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _ts(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=40, help="corpus pages besides the demo site")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--hosts", type=int, default=10, help="page hosts, realistic case")
    parser.add_argument("--latency", type=float, default=0.15, help="server delay, realistic")
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--triggers", type=int, default=5)
    parser.add_argument("--api-url", default=os.environ.get("PREFECT_API_URL"))
    parser.add_argument("--skip-tasks", action="store_true")
    parser.add_argument("--skip-poll", action="store_true")
    parser.add_argument("--skip-serve", action="store_true")
    parser.add_argument("--skip-default-poll", action="store_true", help="skip the 10 s case")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
    try:
        with prefect_server(args.api_url, workdir) as api:
            from prefect.settings import PREFECT_API_URL, temporary_settings

            print(f"Prefect API: {api}; {os.cpu_count()} cores")
            with temporary_settings({PREFECT_API_URL: api}):
                if not args.skip_tasks:
                    task_overhead(args.tasks, api)
                if not args.skip_poll:
                    with local_site(args.pages) as (_base, feeds, _pages):
                        config = write_config(workdir / "local.yaml")
                        label = "local worst case: one host, no latency, no host spacing"
                        poll_overhead(label, feeds, config, args.repeat, workdir)
                    with local_site(args.pages, args.hosts, args.latency) as (_b, feeds, _p):
                        config = write_config(workdir / "real.yaml", fetch={})  # fetch defaults
                        label = (
                            f"realistic: {args.hosts} hosts, {args.latency * 1000:.0f} ms server "
                            "latency, default fetch settings (1 s between requests to a host)"
                        )
                        poll_overhead(label, feeds, config, args.repeat, workdir)
                with local_site(args.pages) as (_base, _feeds, pages):
                    if not args.skip_serve:
                        served_latency(api, pages, args.triggers, workdir, 1.0)
                        if not args.skip_default_poll:
                            served_latency(api, pages[::-1], 3, workdir, 10.0)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
