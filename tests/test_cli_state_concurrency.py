"""Several CLI processes on one course lose nothing: every state write is read-modify-write.

The race this guards against: ``watch`` opens the state, runs tests for a
while, then saves; meanwhile ``hint`` in another terminal saved a hint. The
watcher's copy is stale, and writing it back would drop the hint. Here real
processes start together behind a barrier, each holding a copy opened before
anyone wrote, and every change must survive.
"""

from __future__ import annotations

import errno
import io
import json
from pathlib import Path
from typing import Any

import pytest

from aggregates_course.course import lock
from aggregates_course.course.checkout import Course
from aggregates_course.course.cli import main
from aggregates_course.course.lock import StateLock
from aggregates_course.course.outcomes import ExerciseRun
from aggregates_course.course.outcomes import TestResult as SavedTest  # not a pytest class
from aggregates_course.course.state import CourseState
from tests.cli_state_support import STATE, processes
from tests.test_cli_support import EX01, EX02, EX03, fresh_course, run_cli

__all__ = ["fresh_course"]  # a fixture, re-exported for pytest

WATCHERS = 6
SAVES_PER_WATCHER = 5
HINTS_PER_EXERCISE = 2
HINTED = (EX01, EX02, EX03)
WAIT = 120  # seconds; only a sibling that died before the barrier makes anyone wait this long


def failing_run(slug: str, stamp: str) -> ExerciseRun:
    """A pending run, as a watcher would record after a check."""
    test = SavedTest(f"{slug}/test_x.py::test_x", f"{slug}/test_x.py", 1, "failed", 0.1, "no")
    return ExerciseRun(slug, (test,), duration=0.1, fingerprint=stamp)


def run_to_the_end(children: list[Any]) -> None:
    """Start every child process, wait for all, and fail unless each one succeeded."""
    for child in children:
        child.start()
    for child in children:
        child.join()
    assert [child.exitcode for child in children] == [0] * len(children)


def _watcher(root: Path, barrier: Any, index: int) -> None:
    course = Course.open(root)  # opened before anyone writes: a stale copy, as `watch` holds
    barrier.wait(WAIT)
    for save in range(SAVES_PER_WATCHER):
        course.remember(failing_run(f"race-{index}", f"save-{save}"))
        course.save()


def _hinter(root: Path, barrier: Any, slug: str) -> None:
    barrier.wait(WAIT)
    printed = io.StringIO()
    code = main(["hint", slug], stdout=printed, stderr=printed, root=root)
    if code != 0:
        raise SystemExit(f"hint {slug} exited {code}: {printed.getvalue()}")


def test_watchers_and_hints_in_parallel_processes_all_keep_their_changes(
    fresh_course: Path,
) -> None:
    run_cli(fresh_course, "hint", EX02)  # a state file exists before the race
    context = processes()
    hinters = [slug for slug in HINTED for _ in range(HINTS_PER_EXERCISE)]
    barrier = context.Barrier(WATCHERS + len(hinters))
    children = [
        context.Process(target=_watcher, args=(fresh_course, barrier, index))
        for index in range(WATCHERS)
    ] + [context.Process(target=_hinter, args=(fresh_course, barrier, slug)) for slug in hinters]
    run_to_the_end(children)
    state = json.loads((fresh_course / STATE).read_text(encoding="utf-8"))
    assert state["hints"] == {EX01: 2, EX02: 3, EX03: 2}
    for index in range(WATCHERS):
        saved = state["results"][f"race-{index}"]
        assert list(saved) == [f"save-{save}" for save in range(SAVES_PER_WATCHER)]


def test_a_stale_copy_saving_later_keeps_the_hint_saved_meanwhile(fresh_course: Path) -> None:
    watcher = Course.open(fresh_course)
    assert run_cli(fresh_course, "hint", EX01).code == 0
    watcher.remember(failing_run(EX02, "edited"))
    watcher.save()
    state = json.loads((fresh_course / STATE).read_text(encoding="utf-8"))
    assert state["hints"] == {EX01: 1}
    assert list(state["results"][EX02]) == ["edited"]
    assert watcher.state.hints == {EX01: 1}  # and the watcher now sees the hint too


def test_an_update_sees_the_changes_other_processes_saved(fresh_course: Path) -> None:
    first, second = Course.open(fresh_course), Course.open(fresh_course)
    first.update(lambda state: state.hints.update({EX01: 2}))
    seen = second.update(lambda state: dict(state.hints))
    assert seen == {EX01: 2}


COUNTERS = 4
INCREMENTS = 50


def _count(counter: Path, lock_file: Path, barrier: Any) -> None:
    barrier.wait(WAIT)
    for _ in range(INCREMENTS):
        with StateLock(lock_file):
            counter.write_text(str(int(counter.read_text()) + 1))


def test_the_lock_lets_one_process_at_a_time_read_and_write(tmp_path: Path) -> None:
    counter, lock_file = tmp_path / "counter", tmp_path / "counter.lock"
    counter.write_text("0")
    context = processes()
    barrier = context.Barrier(COUNTERS)
    children = [
        context.Process(target=_count, args=(counter, lock_file, barrier)) for _ in range(COUNTERS)
    ]
    run_to_the_end(children)
    assert int(counter.read_text()) == COUNTERS * INCREMENTS


def test_a_course_state_round_trips_through_an_update(fresh_course: Path) -> None:
    course = Course.open(fresh_course)
    course.remember(failing_run(EX01, "a"))
    course.save()
    assert Course.open(fresh_course).state == CourseState(
        results={EX01: {"a": failing_run(EX01, "a").to_json()}}
    )


def test_a_file_system_without_locks_still_saves(
    fresh_course: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_locks_here(handle: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(lock, "_acquire", no_locks_here)
    assert run_cli(fresh_course, "hint", EX01).code == 0
    state = json.loads((fresh_course / STATE).read_text(encoding="utf-8"))
    assert state["hints"] == {EX01: 1}


def test_a_real_locking_failure_is_not_mistaken_for_a_missing_feature(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(handle: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(lock, "_acquire", broken)
    with pytest.raises(OSError, match="Input/output error"), StateLock(tmp_path / "x.lock"):
        pass
