"""`aggregates-course reset`: the shipped stub back, the learner's version kept."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from aggregates_course.course.shipped import pristine_path
from tests.cli_state_support import STATE, needs_posix_modes
from tests.test_cli_support import EX01, EX02, run_cli, solve, warm_course

__all__ = ["warm_course"]  # a fixture, re-exported for pytest

LEARNER_TEXT = "# my attempt, not finished\n"


def test_reset_backs_up_the_learners_file_and_restores_the_stub_byte_for_byte(
    warm_course: Path,
) -> None:
    policy = warm_course / "exercises" / EX01 / "policy.py"
    stub = policy.read_bytes()
    policy.write_text(LEARNER_TEXT, encoding="utf-8")
    result = run_cli(warm_course, "reset", EX01)
    assert result.code == 0
    assert policy.read_bytes() == stub
    (backup,) = (warm_course / ".aggregates-course" / "backups").rglob("policy.py")
    assert backup.read_text(encoding="utf-8") == LEARNER_TEXT
    assert str(backup) in result.out


def test_reset_all_without_yes_and_without_a_terminal_changes_nothing(warm_course: Path) -> None:
    answer = warm_course / "exercises" / EX02 / "answer.py"
    answer.write_text(LEARNER_TEXT, encoding="utf-8")
    result = run_cli(warm_course, "reset", "--all")
    assert result.code == 1
    assert "--yes" in result.err
    assert answer.read_text(encoding="utf-8") == LEARNER_TEXT


def test_reset_all_with_yes_restores_every_exercise(warm_course: Path) -> None:
    edited = [
        warm_course / "exercises" / EX01 / "policy.py",
        warm_course / "exercises" / EX02 / "answer.py",
    ]
    stubs = [path.read_bytes() for path in edited]
    for path in edited:
        path.write_text(LEARNER_TEXT, encoding="utf-8")
    assert run_cli(warm_course, "reset", "--all", "--yes").code == 0
    assert [path.read_bytes() for path in edited] == stubs


def test_a_tampered_pristine_copy_is_refused(warm_course: Path) -> None:
    policy = warm_course / "exercises" / EX01 / "policy.py"
    policy.write_text(LEARNER_TEXT, encoding="utf-8")
    pristine_path(warm_course, EX01, "policy.py").write_text("x = 1\n", encoding="utf-8")
    result = run_cli(warm_course, "reset", EX01)
    assert result.code == 1
    assert "does not match the course manifest" in result.err
    assert policy.read_text(encoding="utf-8") == LEARNER_TEXT


def test_a_deleted_file_is_named_by_check_and_brought_back_by_reset(warm_course: Path) -> None:
    policy = warm_course / "exercises" / EX01 / "policy.py"
    stub = policy.read_bytes()
    policy.unlink()
    check = run_cli(warm_course, "check", EX01)
    assert check.code == 1
    assert "policy.py is missing" in check.out
    assert f"reset {EX01}" in check.out
    assert run_cli(warm_course, "reset", EX01).code == 0
    assert policy.read_bytes() == stub


def test_reset_keeps_the_mode_of_the_file_it_restores(warm_course: Path) -> None:
    needs_posix_modes()
    policy = warm_course / "exercises" / EX01 / "policy.py"
    policy.write_text(LEARNER_TEXT, encoding="utf-8")
    policy.chmod(0o754)
    assert run_cli(warm_course, "reset", EX01).code == 0
    assert stat.S_IMODE(policy.stat().st_mode) == 0o754


def test_a_stub_reset_in_place_of_a_deleted_file_gets_the_usual_mode(warm_course: Path) -> None:
    needs_posix_modes()
    policy = warm_course / "exercises" / EX01 / "policy.py"
    policy.unlink()
    assert run_cli(warm_course, "reset", EX01).code == 0
    beside = warm_course / "exercises" / EX01 / "new.txt"
    beside.write_text("", encoding="utf-8")  # what any new file gets under this umask
    assert stat.S_IMODE(policy.stat().st_mode) == stat.S_IMODE(beside.stat().st_mode)


def state_of(course: Path) -> dict[str, Any]:
    """The state file as the CLI last wrote it."""
    document: dict[str, Any] = json.loads((course / STATE).read_text(encoding="utf-8"))
    return document


def test_a_reset_exercise_starts_over_its_hints_and_completion_kept_in_the_backup(
    warm_course: Path,
) -> None:
    run_cli(warm_course, "hint", EX01)
    run_cli(warm_course, "hint", EX01)
    run_cli(warm_course, "hint", EX02)
    solve(warm_course, EX01, "policy.py")
    assert run_cli(warm_course, "check", EX01).code == 0
    before = (warm_course / STATE).read_bytes()
    result = run_cli(warm_course, "reset", EX01)
    assert result.code == 0
    state = state_of(warm_course)
    assert EX01 not in state["hints"]
    assert EX01 not in state.get("completed", {})  # completion follows from the results
    assert state["hints"][EX02] == 1  # another exercise's progress is its own
    (kept,) = (warm_course / ".aggregates-course" / "backups").rglob("state.json")
    assert kept.read_bytes() == before
    assert (kept.parent / EX01 / "policy.py").is_file()  # beside the learner's file
    assert str(kept) in result.out
    assert f"Hint 1 of 3 (nudge) for {EX01}" in run_cli(warm_course, "hint", EX01).out


def test_reset_all_leaves_a_room_clean_for_the_next_group(warm_course: Path) -> None:
    for _ in range(2):
        run_cli(warm_course, "hint", EX01)
    solve(warm_course, EX02, "answer.py")
    assert run_cli(warm_course, "check", EX02).code == 0
    assert run_cli(warm_course, "reset", "--all", "--yes").code == 0
    state = state_of(warm_course)
    assert (state["hints"], state.get("completed", {})) == ({}, {})
    status = run_cli(warm_course)
    assert "0 of 3 exercises done" in status.out
    assert f"Hint 1 of 3 (nudge) for {EX01}" in run_cli(warm_course, "hint", EX01).out


def test_a_reset_that_cannot_restore_the_stub_forgets_nothing(warm_course: Path) -> None:
    run_cli(warm_course, "hint", EX01)
    pristine_path(warm_course, EX01, "policy.py").write_text("x = 1\n", encoding="utf-8")
    assert run_cli(warm_course, "reset", EX01).code == 1
    assert state_of(warm_course)["hints"] == {EX01: 1}


def test_a_single_exercise_reset_does_not_ask(warm_course: Path) -> None:
    # Nothing is lost (the file is backed up), so unlike --all it needs no --yes, even piped.
    policy = warm_course / "exercises" / EX01 / "policy.py"
    policy.write_text(LEARNER_TEXT, encoding="utf-8")
    result = run_cli(warm_course, "reset", EX01)
    assert result.code == 0
    assert "[y/N]" not in result.out
    assert policy.read_text(encoding="utf-8") != LEARNER_TEXT


def test_a_folder_where_the_file_belongs_gets_one_fix_from_check_doctor_and_reset(
    warm_course: Path,
) -> None:
    policy = warm_course / "exercises" / EX01 / "policy.py"
    stub = policy.read_bytes()
    policy.unlink()
    policy.mkdir()
    (policy / "notes.txt").write_text("my work", encoding="utf-8")
    fix = (
        f"`uv run aggregates-course reset {EX01}` moves that folder into "
        ".aggregates-course/backups/ and puts the stub back"
    )
    check = run_cli(warm_course, "check", EX01)
    assert check.code == 1
    assert f"x exercises/{EX01}/policy.py is a folder where your file belongs\n" in check.out
    assert f"Fix: {fix}." in check.out
    doctor = run_cli(warm_course, "doctor")
    assert f"x exercises/{EX01}/policy.py is a folder where your file belongs\n" in doctor.out
    assert f"fix: {fix}" in doctor.out
    reset = run_cli(warm_course, "reset", EX01)
    assert reset.code == 0, reset.err
    assert policy.read_bytes() == stub
    (notes,) = (warm_course / ".aggregates-course" / "backups").rglob("notes.txt")
    assert notes.read_text(encoding="utf-8") == "my work"
    assert f"The folder that stood at exercises/{EX01}/policy.py is moved to" in reset.out
