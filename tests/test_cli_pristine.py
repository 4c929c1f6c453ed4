"""The course snapshot (.course/) matches exercises/, and every command documents itself."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aggregates_course.course import pristine
from aggregates_course.course.catalog import load_catalog
from aggregates_course.course.cli import build_parser, main
from aggregates_course.course.pristine import REGENERATE, stale_entries
from tests.cli_state_support import keep_only
from tests.test_cli_support import EX02, REPO, fresh_course, solve

__all__ = ["fresh_course"]  # a fixture, re-exported for pytest

COMMANDS = ["check", "watch", "hint", "reset", "solution", "results", "doctor", "demo"]


def test_the_shipped_snapshot_matches_the_files_learners_leave_alone() -> None:
    problems = stale_entries(REPO, load_catalog(REPO), learner_files=False)
    assert problems == [], f"the .course/ snapshot is stale; run: {REGENERATE}"


def test_the_shipped_snapshot_holds_the_stubs_of_a_fresh_clone() -> None:
    catalog = load_catalog(REPO)
    ignoring = set(stale_entries(REPO, catalog, learner_files=False))
    stubs = [entry for entry in stale_entries(REPO, catalog) if entry not in ignoring]
    if stubs and not os.environ.get("CI"):
        # A learner's own work in exercises/ is not a stale snapshot; CI checks a fresh clone.
        pytest.skip(f"exercises/ holds edited stubs (your work?): {', '.join(stubs)}")
    assert stubs == [], f"the .course/ snapshot is stale; run: {REGENERATE}"


def test_the_refresh_refuses_to_record_a_stub_that_passes_its_tests(
    fresh_course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keep_only(fresh_course, EX02)  # one exercise is enough, and each costs a pytest run
    solve(fresh_course, EX02, "answer.py")
    snapshot = fresh_course / ".course"
    before = {path: path.read_bytes() for path in snapshot.rglob("*") if path.is_file()}
    assert pristine.main(["--root", str(fresh_course)]) == 1
    printed = capsys.readouterr().out
    assert f"refused: {EX02}: all 2 tests pass against exercises/{EX02}/answer.py" in printed
    assert "a stub must fail its tests" in printed
    assert f"git checkout -- exercises/{EX02}/answer.py" in printed
    after = {path: path.read_bytes() for path in snapshot.rglob("*") if path.is_file()}
    assert after == before


def test_the_refresh_records_stubs_that_fail_their_tests(fresh_course: Path) -> None:
    keep_only(fresh_course, EX02)
    readme = fresh_course / "exercises" / EX02 / "README.md"
    readme.write_text("# Double a number, reworded\n", encoding="utf-8")
    assert stale_entries(fresh_course, load_catalog(fresh_course)) != []
    assert pristine.main(["--root", str(fresh_course)]) == 0
    assert stale_entries(fresh_course, load_catalog(fresh_course)) == []


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
