"""`aggregates-course check`: the first failing test, or a clean done line, within a time limit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aggregates_course.course.app import Invocation
from tests.test_cli_support import EX01, EX02, EX03, done_line, run_cli, solve, warm_course

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


def test_check_without_a_name_says_done_for_the_exercise_just_solved(warm_course: Path) -> None:
    solve(warm_course, EX01, "policy.py")
    policy = warm_course / "exercises" / EX01 / "policy.py"
    policy.write_text(policy.read_text(encoding="utf-8") + "# solved it\n", encoding="utf-8")
    result = run_cli(warm_course, "check")
    assert result.code == 0
    assert done_line(EX01).search(result.out)
    assert "Next: exercise 2, Double a number" in result.out


def test_check_without_a_name_moves_on_once_the_exercise_is_known_done(warm_course: Path) -> None:
    solve(warm_course, EX01, "policy.py")  # the warm course has seen this solution pass
    result = run_cli(warm_course, "check")
    assert result.code == 1
    assert "Exercise 2: Double a number" in result.out


def test_verbose_shows_pytests_own_output_before_the_summary(warm_course: Path) -> None:
    result = run_cli(warm_course, "check", EX01, "--verbose")
    assert result.code == 1
    pytest_part, summary = result.out.split("FAIL test_an_added_rule_becomes_active_and_indexed")
    assert "test_an_added_rule_becomes_active_and_indexed FAILED" in pytest_part
    assert "NotImplementedError: add_active_rule" in summary


def test_a_hanging_stub_is_stopped_at_the_time_limit_and_named(warm_course: Path) -> None:
    answer = warm_course / "exercises" / EX02 / "answer.py"
    answer.write_text("def double(number: int) -> int:\n    while True: pass\n", encoding="utf-8")
    # Long enough for pytest to reach the test on a busy machine, short enough to wait for.
    result = run_cli(warm_course, "check", EX02, "--timeout", "4")
    assert result.code == 1
    assert "test_double_of_one_is_two did not finish within 4 s: an infinite loop?" in result.out
    assert f"exercises/{EX02}/answer.py, line 2, in double" in result.out
    assert f"It was running exercises/{EX02}/test_answer.py, line 14." in result.out
    assert "Traceback" not in result.out + result.err


@pytest.mark.parametrize("limit", ["0", "-1", "nan", "inf", "soon"])
def test_a_time_limit_that_is_not_a_positive_number_is_a_usage_error(
    warm_course: Path, limit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(warm_course, "check", "--timeout", limit)
    err = capsys.readouterr().err
    assert result.code == 2
    assert "usage: aggregates-course check" in err
    assert "--timeout" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("limit", ["86401", "1e8", "1e10"])
def test_a_time_limit_over_a_day_is_a_usage_error_naming_the_limit(
    warm_course: Path, limit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(warm_course, "check", "--timeout", limit)
    err = capsys.readouterr().err
    assert result.code == 2
    assert "give at most 86400 seconds (a day)" in err
    assert "Traceback" not in err


def test_a_time_limit_of_a_day_runs_the_tests(warm_course: Path) -> None:
    answer = warm_course / "exercises" / EX02 / "answer.py"
    answer.write_text(answer.read_text(encoding="utf-8") + "# not cached\n", encoding="utf-8")
    result = run_cli(warm_course, "check", EX02, "--timeout", "86400")
    assert result.code == 1
    assert "FAIL test_double_is_twice_the_number" in result.out


def test_two_exercise_names_get_the_check_commands_usage(
    warm_course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(warm_course, "check", "ex01", "ex02")
    err = capsys.readouterr().err
    assert result.code == 2
    assert "usage: aggregates-course check" in err
    assert "unrecognized arguments: ex02" in err


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
    assert done_line(EX01).search(result.out)
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


def test_an_unknown_exercise_gets_a_did_you_mean_and_the_usage(warm_course: Path) -> None:
    result = run_cli(warm_course, "check", "ex01_agregate_rot")
    assert result.code == 2
    assert f"did you mean {EX01}?" in result.err
    assert "usage: aggregates-course check" in result.err


def test_the_module_entry_point_exits_non_zero_on_a_failing_check(warm_course: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "aggregates_course", "check", "1"],
        cwd=warm_course / "exercises",
        env=without_uv(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert finished.returncode == 1, finished.stderr
    assert "FAIL test_an_added_rule_becomes_active_and_indexed" in finished.stdout
    # Started as a module without uv, so that is how it suggests the next command.
    assert f"python -m aggregates_course hint {EX01}" in finished.stdout
    assert "uv run" not in finished.stdout


@pytest.mark.parametrize(
    ("argv0", "environ", "cli", "pytest_command"),
    [
        ("/venv/bin/aggregates-course", {}, "aggregates-course", "pytest"),
        (
            "/venv/bin/aggregates-course",
            {"UV_RUN_RECURSION_DEPTH": "1"},
            "uv run aggregates-course",
            "uv run pytest",
        ),
        (
            "/course/aggregates_course/__main__.py",
            {},
            "python -m aggregates_course",
            "python -m pytest",
        ),
    ],
)
def test_suggested_commands_follow_how_the_cli_was_started(
    argv0: str, environ: dict[str, str], cli: str, pytest_command: str
) -> None:
    assert Invocation.detect(argv0, environ) == Invocation(cli, pytest_command)


def without_uv() -> dict[str, str]:
    """This environment as if the tests had not been started by ``uv run``."""
    return {key: value for key, value in os.environ.items() if key != "UV_RUN_RECURSION_DEPTH"}


def write_answer(course: Path, code: str | bytes) -> Path:
    """Replace the learner's exercise 2 file with ``code``."""
    answer = course / "exercises" / EX02 / "answer.py"
    answer.write_bytes(code.encode("utf-8") if isinstance(code, str) else code)
    return answer


def test_code_that_ends_the_test_process_is_named_with_its_line(warm_course: Path) -> None:
    write_answer(warm_course, "import os\n\n\ndef double(number: int) -> int:\n    os._exit(1)\n")
    result = run_cli(warm_course, "check", EX02)
    assert result.code == 1
    assert f"exercises/{EX02}/answer.py, line 5: your code ended the test process" in result.out
    assert "5 | os._exit(1)" in result.out
    assert "while test_double_of_one_is_two ran" in result.out
    assert "doctor" not in result.out
    status = run_cli(warm_course)
    assert "(answer.py ends the test process)" in row_of(status.out, EX02)
    doctor = run_cli(warm_course, "doctor")
    assert f"x exercises/{EX02}: your code ends the test process at exercises/{EX02}" in doctor.out
    assert "All good." not in doctor.out


def test_code_that_ends_the_process_at_import_is_named_too(warm_course: Path) -> None:
    write_answer(warm_course, "from os import _exit\n\n_exit(3)\n")
    result = run_cli(warm_course, "check", EX02)
    assert f"exercises/{EX02}/answer.py, line 3: your code ended the test process" in result.out


def test_an_empty_file_is_named_by_its_path_not_by_an_internal_module_name(
    warm_course: Path,
) -> None:
    write_answer(warm_course, "")
    result = run_cli(warm_course, "check", EX02)
    assert result.code == 1
    assert f"module 'exercises/{EX02}/answer.py' has no attribute 'double'" in result.out
    assert "_course_target_" not in result.out + run_cli(warm_course, "results", "--json").out


def test_input_is_answered_with_what_the_tests_expect_instead(warm_course: Path) -> None:
    write_answer(warm_course, "def double(number: int) -> int:\n    return int(input())\n")
    result = run_cli(warm_course, "check", EX02)
    assert "input() was called, but the tests do not type anything" in result.out
    assert f"exercises/{EX02}/answer.py, line 2, in double" in result.out
    assert "-s" not in result.out.split()


@pytest.mark.parametrize(
    ("content", "line", "why"),
    [
        (b'"""\xe9t\xe9: a latin-1 docstring.\n\nIt goes on.\n"""\n', 1, "byte 0xe9"),
        (b"x = 1\ny = 2\n\nz = 3\x00\n", 4, "a NUL byte"),
        (b"x = 1\n# caf\xc3\xa9\n# na\xefve\n", 3, "byte 0xef"),
    ],
    ids=["latin-1 in a docstring", "NUL on the last line", "latin-1 after UTF-8"],
)
def test_a_byte_that_is_not_text_is_reported_on_its_own_line(
    warm_course: Path, content: bytes, line: int, why: str
) -> None:
    write_answer(warm_course, content)
    result = run_cli(warm_course, "check", EX02)
    assert result.code == 1
    assert f"exercises/{EX02}/answer.py, line {line}: Python cannot read this file" in result.out
    assert why in result.out
    assert "Traceback" not in result.out + result.err


def test_runaway_recursion_at_import_is_an_import_problem(warm_course: Path) -> None:
    write_answer(
        warm_course,
        "def down(n: int) -> int:\n    return down(n + 1)\n\n\ndown(0)\n\n\n"
        "def double(number: int) -> int:\n    return 2 * number\n",
    )
    result = run_cli(warm_course, "check", EX02)
    assert result.code == 1
    assert (
        f"exercises/{EX02}/answer.py, line 2, in down: this file fails while Python imports it"
        in (result.out)
    )
    assert "RecursionError" in result.out
    assert "FAIL" not in result.out


def test_a_test_id_with_non_ascii_characters_is_shown_as_written(warm_course: Path) -> None:
    (warm_course / "exercises" / EX02 / "test_a_metric.py").write_text(
        "import pytest\n\nfrom aggregates_course.course.target import load_target\n\n\n"
        "@pytest.mark.parametrize('metric', ['错误率'])\n"
        "def test_a_metric_is_doubled(metric: str) -> None:\n"
        "    assert load_target('ex02_double', 'answer').double(10) == 20, metric\n",
        encoding="utf-8",
    )
    result = run_cli(warm_course, "check", EX02)
    assert "FAIL test_a_metric_is_doubled[错误率]" in result.out


def test_a_deleted_exercise_folder_is_named_with_how_to_get_it_back(warm_course: Path) -> None:
    shutil.rmtree(warm_course / "exercises" / EX01)
    result = run_cli(warm_course, "check", EX01)
    assert result.code == 1
    restore = f"git checkout -- exercises/{EX01}"
    assert f"exercises/{EX01} was deleted; restore it with `{restore}`" in result.out
    status = run_cli(warm_course).out
    assert f"(deleted: {restore})" in row_of(status, EX01)
    assert "(not in your copy yet)" in row_of(status, EX03)  # never shipped: not deleted
    doctor = run_cli(warm_course, "doctor").out
    assert f"x exercises/{EX01} was deleted" in doctor
    assert f"fix: restore it: `{restore}`" in doctor


def row_of(status: str, slug: str) -> str:
    """The status table's line for ``slug``."""
    (line,) = [line for line in status.splitlines() if line.rstrip().endswith(")") and slug in line]
    return line
