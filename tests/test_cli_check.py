"""`aggregates-course check`: the first failing test, or a clean done line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.test_cli_support import EX01, EX02, run_cli, solve, warm_course

__all__ = ["warm_course"]  # a fixture, re-exported for pytest


def test_a_failing_exercise_shows_only_its_first_failing_test(warm_course: Path) -> None:
    result = run_cli(warm_course, "check", EX01)
    assert result.code == 1
    assert result.out.count("FAIL") == 1
    # The first test in the file, with the stub's message and the line that raised it.
    assert "FAIL test_an_added_rule_becomes_active_and_indexed" in result.out
    assert "NotImplementedError: add_active_rule" in result.out
    assert f"exercises/{EX01}/policy.py, line " in result.out
    assert f"hint {EX01}" in result.out
    assert "Traceback" not in result.out


def test_check_without_a_name_checks_the_next_pending_exercise(warm_course: Path) -> None:
    solve(warm_course, EX01, "policy.py")
    result = run_cli(warm_course, "check")
    assert result.code == 1
    assert "Exercise 2: Double a number" in result.out


def test_a_hypothesis_failure_shows_the_invariant_and_the_falsifying_example(
    warm_course: Path,
) -> None:
    result = run_cli(warm_course, "check", EX02)
    assert "FAIL test_double_is_twice_the_number" in result.out
    assert "double must be twice the number" in result.out
    steps = result.out.split("falsifying example", 1)[1]
    assert "number=10" in steps


def test_a_passing_exercise_gets_a_done_line_and_the_next_step(warm_course: Path) -> None:
    solve(warm_course, EX01, "policy.py")
    result = run_cli(warm_course, "check", EX01)
    assert result.code == 0
    assert f"done: all 19 tests of {EX01} pass" in result.out
    assert "Next: exercise 2, Double a number" in result.out
    assert "FAIL" not in result.out


def test_a_syntax_error_names_the_file_and_line_without_a_traceback(warm_course: Path) -> None:
    policy = warm_course / "exercises" / EX01 / "policy.py"
    lines = policy.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines) if "def add_active_rule" in line)
    lines[number] = lines[number].rstrip(":")
    policy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli(warm_course, "check", EX01)
    assert result.code == 1
    assert f"exercises/{EX01}/policy.py, line {number + 1}: Python cannot read" in result.out
    assert "SyntaxError" in result.out
    assert "Traceback" not in result.out + result.err


def test_an_import_error_names_the_file_and_line(warm_course: Path) -> None:
    answer = warm_course / "exercises" / EX02 / "answer.py"
    answer.write_text(
        "from aggregates_course import NoSuchThing\n" + answer.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    result = run_cli(warm_course, "check", EX02)
    assert result.code == 1
    assert f"exercises/{EX02}/answer.py, line 1, in <module>" in result.out
    assert "fails while Python imports it" in result.out
    assert "NoSuchThing" in result.out
    assert "Traceback" not in result.out + result.err


def test_an_unknown_exercise_gets_a_did_you_mean(warm_course: Path) -> None:
    result = run_cli(warm_course, "check", "ex01_agregate_rot")
    assert result.code == 2
    assert f"did you mean {EX01}?" in result.err


def test_the_module_entry_point_exits_non_zero_on_a_failing_check(warm_course: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "aggregates_course", "check", "1"],
        cwd=warm_course / "exercises",
        capture_output=True,
        text=True,
        check=False,
    )
    assert finished.returncode == 1, finished.stderr
    assert "FAIL test_an_added_rule_becomes_active_and_indexed" in finished.stdout
