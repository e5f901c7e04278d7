"""``newsmon dedup explain / mark-*`` through typer's CliRunner, on both databases."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from monitor.cli import build_app
from monitor.config import DedupSettings
from monitor.db import ArticleRow
from tests.dedup_replay import START, file_item, load_items

Run = Callable[..., tuple[int, str, str]]
BY_ID = {i.id: i for i in load_items()}


@pytest.fixture
def run(db_url: str, session: Session, tmp_path: Path) -> Run:
    settings = DedupSettings()
    for n, item_id in enumerate(["seed001", "seed002", "seed001__teaser", "seed002__typos"]):
        file_item(session, BY_ID[item_id], START + timedelta(hours=n), settings)
    session.commit()
    config = tmp_path / "feeds.yaml"
    config.write_text(f"feeds: []\ndata_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    env = {"MONITOR_DATABASE_URL": db_url, "MONITOR_CONFIG": str(config), "COLUMNS": "200"}
    runner, app = CliRunner(), build_app()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args), env=env)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_explain_shows_original_method_score_and_candidates(run: Run) -> None:
    teaser, seed = BY_ID["seed001__teaser"].url, BY_ID["seed001"].url
    code, out, _ = run("dedup", "explain", teaser)
    assert code == 0, out
    assert f"original   {seed}" in out
    assert "method=containment" in out and "threshold=0.80" in out
    assert "candidates 1 considered" in out

    code, out, _ = run("dedup", "explain", teaser, "--json")
    data = json.loads(out)
    assert data["original_url"] == seed and data["method"] == "containment"
    assert data["score"] >= data["threshold"] == 0.8
    assert [c["canonical_url"] for c in data["candidates"]] == [seed]

    code, out, _ = run("dedup", "explain", seed, "--json")
    assert json.loads(out)["duplicates"] == [teaser]


def test_unknown_url_fails_with_one_line(run: Run) -> None:
    code, _, err = run("dedup", "explain", "https://nowhere.example/x")
    assert code == 1 and "no article with URL https://nowhere.example/x" in err


def test_overrides_update_the_row_and_are_explained(run: Run, session: Session) -> None:
    typo, seed2, seed1 = (BY_ID[i].url for i in ("seed002__typos", "seed002", "seed001"))
    code, out, _ = run("dedup", "mark-not-duplicate", typo, "--note", "another edition")
    assert code == 0 and "not a duplicate, status filed" in out
    code, out, _ = run("dedup", "explain", typo, "--json")
    data = json.loads(out)
    assert data["status"] == "filed" and data["original_url"] is None
    assert data["override"]["value"] == "not_duplicate"
    assert data["override"]["note"] == "another edition"

    code, out, _ = run("dedup", "mark-duplicate-of", seed2, seed1)
    assert code == 0 and f"duplicate of {seed1}, status duplicate" in out
    session.expire_all()
    row = session.query(ArticleRow).filter_by(canonical_url=seed2).one()
    assert (row.status, row.dup_method) == ("duplicate", "override")

    code, _, err = run("dedup", "mark-duplicate-of", seed1, seed2)
    assert code == 1 and "mark it not-duplicate first" in err
