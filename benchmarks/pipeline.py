"""Full-pipeline throughput against plain single-process trafilatura, in one run.

Serves the 181 real pages of article-extraction-benchmark (gzip, as a real
server would) and ``--copies`` copies of each under other URLs from 127.0.0.1,
listed in ``--feeds`` RSS feeds. Then, in the same run:

1. starts a real Prefect server on PostgreSQL (its start-up timed and printed
   separately), unless ``--prefect-api`` names a running one, and warms it with
   one short poll of one feed from another process, as a production server has
   served earlier polls (``--cold-server`` times the first run on it instead);
2. runs a full ``poll-feeds`` flow into a fresh database (feeds -> fetch ->
   extract in the process pool -> relevance -> dedup -> file), in this process
   and with the settings ``newsmon poll`` gives it (no flow-run heartbeat: it
   costs ~1 s at the end of a run); ``--no-prefect`` runs ``pipeline.run_poll``
   instead; ``--warm-process`` imports what a run forked by ``newsmon serve``
   starts with (Prefect, the flows: ``flows/warm.py``) before timing;
3. times a plain loop of ``trafilatura.bare_extraction(with_metadata=True)``
   over the same bytes in this one process: ``--baseline-rounds`` passes before
   the run and ``--baseline-after`` passes after it. The ratio is against the
   fastest pass of all, so a slow spell of the shared cores during the baseline
   cannot flatter the pipeline.

It prints articles per second for both, their ratio (target >= 1.6 on 2
cores), how long the run took to send its first page to a worker and the rate
from there on, peak RSS, and where the time goes (stage timings).

The default is 3,620 items (``--copies 19``), "a few thousand" as the issue
allows: a run pays about 2-3 s before its first page reaches a worker (Prefect's
import and flow start, planning, the first feeds), which is 15 % of a 905-item
run (``--copies 4``) but 4 % of this one, so this one measures throughput
rather than start-up. The start-up is printed on its own line either way.

    python benchmarks/pipeline.py [--copies 19] [--feeds 20] [--corpus ../shared/corpus]
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sites  # noqa: E402  (benchmarks/, beside this script)

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/newsmon_bench_prefect"


def load_pages(corpus: Path) -> dict[str, bytes]:
    """id -> gzip bytes, as stored upstream."""
    html_dir = corpus / "article-extraction-benchmark" / "html"
    return {p.name.split(".")[0]: p.read_bytes() for p in sorted(html_dir.glob("*.html.gz"))}


def serve(
    pages: dict[str, bytes], copies: int, n_feeds: int, n_hosts: int
) -> tuple[list[ThreadingHTTPServer], int]:
    ids = sorted(pages)
    items = [(c, i) for c in range(copies + 1) for i in ids]
    per_feed = -(-len(items) // n_feeds)

    def route(path: str, base: str) -> sites.Response:
        if path.startswith("/feed/"):
            f = int(path.split("/")[-1].split(".")[0])
            port = base.rsplit(":", 1)[1]
            chunk = items[f * per_feed : (f + 1) * per_feed]
            links = (
                (i, f"http://127.0.0.{1 + k % n_hosts}:{port}/c{c}/{i}.html", None)
                for k, (c, i) in enumerate(chunk)
            )
            return sites.rss("bench", base, links), "application/rss+xml", {}
        if path.endswith(".html"):
            body = pages[path.rsplit("/", 1)[1][:-5]]
            return body, "text/html; charset=utf-8", {"Content-Encoding": "gzip"}
        return None

    return sites.loopback_sites(sites.handler(route, keep_alive=True), n_hosts), len(items)


def serve_in_subprocess(
    pages: dict[str, bytes], copies: int, n_feeds: int, n_hosts: int
) -> tuple[multiprocessing.Process, int, int]:
    """The sites in their own process (the baseline loop does not pay for serving
    either), spread over ``n_hosts`` loopback addresses."""
    servers, n_items = serve(pages, copies, n_feeds, n_hosts)
    port = servers[0].server_address[1]
    return sites.serve_in_subprocess(servers), port, n_items


def baseline(pages: dict[str, bytes], rounds: int) -> list[float]:
    """Seconds of each of ``rounds`` passes over every page, in one process.

    With no rounds, trafilatura is not even imported, so a memory run's parent
    holds what ``newsmon poll`` holds.
    """
    if rounds <= 0:
        return []
    import trafilatura
    from lxml import etree
    from trafilatura import xpaths

    # Plain trafilatura, as shipped: this process never extracts through newsmon, so
    # its XPath expressions are lxml's, not the workers' compiled ones (monitor.xpathc).
    if not all(isinstance(x, etree.XPath) for x in xpaths.OVERALL_DISCARD_XPATH):
        raise SystemExit("the baseline must run trafilatura's own XPath expressions")
    bodies = [gzip.decompress(b).decode("utf-8", "replace") for b in pages.values()]
    trafilatura.bare_extraction(bodies[0], with_metadata=True)  # imports, caches
    passes = []
    for _ in range(rounds):
        start = time.perf_counter()
        for html in bodies:
            trafilatura.bare_extraction(html, with_metadata=True)
        passes.append(time.perf_counter() - start)
    return passes


def start_prefect(tmp: str) -> tuple[subprocess.Popen[bytes], str, float]:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS newsmon_bench_prefect WITH (FORCE)")
        conn.execute("CREATE DATABASE newsmon_bench_prefect")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(
        os.environ,
        PREFECT_HOME=str(Path(tmp) / "prefect"),
        PREFECT_API_DATABASE_CONNECTION_URL=PG,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_UI_ENABLED="false",
    )
    start = time.perf_counter()
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as resp:
                if resp.status == 200:
                    return proc, url, time.perf_counter() - start
        except OSError:
            time.sleep(0.25)
    proc.kill()
    raise SystemExit("Prefect server did not start within 180 s")


def warm_server(api: str, tmp: str, feed_url: str) -> float:
    """One short poll through the new server first, from its own process, into its own
    database: a production server has served earlier polls.

    A new server answers its first requests of each kind slowly (its caches, its
    connection pool, its lazy imports); on the first run, the flow's start took up
    to a second longer than on a server that had served one poll. The timed run
    stays a new process with a fresh database, as a scheduled run is.
    """
    env = dict(
        os.environ,
        PREFECT_API_URL=api,
        MONITOR_DATABASE_URL=f"sqlite:///{tmp}/warm-up.db",
    )
    start = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "newsmon"), "poll", "--feed", feed_url],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=600,
    )
    return time.perf_counter() - start


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process, its waited-for children included."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(f) for f in fields[11:15]) / ticks


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            kids = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        found += [int(k) for k in kids]
        todo += [int(k) for k in kids]
    return found


PARENT = "pipeline process (fetch, file, Prefect client)"


class Timeline:
    """CPU of each process sampled every ``step`` seconds during the run: shows where
    the cores idle (start-up, batch boundaries, the tail) rather than only how much."""

    def __init__(self, sample: Callable[[], dict[str, float]], step: float = 1.0) -> None:
        self.sample, self.step = sample, step
        self.rows: list[tuple[float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Timeline:
        self._start = time.perf_counter()
        self.rows.append((0.0, self.sample()))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.rows.append((time.perf_counter() - self._start, self.sample()))

    def _run(self) -> None:
        while not self._stop.wait(self.step):
            self.rows.append((time.perf_counter() - self._start, self.sample()))

    def format(self, cores: int) -> str:
        names = list(self.rows[0][1])
        short = {PARENT: "parent", "extraction workers": "workers"}
        head = "  ".join(f"{short.get(n, n.split()[0]):>8}" for n in names)
        lines = [f"    second  {head}   busy (share of {cores} cores)"]
        for (t0, a), (t1, b) in zip(self.rows, self.rows[1:], strict=False):
            dt = max(t1 - t0, 1e-9)
            used = {n: (b[n] - a.get(n, 0.0)) / dt for n in names}
            cells = "  ".join(f"{100 * used[n]:7.0f}%" for n in names)
            busy = sum(used.values()) / cores
            lines.append(
                f"  {t0:5.0f}-{t1:<3.0f} {cells}   {'#' * round(20 * busy):<20} {busy:4.0%}"
            )
        return "\n".join(lines)


def cpu_by_process(site_pid: int, prefect_pid: int | None) -> dict[str, float]:
    """CPU seconds so far of every process the run uses. The extraction workers are
    children of the forkserver; the Prefect server is a process tree of its own."""
    from multiprocessing import forkserver

    from monitor import analysis

    pool = analysis._pool  # the benchmark may look inside; the product never does
    workers = sorted((pool._processes or {}) if pool is not None else {})
    server = getattr(forkserver._forkserver, "_forkserver_pid", None)
    out = {
        PARENT: _cpu_s(os.getpid()),
        "extraction workers": sum(_cpu_s(w) for w in workers),
        "forkserver": _cpu_s(server) if server else 0.0,
        "benchmark's web sites": _cpu_s(site_pid),
    }
    if prefect_pid is not None:
        out["Prefect server"] = sum(_cpu_s(p) for p in [prefect_pid, *_descendants(prefect_pid)])
    return out


class FirstPage:
    """When the run sent its first page to an extraction worker: everything before it
    (Prefect's import and flow start, planning, the first feeds) is the run's fixed
    start, which a longer poll spreads over more articles."""

    def __init__(self) -> None:
        self.at: float | None = None

    def __enter__(self) -> FirstPage:
        from monitor import analysis

        self._module, self._submit = analysis, analysis.submit

        def submit(*args: Any, **kwargs: Any) -> Any:
            if self.at is None:
                self.at = time.perf_counter()
            return self._submit(*args, **kwargs)

        analysis.submit = submit  # the benchmark may look inside; the product never does
        return self

    def __exit__(self, *exc: object) -> None:
        self._module.submit = self._submit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--copies",
        type=int,
        default=19,
        help="extra copies of each page (default 19: 3,620 items; 4 gives 905)",
    )
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--hosts", type=int, default=10, help="loopback sites serving pages")
    parser.add_argument(
        "--baseline-rounds", type=int, default=3, help="baseline passes before the run"
    )
    parser.add_argument(
        "--baseline-after",
        type=int,
        default=2,
        help="baseline passes after the run; the ratio uses the fastest pass of all",
    )
    parser.add_argument("--prefect-api", help="use this running Prefect API")
    parser.add_argument("--no-prefect", action="store_true", help="pipeline.run_poll only")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--batch-size", type=int, help="poll.batch_size (default: the product's)")
    parser.add_argument(
        "--warm-process",
        action="store_true",
        help="import Prefect and the flows before timing, as a run `newsmon serve` forks"
        " from its warm forkserver has them (default: timed, as `newsmon poll` pays them)",
    )
    parser.add_argument(
        "--cold-server",
        action="store_true",
        help="time the first run on the new server (default: one short poll warms it first)",
    )
    args = parser.parse_args()

    pages = load_pages(args.corpus)
    site, port, n_items = serve_in_subprocess(pages, args.copies, args.feeds, args.hosts)
    tmp = tempfile.mkdtemp(prefix="newsmon-bench-")
    cfg = Path(tmp) / "feeds.yaml"
    # Each site publishes its own feeds, as in a real configuration: feeds are spread
    # over the sites like the pages (per-host limits apply to feeds too).
    feed_urls = [
        f"http://127.0.0.{1 + f % args.hosts}:{port}/feed/{f}.xml" for f in range(args.feeds)
    ]
    cfg.write_text(
        "poll: {max_entries_per_feed: 100000"
        + (f", batch_size: {args.batch_size}" if args.batch_size else "")
        + "}\nfeeds:\n"
        + "".join(f"  - {{url: '{u}', name: bench{i}}}\n" for i, u in enumerate(feed_urls)),
        encoding="utf-8",
    )
    os.environ.update(
        MONITOR_CONFIG=str(cfg),
        MONITOR_DATABASE_URL=args.database_url or f"sqlite:///{tmp}/bench.db",
        MONITOR_HOST_INTERVAL_S="0",
        MONITOR_ALLOW_PRIVATE_NETWORKS="1",  # served from 127.0.0.x
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    print(
        f"items: {n_items} ({len(pages)} pages x {args.copies + 1}), feeds: {args.feeds}, "
        f"sites: {args.hosts}, "
        f"cores: {os.cpu_count()}"
    )

    before_passes = baseline(pages, args.baseline_rounds)
    print(
        "baseline: trafilatura.bare_extraction(with_metadata=True) as shipped; the workers"
        " run trafilatura's XPath expressions compiled (monitor/xpathc.py)"
    )
    print(
        f"baseline bare_extraction, 1 process, before the run: {len(pages)} pages per pass, "
        + ", ".join(f"{len(pages) / s:.2f}" for s in before_passes)
        + " articles/s"
    )

    from monitor import timing

    proc = None
    if args.no_prefect:
        from monitor import pipeline
        from monitor.config import load_settings

        runner = lambda: pipeline.run_poll(load_settings(), only=feed_urls)  # noqa: E731
        label = "pipeline.run_poll (no Prefect)"
    else:
        if args.prefect_api:
            api = args.prefect_api
        else:
            proc, api, startup = start_prefect(tmp)
            print(f"Prefect server start-up (PostgreSQL): {startup:.1f} s (not counted below)")
            if not args.cold_server:
                took = warm_server(api, tmp, feed_urls[0])
                print(f"server warmed by one earlier poll of one feed: {took:.1f} s (not counted)")
        os.environ["PREFECT_API_URL"] = api
        if args.warm_process:
            import flows.warm  # noqa: F401  (what a served run's process starts with)
        from flows.cli import poll_in_foreground
        from monitor.config import load_settings

        def runner() -> Any:  # exactly as `newsmon poll` runs it
            return poll_in_foreground(load_settings(), feed_urls)

        label = "poll-feeds flow on a Prefect server"
    try:
        timing.reset()
        before_mb = sites.rss_mb()
        fresh_peak = sites.reset_peak_rss()  # the baseline's own peak is not the pipeline's
        prefect_pid = proc.pid if proc is not None else None
        by_process = cpu_by_process(site.pid, prefect_pid)
        start = time.perf_counter()
        with (
            FirstPage() as first_page,
            Timeline(lambda: cpu_by_process(site.pid, prefect_pid)) as timeline,
        ):
            summary = runner()
        wall = time.perf_counter() - start
        after = cpu_by_process(site.pid, prefect_pid)
        by_process = {k: after[k] - by_process.get(k, 0.0) for k in after}
        parent_peak, worker_peaks = sites.peak_rss_mb(), sites.worker_peaks_mb()
    finally:
        if proc is not None:
            # The run's last log lines are still queued for the API: sent now, they
            # do not fail against a stopped server at exit ("Error logging to API").
            from prefect.logging.handlers import APILogWorker

            APILogWorker.drain_all(timeout=10)
            proc.terminate()
        site.terminate()
    # The cores' speed drifts over tens of seconds on this shared machine: passes on
    # both sides of the run, and the ratio against the fastest of them all.
    after_passes = baseline(pages, args.baseline_after)
    passes = before_passes + after_passes
    base_rate = len(pages) / min(passes) if passes else None  # none: a memory run
    print(
        "baseline passes after the run: "
        + (", ".join(f"{len(pages) / s:.2f}" for s in after_passes) or "none")
        + (f" articles/s; the fastest of all: {base_rate:.2f} articles/s" if base_rate else "")
    )
    done = len(summary.outcomes)
    rate = done / wall
    print(f"{label}: {done} articles in {wall:.1f} s = {rate:.2f} articles/s")
    print(f"  outcomes: {json.dumps(dict(summary.counts))}")
    if base_rate:
        print(
            f"ratio pipeline / single-process extraction: {rate / base_rate:.2f}  (target >= 1.6)"
        )
    if first_page.at is not None and base_rate:
        lead = first_page.at - start
        steady = done / max(wall - lead, 1e-9)
        print(
            f"  of which the fixed start: the first page reached a worker {lead:.2f} s in;"
            f" from there on {steady:.2f} articles/s = {steady / base_rate:.2f} x the baseline"
        )
    print(
        f"peak RSS during the run: parent {parent_peak:.0f} MB"
        + ("" if fresh_peak else " (since start)")
        + f" (before it: peak {before_mb:.0f} MB), extraction workers "
        + (", ".join(f"{mb:.0f} MB" for mb in worker_peaks) or "n/a")
    )
    parent_cpu = by_process[PARENT]
    print(
        f"CPU of the pipeline's own process (fetching, filing, Prefect client): "
        f"{parent_cpu:.1f} s = {1000 * parent_cpu / max(done, 1):.1f} ms/article"
    )
    total = sum(by_process.values())
    cores = os.cpu_count() or 1
    print(
        f"CPU by process during the run ({total:.1f} s = {1000 * total / max(done, 1):.1f}"
        f" ms/article; the {cores} cores give {cores * wall:.1f} s):"
    )
    for who, seconds in by_process.items():
        print(f"  {who:<48} {seconds:6.1f} s {1000 * seconds / max(done, 1):6.1f} ms/article")
    print("CPU by second of the run (100% = one core):")
    print(timeline.format(cores))
    print("where the time goes (worker stages: seconds in the workers, summed over them):")
    print(timing.format_table(wall))


if __name__ == "__main__":
    main()
