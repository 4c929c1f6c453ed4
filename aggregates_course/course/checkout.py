"""Progress: a learner's checkout, its state, its cache of results, and what is next.

:class:`Course` answers "what is this exercise's verdict?" from the state
file when the exercise's files are unchanged, and runs the tests
(:func:`~aggregates_course.course.runner.run_exercise`) when they are not,
several exercises at once; and "which exercise is next?"
(:meth:`Course.next_pending`, the one definition). Every change to the
state is a step replayed on the file as it is on disk when saved, under the
state lock, so two CLI processes never lose each other's changes.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from aggregates_course.course.catalog import Exercise, catalog_root, load_catalog
from aggregates_course.course.launch import DEFAULT_TIME_LIMIT, Launcher, RunGroup, launch_cold
from aggregates_course.course.outcomes import ExerciseRun
from aggregates_course.course.runner import run_exercise
from aggregates_course.course.state import CourseState, StateError, StateStore

CACHED_VERSIONS = 8  # results kept per exercise, newest last
T = TypeVar("T")


def _record(run: ExerciseRun, state: CourseState) -> None:
    """Cache ``run`` as the newest result for its files."""
    entries = state.results.setdefault(run.slug, {})
    entries.pop(run.fingerprint, None)
    entries[run.fingerprint] = run.to_json()
    # Several versions per exercise stay cached, so undoing an edit or a reset is instant.
    while len(entries) > CACHED_VERSIONS:
        del entries[next(iter(entries))]


def _unchanged(state: CourseState) -> None:
    """No change of its own: a save that only writes the unsaved steps."""


@dataclass
class Course:
    """A learner's course checkout: its catalog, its state, and cached test results.

    ``state`` is this process's view. Change it only through :meth:`remember`
    and :meth:`update`: every change is kept as a step and replayed on the file
    as it is on disk when it is saved, under the state lock, so another CLI
    process's changes made meanwhile (a ``hint`` while ``watch`` runs) are kept.
    ``time_limit`` and ``launch`` say how its tests are run: how long a run
    may take, and how pytest is started (cold, or forked from a warm process).
    """

    root: Path
    catalog: tuple[Exercise, ...]
    store: StateStore
    state: CourseState = field(default_factory=CourseState)
    #: Changes made here since the last save, in order; replayed onto the file when saving.
    unsaved: list[Callable[[CourseState], object]] = field(
        default_factory=list, repr=False, compare=False
    )
    time_limit: float = DEFAULT_TIME_LIMIT
    launch: Launcher = launch_cold

    @classmethod
    def open(cls, root: Path | None = None, *, warn: Callable[[str], None] | None = None) -> Course:
        """Load the catalog and the state.

        A damaged state file is moved aside and rebuilt, with one line to
        ``warn`` (default: stderr); a state file that cannot be read raises
        :class:`~aggregates_course.course.state.StateError`.
        """
        catalog = load_catalog(root)
        course_root = catalog_root(catalog, root)
        store = StateStore(course_root, warn)
        return cls(course_root, catalog, store, store.load())

    def cached(self, exercise: Exercise, *, complete: bool = False) -> ExerciseRun | None:
        """The stored result for the exercise's current files, if there is one.

        With ``complete``, a run that stopped at its first failure does not count;
        nor does a run that timed out under a shorter limit than today's.
        """
        entries = self.state.results.get(exercise.slug)
        if not entries or not exercise.available:
            return None
        stamp = exercise.fingerprint()
        stored = entries.get(stamp)
        if stored is None:
            return None
        try:
            run = ExerciseRun.from_json(stored, cached=True)
        except ValueError:
            return None  # an untrustworthy cache entry is just a cache miss
        if (run.slug, run.fingerprint) != (exercise.slug, stamp) or run.status == "missing":
            return None  # filed under the wrong exercise or files: not this exercise's result
        if run.problem is not None and run.problem.kind == "timeout":
            # A run stopped at its limit ran about that long: given longer now, try again.
            return run if run.duration >= self.time_limit else None
        return run if run.complete or not complete else None

    def run(
        self,
        exercise: Exercise,
        *,
        complete: bool = False,
        on_output: Callable[[str], None] | None = None,
    ) -> ExerciseRun:
        """The exercise's result, from the cache when its files are unchanged.

        ``on_output`` asks for pytest's own verbose output, which only a fresh
        run has, so the cache is bypassed (the fresh result is still cached).
        """
        if on_output is None:
            return self.run_many([exercise], complete=complete)[0]
        run = run_exercise(
            exercise,
            complete=complete,
            limit=self.time_limit,
            launch=self.launch,
            on_output=on_output,
        )
        self._remember_if_unchanged(exercise, run)
        self.save()
        return run

    def run_many(
        self,
        exercises: Sequence[Exercise],
        *,
        complete: bool = False,
        on_start: Callable[[list[Exercise]], None] | None = None,
    ) -> list[ExerciseRun]:
        """Results for several exercises, running the uncached ones in parallel subprocesses.

        ``complete`` asks for every test's result, not just up to the first
        failure. ``on_start`` is told which exercises will really run (for a
        progress line). The state file is saved once, after every run finished.
        """
        runs: dict[str, ExerciseRun] = {}
        to_run: list[Exercise] = []
        for exercise in exercises:
            hit = self.cached(exercise, complete=complete)
            if hit is not None:
                runs[exercise.slug] = hit
            elif not exercise.available:
                runs[exercise.slug] = ExerciseRun(exercise.slug)
            else:
                to_run.append(exercise)
        if to_run:
            if on_start is not None:
                on_start(to_run)
            for exercise, run in zip(to_run, self._run_now(to_run, complete), strict=True):
                runs[exercise.slug] = run
                self._remember_if_unchanged(exercise, run)
            self.save()
        return [runs[exercise.slug] for exercise in exercises]

    def _run_now(self, exercises: Sequence[Exercise], complete: bool) -> list[ExerciseRun]:
        """Run the exercises' tests, several at once in threads; one in this thread.

        One run stays in this thread so that Ctrl-C or SIGTERM reaches the
        launcher mid-run and it stops pytest at once. With several, the
        interrupt reaches this thread while it waits: it stops the whole group
        of runs (every pytest is killed, none starts) before passing it on.
        """
        group = RunGroup()

        def run_one(exercise: Exercise) -> ExerciseRun:
            return run_exercise(
                exercise, complete=complete, limit=self.time_limit, launch=self.launch, group=group
            )

        if len(exercises) == 1:
            return [run_one(exercises[0])]
        pool = ThreadPoolExecutor(max_workers=max(1, min(len(exercises), os.cpu_count() or 1)))
        try:
            return list(pool.map(run_one, exercises))
        except BaseException:
            group.stop()
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _remember_if_unchanged(self, exercise: Exercise, run: ExerciseRun) -> None:
        """Cache a fresh run unless the exercise's files changed while it ran.

        Such a run may have imported a file saved after its fingerprint was
        taken: filed under that fingerprint, it would later answer for files it
        never judged (a stub called done because a solution was saved mid-run).
        """
        if run.fingerprint == exercise.fingerprint():
            self.remember(run)

    def remember(self, run: ExerciseRun) -> None:
        """Cache a fresh run (saved by :meth:`save`)."""
        if run.status == "missing":
            return
        step = functools.partial(_record, run)
        step(self.state)
        self.unsaved.append(step)

    def update(self, change: Callable[[CourseState], T]) -> T:
        """Apply ``change`` to the freshest state and save it, with every unsaved change.

        The file is read, changed and written under the state lock, so
        ``change`` sees every other process's saved changes and none of them
        is lost; ``state`` then shows the result. If the state cannot be
        saved, the learner is warned once, ``change`` still applies to this
        process's ``state``, and its result is returned.
        """
        outcome: list[T] = []

        def replay(state: CourseState) -> None:
            for step in self.unsaved:
                step(state)
            outcome.append(change(state))

        try:
            self.state = self.store.update(replay)
        except StateError as error:
            self.store.warn(str(error))
            return change(self.state)
        self.unsaved.clear()
        return outcome[-1]

    def save(self) -> None:
        """Write this process's unsaved changes into the state file (see :meth:`update`)."""
        if self.unsaved:
            self.update(_unchanged)

    def next_pending(
        self, verdict: Callable[[Exercise], ExerciseRun], after: Exercise | None = None
    ) -> tuple[Exercise, ExerciseRun] | None:
        """The first pending exercise after ``after``, wrapping round; from the start without one.

        ``verdict`` gives an exercise's run (cached or fresh); it is asked one
        exercise at a time, in that order, only until a pending one is found.
        ``None`` when no available exercise is pending.
        """
        order = list(self.catalog)
        start = 0 if after is None else order.index(after) + 1
        for exercise in order[start:] + order[:start]:
            run = verdict(exercise)
            if run.status == "pending":
                return exercise, run
        return None
