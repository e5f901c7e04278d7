"""``newsmon serve`` end to end: trigger ingest-url through the API like the dashboard does.

Real components only: the session's Prefect server (on PostgreSQL), ``newsmon
serve`` as a subprocess with the compose environment, pages from the demo site
on 127.0.0.1, the newsmon database on SQLite or PostgreSQL. The test checks the
run's state and name, the article row, and the verdict artifact through the
REST API, as an operator would see them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect_harness import PrefectServer, Proc, newsmon_bin, start_process, wait_for, write_config
from sqlalchemy import select

from monitor.db import ArticleRow, open_database, session_factory
from monitor.demo import DemoSite, serve_demo

pytestmark = pytest.mark.slow

SERVE_START_TIMEOUT_S = 90.0
RUN_TIMEOUT_S = 120.0


@pytest.fixture
def demo_site() -> Iterator[DemoSite]:
    with serve_demo() as site:
        yield site


@pytest.fixture
def served(
    prefect_server: PrefectServer, db_url: str, tmp_path: Path
) -> Iterator[tuple[Proc, dict[str, object]]]:
    """``newsmon serve`` running, both deployments registered; yields (process, ingest-url)."""
    config = write_config(tmp_path / "feeds.yaml", feeds=[])
    env = prefect_server.client_env(MONITOR_DATABASE_URL=db_url)
    before = time.time()
    proc = start_process(
        [newsmon_bin(), "serve", "--config", str(config), "--no-feed-server"],
        env,
        tmp_path / "serve.log",
        tmp_path,
    )

    def registered() -> dict[str, object] | None:
        if not proc.alive():
            raise AssertionError(f"newsmon serve exited:\n{proc.tail()}")
        dep = prefect_server.deployment("ingest-url", "newsmon")
        prefect_server.deployment("poll-feeds", "newsmon")
        # the previous serve's shutdown pauses the deployments: wait for this one's update
        updated = dep.get("updated") or ""
        return dep if updated and _ts(updated) > before and not dep["paused"] else None

    try:
        deployment = wait_for(registered, SERVE_START_TIMEOUT_S, "newsmon serve's deployments")
        yield proc, deployment
    finally:
        proc.stop()


def _ts(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _trigger(server: PrefectServer, deployment_id: str, **params: object) -> str:
    run = server.api(
        "POST", f"/deployments/{deployment_id}/create_flow_run", json={"parameters": params}
    )
    return str(run["id"])


def test_served_ingest_url_files_the_page_and_shows_its_verdict(
    prefect_server: PrefectServer,
    served: tuple[Proc, dict[str, object]],
    demo_site: DemoSite,
    db_url: str,
) -> None:
    proc, deployment = served
    assert deployment["paused"] is False
    poll = prefect_server.deployment("poll-feeds", "newsmon")
    assert poll["schedules"], "poll-feeds is served on a schedule"
    assert not deployment["schedules"], "ingest-url has no schedule"

    original = f"{demo_site.base}/articles/000_b6b13f67510997b8.html"
    run_id = _trigger(prefect_server, str(deployment["id"]), url=original)
    run = prefect_server.wait_final(run_id, RUN_TIMEOUT_S)
    assert run["state"]["type"] == "COMPLETED", f"{run['state']}\n{proc.tail()}"
    assert run["name"] == f"ingest {original.split('://', 1)[1]}"

    engine = open_database(db_url)
    try:
        with session_factory(engine)() as session:
            row = session.scalars(select(ArticleRow).where(ArticleRow.url == original)).one()
            assert row.status == "filed"
            assert row.evidence
    finally:
        engine.dispose()

    verdicts = [a for a in prefect_server.artifacts(run_id) if a["key"] == "newsmon-verdict"]
    assert len(verdicts) == 1 and verdicts[0]["type"] == "markdown"
    markdown = verdicts[0]["data"]
    assert "**Verdict: filed**" in markdown
    assert "| term | group | where | count |" in markdown
    assert row.title.split()[0] in markdown

    # A repost of it, triggered the same way: the verdict names the original.
    copy = f"{demo_site.base}/copies/000_b6b13f67510997b8-prefixed_title.html"
    run_id = _trigger(prefect_server, str(deployment["id"]), url=copy)
    run = prefect_server.wait_final(run_id, RUN_TIMEOUT_S)
    assert run["state"]["type"] == "COMPLETED", f"{run['state']}\n{proc.tail()}"
    markdown = next(
        a["data"] for a in prefect_server.artifacts(run_id) if a["key"] == "newsmon-verdict"
    )
    assert "**Verdict: duplicate of " in markdown
    assert "## Duplicate check" in markdown
