"""The docs are part of the contract: checked against the code they describe."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from flows.cli import make_app

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second() -> None:
    first, second = (b.strip() for b in bash_blocks(README)[:2])
    assert "newsmon seed" in first and "newsmon poll" in first
    assert "pytest" in second
    assert second in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_newsmon_command_in_the_readme_exists() -> None:
    app = make_app()
    runner = CliRunner()
    commands = set()
    for block in bash_blocks(README):
        for line in block.splitlines():
            match = re.match(r"(?:\.venv/bin/)?newsmon ([a-z-]+)(?: ([a-z-]+))?", line.strip())
            if match:
                commands.add(match.groups())
    assert len(commands) >= 8
    for command, sub in commands:
        args = [command, *([sub] if sub and command in {"dedup", "review"} else [])]
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, (args, result.output)


def test_every_monitor_variable_in_the_readme_is_read_by_the_config() -> None:
    config = (ROOT / "monitor" / "config.py").read_text(encoding="utf-8")
    for name in set(re.findall(r"MONITOR_[A-Z_]+", README)):
        if name == "MONITOR_TEST_PG_URL":
            continue  # the test suite's own variable (tests/conftest.py)
        assert f'"{name}"' in config, name
