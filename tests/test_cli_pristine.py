"""The .course/ snapshot matches the committed exercises/; every command documents itself."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from aggregates_course.course import pristine
from aggregates_course.course.catalog import load_catalog
from aggregates_course.course.cli import build_parser, main
from aggregates_course.course.pristine import REGENERATE, stale_entries
from tests.cli_state_support import keep_only
from tests.test_cli_support import EX02, REPO, fresh_course, solve
from tests.tooling import skip_or_fail

__all__ = ["fresh_course"]  # a fixture, re-exported for pytest

COMMANDS = ["status", "check", "watch", "hint", "reset", "solution", "results", "doctor", "demo"]


def committed_course(destination: Path) -> Path:
    """``exercises/`` and ``.course/`` as committed at HEAD, whatever the working tree holds.

    The learner's working copies of the stubs are theirs to edit; what must match
    the snapshot is the stubs the maintainers committed.
    """
    git = shutil.which("git")
    if git is None:
        skip_or_fail("git is not installed, so the committed exercises cannot be read")
    archive = subprocess.run(
        [git, "archive", "--format=zip", "HEAD", "exercises", ".course"],
        cwd=REPO,
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        skip_or_fail(f"this copy is not a git checkout: {archive.stderr.decode(errors='replace')}")
    with zipfile.ZipFile(io.BytesIO(archive.stdout)) as committed:
        committed.extractall(destination)
    return destination


def test_the_shipped_snapshot_matches_the_committed_exercises(tmp_path: Path) -> None:
    course = committed_course(tmp_path)
    problems = stale_entries(course, load_catalog(course))
    assert problems == [], f"the .course/ snapshot is stale; run: {REGENERATE}"


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
