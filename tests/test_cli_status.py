"""`aggregates-course` with no command, or `status`: the course status and the next step."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from aggregates_course.course import checkout
from aggregates_course.course.catalog import Exercise
from aggregates_course.course.checkout import Course
from aggregates_course.course.launch import Launched, LaunchRequest, launch_cold
from aggregates_course.course.outcomes import ExerciseRun
from aggregates_course.course.runner import run_exercise
from tests.test_cli_support import (
    EX01,
    EX02,
    EX03,
    fresh_course,
    run_cli,
    solve,
    unsolve,
    warm_course,
)

__all__ = ["fresh_course", "warm_course"]  # fixtures, re-exported for pytest


def row(output: str, slug: str) -> str:
    """The status table's row for ``slug``: the line with a number, a title and its folder."""
    (line,) = [
        line for line in output.splitlines() if re.match(rf"^ .* \d\. .*exercises/{slug}", line)
    ]
    return line


def test_a_fresh_copy_lists_every_exercise_and_points_at_the_first(fresh_course: Path) -> None:
    result = run_cli(fresh_course)
    assert result.code == 0
    assert "0 of 3 exercises done" in result.out
    assert "pending" in row(result.out, EX01)
    assert "Make MonitoringPolicy the aggregate root" in row(result.out, EX01)
    assert "pending" in row(result.out, EX02)
    assert "missing" in row(result.out, EX03)
    next_block = result.out.split("Next:", 1)[1]
    assert "exercise 1, Make MonitoringPolicy the aggregate root" in next_block
    assert f"exercises/{EX01}/README.md" in next_block
    assert f"pytest exercises/{EX01}" in next_block


def test_solving_an_exercise_marks_it_done_and_moves_on(warm_course: Path) -> None:
    solve(warm_course, EX01, "policy.py")
    result = run_cli(warm_course)
    assert "1 of 3 exercises done" in result.out
    assert "done" in row(result.out, EX01)
    assert "pending" in row(result.out, EX02)
    assert "Next: exercise 2, Double a number" in result.out
    assert f"pytest exercises/{EX02}" in result.out


def test_status_is_also_a_command_of_its_own(warm_course: Path) -> None:
    assert run_cli(warm_course, "status") == run_cli(warm_course)


def test_a_pending_exercise_is_not_marked_as_a_failure(warm_course: Path) -> None:
    result = run_cli(warm_course)
    mark = row(result.out, EX01).split()[0]
    assert mark == "-"  # the plain bullet; a failure's cross is "x" in plain output


def test_an_unchanged_course_is_answered_from_the_cache(
    warm_course: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_runs(exercise: object, **options: object) -> object:
        raise AssertionError("an unchanged exercise was run again")

    monkeypatch.setattr(checkout, "run_exercise", no_runs)
    assert run_cli(warm_course).code == 0


def test_editing_a_file_invalidates_only_that_exercises_cache(
    warm_course: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []
    real_run = run_exercise

    def recording(exercise: Exercise, **options: Any) -> ExerciseRun:
        ran.append(exercise.slug)
        return real_run(exercise, **options)

    monkeypatch.setattr(checkout, "run_exercise", recording)
    answer = warm_course / "exercises" / EX02 / "answer.py"
    # Half-typed code: it still changes the fingerprint, and needs no pytest run to judge.
    answer.write_text(answer.read_text(encoding="utf-8") + "\ndef half_typed(\n", "utf-8")
    result = run_cli(warm_course)
    assert ran == [EX02]
    assert "(a syntax error in answer.py)" in row(result.out, EX02)


def test_a_run_whose_files_changed_while_it_ran_is_not_cached(fresh_course: Path) -> None:
    course = Course.open(fresh_course)
    exercise = course.catalog[1]

    def saving_meanwhile(request: LaunchRequest) -> Launched:
        solve(fresh_course, EX02, "answer.py")  # the learner saves as pytest starts
        return launch_cold(request)

    course.launch = saving_meanwhile
    assert course.run(exercise).status == "done"  # pytest imported the saved solution
    unsolve(fresh_course, EX02, "answer.py")
    # The stub as it was when the run began: that run's verdict is not the stub's.
    assert run_cli(fresh_course, "check", EX02).code == 1


def test_a_catalog_that_lists_no_exercises_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "exercises.toml").write_text("", encoding="utf-8")
    result = run_cli(tmp_path)
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "lists no exercises" in result.err
    assert "git checkout -- exercises/exercises.toml" in result.err


def test_a_corrupt_state_file_is_set_aside_and_rebuilt(warm_course: Path) -> None:
    state = warm_course / ".aggregates-course" / "state.json"
    state.write_text('{"version": 1, "hints": [', encoding="utf-8")
    result = run_cli(warm_course, "hint", EX01)
    assert result.code == 0
    assert "Hint 1 of 3" in result.out
    assert "rebuilt" in result.err
    (aside,) = state.parent.glob("state.json.corrupt-*")
    assert aside.read_text(encoding="utf-8") == '{"version": 1, "hints": ['
    assert json.loads(state.read_text(encoding="utf-8"))["hints"] == {EX01: 1}


def test_a_missing_state_file_is_not_an_error(warm_course: Path) -> None:
    (warm_course / ".aggregates-course" / "state.json").unlink()
    result = run_cli(warm_course, "hint", EX01)
    assert (result.code, result.err) == (0, "")


# A learner's file that hangs while it is imported, after noting which process imported it.
HANGS_AT_IMPORT = """import os
import pathlib

pathlib.Path({folder!r}, str(os.getpid())).touch()
while True:
    pass
"""


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, which runs nothing, is not alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return True  # no /proc here: it answered the signal, so it exists
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(sys.platform == "win32", reason="signals one process, which is POSIX")
@pytest.mark.parametrize(
    ("command", "interrupt"),
    [("status", signal.SIGTERM), ("results", signal.SIGINT)],
    ids=["status-SIGTERM", "results-SIGINT"],
)
def test_an_interrupt_stops_every_running_test_run_at_once(
    fresh_course: Path, tmp_path: Path, command: str, interrupt: signal.Signals
) -> None:
    started = tmp_path / "started"
    started.mkdir()
    for slug, name in ((EX01, "policy.py"), (EX02, "answer.py")):
        hanging = HANGS_AT_IMPORT.format(folder=str(started))
        (fresh_course / "exercises" / slug / name).write_text(hanging, encoding="utf-8")
    # The time limit is far longer than the test may take: only the interrupt can stop the runs.
    cli = subprocess.Popen(
        [sys.executable, "-m", "aggregates_course", command, "--timeout", "3600"],
        cwd=fresh_course,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while len(list(started.iterdir())) < 2:  # both pytest runs are stuck in a learner file
            assert cli.poll() is None, "the CLI ended before both test runs started"
            time.sleep(0.01)  # not a guess at timing: only to leave the CPU to the runs
        cli.send_signal(interrupt)  # to the CLI alone, not to its process group
        out, err = cli.communicate(timeout=120)
    finally:
        cli.kill()
        still_running = [int(path.name) for path in started.iterdir() if alive(int(path.name))]
        for pid in still_running:  # should this test fail, it leaves no test run spinning
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    assert cli.returncode == 130, err
    assert "interrupted" in err
    assert "Traceback" not in out + err
    assert still_running == []


def test_status_takes_a_time_limit_for_a_hanging_exercise(warm_course: Path) -> None:
    answer = warm_course / "exercises" / EX02 / "answer.py"
    answer.write_text("def double(number: int) -> int:\n    while True: pass\n", encoding="utf-8")
    result = run_cli(warm_course, "status", "--timeout", "1")
    assert result.code == 0
    assert "timed out" in row(result.out, EX02)
