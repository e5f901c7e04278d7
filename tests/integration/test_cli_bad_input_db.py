"""Bad input against an existing database (SQLite and PostgreSQL): no row changes.

The unit tests (tests/unit/test_cli_bad_input.py) show that bad input never
creates a database; here the database exists, holds the sample story, and
every rejected command must leave every row as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from outputs_sample import sample_story
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from flows.cli import make_app
from monitor.db import ArticleRow, OverrideRow, session_factory


def snapshot(engine: Engine) -> list[tuple[Any, ...]]:
    with session_factory(engine)() as session:
        articles = session.execute(
            select(
                ArticleRow.id,
                ArticleRow.status,
                ArticleRow.duplicate_of_id,
                ArticleRow.human_verdict,
                ArticleRow.updated_at,
            ).order_by(ArticleRow.id)
        ).all()
        overrides = session.execute(select(OverrideRow.id)).all()
    return [tuple(row) for row in articles] + [("overrides", len(overrides))]


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["review", "decide", "javascript:alert(1)", "--on-story"], 2, "unsupported scheme"),
        (["review", "decide", "https://unknown.example/a", "--off-story"], 1, "no article"),
        (["dedup", "mark-not-duplicate", "file:///etc/passwd"], 2, "unsupported scheme"),
        (
            ["dedup", "mark-duplicate-of", "https://aggregator.example/copie-sommet", "ftp://x/"],
            2,
            "ORIGINAL_URL: unsupported scheme",
        ),
        (
            ["dedup", "mark-duplicate-of", "https://aggregator.example/copie-sommet", "x y"],
            2,
            "ORIGINAL_URL: contains a space",
        ),
        (["ingest", "data:text/html,<b>x</b>"], 2, "unsupported scheme"),
        (["poll", "--feed", "https://a.example/rss", "--feed", ""], 2, "--feed: empty"),
        (["export", "--status", "filed,bogus"], 2, "unknown status 'bogus'"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else str(v),
)
def test_rejected_commands_change_no_row(
    db_url: str,
    engine: Engine,
    session: Session,
    tmp_path: Path,
    args: list[str],
    code: int,
    needle: str,
) -> None:
    sample_story(session)
    session.commit()
    before = snapshot(engine)
    config = tmp_path / "feeds.yaml"
    config.write_text("feeds: []\n", encoding="utf-8")
    out = tmp_path / "export.jsonl"
    extra = ["--out", str(out)] if args[0] == "export" else []
    result = CliRunner().invoke(
        make_app(),
        [*args, *extra],
        env={"MONITOR_DATABASE_URL": db_url, "MONITOR_CONFIG": str(config)},
    )
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert result.stdout == ""
    assert not out.exists()
    assert snapshot(engine) == before
