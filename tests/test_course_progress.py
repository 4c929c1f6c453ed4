"""Which exercise is next: one definition, asked one exercise at a time, wrapping round."""

from __future__ import annotations

from collections.abc import Set
from pathlib import Path

import pytest

from aggregates_course.course.catalog import Exercise
from aggregates_course.course.checkout import Course
from aggregates_course.course.outcomes import ExerciseRun
from aggregates_course.course.outcomes import TestResult as SavedTest  # not a pytest class
from aggregates_course.course.state import StateStore
from tests.course_gate import CATALOG, COURSE_ROOT

FAILED = SavedTest("t.py::test_x", "t.py", 1, "failed", 0.1, message="no")
PASSED = SavedTest("t.py::test_x", "t.py", 1, "passed", 0.1)


def course(tmp_path: Path) -> Course:
    """The course's catalog, with a state folder that is never written."""
    return Course(COURSE_ROOT, CATALOG, StateStore(tmp_path))


class Verdicts:
    """Runs by slug (pending unless said otherwise), noting which exercises were asked about."""

    def __init__(self, done: Set[str] = frozenset(), missing: Set[str] = frozenset()) -> None:
        self.done, self.missing = done, missing
        self.asked: list[str] = []

    def __call__(self, exercise: Exercise) -> ExerciseRun:
        self.asked.append(exercise.slug)
        if exercise.slug in self.missing:
            return ExerciseRun(exercise.slug)
        tests = (PASSED,) if exercise.slug in self.done else (FAILED,)
        return ExerciseRun(exercise.slug, tests, collected=1)


def test_without_a_start_it_is_the_first_pending_exercise_in_course_order(
    tmp_path: Path,
) -> None:
    first, second = CATALOG[0], CATALOG[1]
    verdicts = Verdicts(done={first.slug})
    found = course(tmp_path).next_pending(verdicts)
    assert found is not None
    assert found[0] == second
    assert found[1].status == "pending"
    assert verdicts.asked == [first.slug, second.slug]  # asked only until one is found


def test_after_an_exercise_it_looks_further_on_first_then_wraps_round(tmp_path: Path) -> None:
    last = CATALOG[-1]
    pending_before = CATALOG[0]
    done = {exercise.slug for exercise in CATALOG if exercise != pending_before}
    found = course(tmp_path).next_pending(Verdicts(done=done), after=last)
    assert found is not None
    assert found[0] == pending_before


def test_missing_exercises_are_never_next(tmp_path: Path) -> None:
    slugs = {exercise.slug for exercise in CATALOG}
    verdicts = Verdicts(done=slugs - {CATALOG[1].slug}, missing={CATALOG[1].slug})
    assert course(tmp_path).next_pending(verdicts, after=CATALOG[0]) is None
    assert len(verdicts.asked) == len(CATALOG)  # every exercise, once


@pytest.mark.parametrize("index", range(len(CATALOG)))
def test_after_an_exercise_the_one_that_follows_it_is_asked_first(
    tmp_path: Path, index: int
) -> None:
    verdicts = Verdicts(done=set())
    course(tmp_path).next_pending(verdicts, after=CATALOG[index])
    nxt = CATALOG[(index + 1) % len(CATALOG)]
    assert verdicts.asked == [nxt.slug]
