"""A real Prefect server for the flow tests: one per test session, on PostgreSQL.

Starting a Prefect server costs 10-25 s here, so it is started once
(session scope) and shared; each test tells its runs apart by id. Its database
is a dedicated PostgreSQL database, dropped and re-created per session: Prefect
on SQLite stalls as soon as runs overlap, and the scale-out test overlaps them
on purpose. The server and everything started against it (``newsmon serve``,
workers) get the same environment as ``docker-compose.yml``: analytics off,
``PREFECT_API_URL`` pointing at it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prefect_harness import (
    BIN,
    PG_ADMIN_URL,
    PREFECT_DB,
    PRIVACY_ENV,
    SERVER_START_TIMEOUT_S,
    PrefectServer,
    free_port,
    start_process,
    wait_for,
)
from sqlalchemy import create_engine, text


def _pg_admin_or_skip() -> Any:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:
        reason = f"PostgreSQL unreachable at {PG_ADMIN_URL}: {exc}".splitlines()[0]
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run the Prefect tests)")
        pytest.skip(reason)
    return engine


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """``prefect server start`` on a fresh PostgreSQL database, shared by the session."""
    admin = _pg_admin_or_skip()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PREFECT_DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PREFECT_DB}"'))
    url = admin.url
    host, port_pg, user = url.host or "127.0.0.1", url.port or 5432, url.username or "postgres"
    password = f":{url.password}" if url.password else ""
    db_url = f"postgresql+asyncpg://{user}{password}@{host}:{port_pg}/{PREFECT_DB}"

    workdir = tmp_path_factory.mktemp("prefect")
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    common = {
        **PRIVACY_ENV,
        "PREFECT_HOME": str(workdir / "home"),
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    server_env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    server_env.update(common)
    server_env.update(
        {
            "PREFECT_API_DATABASE_CONNECTION_URL": db_url,
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        }
    )
    started = time.monotonic()
    proc = start_process(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        server_env,
        workdir / "server.log",
        workdir,
    )

    def healthy() -> bool:
        if not proc.alive():
            raise RuntimeError(f"prefect server exited:\n{proc.tail()}")
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200

    try:
        wait_for(healthy, SERVER_START_TIMEOUT_S, "the Prefect server to answer", 0.25)
    except BaseException:
        proc.stop()
        admin.dispose()
        raise
    server = PrefectServer(
        url=api_url,
        env={**common, "PREFECT_API_URL": api_url},
        workdir=workdir,
        proc=proc,
        started_in_s=time.monotonic() - started,
    )
    try:
        yield server
    finally:
        server.http.close()
        proc.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PREFECT_DB}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def prefect_api(prefect_server: PrefectServer) -> Iterator[PrefectServer]:
    """Flows run in *this* process talk to the session's server (not an ephemeral one)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    with temporary_settings(
        {PREFECT_API_URL: prefect_server.url, PREFECT_HOME: prefect_server.workdir / "home"}
    ):
        try:
            yield prefect_server
        finally:  # send this test's logs and events while the server still runs
            APILogWorker.drain_all(timeout=10, at_exit=False)
            EventsWorker.drain_all(timeout=10, at_exit=False)
