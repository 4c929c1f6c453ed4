"""`aggregates-course reset`: the shipped stub back, the learner's version kept."""

from __future__ import annotations

import stat
from pathlib import Path

from aggregates_course.course.pristine import pristine_path
from tests.cli_state_support import needs_posix_modes
from tests.test_cli_support import EX01, EX02, run_cli, warm_course

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
