"""`aggregates-course doctor`: what is wrong with the setup, and how to fix it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aggregates_course.course.shipped import pristine_path
from tests.cli_state_support import keep_only, one_line
from tests.test_cli_support import EX01, EX02, EX03, run_cli, warm_course

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
    assert "update your copy of the course (git pull)" in result.out  # never shipped here


def test_doctor_does_not_count_the_learners_own_files(warm_course: Path) -> None:
    (warm_course / "exercises" / EX01 / "policy.py").write_text("# mine\n", encoding="utf-8")
    assert "policy.py is edited" not in run_cli(warm_course, "doctor").out


def test_doctor_reports_a_deleted_pristine_snapshot_that_reset_would_need(
    warm_course: Path,
) -> None:
    shutil.rmtree(warm_course / ".course" / "pristine")
    result = run_cli(warm_course, "doctor")
    assert result.code == 1
    assert f"the original stub of exercises/{EX01}/policy.py cannot be used" in result.out
    assert "git checkout -- .course" in result.out
    assert "All good." not in result.out


def test_doctor_reports_a_damaged_pristine_copy(warm_course: Path) -> None:
    pristine_path(warm_course, EX01, "policy.py").write_text("x = 1\n", encoding="utf-8")
    result = run_cli(warm_course, "doctor")
    assert result.code == 1
    assert f"the original stub of exercises/{EX01}/policy.py cannot be used" in result.out
    assert "does not match the course manifest" in result.out


def test_doctor_says_all_good_when_nothing_is_wrong(warm_course: Path) -> None:
    keep_only(warm_course, EX01, EX02)  # the course's exercise 3 is not written yet
    result = run_cli(warm_course, "doctor")
    assert (result.code, result.out.splitlines()[-1]) == (0, "All good.")


def test_a_damaged_catalog_gets_a_fix_that_fits_from_doctor_and_every_command(
    warm_course: Path,
) -> None:
    catalog = warm_course / "exercises" / "exercises.toml"
    catalog.write_text(catalog.read_text(encoding="utf-8") + "\n[[exercise\n", encoding="utf-8")
    doctor = run_cli(warm_course, "doctor")
    assert doctor.code == 1
    assert f"x {catalog} is damaged" in doctor.out
    assert "fix: put it back as shipped: git checkout -- exercises/exercises.toml" in doctor.out
    assert "inside your clone" not in doctor.out
    status = run_cli(warm_course, "status")
    assert status.code == 1
    assert "git checkout -- exercises/exercises.toml" in one_line(status.err)


@pytest.mark.parametrize(
    ("field", "value", "complaint"),
    [
        ("hints", "5", "hints must be a list of exactly three texts"),
        ("hints", '"one"', "hints must be a list of exactly three texts"),
        ("files", '"policy.py"', "files must be a list of the Python files a learner edits"),
        ("files", "[]", "files must be a list of the Python files a learner edits"),
        ("files", '["../escape.py"]', "files must be a list of the Python files a learner edits"),
        ("slug", '"ex01/../x"', "slug must be a folder name"),
        ("title", "3", "title must be some text in quotes"),
    ],
)
def test_a_malformed_catalog_field_is_one_line_naming_it(
    warm_course: Path, field: str, value: str, complaint: str
) -> None:
    catalog = warm_course / "exercises" / "exercises.toml"
    text = catalog.read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith(f"{field} = "))
    catalog.write_text(text.replace(line, f"{field} = {value}", 1), encoding="utf-8")
    result = run_cli(warm_course, "status")
    assert result.code == 1
    error = one_line(result.err)
    assert "exercise 1" in error
    assert complaint in error
    assert "git checkout -- exercises/exercises.toml" in error


def test_doctor_outside_a_course_says_where_to_run_it(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "doctor")
    assert result.code == 1
    assert "fix: run this from inside your clone of aggregates-course" in result.out
