"""The course snapshot (.course/) matches exercises/, and every command documents itself."""

from __future__ import annotations

import pytest

from aggregates_course.course.catalog import load_catalog
from aggregates_course.course.cli import build_parser, main
from aggregates_course.course.pristine import REGENERATE, stale_entries
from tests.test_cli_support import REPO

COMMANDS = ["status", "check", "watch", "hint", "reset", "solution", "results", "doctor", "demo"]


def test_the_shipped_snapshot_matches_the_exercises_folder() -> None:
    problems = stale_entries(REPO, load_catalog(REPO))
    assert problems == [], f"the .course/ snapshot is stale; run: {REGENERATE}"


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_command_has_help_with_an_example(
    command: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*([command] if command else []), "--help"]) == 0
    assert "example" in capsys.readouterr().out


def test_the_parser_knows_exactly_the_documented_commands() -> None:
    parser = build_parser()
    (commands,) = [a for a in parser._actions if a.dest == "command"]
    assert sorted(commands.choices or {}) == sorted(COMMANDS)
