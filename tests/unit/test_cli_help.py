"""The CLI contract: every command exists, answers --help, and shows examples."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from flows.cli import make_app

COMMANDS = [
    ["seed"],
    ["feeds"],
    ["config"],
    ["poll"],
    ["ingest"],
    ["items"],
    ["export"],
    ["report"],
    ["review"],
    ["review", "decide"],
    ["dedup", "explain"],
    ["dedup", "mark-not-duplicate"],
    ["dedup", "mark-duplicate-of"],
    ["serve"],
    ["demo"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_examples(command: list[str]) -> None:
    result = CliRunner().invoke(make_app(), [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Examples" in result.output
    assert f"newsmon {' '.join(command)}" in result.output


def test_public_options_of_the_contract() -> None:
    runner = CliRunner()
    app = make_app()
    expectations = {
        "poll": ["--feed", "--config"],
        "ingest": ["--dry-run", "--json", "--force"],
        "items": ["--status", "--json", "--language", "--site", "--since", "--search"],
        "export": ["--format", "--status"],
        "report": ["--since", "--out"],
    }
    for command, options in expectations.items():
        output = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
        for option in options:
            assert option in output, (command, option)
