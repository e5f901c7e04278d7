"""docker-compose.yml, Dockerfile and prefect.yaml refer only to things that exist.

No Docker here: the files are parsed and every command, entry point, variable
and path they name is checked against the project (the CLI's commands and
options, the variables the config reads, Prefect's settings, files on disk).
The same services run natively in tests/flows (Prefect server on PostgreSQL,
``newsmon serve``, workers) with the same environment.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
PREFECT_YAML = ROOT / "prefect.yaml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _config_variables() -> set[str]:
    """The MONITOR_* variables monitor.config actually reads."""
    source = (ROOT / "monitor" / "config.py").read_text(encoding="utf-8")
    return set(re.findall(r"\"(MONITOR_[A-Z_]+)\"", source))


def _prefect_settings() -> set[str]:
    from prefect.settings import Settings
    from prefect.settings.legacy import _get_valid_setting_names

    return set(_get_valid_setting_names(Settings))


def _check_newsmon_command(argv: list[str]) -> None:
    """The subcommand exists and its options parse (``--help`` still validates them)."""
    from flows.cli import make_app

    assert argv[0] == "newsmon", argv
    result = CliRunner().invoke(make_app(), [*argv[1:], "--help"])
    assert result.exit_code == 0, f"{' '.join(argv)}: {result.output}"


def test_services_images_and_commands(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "prefect-server", "newsmon"} <= set(services)

    server = services["prefect-server"]
    assert server["image"].startswith("prefecthq/prefect:3.8.")
    argv = _argv(server["command"])
    assert argv[:3] == ["prefect", "server", "start"]
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    db = _env(server)["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert db.startswith("postgresql+asyncpg://") and "@postgres:5432/" in db

    newsmon = services["newsmon"]
    assert newsmon["build"] == "."
    argv = _argv(newsmon["command"])
    assert argv[:2] == ["newsmon", "serve"]
    _check_newsmon_command(argv)
    env = _env(newsmon)
    assert env["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    assert env["MONITOR_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in env["MONITOR_DATABASE_URL"]


def test_every_service_has_a_healthcheck_and_waits_for_healthy_dependencies(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name, service in services.items():
        test = service.get("healthcheck", {}).get("test")
        assert test, f"{name} has no healthcheck"
        for dep, cond in (service.get("depends_on") or {}).items():
            assert dep in services
            assert cond["condition"] == "service_healthy", f"{name} -> {dep}"
    # The newsmon healthcheck asks the runner's /health endpoint, which must be on.
    newsmon = services["newsmon"]
    env = _env(newsmon)
    assert env["PREFECT_RUNNER_SERVER_ENABLE"] == "true"
    assert f":{env['PREFECT_RUNNER_SERVER_PORT']}/health" in " ".join(
        newsmon["healthcheck"]["test"]
    )


def test_analytics_are_off_everywhere(compose: dict[str, Any]) -> None:
    for name in ("prefect-server", "newsmon"):
        env = _env(compose["services"][name])
        assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false", name
        assert env["DO_NOT_TRACK"] == "1", name
    env_lines = dict(
        pair.split("=", 1)
        for word, rest in _dockerfile_instructions()
        if word == "ENV"
        for pair in rest.split()
    )
    assert env_lines["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert env_lines["DO_NOT_TRACK"] == "1"


def test_variables_are_ones_the_code_reads(compose: dict[str, Any]) -> None:
    monitor_vars = _config_variables()
    assert {"MONITOR_DATABASE_URL", "MONITOR_CONFIG", "MONITOR_DATA_DIR"} <= monitor_vars
    prefect_vars = _prefect_settings()
    for name, service in compose["services"].items():
        for var in _env(service):
            if var.startswith("MONITOR_"):
                assert var in monitor_vars, f"{name}: {var} is not read by monitor.config"
            elif var.startswith("PREFECT_"):
                assert var in prefect_vars, f"{name}: {var} is not a Prefect setting"
            else:
                assert var in {"DO_NOT_TRACK"} or name == "postgres", f"{name}: {var}?"
    for word, rest in _dockerfile_instructions():
        if word == "ENV":
            for var in (pair.split("=", 1)[0] for pair in rest.split()):
                if var.startswith("MONITOR_"):
                    assert var in monitor_vars, var


def test_volumes_and_mounted_files_exist(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in declared, f"{name}: volume {source} not declared"
    assert {"postgres-data", "newsmon-data"} <= declared
    init = (ROOT / "docker" / "postgres" / "init-prefect.sql").read_text(encoding="utf-8")
    prefect_db = _env(compose["services"]["prefect-server"])["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert f"CREATE DATABASE {prefect_db.rsplit('/', 1)[1]}" in init


def test_dockerfile_copies_existing_files_and_runs_a_real_command() -> None:
    instructions = _dockerfile_instructions()
    copies = [rest for word, rest in instructions if word == "COPY"]
    assert copies
    for rest in copies:
        *sources, _dest = rest.split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY source {source} does not exist"
    copied = {s.rstrip("/") for rest in copies for s in rest.split()[:-1]}
    # What the package needs at run time beside itself (migrations, default config).
    assert {"monitor", "flows", "migrations", "alembic.ini", "config", "pyproject.toml"} <= copied
    cmd = next(rest for word, rest in instructions if word == "CMD")
    argv = yaml.safe_load(cmd)  # exec form is a JSON list
    _check_newsmon_command(argv)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["newsmon"] == "flows.cli:main"


def test_prefect_yaml_deploys_the_real_flows_to_a_process_pool() -> None:
    import importlib

    data = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    assert data["pull"] == [], "workers import the installed package: no pull steps"
    flows = {}
    for deployment in data["deployments"]:
        module, _, attr = deployment["entrypoint"].rpartition(".")
        flow = getattr(importlib.import_module(module), attr)
        flows[flow.name] = deployment
        assert deployment["work_pool"]["name"] == "newsmon"
        assert deployment["name"] == "newsmon"  # same names as `newsmon serve`
    assert set(flows) == {"poll-feeds", "ingest-url"}
    assert flows["poll-feeds"]["schedules"], "poll-feeds runs on a schedule"
    assert not flows["ingest-url"].get("schedules"), "ingest-url runs by hand"
