"""``newsmon review`` on both databases: list the queue, decide, decisions kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from monitor.cli import review as review_cli
from monitor.db import ArticleRow, OverrideRow, session_factory
from monitor.records import Label, Status, utcnow
from monitor.relevance import judge
from monitor.review import relevance_override
from monitor.story import load_story

STORY = Path(__file__).resolve().parents[2] / "config" / "stories" / "russia-dprk.yaml"

BORDERLINE_TITLE = "Japan doubles its defence budget"
BORDERLINE_TEXT = (
    "Tokyo approved a record defence budget on Friday to buy long-range missiles.\n\n"
    "Officials cited China, and the growing military cooperation between Russia and "
    "North Korea, including shells and troops sent to Moscow."
)


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    review_cli.register(app)

    @app.command("version")
    def version() -> None:  # a second command so "review" stays a sub-command
        """Unused."""

    return app


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> dict[str, str]:
    config = tmp_path / "feeds.yaml"
    config.write_text("feeds: []\n", encoding="utf-8")
    return {"MONITOR_CONFIG": str(config), "MONITOR_DATABASE_URL": db_url, "COLUMNS": "200"}


def _add(engine: Engine, url: str, status: Status, *, duplicate_of: int | None = None) -> int:
    judgement = judge(load_story(STORY), BORDERLINE_TITLE, BORDERLINE_TEXT)
    now = utcnow()
    with session_factory(engine)() as s:
        row = ArticleRow(
            canonical_url=url,
            url=url,
            title=BORDERLINE_TITLE,
            text=BORDERLINE_TEXT,
            site="example.org",
            language="en",
            first_seen_at=now,
            updated_at=now,
            status=status.value,
            story=judgement.story,
            verdict=judgement.label.value,
            relevance=judgement.score,
            evidence=judgement.evidence_json(),
            duplicate_of_id=duplicate_of,
        )
        s.add(row)
        s.commit()
        return row.id


def test_review_lists_items_with_evidence(
    app: typer.Typer, env: dict[str, str], engine: Engine
) -> None:
    _add(engine, "https://example.org/a", Status.REVIEW)
    _add(engine, "https://example.org/b", Status.FILED)
    result = CliRunner().invoke(app, ["review", "--json"], env=env)
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert [i["url"] for i in items] == ["https://example.org/a"]
    item = items[0]
    assert item["evidence"]["story"] == "russia-dprk"
    assert {m["group"] for m in item["evidence"]["matches"]} >= {"side_a", "side_b"}
    assert "sentence(s) name both sides" in item["summary"]

    table = CliRunner().invoke(app, ["review"], env=env)
    assert table.exit_code == 0, table.output
    assert "example.org/a" in table.stdout and "Russia" in table.stdout


def test_decide_on_story_files_and_is_kept(
    app: typer.Typer, env: dict[str, str], engine: Engine
) -> None:
    _add(engine, "https://example.org/a", Status.REVIEW)
    args = ["review", "decide", "https://example.org/a", "--on-story", "--note", "about NK shells"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    with session_factory(engine)() as s:
        row = s.scalars(select(ArticleRow)).one()
        assert (row.status, row.human_verdict) == ("filed", "on_story")
        override = s.scalars(select(OverrideRow)).one()
        assert (override.kind, override.value, override.note) == (
            "relevance",
            "on_story",
            "about NK shells",
        )
        assert relevance_override(s, "https://example.org/a") is Label.ON_STORY
    listed = CliRunner().invoke(app, ["review", "--json"], env=env)
    assert json.loads(listed.stdout) == []

    # Changing one's mind replaces the override instead of stacking a contradiction.
    again = CliRunner().invoke(
        app, ["review", "decide", "https://example.org/a", "--off-story"], env=env
    )
    assert again.exit_code == 0, again.output
    with session_factory(engine)() as s:
        assert s.scalars(select(ArticleRow.status)).one() == "off_story"
        assert [o.value for o in s.scalars(select(OverrideRow))] == ["off_story"]
        assert relevance_override(s, "https://example.org/a") is Label.OFF_STORY


def test_on_story_keeps_a_duplicate_a_duplicate(
    app: typer.Typer, env: dict[str, str], engine: Engine
) -> None:
    original = _add(engine, "https://example.org/original", Status.FILED)
    _add(engine, "https://example.org/repost", Status.REVIEW, duplicate_of=original)
    result = CliRunner().invoke(
        app, ["review", "decide", "https://example.org/repost", "--on-story"], env=env
    )
    assert result.exit_code == 0, result.output
    with session_factory(engine)() as s:
        row = s.scalars(select(ArticleRow).where(ArticleRow.id != original)).one()
        assert (row.status, row.human_verdict) == ("duplicate", "on_story")


def test_decide_errors_are_one_line(app: typer.Typer, env: dict[str, str], engine: Engine) -> None:
    _add(engine, "https://example.org/a", Status.REVIEW)
    both = CliRunner().invoke(
        app, ["review", "decide", "https://example.org/a", "--on-story", "--off-story"], env=env
    )
    assert both.exit_code == 2
    missing = CliRunner().invoke(
        app, ["review", "decide", "https://example.org/nope", "--off-story"], env=env
    )
    assert missing.exit_code == 1
    assert "no article with URL https://example.org/nope" in missing.output
    with session_factory(engine)() as s:
        assert s.scalars(select(ArticleRow.status)).one() == "review"
        assert s.scalars(select(OverrideRow)).all() == []
