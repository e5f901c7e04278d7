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
from rich.markup import escape
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from monitor.config import Settings, load_settings
from monitor.db import open_database, session_factory
from monitor.errors import BadInputError, MonitorError

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
    """One line on stderr, then exit: ``message`` is shown as is, never read as rich markup.

    Messages quote what the user typed or what a page contained; rich would
    otherwise swallow ``[bold]`` or crash on ``[/]`` in them.
    """
    line = " ".join(message.split()) or "failed"
    err_console.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def checked_url(value: str, what: str = "URL", *, stored: bool = False) -> str:
    """``value`` if it is a usable URL, else a one-line error and exit 2, before any work.

    ``stored`` also accepts the ``seed://`` URLs of seed documents, for
    commands that look up an item already in the database.
    """
    from monitor.urls import check_input_url

    try:
        return check_input_url(value, what=what, schemes=("seed",) if stored else ())
    except BadInputError as exc:
        fail(str(exc), 2)


def get_settings(config: Path | None = None, *, stories: bool = False) -> Settings:
    """The validated settings, or a one-line error naming file and field (exit 2).

    ``stories`` also parses the story files, for commands that judge items:
    a broken story must stop them before they open the database or start a flow.
    """
    try:
        settings = load_settings(config)
        if stories:
            from monitor.story import load_stories

            load_stories(settings.story_paths)
    except MonitorError as exc:
        fail(str(exc), 2)
    return settings


def shown_database_url(url: str) -> str:
    """The database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even parsable: nothing to hide but the whole thing
        return "(unparsable database URL)"


def get_engine(settings: Settings) -> Engine:
    try:
        return open_database(settings.database_url)
    except Exception as exc:
        shown = shown_database_url(settings.database_url)
        fail(f"cannot open database {shown}: {exc}".splitlines()[0], 2)


@contextmanager
def db_session(
    config: Path | None = None, *, stories: bool = False
) -> Iterator[tuple[Settings, Session]]:
    """Settings and a session on the migrated database, disposed afterwards.

    The settings (and with ``stories`` the story files) are validated before
    the database is opened, so a bad file creates no database.
    """
    settings = get_settings(config, stories=stories)
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
