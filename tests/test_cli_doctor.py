"""`aggregates-course doctor`: what is wrong with the setup, and how to fix it."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli_support import EX01, EX03, run_cli, warm_course

__all__ = ["warm_course"]  # a fixture, re-exported for pytest


def test_doctor_reports_python_and_the_test_dependencies(warm_course: Path) -> None:
    result = run_cli(warm_course, "doctor")
    assert "Python 3." in result.out
    assert "pytest " in result.out
    assert "hypothesis " in result.out
    assert f"exercises/{EX01}: tests and README unmodified" in result.out


def test_doctor_flags_an_edited_test_file_and_a_missing_exercise(warm_course: Path) -> None:
    tests = warm_course / "exercises" / EX01 / "test_policy.py"
    tests.write_text(tests.read_text(encoding="utf-8") + "\n# skip the hard ones\n", "utf-8")
    result = run_cli(warm_course, "doctor")
    assert result.code == 1
    assert f"exercises/{EX01}/test_policy.py is edited" in result.out
    assert f"git checkout -- exercises/{EX01}/test_policy.py" in result.out
    assert f"exercises/{EX03} is missing" in result.out


def test_doctor_does_not_count_the_learners_own_files(warm_course: Path) -> None:
    (warm_course / "exercises" / EX01 / "policy.py").write_text("# mine\n", encoding="utf-8")
    assert "policy.py is edited" not in run_cli(warm_course, "doctor").out
