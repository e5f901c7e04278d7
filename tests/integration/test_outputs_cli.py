"""``newsmon items / export / report`` through typer's CliRunner, on both databases."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest
from outputs_sample import sample_story
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from monitor.cli import build_app


@pytest.fixture
def run(db_url: str, session: Session, tmp_path: Path) -> object:
    """Invoke the CLI against the sample story; returns (exit code, stdout, stderr)."""
    sample_story(session)
    config = tmp_path / "feeds.yaml"
    config.write_text(f"feeds: []\ndata_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    env = {"MONITOR_DATABASE_URL": db_url, "MONITOR_CONFIG": str(config), "COLUMNS": "200"}
    runner = CliRunner()
    app = build_app()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args), env=env)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_items_table_and_json_with_filters(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("items")
    assert code == 0
    assert "Путин и Ким" in out and "93.5 (near_body) copy of lemonde" in out

    code, out, _ = run("items", "--status", "filed", "--json")
    assert code == 0
    data = json.loads(out)
    assert [d["site"] for d in data] == ["www.nknews.example", "tass.example", "lemonde.example"]

    code, out, _ = run("items", "--json", "--language", "fr", "--search", "PACTE", "-n", "1")
    data = json.loads(out)
    assert len(data) == 1 and data[0]["language"] == "fr"

    code, out, _ = run("items", "--json", "--site", "rfi.example", "--status", "review,failed")
    assert {d["status"] for d in json.loads(out)} == {"review", "failed"}

    code, out, _ = run("items", "--since", "2099-01-01")
    assert code == 0 and "No items match" in out


def test_bad_options_fail_with_one_line(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("items", "--status", "published")
    assert code == 2 and "unknown status 'published'" in err
    code, _, err = run("items", "--since", "yesterday-ish")
    assert code == 2 and "--since" in err
    code, _, err = run("export", "--format", "xml")
    assert code == 2 and "--format" in err
    code, _, err = run("report", "--by", "weather")
    assert code == 2 and "--by" in err


def test_export_jsonl_csv_atom(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("export", "--format", "jsonl")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 8
    by_title = {r["title"]: r for r in records}
    copy = by_title["Poutine et Kim signent un pacte (reprise)"]
    assert copy["duplicate_of"] == "https://lemonde.example/sommet-moscou-pyongyang"
    assert copy["dup_method"] == "near_body" and copy["dup_score"] == 93.5
    for field in (
        "url", "canonical_url", "title", "status", "duplicate_of", "text", "relevance",
        "evidence", "language", "site", "author", "published_at", "fetched_at",
        "extraction_method", "id", "description", "verdict", "dup_method", "dup_score",
        "first_seen_at", "story", "fail_reason",
    ):  # fmt: skip
        assert field in copy, field

    target = tmp_path / "out" / "filed.csv"
    code, out, err = run("export", "-f", "csv", "--status", "filed", "--out", str(target))
    assert code == 0 and out == "" and "wrote 3 item(s)" in err
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [r["status"] for r in rows] == ["filed"] * 3
    assert json.loads(rows[0]["evidence"])["story"] == "russia-dprk"

    code, out, _ = run("export", "--format", "atom")
    assert code == 0
    root = ET.fromstring(out.encode("utf-8"))
    assert len(root.findall("{http://www.w3.org/2005/Atom}entry")) == 3  # on-story only
    parsed = feedparser.parse(out)
    assert not parsed.bozo
    code, out, _ = run("export", "--format", "atom", "--status", "duplicate")
    assert len(feedparser.parse(out).entries) == 2


def test_report_writes_html_and_prints_its_path(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("report", "--out", str(tmp_path / "rep"), "--by", "source")
    assert code == 0
    path = Path(out.strip())
    assert path == (tmp_path / "rep" / "report.html").resolve()
    html = path.read_text(encoding="utf-8")
    assert "<svg" in html and "Sommet Moscou–Pyongyang" in html

    code, out, _ = run("report", "--json")  # default folder: <data_dir>/reports
    data = json.loads(out)
    assert data["path"] == str((tmp_path / "data" / "reports" / "report.html").resolve())
    assert data["filed"] == 3 and data["reposts"] == 2


def test_read_only_commands_import_nothing_heavy() -> None:
    code = (
        "import sys; from monitor.cli import build_app; import monitor.cli.outputs, "
        "monitor.views, monitor.export, monitor.report, monitor.report_html; "
        "heavy = [m for m in ('prefect', 'trafilatura', 'apprise', 'feedparser') "
        "if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
