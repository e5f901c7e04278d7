"""`newsmon seed` files the five seeds as the story's first items, on both databases."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from monitor.cli import build_app
from monitor.config import BUNDLED_CONFIG


def run(db_url: str, *args: str) -> str:
    result = CliRunner().invoke(
        build_app(),
        list(args),
        env={"MONITOR_DATABASE_URL": db_url, "MONITOR_CONFIG": str(BUNDLED_CONFIG)},
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_seed_files_five_distinct_on_story_items_idempotently(db_url: str) -> None:
    first = json.loads(run(db_url, "seed", "--json"))
    assert len(first) == 5
    assert {s["status"] for s in first} == {"filed"}, first
    assert all(s["duplicate_of"] is None for s in first)
    assert all(s["canonical_url"].startswith("seed://") for s in first)
    titles = {s["title"] for s in first}
    assert len(titles) == 5 and all(t and t != "Étiquettes" for t in titles)

    again = json.loads(run(db_url, "seed", "--json"))
    assert [s["canonical_url"] for s in again] == [s["canonical_url"] for s in first]
    assert all(s["note"] == "already seeded" for s in again)

    items = json.loads(run(db_url, "items", "--json"))
    assert sorted(i["canonical_url"] for i in items) == sorted(s["canonical_url"] for s in first)
    assert all(i["language"] == "fr" for i in items)
    assert all(i["evidence"] and i["evidence"]["matches"] for i in items)


def test_feeds_command_lists_configured_feeds(db_url: str) -> None:
    feeds = json.loads(run(db_url, "feeds", "--json"))
    assert len(feeds) >= 10
    assert all(f["last_outcome"] is None for f in feeds)
