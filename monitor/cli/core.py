"""Core commands: seed the database, show feed state, show the configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from monitor.cli.common import (
    ConfigOption,
    JsonOption,
    console,
    db_session,
    fail,
    get_settings,
    print_json,
)


def register(app: typer.Typer) -> None:
    app.command("seed")(seed)
    app.command("feeds")(feeds)
    app.command("config")(show_config)


def seed(
    config: ConfigOption = None,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Folder of seed .txt files.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """File the seed documents as the story's first items (idempotent).

    Examples:
      newsmon seed
      newsmon seed --dir tests/fixtures/seeds --json
    """
    from monitor.seeds import SEED_DIR, file_seeds

    folder = directory or SEED_DIR
    if not folder.is_dir():
        fail(f"--dir: folder not found: {folder}", 2)
    if not any(folder.glob("*.txt")):
        fail(f"--dir: no seed .txt file in {folder}", 2)
    with db_session(config, stories=True) as (settings, session):
        outcomes = file_seeds(settings, session, folder)
    if json:
        print_json(
            [
                {
                    "canonical_url": o.canonical_url,
                    "title": o.title,
                    "status": o.status.value,
                    "relevance": o.score,
                    "duplicate_of": o.duplicate_of,
                    "note": o.reason,
                }
                for o in outcomes
            ]
        )
        return
    table = Table(title=f"Seeds ({len(outcomes)})")
    for col in ("status", "score", "title", "note"):
        table.add_column(col)
    for o in outcomes:
        score = "" if o.score is None else f"{o.score:.2f}"
        table.add_row(o.status.value, score, escape(o.title[:80]), escape(o.reason or "filed now"))
    console.print(table)


def feeds(config: ConfigOption = None, json: JsonOption = False) -> None:
    """Show every feed with its poll state (last outcome, failures, next poll).

    Examples:
      newsmon feeds
      newsmon feeds --json
    """
    from sqlalchemy import select

    from monitor.db import FeedRow
    from monitor.store import sync_feeds

    with db_session(config) as (settings, session):
        sync_feeds(session, settings.feeds)
        session.commit()
        rows = list(session.scalars(select(FeedRow).order_by(FeedRow.id)))
        data = [
            {
                "url": r.url,
                "name": r.name,
                "language": r.language,
                "enabled": r.enabled,
                "interval_minutes": r.current_interval_minutes,
                "last_outcome": r.last_outcome,
                "last_status": r.last_status,
                "last_reason": r.last_reason,
                "failures": r.consecutive_failures,
                "last_polled_at": r.last_polled_at.isoformat() if r.last_polled_at else None,
                "next_poll_at": r.next_poll_at.isoformat() if r.next_poll_at else None,
            }
            for r in rows
        ]
    if json:
        print_json(data)
        return
    table = Table(title=f"Feeds ({len(data)})")
    for col in ("name", "lang", "last", "fails", "next poll", "reason"):
        table.add_column(col, overflow="fold")
    for d in data:
        table.add_row(  # reasons quote servers' answers: never read as markup
            escape(str(d["name"])[:40]),
            escape(str(d["language"] or "")),
            escape(str(d["last_outcome"] or "never")),
            str(d["failures"]),
            str(d["next_poll_at"] or "now")[:16],
            escape(str(d["last_reason"] or "")[:60]),
        )
    console.print(table)


def show_config(config: ConfigOption = None) -> None:
    """Validate the configuration and print it as the pipeline sees it (env applied).

    Examples:
      newsmon config
      MONITOR_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/test newsmon config
    """
    settings = get_settings(config, stories=True)
    print_json(settings.model_dump(mode="json"))
