"""One invocation of the CLI, and what every command needs from it.

:class:`App` carries the course, the two consoles and how the learner
started the CLI (:class:`Invocation`), and answers the questions every
command asks: which exercise a name means, which one the learner is on, and
what to do next, in words. The commands themselves live in
:mod:`~aggregates_course.course.checking` (``status``, ``check``),
:mod:`~aggregates_course.course.watch`, :mod:`~aggregates_course.course.guidance`
(``hint``, ``reset``, ``solution``), :mod:`~aggregates_course.course.results`
and :mod:`~aggregates_course.course.doctor`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aggregates_course.course.catalog import Exercise, UnknownExercise, find_exercise
from aggregates_course.course.checkout import Course
from aggregates_course.course.console import Console, Progress
from aggregates_course.course.outcomes import ExerciseRun
from aggregates_course.course.render import progress_words
from aggregates_course.course.shipped import PristineError, load_manifest

PROG = "aggregates-course"


class UsageError(Exception):
    """The command line names something that does not exist; exit code 2."""


@dataclass(frozen=True)
class Invocation:
    """How the learner started the CLI, so that every command it suggests runs as typed.

    ``cli`` is ``uv run aggregates-course``, ``aggregates-course`` or
    ``python -m aggregates_course`` (with ``uv run`` in front under uv);
    ``pytest`` is the matching way to run pytest.
    """

    cli: str
    pytest: str

    @classmethod
    def detect(cls, argv0: str, environ: Mapping[str, str]) -> Invocation:
        """Read it from ``sys.argv[0]`` and the environment ``uv run`` leaves behind."""
        uv = "uv run " if "UV_RUN_RECURSION_DEPTH" in environ else ""
        if Path(argv0).name == "__main__.py":  # python -m aggregates_course
            return cls(f"{uv}python -m aggregates_course", f"{uv}python -m pytest")
        return cls(f"{uv}{PROG}", f"{uv}pytest")


class App:
    """One invocation of the CLI: the course, where to print, and how it was started."""

    def __init__(self, course: Course, out: Console, err: Console, invocation: Invocation) -> None:
        self.course = course
        self.out = out
        self.err = err
        self.invocation = invocation
        self._shipped: frozenset[str] | None = None

    @property
    def run(self) -> str:
        """How a suggested command starts: ``uv run aggregates-course`` and the like."""
        return self.invocation.cli

    def exercise(self, name: str) -> Exercise:
        """The exercise ``name`` means; an unknown name is a usage error with suggestions."""
        try:
            return find_exercise(self.course.catalog, name)
        except UnknownExercise as error:
            raise UsageError(str(error)) from None

    def number(self, exercise: Exercise) -> int:
        """The exercise's 1-based position in the course."""
        return self.course.catalog.index(exercise) + 1

    def runs(self, exercises: Sequence[Exercise], *, complete: bool = False) -> list[ExerciseRun]:
        """Results for ``exercises`` (cached where possible), with a progress line meanwhile."""

        def announce(starting: list[Exercise]) -> None:
            names = ", ".join(exercise.slug.split("_", 1)[0] for exercise in starting)
            progress.label = f"running the tests of {names} ..."

        progress = Progress(self.err.stream, "checking cached results ...")
        with progress:
            return self.course.run_many(exercises, complete=complete, on_start=announce)

    def verdict(self, exercise: Exercise) -> ExerciseRun:
        """One exercise's result (cached where possible), with a progress line meanwhile."""
        return self.runs([exercise])[0]

    def current(self) -> Exercise | None:
        """The exercise the learner is working on: the first not known to be done.

        Known means the cache holds a passing run of the exercise's files as they
        are now, so nothing is run to decide: a freshly solved exercise is still
        the current one, and ``check`` can say it is done. ``None`` when every
        available exercise is known to be done.
        """
        for exercise in self.course.catalog:
            if not exercise.available:
                continue
            cached = self.course.cached(exercise)
            if cached is None or cached.status != "done":
                return exercise
        return None

    def named_or_current(self, name: str | None) -> Exercise | None:
        """The exercise ``name`` means, or with no name the :meth:`current` one."""
        return self.exercise(name) if name is not None else self.current()

    def shipped(self, exercise: Exercise) -> bool:
        """Whether this copy of the course was shipped with the exercise (its manifest says so)."""
        if self._shipped is None:
            try:
                self._shipped = frozenset(load_manifest(self.course.root).hashes)
            except PristineError:
                self._shipped = frozenset()
        return exercise.slug in self._shipped

    def absence(self, exercise: Exercise) -> tuple[str, str]:
        """Why an exercise cannot be checked, and what brings it: a short note and a sentence.

        An exercise the course shipped was deleted (git can restore it); one
        it did not ship is not in this copy yet (an update brings it).
        """
        folder = f"exercises/{exercise.slug}"
        if not self.shipped(exercise):
            return "not in your copy yet", f"{folder} is not in your copy of the course yet"
        restore = f"git checkout -- {folder}"
        if exercise.folder.is_dir():
            return (
                f"its tests were deleted: {restore}",
                f"the tests of {folder} were deleted; restore them with `{restore}`",
            )
        return f"deleted: {restore}", f"{folder} was deleted; restore it with `{restore}`"

    def all_done_line(self) -> None:
        """Congratulate, and say which exercises this copy lacks and how to get them."""
        unavailable = [e for e in self.course.catalog if not e.available]
        self.out.line(
            self.out.style(f"{self.out.ok_mark} Every available exercise is done.", "green", "bold")
        )
        deleted = [e for e in unavailable if self.shipped(e)]
        for exercise in deleted:
            self.out.line(f"  {self.absence(exercise)[1]}.")
        if len(unavailable) > len(deleted):
            self.out.line(
                f"  {len(unavailable) - len(deleted)} exercise(s) are not in your copy yet; "
                "update it to get them."
            )

    def next_step(self, after: Exercise) -> None:
        """Say what to do next: the first pending exercise after ``after``, wrapping around.

        Exercises are run one at a time and only until a pending one is found.
        """
        pending = self.course.next_pending(self.verdict, after)
        if pending is None:
            self.all_done_line()
        else:
            self.describe_next(*pending)

    def describe_next(self, exercise: Exercise, run: ExerciseRun) -> None:
        """The next exercise: its README, the files to edit, and the commands that check it."""
        out = self.out
        out.line(
            out.style(f"Next: exercise {self.number(exercise)}, {exercise.title}", "bold")
            + f"  ({progress_words(run)})"
        )
        readme = exercise.readme.relative_to(exercise.root).as_posix()
        files = ", ".join(f"exercises/{exercise.slug}/{name}" for name in exercise.files)
        out.line(f"  read    {readme}")
        out.line(f"  edit    {files}")
        out.line(f"  check   {out.style(f'{self.run} check', 'cyan')}")
        out.line(f"          (or {self.run} watch, which checks again on every save;")
        out.line(f"          or {self.invocation.pytest} exercises/{exercise.slug})")
        out.line(f"  stuck?  {self.run} hint")
