"""Nothing read back from the state file is trusted before every field is checked.

A cached run decides what ``check`` and the status screen call done, so a run
whose verdict does not follow from its tests (an unknown status, "done" with
no passing test) is refused and counts as a cache miss. Real runs, read back,
are always accepted: a check too strict would quietly turn every cached result
into a new test run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregates_course.course.catalog import HINT_TIERS
from aggregates_course.course.checkout import Course
from aggregates_course.course.outcomes import ExerciseRun, Location, Problem
from aggregates_course.course.outcomes import TestResult as SavedTest  # not a pytest class
from aggregates_course.course.shapes import ShapeError
from aggregates_course.course.state import CourseState
from tests.cli_state_support import STATE
from tests.test_cli_support import EX01, EX02, run_cli, solve, warm_course

__all__ = ["warm_course"]  # a fixture, re-exported for pytest

TEST_FILE = "exercises/ex09/test_thing.py"
PASSED = SavedTest(f"{TEST_FILE}::test_one", TEST_FILE, 3, "passed", 0.01)
FAILED = SavedTest(
    f"{TEST_FILE}::test_two",
    TEST_FILE,
    9,
    "failed",
    0.02,
    message="after add r1(cpu, 5m), active_rules should be (r1,)",
    steps="add r1(cpu, 5m)",
    where=Location("exercises/ex09/thing.py", 12, "add"),
)
DONE = ExerciseRun("ex09", (PASSED,), duration=0.5, fingerprint="f", collected=1)
FAILING = ExerciseRun("ex09", (PASSED, FAILED), duration=0.5, fingerprint="f")
BROKEN = ExerciseRun(
    "ex09",
    problem=Problem("syntax", "SyntaxError: oops", Location("x.py", 2), "def f(", 6),
    fingerprint="f",
)

Edit = Callable[[dict[str, Any]], None]


def _set(*path: str | int, to: object) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        *parents, last = path
        node: Any = document
        for key in parents:
            node = node[key]
        node[last] = to

    return edit


def _drop(key: str) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        del document[key]

    return edit


UNTRUSTED: dict[str, tuple[ExerciseRun, Edit]] = {
    "an unknown status": (DONE, _set("status", to="passed")),
    "done with zero tests": (DONE, _set("tests", to=[])),
    "done with only a skipped test": (DONE, _set("tests", 0, "status", to="skipped")),
    "done with a failing test": (FAILING, _set("status", to="done")),
    "done with a problem": (BROKEN, _set("status", to="done")),
    "done, but not every test ran": (DONE, _set("complete", to=False)),
    "pending with nothing to show": (DONE, _set("status", to="pending")),
    "missing, yet with tests": (DONE, _set("status", to="missing")),
    "an unknown test status": (FAILING, _set("tests", 1, "status", to="broken")),
    "a negative duration": (DONE, _set("duration", to=-1.0)),
    "a duration that is text": (DONE, _set("duration", to="1s")),
    "a line number that is true": (FAILING, _set("tests", 1, "line", to=True)),
    "a NUL in a file name": (FAILING, _set("tests", 1, "where", "file", to="a\0b.py")),
    "a lone surrogate in a message": (FAILING, _set("tests", 1, "message", to="\udc80")),
    "an unknown problem kind": (BROKEN, _set("problem", "kind", to="weird")),
    "a caret past the end of the line": (BROKEN, _set("problem", "offset", to=10**9)),
    "tests as an object": (DONE, _set("tests", to={})),
    "no slug": (DONE, _drop("slug")),
    "no status": (DONE, _drop("status")),
    "complete as a number": (DONE, _set("complete", to=1)),
    "a negative collected count": (DONE, _set("collected", to=-1)),
}


@pytest.mark.parametrize("run", [DONE, FAILING, BROKEN], ids=["done", "failing", "broken"])
def test_a_run_written_by_the_cli_reads_back_unchanged(run: ExerciseRun) -> None:
    assert ExerciseRun.from_json(json.loads(json.dumps(run.to_json()))) == run


@pytest.mark.parametrize(("run", "edit"), UNTRUSTED.values(), ids=UNTRUSTED.keys())
def test_a_cached_run_that_breaks_its_rules_is_refused(run: ExerciseRun, edit: Edit) -> None:
    document = deepcopy(run.to_json())
    edit(document)
    with pytest.raises(ShapeError):
        ExerciseRun.from_json(document)


@pytest.mark.parametrize("value", [None, [], "run", 3])
def test_a_cached_run_that_is_not_an_object_is_refused(value: object) -> None:
    with pytest.raises(ShapeError):
        ExerciseRun.from_json(value)


def test_every_real_run_in_a_used_course_is_trusted(warm_course: Path) -> None:
    state = json.loads((warm_course / STATE).read_text(encoding="utf-8"))
    runs = [run for versions in state["results"].values() for run in versions.values()]
    assert len(runs) >= 4  # both stubs and both solutions
    for run in runs:
        assert ExerciseRun.from_json(run).to_json() == run


def _cache_only(course: Path, stamp: str, run: dict[str, Any]) -> None:
    """Make ``run`` the one cached result of ex01, filed under fingerprint ``stamp``."""
    state = json.loads((course / STATE).read_text(encoding="utf-8"))
    state["results"][EX01] = {stamp: run}
    (course / STATE).write_text(json.dumps(state), encoding="utf-8")


def test_a_cached_done_with_zero_tests_is_not_believed(warm_course: Path) -> None:
    exercise = Course.open(warm_course).catalog[0]
    stamp = exercise.fingerprint()
    lie = ExerciseRun(EX01, (PASSED,), fingerprint=stamp).to_json() | {"tests": []}
    _cache_only(warm_course, stamp, lie)
    assert Course.open(warm_course).cached(exercise) is None


def test_a_run_filed_under_other_files_is_not_believed(warm_course: Path) -> None:
    course = Course.open(warm_course)
    exercise = course.catalog[0]
    stub_run = course.cached(exercise)
    assert stub_run is not None
    assert stub_run.status == "pending"
    solve(warm_course, EX01, "policy.py")
    _cache_only(warm_course, exercise.fingerprint(), stub_run.to_json())
    assert Course.open(warm_course).cached(exercise) is None


def test_a_course_update_outside_the_exercise_folder_retires_its_cached_verdicts(
    warm_course: Path,
) -> None:
    # A new profile in the root conftest (or new shared helpers) may judge the same files
    # differently, so the verdict cached for them must not stand.
    exercise = Course.open(warm_course).catalog[0]
    assert Course.open(warm_course).cached(exercise) is not None
    conftest = warm_course / "conftest.py"
    conftest.write_text(conftest.read_text(encoding="utf-8") + "\n# updated\n", encoding="utf-8")
    assert Course.open(warm_course).cached(exercise) is None


EMPTY = {"version": 1, "completed": {}, "hints": {}, "results": {}}


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_a_hint_count_is_accepted_exactly_when_it_names_a_tier_or_none(count: int) -> None:
    document = EMPTY | {"hints": {EX01: count}}
    if 0 <= count <= len(HINT_TIERS):
        assert CourseState.from_json(document).hints == {EX01: count}
    else:
        with pytest.raises(ShapeError, match=f"hints.{EX01}"):
            CourseState.from_json(document)


def test_a_cached_pending_run_with_nothing_to_show_is_run_again(warm_course: Path) -> None:
    state = json.loads((warm_course / STATE).read_text(encoding="utf-8"))
    (stub_run,) = [run for run in state["results"][EX02].values() if run["status"] == "pending"]
    for test in stub_run["tests"]:
        test["status"] = "passed"  # still "pending", yet no failure left to show
    (warm_course / STATE).write_text(json.dumps(state), encoding="utf-8")
    result = run_cli(warm_course, "check", EX02)
    assert result.code == 1
    assert "FAIL test_double_is_twice_the_number" in result.out
