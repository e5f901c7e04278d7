"""Helpers for the flow tests: subprocesses, polling with a deadline, Prefect REST.

Shared by ``tests/flows/conftest.py`` (the session's Prefect server) and the
tests. Subprocesses get their own process group, so stopping one also stops
the flow-run processes it started, and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get(
    "MONITOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PREFECT_DB = "prefect_newsmon_test"
SERVER_START_TIMEOUT_S = 180.0
BIN = Path(sys.executable).parent

#: The variables compose sets on every Prefect process (see docker-compose.yml).
PRIVACY_ENV = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll ``check`` until it returns something truthy, or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # not ready yet
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} ({last_error})")


@dataclass
class Proc:
    """A subprocess started by a test, in its own process group, with its log file."""

    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM to the group we started, then SIGKILL if it lingers."""
        if self.popen.poll() is not None:
            return
        pgid = os.getpgid(self.popen.pid)
        os.killpg(pgid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        else:  # children of the group (flow-run subprocesses) may outlive the leader
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)


def start_process(args: list[str], env: dict[str, str], log: Path, cwd: Path) -> Proc:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        popen = subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Proc(popen, log)


@dataclass
class PrefectServer:
    url: str  # http://127.0.0.1:PORT/api
    env: dict[str, str]  # the client environment: PREFECT_API_URL and friends
    workdir: Path
    proc: Proc
    started_in_s: float
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def deployment(self, flow: str, name: str) -> dict[str, Any]:
        return dict(self.api("GET", f"/deployments/name/{flow}/{name}"))

    def flow_run(self, run_id: str) -> dict[str, Any]:
        return dict(self.api("GET", f"/flow_runs/{run_id}"))

    def wait_final(self, run_id: str, timeout: float) -> dict[str, Any]:
        def final() -> dict[str, Any] | None:
            run = self.flow_run(run_id)
            state = run.get("state") or {}
            return run if state.get("type") in FINAL_STATES else None

        run: dict[str, Any] = wait_for(final, timeout, f"flow run {run_id} to finish", 0.1)
        return run

    def artifacts(self, run_id: str) -> list[dict[str, Any]]:
        body = {"artifacts": {"flow_run_id": {"any_": [run_id]}}, "sort": "CREATED_DESC"}
        return list(self.api("POST", "/artifacts/filter", json=body))

    def client_env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        env.update(extra)
        return env


FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def newsmon_bin() -> str:
    found = shutil.which("newsmon", path=str(BIN))
    assert found, f"the newsmon console script is not installed in {BIN}"
    return found


def write_config(path: Path, *, feeds: Sequence[str] = (), **sections: dict[str, Any]) -> Path:
    """A config for tests: the repository's story files, no host spacing, given feeds."""
    import yaml

    stories = sorted(str(p) for p in (REPO / "config" / "stories").glob("*.yaml"))
    data: dict[str, Any] = {
        "stories": stories,
        "fetch": {"host_interval_s": 0, "connect_timeout_s": 3, "read_timeout_s": 10},
        "poll": {"schedule_minutes": 60},
        "serve": {"run_limit": 4, "query_seconds": 0.5},
        "feeds": [{"url": u, "name": u.rsplit("/", 1)[-1]} for u in feeds],
    }
    for key, value in sections.items():
        data.setdefault(key, {}).update(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path
