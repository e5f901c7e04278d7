"""Bad input on the command line: one line on stderr, exit 2, nothing written, no flow started.

Every command that takes a URL, a config file, a story file, a status filter
or an output format is fed something unusable. The database URL points at a
SQLite file under ``tmp_path`` that must still not exist afterwards: the
check runs before the database is opened (and before Prefect is imported).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import make_app
from monitor.errors import BadInputError
from monitor.urls import MAX_INPUT_URL, check_input_url

ROOT = Path(__file__).resolve().parents[2]
STORY = ROOT / "config" / "stories"

BAD_URLS = {
    "file": "file:///etc/passwd",
    "ftp": "ftp://example.org/feed.xml",
    "javascript": "javascript:alert(1)",
    "data": "data:text/html,<script>alert(1)</script>",
    "no-scheme": "example.org/article",
    "empty": "",
    "blank": "   ",
    "space": "https://example.org/an article",
    "space-in-host": "https://exa mple.org/a",
    "control": "https://example.org/a\x07b",
    "newline": "https://example.org/a\nb",
    "zero-width": "https://example.org/a\u200bb",
    "too-long": "https://example.org/" + "a" * MAX_INPUT_URL,
    "no-host": "http://",
    "one-slash": "http:/example.org/a",
    "bad-ipv6": "http://[::1/a",
    "bad-port": "http://example.org:99999/a",
    "bad-host": "http://exa..mple.org/a",
    "markup": "gopher://example.org/[bold]x[/]",
}

Invoke = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(tmp_path: Path) -> Invoke:
    """Run ``newsmon`` in-process; returns (exit code, stdout, stderr)."""
    config = tmp_path / "feeds.yaml"
    config.write_text(f"feeds: []\ndata_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    env = {
        "MONITOR_CONFIG": str(config),
        "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'db' / 'newsmon.db'}",
        "MONITOR_DATA_DIR": str(tmp_path / "data"),
        "MONITOR_STORIES": "",
        "COLUMNS": "100",
    }
    app = make_app()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, list(args), env=env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return invoke


def assert_one_line_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2, (code, out, err)
    assert out == "", out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, err)


def assert_nothing_written(tmp_path: Path) -> None:
    assert not (tmp_path / "db").exists(), "the database was created"
    assert not (tmp_path / "data").exists(), "the data folder was created"


# --- the shared validator --------------------------------------------------------------


@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_validator_rejects_with_one_line(url: str) -> None:
    with pytest.raises(BadInputError) as info:
        check_input_url(url, what="--feed")
    message = str(info.value)
    assert message.startswith("--feed: ") and "\n" not in message
    assert len(message) < 300  # an 8 KB URL is cut in the message


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/a",
        "HTTP://Example.ORG:8080/a?b=1#c",
        "https://exämple.org/é",
        "http://[::1]:8080/",
        "  https://example.org/padded  ",
    ],
)
def test_validator_accepts_http_urls(url: str) -> None:
    assert check_input_url(url) == url.strip()


def test_validator_names_the_scheme_and_what_is_accepted() -> None:
    with pytest.raises(BadInputError, match=r"unsupported scheme 'ftp' \(expected an http:// or"):
        check_input_url("ftp://example.org/")
    assert check_input_url("seed://001_abc", schemes=("seed",)) == "seed://001_abc"
    with pytest.raises(BadInputError, match="or seed://"):
        check_input_url("file:///x", schemes=("seed",))


# --- every command that takes a URL ----------------------------------------------------

URL_COMMANDS: dict[str, Callable[[str], list[str]]] = {
    "ingest": lambda u: ["ingest", u],
    "ingest --dry-run": lambda u: ["ingest", "--dry-run", u],
    "poll --feed": lambda u: ["poll", "--feed", "https://example.org/ok.xml", "--feed", u],
    "review decide": lambda u: ["review", "decide", u, "--on-story"],
    "dedup explain": lambda u: ["dedup", "explain", u],
    "dedup mark-not-duplicate": lambda u: ["dedup", "mark-not-duplicate", u],
    "dedup mark-duplicate-of (copy)": lambda u: [
        "dedup",
        "mark-duplicate-of",
        u,
        "https://example.org/original",
    ],
    "dedup mark-duplicate-of (original)": lambda u: [
        "dedup",
        "mark-duplicate-of",
        "https://example.org/copy",
        u,
    ],
}
LABEL = {"poll --feed": "--feed", "dedup mark-duplicate-of (original)": "ORIGINAL_URL"}


@pytest.mark.parametrize("command", URL_COMMANDS, ids=list(URL_COMMANDS))
@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_bad_url_fails_before_anything_runs(
    cli: Invoke, tmp_path: Path, command: str, url: str
) -> None:
    args = URL_COMMANDS[command](url)
    started = time.perf_counter()
    code, out, err = cli(*args)
    elapsed = time.perf_counter() - started
    assert_one_line_error(code, out, err, f"error: {LABEL.get(command, 'URL')}: ")
    if url.strip() and "\n" not in url:
        assert repr(url.strip())[:40] in err  # the offending value, as typed
    assert_nothing_written(tmp_path)
    assert elapsed < 2.0, elapsed  # validation, not a fetch or a flow run


def test_markup_in_a_bad_url_is_shown_literally(cli: Invoke) -> None:
    code, out, err = cli("ingest", "gopher://example.org/[bold]x[/]")
    assert_one_line_error(code, out, err, "'gopher://example.org/[bold]x[/]'")


def test_bad_url_never_imports_prefect(tmp_path: Path) -> None:
    """In a fresh interpreter: the error comes before any flow module (or Prefect) loads."""
    script = """
import io, json, sys, time
from contextlib import redirect_stderr
from flows.cli import main
results = []
for argv in (["ingest", "ftp://example.org/a"], ["ingest", "javascript:alert(1)"],
             ["poll", "--feed", "file:///etc/passwd"], ["ingest", "--dry-run", "x"]):
    sys.argv = ["newsmon", *argv]
    err = io.StringIO()
    started = time.perf_counter()
    try:
        with redirect_stderr(err):
            main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    results.append([code, err.getvalue(), time.perf_counter() - started])
for argv in (["ingest", "http://169.254.169.254/latest/meta-data/"],
             ["poll", "--feed", "http://127.0.0.1:8080/feed.xml"]):
    sys.argv = ["newsmon", *argv]
    err = io.StringIO()
    started = time.perf_counter()
    try:
        with redirect_stderr(err):
            main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    results.append([code, err.getvalue(), time.perf_counter() - started])
    assert "not a public address" in err.getvalue(), err.getvalue()
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "prefect" or m in (
    "flows.ingest", "flows.poll", "monitor.pipeline", "monitor.fetch"))
print(json.dumps({"results": results, "loaded": loaded}))
"""
    env = {
        "PATH": "/usr/bin:/bin",
        "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'db' / 'newsmon.db'}",
        "MONITOR_DATA_DIR": str(tmp_path / "data"),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "HOME": str(tmp_path),
        "MONITOR_ALLOW_PRIVATE_NETWORKS": "0",  # the metadata address is refused up front
    }
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert time.perf_counter() - started < 10
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["loaded"] == []
    for code, err, seconds in report["results"]:
        assert code == 2 and err.count("\n") == 1 and err.startswith("error: "), err
        assert seconds < 1.0
    assert_nothing_written(tmp_path)
    assert not (tmp_path / "prefect").exists()


# --- config files ----------------------------------------------------------------------

BAD_CONFIGS = {
    "yaml-syntax": ("feeds:\n  - url: https://a.org/rss\n    name: [unclosed\n", "invalid YAML"),
    "wrong-type": ("feeds: []\nfetch:\n  workers: many\n", "fetch.workers"),
    "negative": ("feeds:\n  - url: https://a.org/rss\n    interval_minutes: -5\n", "feeds.0"),
    "unknown-field": ("feeds: []\nfeeds_typo: 1\n", "feeds_typo: Extra inputs"),
    "top-level-list": ("- https://a.org/rss\n", "expected a mapping"),
    "feed-scheme": ("feeds:\n  - url: ftp://a.org/rss\n", "feeds.0.url"),
    "feed-space": ("feeds:\n  - url: 'https://a.org/r ss'\n", "feeds.0.url"),
    "not-utf8": (b"feeds: []\nname: \xff\xfe\n", "not UTF-8"),
}
CONFIG_COMMANDS = [
    ["items"],
    ["export"],
    ["report"],
    ["feeds"],
    ["config"],
    ["seed"],
    ["review"],
    ["dedup", "explain", "https://example.org/a"],
    ["ingest", "https://example.org/a"],
    ["ingest", "--dry-run", "https://example.org/a"],
    ["poll"],
    ["serve"],
]


@pytest.mark.parametrize("command", CONFIG_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("case", BAD_CONFIGS, ids=list(BAD_CONFIGS))
def test_bad_config_names_file_and_field(
    cli: Invoke, tmp_path: Path, command: list[str], case: str
) -> None:
    content, needle = BAD_CONFIGS[case]
    path = tmp_path / "bad.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    code, out, err = cli(*command, "--config", str(path))
    assert_one_line_error(code, out, err, f"error: {path}: ", needle)
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize("command", CONFIG_COMMANDS[:6], ids=" ".join)
def test_missing_config_file(cli: Invoke, tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "nope.yaml"
    code, out, err = cli(*command, "--config", str(missing))
    assert_one_line_error(code, out, err, f"{missing}: config file not found")
    assert_nothing_written(tmp_path)


# --- story files -----------------------------------------------------------------------

BAD_STORIES = {
    "yaml-syntax": ("id: x\nname: [unclosed\n", "invalid YAML"),
    "wrong-type": ("id: x\nname: X\nsides: 3\n", "sides"),
    "unknown-field": (
        (STORY / "russia-dprk.yaml").read_text(encoding="utf-8") + "\nsidez: []\n",
        "sidez: Extra inputs",
    ),
    "not-a-mapping": ("- a\n- b\n", "expected a mapping"),
    "empty": ("", "expected a mapping"),
}
STORY_COMMANDS = [
    ["config"],
    ["seed"],
    ["ingest", "https://example.org/a"],
    ["ingest", "--dry-run", "https://example.org/a"],
    ["poll"],
    ["serve"],
]


@pytest.mark.parametrize("command", STORY_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("case", BAD_STORIES, ids=list(BAD_STORIES))
def test_bad_story_names_file_and_field(
    cli: Invoke, tmp_path: Path, command: list[str], case: str
) -> None:
    content, needle = BAD_STORIES[case]
    story = tmp_path / "stories" / "bad.yaml"
    story.parent.mkdir()
    story.write_text(content, encoding="utf-8")
    config = tmp_path / "with-story.yaml"
    config.write_text("feeds: []\nstories: [stories/bad.yaml]\n", encoding="utf-8")
    code, out, err = cli(*command, "--config", str(config))
    assert_one_line_error(code, out, err, f"error: {story}: ", needle)
    assert_nothing_written(tmp_path)


def test_missing_story_file(cli: Invoke, tmp_path: Path) -> None:
    config = tmp_path / "with-story.yaml"
    config.write_text("feeds: []\nstories: [stories/gone.yaml]\n", encoding="utf-8")
    code, out, err = cli("ingest", "https://example.org/a", "--config", str(config))
    assert_one_line_error(code, out, err, f"{config}: stories: story file not found")
    assert_nothing_written(tmp_path)


# --- options ---------------------------------------------------------------------------

STATUSES = "duplicate, failed, filed, off_story"


@pytest.mark.parametrize(
    "args",
    [
        ["items", "--status", "published"],
        ["items", "--status", "filed,published"],
        ["items", "-s", "filed", "-s", "published"],
        ["export", "--status", "published"],
        ["export", "--format", "atom", "--status", "published"],
    ],
    ids=" ".join,
)
def test_unknown_status_names_value_and_accepted_values(
    cli: Invoke, tmp_path: Path, args: list[str]
) -> None:
    code, out, err = cli(*args)
    assert_one_line_error(code, out, err, "--status: unknown status 'published'", STATUSES)
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["export", "--format", "xml"], ("--format", "'xml'", "jsonl, csv, atom")),
        (["export", "--format", ""], ("--format", "''")),
        (["items", "--since", "yesterday"], ("--since", "'yesterday'")),
        (["export", "--since", "[bold]x"], ("--since", "'[bold]x'")),
        (["items", "--limit", "0"], ("--limit",)),
        (["report", "--by", "weather"], ("--by", "'weather'", "language or source")),
        (["report", "--since", "soon"], ("--since", "'soon'")),
        (["seed", "--dir", "/nonexistent/seeds"], ("--dir", "/nonexistent/seeds")),
        (["review", "decide", "https://example.org/a"], ("--on-story or --off-story",)),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_bad_option_values(
    cli: Invoke, tmp_path: Path, args: list[str], needles: tuple[str, ...]
) -> None:
    code, out, err = cli(*args)
    assert_one_line_error(code, out, err, *needles)
    assert_nothing_written(tmp_path)


def test_export_out_is_a_folder(cli: Invoke, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    code, out, err = cli("export", "--out", str(folder))
    assert_one_line_error(code, out, err, f"--out: {folder} is a folder")
    assert_nothing_written(tmp_path)


def test_serve_port_out_of_range(cli: Invoke, tmp_path: Path) -> None:
    code, _, err = cli("serve", "--port", "70000")
    assert code == 2 and "--port" in err
    assert_nothing_written(tmp_path)


def test_database_password_is_not_shown(cli: Invoke, tmp_path: Path) -> None:
    config = tmp_path / "pg.yaml"
    config.write_text(
        "feeds: []\ndatabase_url: postgresql+psycopg://u:s3cret@127.0.0.1:1/x\n", encoding="utf-8"
    )
    result = CliRunner().invoke(
        make_app(),
        ["items", "--config", str(config)],
        env={"MONITOR_DATABASE_URL": "", "MONITOR_CONFIG": str(config)},
    )
    assert result.exit_code == 2
    assert "s3cret" not in result.stderr and "cannot open database" in result.stderr
    assert json.dumps(result.stderr).count("\\n") == 1
