"""The ``newsmon`` console script's pipeline commands: poll, ingest, serve."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prefect_harness import REPO, PrefectServer, free_port, newsmon_bin, write_config
from typer.testing import CliRunner

from flows.cli import make_app
from monitor.demo import serve_demo

runner = CliRunner()


def test_the_app_has_the_pipeline_commands_with_examples() -> None:
    app = make_app()
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("poll", "ingest", "serve", "items"):
        assert name in result.output
    for name in ("poll", "ingest", "serve"):
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, result.output
        assert "Examples" in result.output


def test_importing_the_cli_does_not_import_prefect() -> None:
    """Read-only commands stay fast: Prefect is imported by the pipeline commands only."""
    code = "import sys, flows.cli; flows.cli.make_app(); print('prefect' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_bad_arguments_fail_with_one_line_and_exit_2(tmp_path: Path) -> None:
    app = make_app()
    result = runner.invoke(app, ["poll", "--feed", "ftp://example.org/feed"])
    assert result.exit_code == 2 and "--feed" in result.output
    result = runner.invoke(app, ["ingest", "not-a-url"])
    assert result.exit_code == 2
    bad = tmp_path / "feeds.yaml"
    bad.write_text("poll: {batch_size: 0}\n")
    result = runner.invoke(app, ["poll", "--config", str(bad)])
    assert result.exit_code == 2 and "batch_size" in result.output


def test_ingest_dry_run_prints_a_verdict_without_prefect_or_writes(tmp_path: Path) -> None:
    """``--dry-run`` skips Prefect (and its start-up) and writes nothing to the database."""
    db = tmp_path / "n.db"
    config = write_config(tmp_path / "feeds.yaml")
    script = f"""
import json, sys
from typer.testing import CliRunner
from flows.cli import make_app
from monitor.demo import serve_demo

def main():
    with serve_demo() as site:
        url = site.base + "/articles/000_b6b13f67510997b8.html"
        result = CliRunner().invoke(
            make_app(), ["ingest", url, "--dry-run", "--json", "--config", {str(config)!r}]
        )
    print(json.dumps({{"code": result.exit_code, "out": result.output,
                      "prefect": "prefect" in sys.modules}}))

if __name__ == "__main__":
    main()
"""
    (tmp_path / "dry.py").write_text(script)
    env = {**os.environ, "MONITOR_DATABASE_URL": f"sqlite:///{db}"}
    done = subprocess.run(
        [sys.executable, str(tmp_path / "dry.py")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, report["out"]
    assert report["prefect"] is False
    outcome = json.loads(report["out"])
    assert outcome["dry_run"] is True
    assert outcome["verdict"] == "filed"
    assert outcome["evidence"]["matches"]
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from articles")).scalar() == 0
    engine.dispose()


def _newsmon(server: PrefectServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the console script against the session's server, as an operator would.

    (A subprocess, not CliRunner: Prefect binds its log handlers to the stream it
    first sees, and CliRunner closes its stream after each call.)
    """
    env = server.client_env(MONITOR_DATABASE_URL=f"sqlite:///{tmp_path / 'n.db'}")
    return subprocess.run(
        [newsmon_bin(), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=180,
    )


@pytest.mark.slow
def test_poll_command_runs_the_flow_and_prints_the_summary(
    prefect_server: PrefectServer, tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/feed.xml"
    with serve_demo() as site:
        config = write_config(tmp_path / "feeds.yaml", feeds=[site.feed_url("originals"), dead])
        done = _newsmon(prefect_server, tmp_path, "poll", "--config", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Polled 2 feed(s)" in done.stdout
    assert "5 filed" in done.stdout and "3 off_story" in done.stdout
    assert "feed failed: feed.xml" in done.stdout


@pytest.mark.slow
def test_ingest_command_runs_the_flow_and_shows_evidence(
    prefect_server: PrefectServer, tmp_path: Path
) -> None:
    config = str(write_config(tmp_path / "feeds.yaml"))
    with serve_demo() as site:
        url = f"{site.base}/articles/001_cdb125e7a517a750.html"
        first = _newsmon(prefect_server, tmp_path, "ingest", url, "--config", config)
        again = _newsmon(prefect_server, tmp_path, "ingest", url, "--config", config, "--json")
        gone = _newsmon(
            prefect_server, tmp_path, "ingest", f"{site.base}/nope.html", "--config", config
        )
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.startswith("filed")
    assert "Evidence" in first.stdout and "score:" in first.stdout
    assert "dedup: no duplicate" in first.stdout
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["status"] != "failed"
    assert gone.returncode == 1 and gone.stdout.startswith("failed: ")


@pytest.mark.slow
def test_first_poll_on_a_fresh_machine_without_network_ends_with_a_summary(
    tmp_path: Path,
) -> None:
    """The README's first command: no PREFECT_API_URL (ephemeral API), no reachable feed."""
    feeds = [f"http://127.0.0.1:{free_port()}/rss{i}.xml" for i in range(3)]
    config = write_config(tmp_path / "feeds.yaml", feeds=feeds)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        {
            "PREFECT_HOME": str(tmp_path / "prefect-home"),  # a fresh machine's Prefect
            "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}",
        }
    )
    env.pop("DO_NOT_TRACK", None)  # main() must set the privacy defaults itself
    done = subprocess.run(
        [newsmon_bin(), "poll", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Polled 3 feed(s)" in done.stdout
    failures = [line for line in done.stdout.splitlines() if "feed failed:" in line]
    assert len(failures) == 3
    assert all(len(line) < 200 for line in failures)
