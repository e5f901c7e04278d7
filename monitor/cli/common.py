"""Helpers shared by the CLI commands: options, settings, database, output.

Read-only commands (items, export, report, review, dedup explain) open the
database directly; they never import Prefect, so they answer in well under a
second. Errors from the library are shown as one line and a non-zero exit.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from monitor.config import Settings, load_settings
from monitor.db import open_database, session_factory
from monitor.errors import MonitorError

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (default: $MONITOR_CONFIG, else ./config/feeds.yaml).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def get_settings(config: Path | None = None) -> Settings:
    try:
        return load_settings(config)
    except MonitorError as exc:
        fail(str(exc), 2)


def get_engine(settings: Settings) -> Engine:
    try:
        return open_database(settings.database_url)
    except Exception as exc:
        fail(f"cannot open database {settings.database_url}: {exc}".splitlines()[0], 2)


@contextmanager
def db_session(config: Path | None = None) -> Iterator[tuple[Settings, Session]]:
    """Settings and a session on the migrated database, disposed afterwards."""
    settings = get_settings(config)
    engine = get_engine(settings)
    try:
        with session_factory(engine)() as session:
            yield settings, session
    except MonitorError as exc:
        fail(str(exc))
    finally:
        engine.dispose()


def print_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
