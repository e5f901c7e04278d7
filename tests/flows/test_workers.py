"""Scale-out: two workers on one process work pool, two concurrent polls of the same feeds.

Deploys with the project's own ``prefect.yaml`` (``prefect deploy``), starts two
``prefect worker`` processes the way docs/scaling.md says, and runs two
``poll-feeds`` flow runs over the same demo feeds at the same time. However the
two runs interleave, no page may be filed twice: the database ends with each
seed filed once, each repost a duplicate, and the runs' own counts add up to
that.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from prefect_harness import (
    BIN,
    REPO,
    PrefectServer,
    Proc,
    start_process,
    wait_for,
    write_config,
)
from sqlalchemy import func, select

from monitor.db import ArticleRow, open_database, session_factory
from monitor.demo import serve_demo

pytestmark = pytest.mark.slow

POOL = "newsmon"  # the pool named in prefect.yaml
RUN_TIMEOUT_S = 180.0
#: Pages are held until both runs have read their first feed, at most this long (under
#: the fetcher's 15 s read timeout, so a held page is late, never failed).
GATE_TIMEOUT_S = 10.0


class BothRunsStarted:
    """Holds the demo's pages until every run has asked for the first feed.

    The two workers pick their runs up a second or more apart, and a poll of the
    demo takes about a second: left alone, one run could end before the other
    began, and the test would prove nothing. Held this way, neither run can file
    anything before the other is polling too.
    """

    def __init__(self, runs: int) -> None:
        self.runs = runs
        self.feed_reads = 0
        self.lock = threading.Lock()
        self.all_started = threading.Event()

    def __call__(self, path: str) -> None:
        if path.startswith("/originals.xml"):
            with self.lock:
                self.feed_reads += 1
                if self.feed_reads >= self.runs:
                    self.all_started.set()
        elif path.endswith(".html"):
            self.all_started.wait(GATE_TIMEOUT_S)


def _prefect(server: PrefectServer, *args: str, cwd: Path = REPO) -> str:
    done = subprocess.run(
        [str(BIN / "prefect"), "--no-prompt", *args],
        env=server.client_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def pool_deployment(prefect_server: PrefectServer) -> dict[str, object]:
    """``prefect.yaml``'s poll-feeds deployment on the process pool, schedule paused."""
    _prefect(prefect_server, "work-pool", "create", POOL, "--type", "process", "--overwrite")
    _prefect(prefect_server, "deploy", "--all")
    deployment = prefect_server.deployment("poll-feeds", "newsmon")
    assert deployment["work_pool_name"] == POOL
    assert deployment["entrypoint"] == "flows.poll.poll_feeds"
    # Only this test's two runs, not the schedule's, should reach the workers.
    prefect_server.api("POST", f"/deployments/{deployment['id']}/pause_deployment")
    for run in prefect_server.api(
        "POST",
        "/flow_runs/filter",
        json={
            "flow_runs": {
                "deployment_id": {"any_": [deployment["id"]]},
                "state": {"type": {"any_": ["SCHEDULED"]}},
            }
        },
    ):
        prefect_server.api("DELETE", f"/flow_runs/{run['id']}")
    return deployment


@pytest.fixture
def workers(
    prefect_server: PrefectServer, pool_deployment: dict[str, object], db_url: str, tmp_path: Path
) -> Iterator[list[Proc]]:
    """Two workers, each one run at a time, so two runs land on two workers."""
    # docs/scaling.md, step 3: migrate once before workers start (two first runs on an
    # empty database would both try to create the schema).
    open_database(db_url).dispose()
    config = write_config(tmp_path / "feeds.yaml", feeds=[])
    env = prefect_server.client_env(
        MONITOR_DATABASE_URL=db_url,
        MONITOR_CONFIG=str(config),
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_WORKER_PREFETCH_SECONDS="5",
    )
    procs = []
    for name in ("worker-a", "worker-b"):
        workdir = tmp_path / name  # workers need no checkout: entry points are module paths
        workdir.mkdir()
        procs.append(
            start_process(
                [
                    str(BIN / "prefect"),
                    "worker",
                    "start",
                    "--pool",
                    POOL,
                    "--name",
                    name,
                    "--type",
                    "process",
                    "--limit",
                    "1",
                ],
                env,
                workdir / "worker.log",
                workdir,
            )
        )
    try:

        def online() -> bool:
            for proc in procs:
                if not proc.alive():
                    raise AssertionError(f"worker exited:\n{proc.tail()}")
            listed = prefect_server.api("POST", f"/work_pools/{POOL}/workers/filter", json={})
            up = {w["name"] for w in listed if w["status"] == "ONLINE"}
            return {"worker-a", "worker-b"} <= up

        wait_for(online, 90, "both workers to come online", 0.5)
        yield procs
    finally:
        for proc in procs:
            proc.stop()


def _interval(run: dict[str, object]) -> tuple[float, float]:
    def ts(value: object) -> float:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()

    return ts(run["start_time"]), ts(run["end_time"])


def test_two_workers_two_concurrent_polls_file_nothing_twice(
    prefect_server: PrefectServer,
    pool_deployment: dict[str, object],
    workers: list[Proc],
    db_url: str,
) -> None:
    gate = BothRunsStarted(runs=2)
    with serve_demo(before_answer=gate) as site:
        feeds = [site.feed_url("originals"), site.feed_url("reposts")]
        run_ids = [
            prefect_server.api(
                "POST",
                f"/deployments/{pool_deployment['id']}/create_flow_run",
                json={"parameters": {"feeds": feeds}},
            )["id"]
            for _ in range(2)
        ]
        runs = [prefect_server.wait_final(str(r), RUN_TIMEOUT_S) for r in run_ids]

    logs = "\n\n".join(w.tail() for w in workers)
    for run in runs:
        assert run["state"]["type"] == "COMPLETED", f"{run['state']}\n{logs}"
    # They really overlapped (two workers, one run each), or the test proves nothing.
    assert gate.all_started.is_set(), f"the second run never read the feed:\n{logs}"
    (a0, a1), (b0, b1) = (_interval(r) for r in runs)
    assert a0 < b1 and b0 < a1, f"runs did not overlap: {runs}"

    engine = open_database(db_url)
    try:
        with session_factory(engine)() as session:
            by_status = dict(
                session.execute(
                    select(ArticleRow.status, func.count()).group_by(ArticleRow.status)
                ).all()
            )
            urls = session.scalars(select(ArticleRow.canonical_url)).all()
    finally:
        engine.dispose()
    assert len(urls) == len(set(urls)) == 13
    assert by_status == {"filed": 5, "duplicate": 5, "off_story": 3}

    # Each run's dashboard counts: together they filed each seed exactly once.
    filed_total = 0
    for run_id in run_ids:
        counts_artifact = next(
            a for a in prefect_server.artifacts(str(run_id)) if a["key"] == "newsmon-counts"
        )
        data = counts_artifact["data"]
        rows = json.loads(data) if isinstance(data, str) else data
        filed_total += next(r["count"] for r in rows if r["outcome"] == "new (filed)")
    assert filed_total == 5
