"""The ``aggregates-course`` command line: the learner's loop around the exercises.

``aggregates-course`` alone (or ``status``) shows the course status and the
next step; ``check`` checks the exercise being worked on and shows its first
failing test, or says done; ``watch`` re-checks on every save and takes
single keys on a terminal; ``hint``, ``reset``, ``solution``,
``results --json``, ``doctor`` and ``demo`` do what their ``--help`` says.
Exit codes: 0 success (or an exercise passes), 1 a failing check or a
problem found, 2 a usage error. All state lives in ``.aggregates-course/``
in the course checkout. Every command it suggests is spelled the way the
learner started it (:class:`Invocation`).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib.metadata
import json
import math
import os
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, TextIO

from aggregates_course.course.catalog import (
    HINT_TIERS,
    CatalogError,
    Exercise,
    UnknownExercise,
    catalog_root,
    find_exercise,
    is_available,
    load_catalog,
)
from aggregates_course.course.checkout import Course
from aggregates_course.course.console import Console, Progress
from aggregates_course.course.demo import run_demo
from aggregates_course.course.files import trouble, write_atomically
from aggregates_course.course.launch import DEFAULT_TIME_LIMIT
from aggregates_course.course.outcomes import ExerciseRun, Problem
from aggregates_course.course.pristine import PristineError, exercise_files, load_manifest
from aggregates_course.course.results import results_document
from aggregates_course.course.runner import source_line
from aggregates_course.course.state import CourseState, StateError, StateStore, timestamp
from aggregates_course.course.warm import warm_launcher
from aggregates_course.course.watching import FolderEvents, Keys, wait

PROG = "aggregates-course"
RUN = f"uv run {PROG}"  # how the README and the docs spell the command
MESSAGE_LINES = 30  # longer assertion explanations are cut; the first lines say what broke
WATCH_INTERVAL = 0.25  # seconds between polls; with file events it is only a safety net


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


def _seconds(text: str) -> float:
    """A positive, finite number of seconds, or an argparse usage error."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds above 0")
    return value


def _count(text: str) -> int:
    """A whole number above 0, or an argparse usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number above 0")
    return value


def _parser_for(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    examples: str,
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=summary,
        description=summary[0].upper() + summary[1:] + ".",
        epilog=examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options ``check`` and ``watch`` share: verbosity and the time limit."""
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also show pytest's own, full output"
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIME_LIMIT,
        metavar="SECONDS",
        help=f"stop a test run after this long (default: {DEFAULT_TIME_LIMIT:g})",
    )


def build_parser(run: str = RUN) -> argparse.ArgumentParser:
    """The argument parser, with one subcommand per job; with no command it shows the status.

    ``run`` is how the examples spell the command (:attr:`Invocation.cli`).
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "A hands-on course on aggregates and consistency boundaries.\n"
            "With no command: which exercises are done, and what to do next."
        ),
        epilog=(
            "examples (the learner loop):\n"
            f"  {run}            # status and the next exercise\n"
            f"  {run} check      # the exercise you are on: its first failing test, or done\n"
            f"  {run} watch      # re-check on every save\n"
            f"  {run} hint       # one hint tier at a time"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _parser_for(
        commands,
        "status",
        "which exercises are done, and what to do next (the same as no command)",
        f"example:\n  {run} status",
    )
    check = _parser_for(
        commands,
        "check",
        "run an exercise's tests: its first failing test, or done and what is next",
        f"examples:\n  {run} check          # the exercise you are working on\n"
        f"  {run} check ex01     # by number, prefix or full name\n"
        f"  {run} check -v       # with pytest's own output too",
    )
    check.add_argument(
        "exercise", nargs="?", help="default: the first exercise not yet done when you run it"
    )
    _add_run_options(check)
    watch = _parser_for(
        commands,
        "watch",
        "check again whenever a file of the exercise is saved (q or Ctrl-C stops)",
        f"example:\n  {run} watch\n\n"
        "On a terminal it takes single keys: h the next hint, c check now, l the list\n"
        "of exercises, r reset the exercise (after asking; your file is backed up),\n"
        "q quit. Saves are noticed at once on Linux and by polling elsewhere.",
    )
    watch.add_argument(
        "exercise", nargs="?", help="default: the exercise you are working on, then the next"
    )
    _add_run_options(watch)
    watch.add_argument(
        "--interval",
        type=_seconds,
        default=WATCH_INTERVAL,
        metavar="SECONDS",
        help=f"seconds between polls for saved files (default: {WATCH_INTERVAL:g})",
    )
    watch.add_argument("--max-runs", type=_count, default=None, help="stop after this many checks")
    watch.add_argument(
        "--duration",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="stop watching after this long (default: until q or Ctrl-C)",
    )
    hint = _parser_for(
        commands,
        "hint",
        "show the next hint for an exercise: nudge, then pointer, then worked step",
        f"examples:\n  {run} hint        # the exercise you are working on\n  {run} hint ex01",
    )
    hint.add_argument(
        "exercise", nargs="?", help="default: the first exercise not yet done when you run it"
    )
    reset = _parser_for(
        commands,
        "reset",
        "restore an exercise's original stub, backing up your version first",
        f"examples:\n  {run} reset ex01\n  {run} reset --all --yes",
    )
    reset.add_argument("exercise", nargs="?", help="the exercise to restore")
    reset.add_argument("--all", action="store_true", help="restore every exercise")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    solution = _parser_for(
        commands,
        "solution",
        "show how the solution differs from the stub (once the exercise is done)",
        f"examples:\n  {run} solution ex01\n  {run} solution ex01 --give-up",
    )
    solution.add_argument("exercise", help="the exercise whose solution to show")
    solution.add_argument(
        "--give-up", action="store_true", help="show it even though the exercise is pending"
    )
    results = _parser_for(
        commands,
        "results",
        "every exercise's test results, per test, for scripts and dashboards",
        f"example:\n  {run} results --json > results.json\n\n"
        "The JSON shape is documented in aggregates_course/course/results.py.",
    )
    results.add_argument("--json", action="store_true", help="print the results as JSON")
    _parser_for(
        commands,
        "doctor",
        "check Python, pytest, Hypothesis and the exercise files; say what to fix",
        f"example:\n  {run} doctor",
    )
    _parser_for(
        commands,
        "demo",
        "walk through the reference MonitoringPolicy, step by step",
        f"example:\n  {run} demo",
    )
    return parser


def subcommand_parser(parser: argparse.ArgumentParser, name: str | None) -> argparse.ArgumentParser:
    """The parser of subcommand ``name``; the main parser for no command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            chosen: argparse.ArgumentParser = action.choices[name]
            return chosen
    return parser


class App:
    """One invocation of the CLI: the course, where to print, and how it was started."""

    def __init__(self, course: Course, out: Console, err: Console, invocation: Invocation) -> None:
        self.course = course
        self.out = out
        self.err = err
        self.invocation = invocation

    @property
    def run(self) -> str:
        """How a suggested command starts: ``uv run aggregates-course`` and the like."""
        return self.invocation.cli

    # -- helpers ---------------------------------------------------------------

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

    def first_pending(self) -> Exercise | None:
        """The first pending exercise, running exercises in order only until one is found."""
        for exercise in self.course.catalog:
            if self.runs([exercise])[0].status == "pending":
                return exercise
        return None

    def current(self) -> Exercise | None:
        """The exercise the learner is working on: the first not known to be done.

        Known means the cache holds a passing run of the exercise's files as they
        are now, so nothing is run to decide: a freshly solved exercise is still
        the current one, and ``check`` can say it is done. ``None`` when every
        available exercise is known to be done.
        """
        for exercise in self.course.catalog:
            if not is_available(exercise):
                continue
            cached = self.course.cached(exercise)
            if cached is None or cached.status != "done":
                return exercise
        return None

    def named_or_current(self, name: str | None) -> Exercise | None:
        """The exercise ``name`` means, or with no name the :meth:`current` one."""
        return self.exercise(name) if name is not None else self.current()

    def all_done_line(self) -> None:
        """Congratulate, and say how many exercises this copy does not have yet."""
        available = [e for e in self.course.catalog if is_available(e)]
        missing = len(self.course.catalog) - len(available)
        self.out.line(
            self.out.style(f"{self.out.ok_mark} Every available exercise is done.", "green", "bold")
        )
        if missing:
            self.out.line(
                f"  {missing} exercise(s) are not in your copy yet; update it to get them."
            )

    def next_step(self, after: Exercise) -> None:
        """Say what to do next: the first pending exercise after ``after``, wrapping around.

        Exercises are run one at a time and only until a pending one is found.
        """
        order = list(self.course.catalog)
        start = order.index(after) + 1
        for exercise in order[start:] + order[:start]:
            run = self.runs([exercise])[0]
            if run.status == "pending":
                self.describe_next(exercise, run)
                return
        self.all_done_line()

    def describe_next(self, exercise: Exercise, run: ExerciseRun) -> None:
        """The next exercise: its README, the files to edit, and the commands that check it."""
        out = self.out
        out.line(
            out.style(f"Next: exercise {self.number(exercise)}, {exercise.title}", "bold")
            + f"  ({self.progress_words(run)})"
        )
        readme = exercise.readme.relative_to(exercise.root).as_posix()
        files = ", ".join(f"exercises/{exercise.slug}/{name}" for name in exercise.files)
        out.line(f"  read    {readme}")
        out.line(f"  edit    {files}")
        out.line(f"  check   {out.style(f'{self.run} check', 'cyan')}")
        out.line(f"          (or {self.run} watch, which checks again on every save;")
        out.line(f"          or {self.invocation.pytest} exercises/{exercise.slug})")
        out.line(f"  stuck?  {self.run} hint")

    @staticmethod
    def progress_words(run: ExerciseRun) -> str:
        """How far a pending exercise is, in a few words."""
        if run.problem is not None:
            where = f" in {run.problem.where.file}" if run.problem.where else ""
            return f"{run.problem.kind} problem{where}"
        failure = run.first_failure
        if failure is None:
            return "no test has failed"
        if run.complete:
            return f"{len(run.failures)} of {len(run.tests)} tests failing"
        return f"fails at test {run.tests.index(failure) + 1} of {run.collected}"

    # -- commands --------------------------------------------------------------

    def status(self) -> int:
        """Every exercise done, pending or missing; then the next step. Always exits 0."""
        out = self.out
        runs = self.runs(self.course.catalog)
        done = sum(run.status == "done" for run in runs)
        out.line(out.style(f"{PROG}: {done} of {len(runs)} exercises done", "bold"))
        out.line()
        width = max(len(exercise.title) for exercise in self.course.catalog)
        for number, (exercise, run) in enumerate(
            zip(self.course.catalog, runs, strict=True), start=1
        ):
            # Pending is where every exercise starts, not a failure: no cross for it.
            mark, colour = {
                "done": (out.ok_mark, "green"),
                "pending": (out.bullet, "yellow"),
                "missing": (" ", "dim"),
            }[run.status]
            label = out.style(f"{mark} {run.status:<8}", colour)
            folder = f"exercises/{exercise.slug}"
            note = ""
            if run.status == "missing":
                note = "  (not in your copy yet)"
            elif run.problem is not None:
                note = f"  ({run.problem.kind} problem)"
            out.line(f"  {label} {number:>2}. {exercise.title:<{width}}  {folder}{note}")
        out.line()
        pending = self.course.next_pending(runs)
        if pending is None:
            self.all_done_line()
        else:
            self.describe_next(pending, runs[self.course.catalog.index(pending)])
        return 0

    def check(self, name: str | None, *, verbose: bool = False) -> int:
        """Check the named exercise, or the :meth:`current` one; 0 when it passes, else 1."""
        exercise = self.named_or_current(name)
        if exercise is None:
            self.all_done_line()
            return 0
        return self.check_one(exercise, verbose=verbose)

    def check_one(self, exercise: Exercise, *, verbose: bool = False) -> int:
        """Show the first failing test, a problem, or the done line; 0 only when all pass.

        ``verbose`` runs the tests afresh and shows pytest's own output first.
        """
        out = self.out
        header = f"Exercise {self.number(exercise)}: {exercise.title}  (exercises/{exercise.slug})"
        out.line(out.style(header, "bold"))
        if not is_available(exercise):
            out.line(
                f"{out.fail_mark} exercises/{exercise.slug} is not in your copy of the course yet."
            )
            return 1
        with Progress(self.err.stream, f"running the tests of {exercise.slug} ..."):
            run = self.course.run(exercise, on_output=self.show_pytest_output if verbose else None)
        if run.status == "done":
            out.line(
                out.style(
                    f"{out.ok_mark} done: all {len(run.tests)} tests of {exercise.slug} pass.",
                    "green",
                    "bold",
                )
            )
            self.next_step(after=exercise)
            return 0
        if run.problem is not None:
            self.show_problem(run.problem, exercise)
        else:
            self.show_failure(run)
        out.line()
        out.line(f"Fix it, save, and check again: {self.run} check {exercise.slug}")
        out.line(f"Stuck? {self.run} hint {exercise.slug}")
        return 1

    def show_pytest_output(self, output: str) -> None:
        """pytest's own report, as it printed it, set off from the CLI's summary."""
        self.out.line(self.out.style("pytest says:", "dim"))
        for line in output.rstrip().splitlines():
            self.out.line(line)
        self.out.line()

    def show_problem(self, problem: Problem, exercise: Exercise) -> None:
        """A file and line the learner can fix, instead of a wall of identical failures."""
        out = self.out
        title = {
            "syntax": "Python cannot read this file",
            "import": "this file fails while Python imports it",
            "missing": "a file you edit is missing",
            "collection": "a test file cannot be loaded",
            "runner": "the tests could not run",
            "timeout": "the tests did not finish in time",
        }[problem.kind]
        where = f"{problem.where}: " if problem.where else ""
        out.line(out.style(f"{out.fail_mark} {where}{title}", "red", "bold"))
        if problem.source is not None and problem.where is not None:
            number = f"{problem.where.line}"
            out.line(f"    {number} | {problem.source}")
            if problem.offset:
                out.line(f"    {' ' * len(number)} | {' ' * (problem.offset - 1)}^")
        for line in _wrap(problem.message)[:MESSAGE_LINES]:
            out.line(f"  {line}")
        if problem.kind == "missing":
            out.line(f"  Restore the stub with: {self.run} reset {exercise.slug}")
        elif problem.kind == "runner":
            out.line(f"  {self.run} doctor checks your setup.")

    def show_failure(self, run: ExerciseRun) -> None:
        """The first failing test: the broken invariant, Hypothesis' minimal steps, the line."""
        out = self.out
        failure = run.first_failure
        assert failure is not None  # a pending run without a problem has a failing test
        position = f"test {run.tests.index(failure) + 1} of {run.collected}, the first to fail"
        out.line(
            out.style(f"{out.fail_mark} FAIL {failure.name}", "red", "bold") + f"  ({position})"
        )
        out.line()
        lines = _wrap(failure.message or "(no message)")
        for line in lines[:MESSAGE_LINES]:
            out.line(f"  {line}")
        if len(lines) > MESSAGE_LINES:
            out.line(f"  ... ({len(lines) - MESSAGE_LINES} more lines)")
        if failure.steps:
            out.line()
            out.line(out.style("  Minimal steps that break it (Hypothesis' falsifying example):"))
            for line in failure.steps.splitlines():
                out.line(f"    {line}")
        out.line()
        if failure.where is not None:
            out.line(f"  raised at  {failure.where}")
            source = source_line(self.course.root / failure.where.file, failure.where.line)
            if source:
                out.line(out.style(f"             > {source}", "dim"))
        out.line(f"  test       {failure.file}, line {failure.line}")

    def watch(
        self,
        name: str | None,
        interval: float,
        max_runs: int | None,
        duration: float | None,
        *,
        verbose: bool = False,
    ) -> int:
        """Check, then wait for a saved change (or a key) and check again, until told to stop.

        Without a name it follows the course: once the watched exercise passes,
        it watches the next pending one (and stops when none is left). Checks
        run in forks of a warm pytest where the platform allows.
        """
        exercise = self.named_or_current(name)
        if exercise is None:
            self.all_done_line()
            return 0
        deadline = None if duration is None else time.monotonic() + duration
        keys = Keys.open(sys.stdin) if self.out.tty else None
        warm = warm_launcher(self.course.root)
        runs = 0
        with contextlib.ExitStack() as cleanup:
            if warm is not None:
                cleanup.enter_context(warm)
                self.course.launch = warm
            if keys is not None:
                cleanup.enter_context(keys)
            try:
                while True:
                    # Taken before each check, so a save made while the tests run counts.
                    snapshot = _snapshot(exercise.folder)
                    self.out.clear()
                    code = self.check_one(exercise, verbose=verbose)
                    runs += 1
                    if max_runs is not None and runs >= max_runs:
                        return code
                    if code == 0 and name is None:
                        upcoming = self.first_pending()
                        if upcoming is None:
                            return 0
                        if upcoming != exercise:
                            exercise, snapshot = upcoming, _snapshot(upcoming.folder)
                    woken = self.wait_for_change(exercise, snapshot, keys, interval, deadline)
                    if woken == "quit":
                        self.out.line("Stopped watching.")
                        return 0
                    if woken == "gone":
                        return 0  # nothing can be shown any more
                    if woken == "time up":
                        self.out.line("Watch time limit reached.")
                        return code
            except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (main turns it into the same)
                self.out.line()
                self.out.line("Stopped watching.")
                return 0

    def wait_for_change(
        self,
        exercise: Exercise,
        snapshot: dict[str, tuple[int, int]],
        keys: Keys | None,
        interval: float,
        deadline: float | None,
    ) -> Literal["changed", "check", "quit", "time up", "gone"]:
        """Wait until a file of the exercise differs from ``snapshot``, or a key says what to do."""
        self.watching_line(exercise, keys)
        events = FolderEvents.open(exercise.folder)
        try:
            while True:
                # Compared before every wait: a save made while the check ran counts too.
                if _snapshot(exercise.folder) != snapshot:
                    return "changed"
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return "time up"
                sources: list[FolderEvents | Keys] = [s for s in (events, keys) if s is not None]
                ready = wait(sources, interval if left is None else min(interval, left))
                if events is not None and events in ready:
                    events.drain()
                if keys is not None and keys in ready:
                    try:
                        action = self.on_keys(exercise, keys)
                    except EOFError:  # the terminal is gone: nobody is left to watch for
                        return "gone"
                    if action is not None:
                        return action
        finally:
            if events is not None:
                events.close()

    def watching_line(self, exercise: Exercise, keys: Keys | None) -> None:
        """What ``watch`` is waiting for, and how to steer it."""
        how = (
            "keys: h hint, c check now, l list, r reset, q quit"
            if keys is not None
            else "Ctrl-C to stop"
        )
        self.out.line()
        self.out.line(
            self.out.style(
                f"Watching exercises/{exercise.slug}/ for saved changes ({how}) ...", "dim"
            )
        )

    def on_keys(self, exercise: Exercise, keys: Keys) -> Literal["check", "quit"] | None:
        """Act on the keys pressed; say whether the watch should check again or stop."""
        for key in keys.read():
            if key == "q":
                return "quit"
            if key == "c":
                return "check"
            if key == "h":
                self.out.line()
                self.hint(exercise.slug)
            elif key == "l":
                self.out.line()
                self.status()
            elif key == "r":
                question = (
                    f"Reset exercises/{exercise.slug} to its original stub? "
                    "Your files are backed up first. [y/N] "
                )
                self.out.stream.write("\n" + question)
                self.out.stream.flush()
                answer = keys.read_key()
                self.out.line(answer)
                if answer == "y":
                    self.reset(exercise.slug, every=False, yes=True)
                    return "check"
                self.out.line("Nothing was changed.")
            else:
                continue
            self.watching_line(exercise, keys)
        return None

    def hint(self, name: str | None) -> int:
        """Show the next unseen hint tier and remember it; say so when none are left."""
        out = self.out
        exercise = self.named_or_current(name)
        if exercise is None:
            self.all_done_line()
            out.line(f"For the hints of one of them: {self.run} hint ex01")
            return 0
        slug = exercise.slug

        def advance(state: CourseState) -> int:
            # Read and counted under the state lock: two `hint` calls at once show two tiers.
            shown = state.hints.get(slug, 0)
            if shown < len(HINT_TIERS):
                state.hints[slug] = shown + 1
            return shown

        shown = self.course.update(advance)
        if shown >= len(HINT_TIERS):
            out.line(f"No hints left for {exercise.slug}: you have seen all {len(HINT_TIERS)}.")
            for tier, text in zip(HINT_TIERS, exercise.hints, strict=True):
                out.line(f"  {tier}: {text}")
            out.line(
                f"Still stuck after trying them? {self.run} solution {exercise.slug} --give-up"
            )
            return 0
        tier = HINT_TIERS[shown]
        out.line(
            out.style(
                f"Hint {shown + 1} of {len(HINT_TIERS)} ({tier}) for {exercise.slug}:", "bold"
            )
        )
        out.line(f"  {exercise.hints[shown]}")
        if shown + 1 < len(HINT_TIERS):
            out.line(f"Run it again for the {HINT_TIERS[shown + 1]}.")
        else:
            out.line("That was the last hint.")
        return 0

    def reset(self, name: str | None, every: bool, yes: bool) -> int:
        """Restore stubs from the course snapshot, backing up any learner version first.

        A pristine copy that fails its manifest hash is refused, so a damaged
        snapshot can never overwrite the learner's work.
        """
        if every == (name is not None):
            raise UsageError("reset needs one exercise name, or --all (with --yes to skip asking)")
        try:
            manifest = load_manifest(self.course.root)
        except PristineError as error:
            self.err.line(f"{PROG}: {error}")
            return 1
        if every:
            if not yes and not self.confirm(
                f"Reset all {len(self.course.catalog)} exercises to their stubs? "
                "Your files are backed up first. [y/N] "
            ):
                self.out.line("Nothing was changed.")
                return 1
            exercises = [e for e in self.course.catalog if e.slug in manifest.hashes]
        else:
            exercises = [self.exercise(name or "")]
        backup_root = self.course.store.backups / timestamp()
        code = 0
        for exercise in exercises:
            try:
                stubs = {f: manifest.pristine_bytes(exercise, f) for f in exercise.files}
            except PristineError as error:
                self.err.line(f"{PROG}: cannot reset {exercise.slug}: {error}")
                code = 1
                continue
            for file_name, stub in stubs.items():
                if not self.restore(exercise, file_name, stub, backup_root):
                    code = 1
        return code

    def restore(self, exercise: Exercise, file_name: str, stub: bytes, backup_root: Path) -> bool:
        """Put one stub back, backing up the learner's version first.

        Returns False after one line on stderr (the path, what is wrong, what to
        do) when the file cannot be read, backed up or written; the learner's
        file is then unchanged.
        """
        path = exercise.folder / file_name
        shown = f"exercises/{exercise.slug}/{file_name}"
        try:
            current = path.read_bytes() if path.exists() else None
        except OSError as error:
            self.err.line(f"{PROG}: cannot reset {shown}: {trouble(error, path)}; nothing changed")
            return False
        if current == stub:
            self.out.line(f"{shown} is already the original stub.")
            return True
        kept = "nothing changed"
        if current is not None:
            backup = backup_root / exercise.slug / file_name
            try:
                write_atomically(backup, current)
            except OSError as error:
                self.err.line(
                    f"{PROG}: cannot back up {shown}, so it was not reset: "
                    f"{trouble(error, backup)}; nothing changed"
                )
                return False
            self.out.line(f"Your version of {shown} is saved in {backup}")
            kept = f"your version is unchanged (a copy is in {backup})"
        try:
            write_atomically(path, stub)
        except OSError as error:
            self.err.line(f"{PROG}: cannot restore {shown}: {trouble(error, path)}; {kept}")
            return False
        self.out.line(f"{self.out.ok_mark} {shown} is the original stub again.")
        return True

    def confirm(self, question: str) -> bool:
        """Ask on a terminal; without one, refuse (a script must say --yes)."""
        stdin = sys.stdin
        if stdin is None or not stdin.isatty():
            self.err.line(f"{PROG}: not asking without a terminal; add --yes to reset everything")
            return False
        self.out.stream.write(question)
        self.out.stream.flush()
        return stdin.readline().strip().lower() in ("y", "yes")

    def solution(self, name: str, give_up: bool) -> int:
        """The stub-to-solution diff, refused while the exercise is pending unless giving up."""
        out = self.out
        exercise = self.exercise(name)
        if not is_available(exercise):
            out.line(f"exercises/{exercise.slug} is not in your copy of the course yet.")
            return 1
        run = self.runs([exercise])[0]
        if run.status != "done" and not give_up:
            out.line(
                f"{exercise.slug} is still pending ({self.progress_words(run)}). "
                "The solution is shown once your tests pass:"
            )
            out.line(f"  {self.run} check {exercise.slug}")
            out.line(f"To see it anyway: {self.run} solution {exercise.slug} --give-up")
            return 1
        try:
            manifest = load_manifest(self.course.root)
            for file_name in exercise.files:
                stub = manifest.pristine_bytes(exercise, file_name).decode("utf-8")
                solved = (exercise.solution_folder / file_name).read_text(encoding="utf-8")
                diff = difflib.unified_diff(
                    stub.splitlines(keepends=True),
                    solved.splitlines(keepends=True),
                    fromfile=f"stub/{exercise.slug}/{file_name}",
                    tofile=f"solution/{exercise.slug}/{file_name}",
                )
                for line in diff:
                    text = line.rstrip("\n")
                    colour = {"+": "green", "-": "red", "@": "cyan"}.get(text[:1], "")
                    out.line(out.style(text, colour) if colour else text)
        except (PristineError, OSError) as error:
            self.err.line(f"{PROG}: cannot show the solution: {error}")
            return 1
        return 0

    def results(self, as_json: bool) -> int:
        """Every test of every exercise, as the documented JSON or a short table."""
        runs = self.runs(self.course.catalog, complete=True)
        if as_json:
            document = results_document(str(self.course.root), self.course.catalog, runs)
            self.out.line(json.dumps(document, indent=2, ensure_ascii=False))
            return 0
        for exercise, run in zip(self.course.catalog, runs, strict=True):
            self.out.line(f"{exercise.slug}: {run.status}")
            for test in run.tests:
                self.out.line(f"  {test.status:<7} {test.duration:7.3f}s  {test.name}")
        self.out.line(f"(for scripts: {self.run} results --json)")
        return 0


def doctor(out: Console, root: Path | None) -> int:
    """Print one line per check; each failed check says how to fix it. Returns 0 if all pass."""
    problems = 0

    def report(ok: bool, text: str, fix: str = "") -> None:
        nonlocal problems
        mark = out.style(out.ok_mark, "green") if ok else out.style(out.fail_mark, "red")
        out.line(f"{mark} {text}")
        if not ok:
            problems += 1
            out.line(f"    fix: {fix}")

    version = ".".join(str(part) for part in sys.version_info[:3])
    report(sys.version_info >= (3, 11), f"Python {version}", "install Python 3.11 or newer")
    for package in ("pytest", "hypothesis"):
        try:
            report(True, f"{package} {importlib.metadata.version(package)} is installed")
        except importlib.metadata.PackageNotFoundError:
            report(
                False,
                f"{package} is not installed",
                f"run `uv sync` (or `pip install {package}`)",
            )
    try:
        catalog = load_catalog(root)
    except CatalogError as error:
        report(False, str(error), "run this inside your clone of aggregates-course")
        return 1
    course_root = catalog_root(catalog, root)
    report(True, f"course found at {course_root} ({len(catalog)} exercises)")
    _doctor_snapshot(report, course_root, catalog)
    _doctor_state(report, course_root)
    out.line()
    out.line("All good." if problems == 0 else f"{problems} thing(s) to fix, listed above.")
    return 0 if problems == 0 else 1


class Report(Protocol):
    """Prints one doctor line: a check that passed, or one that failed and how to fix it."""

    def __call__(self, ok: bool, text: str, fix: str = "") -> None: ...


def _doctor_snapshot(report: Report, root: Path, catalog: Sequence[Exercise]) -> None:
    """The course's own files: each exercise present, tests as shipped, original stubs intact."""
    try:
        manifest = load_manifest(root)
    except PristineError as error:
        report(False, str(error), "get a fresh copy of the course; .course/ is part of it")
        return
    for exercise in catalog:
        folder = f"exercises/{exercise.slug}"
        if not exercise.folder.is_dir():
            report(False, f"{folder} is missing", "update your copy of the course (git pull)")
            continue
        if exercise.slug not in manifest.hashes:
            report(
                False,
                f"{folder} is not in the course manifest, so its tests cannot be verified",
                "get a fresh copy of the course (maintainers: "
                "`uv run python -m aggregates_course.course.pristine`)",
            )
            continue
        changes = manifest.drift(exercise)
        for name, change in changes:
            report(
                False,
                f"{folder}/{name} is {change}; the course's tests must stay as shipped",
                f"restore it: `git checkout -- {folder}/{name}`, or copy it from a fresh clone",
            )
        damaged = []
        for name in exercise.files:
            try:
                manifest.pristine_bytes(exercise, name)
            except PristineError as error:
                damaged.append(name)
                report(
                    False,
                    f"the original stub of {folder}/{name} cannot be used, so `reset` cannot "
                    f"restore it: {error}",
                    "get .course/ back as shipped: `git checkout -- .course`, or copy it "
                    "from a fresh clone",
                )
        if not changes and not damaged:
            report(True, f"{folder}: tests and README unmodified, original stub kept")


def _doctor_state(report: Report, root: Path) -> None:
    """The learner's state folder: readable, writable, and nothing in the way of its files."""
    store = StateStore(root, warn=lambda text: report(True, text))
    try:
        store.load()
    except StateError as error:
        report(False, error.what, error.fix)
    if store.backups.exists() and not store.backups.is_dir():
        report(
            False,
            f"{store.backups} is a file, but `reset` keeps its backups in a folder of that name",
            "rename or remove that file",
        )
    try:
        store.folder.mkdir(parents=True, exist_ok=True)
        probe = store.folder / f".doctor-{os.getpid()}"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
        report(True, f"state folder {store.folder} is writable")
    except OSError as error:
        problem = trouble(error, store.folder)
        report(False, f"cannot write the state folder: {problem.what}", problem.fix)


def _wrap(message: str, width: int = 96) -> list[str]:
    """Long lines folded for a terminal; short lines (and their indentation) kept as they are."""
    lines: list[str] = []
    for line in message.splitlines():
        lines.extend(textwrap.wrap(line, width, subsequent_indent="  ") or [""])
    return lines


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Modification time and size of each file: a save changes at least one of them."""
    snapshot: dict[str, tuple[int, int]] = {}
    for name, path in exercise_files(folder).items():
        try:
            info = path.stat()
        except OSError:
            continue  # an editor may be replacing the file right now
        snapshot[name] = (info.st_mtime_ns, info.st_size)
    return snapshot


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM stops the CLI the way Ctrl-C does: temporary folders are removed.

    Signal handlers can only be set from the main thread; elsewhere (tests run
    the CLI in threads) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    root: Path | None = None,
) -> int:
    """Run the CLI and return its exit code.

    ``stdout``/``stderr`` default to the process streams; ``root`` to the
    course found at or above the working directory (tests pass both).
    """
    invocation = Invocation.detect(sys.argv[0], os.environ)
    parser = build_parser(invocation.cli)
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # e.g. `check ex01 ex02`: the subcommand's own usage says what it takes
            subcommand_parser(parser, args.command).error(
                f"unrecognized arguments: {' '.join(extra)}"
            )
    except SystemExit as exit_:  # --help, or argparse's own usage error
        return exit_.code if isinstance(exit_.code, int) else 2
    out = Console(stdout if stdout is not None else sys.stdout)
    err = Console(stderr if stderr is not None else sys.stderr)
    try:
        with _terminate_as_interrupt():
            return _dispatch(args, out, err, root, invocation)
    except UsageError as error:
        err.stream.write(subcommand_parser(parser, args.command).format_usage())
        err.line(f"{PROG}: {error}")
        return 2
    except CatalogError as error:
        err.line(f"{PROG}: {error}")
        return 2
    except KeyboardInterrupt:
        # Ctrl-C mid-run: say so in one line; the state file is only ever replaced whole.
        err.line(f"{PROG}: interrupted")
        return 130
    except BrokenPipeError:
        # Piped into `head`, which stopped reading: the output is cut short, but no traceback.
        if stdout is None:
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as error:
        # A file or folder the command needed is unreadable, read-only or in the wrong place.
        err.line(f"{PROG}: {trouble(error)}")
        return 1


def _dispatch(
    args: argparse.Namespace,
    out: Console,
    err: Console,
    root: Path | None,
    invocation: Invocation,
) -> int:
    if args.command == "demo":
        run_demo(out.line)
        return 0
    if args.command == "doctor":
        return doctor(out, root)
    try:
        course = Course.open(root, warn=lambda text: err.line(f"{PROG}: {text}"))
    except StateError as error:
        err.line(f"{PROG}: {error}")
        return 1
    if args.command in ("check", "watch"):
        course.time_limit = args.timeout
    app = App(course, out, err, invocation)
    if args.command in (None, "status"):
        return app.status()
    if args.command == "check":
        return app.check(args.exercise, verbose=args.verbose)
    if args.command == "watch":
        return app.watch(
            args.exercise, args.interval, args.max_runs, args.duration, verbose=args.verbose
        )
    if args.command == "hint":
        return app.hint(args.exercise)
    if args.command == "reset":
        return app.reset(args.exercise, args.all, args.yes)
    if args.command == "solution":
        return app.solution(args.exercise, args.give_up)
    if args.command == "results":
        return app.results(args.json)
    raise AssertionError(f"unhandled command {args.command}")  # the parser allows no other
