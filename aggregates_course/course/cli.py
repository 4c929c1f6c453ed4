"""The ``aggregates-course`` command line: the learner's loop around the exercises.

``aggregates-course`` alone shows the course status and the next step;
``check`` shows the first failing test of an exercise; ``watch`` re-checks on
every save; ``hint``, ``reset``, ``solution``, ``results --json``, ``doctor``
and ``demo`` do what their ``--help`` says. Exit codes: 0 success (or an
exercise passes), 1 a failing check or a problem found, 2 a usage error.
All state lives in ``.aggregates-course/`` in the course checkout.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib.metadata
import json
import os
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TextIO

from aggregates_course.course.catalog import (
    HINT_TIERS,
    CatalogError,
    Exercise,
    UnknownExercise,
    find_exercise,
    load_catalog,
)
from aggregates_course.course.console import Console, Progress
from aggregates_course.course.demo import run_demo
from aggregates_course.course.files import trouble, write_atomically
from aggregates_course.course.pristine import PristineError, load_manifest
from aggregates_course.course.results import results_document
from aggregates_course.course.runner import (
    Course,
    ExerciseRun,
    Problem,
    catalog_root,
    is_available,
)
from aggregates_course.course.state import CourseState, StateError, StateStore, timestamp

PROG = "aggregates-course"
RUN = f"uv run {PROG}"
MESSAGE_LINES = 30  # longer assertion explanations are cut; the first lines say what broke


class UsageError(Exception):
    """The command line names something that does not exist; exit code 2."""


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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one subcommand per job; with no command it shows the status."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "A hands-on course on aggregates and consistency boundaries.\n"
            "With no command: which exercises are done, and what to do next."
        ),
        epilog=(
            "examples (the learner loop):\n"
            f"  {RUN}            # status and the next exercise\n"
            f"  {RUN} check      # the first failing test, after you edit\n"
            f"  {RUN} watch      # re-check on every save\n"
            f"  {RUN} hint ex01  # one hint tier at a time"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = _parser_for(
        commands,
        "check",
        "run an exercise's tests and show the first failing one",
        f"examples:\n  {RUN} check          # the next pending exercise\n"
        f"  {RUN} check ex01     # by number, prefix or full name",
    )
    check.add_argument("exercise", nargs="?", help="default: the next pending exercise")
    watch = _parser_for(
        commands,
        "watch",
        "re-run check whenever a file of the exercise is saved (polls; Ctrl-C stops)",
        f"example:\n  {RUN} watch\n\n"
        "It polls the exercise folder for changed files (modification time and size),\n"
        "which works on every platform with the standard library alone.",
    )
    watch.add_argument("exercise", nargs="?", help="default: the next pending exercise")
    watch.add_argument(
        "--interval", type=float, default=0.5, help="seconds between polls (default: 0.5)"
    )
    watch.add_argument("--max-runs", type=int, default=None, help="stop after this many checks")
    watch.add_argument("--timeout", type=float, default=None, help="stop after this many seconds")
    hint = _parser_for(
        commands,
        "hint",
        "show the next hint for an exercise: nudge, then pointer, then worked step",
        f"example:\n  {RUN} hint ex01_aggregate_root",
    )
    hint.add_argument("exercise", help="the exercise: its number, prefix (ex01) or full name")
    reset = _parser_for(
        commands,
        "reset",
        "restore an exercise's original stub, backing up your version first",
        f"examples:\n  {RUN} reset ex01\n  {RUN} reset --all --yes",
    )
    reset.add_argument("exercise", nargs="?", help="the exercise to restore")
    reset.add_argument("--all", action="store_true", help="restore every exercise")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    solution = _parser_for(
        commands,
        "solution",
        "show how the solution differs from the stub (once the exercise is done)",
        f"examples:\n  {RUN} solution ex01\n  {RUN} solution ex01 --give-up",
    )
    solution.add_argument("exercise", help="the exercise whose solution to show")
    solution.add_argument(
        "--give-up", action="store_true", help="show it even though the exercise is pending"
    )
    results = _parser_for(
        commands,
        "results",
        "every exercise's test results, per test, for scripts and dashboards",
        f"example:\n  {RUN} results --json > results.json\n\n"
        "The JSON shape is documented in aggregates_course/course/results.py.",
    )
    results.add_argument("--json", action="store_true", help="print the results as JSON")
    _parser_for(
        commands,
        "doctor",
        "check Python, pytest, Hypothesis and the exercise files; say what to fix",
        f"example:\n  {RUN} doctor",
    )
    _parser_for(
        commands,
        "demo",
        "walk through the reference MonitoringPolicy, step by step",
        f"example:\n  {RUN} demo",
    )
    return parser


class App:
    """One invocation of the CLI: the course, and where to print."""

    def __init__(self, course: Course, out: Console, err: Console) -> None:
        self.course = course
        self.out = out
        self.err = err

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

    def target(self, name: str | None) -> Exercise | None:
        """The named exercise, or the next pending one; ``None`` when everything is done."""
        if name is not None:
            return self.exercise(name)
        return self.first_pending()

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
        out.line(f"  check   {out.style(exercise.check_command, 'cyan')}")
        out.line(f"          (or {RUN} check; {RUN} watch re-checks on every save)")
        out.line(f"  stuck?  {RUN} hint {exercise.slug}")

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
            mark, colour = {
                "done": (out.ok_mark, "green"),
                "pending": (out.fail_mark, "yellow"),
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

    def check(self, name: str | None) -> int:
        """Check the named (or next pending) exercise; 0 when it passes, 1 when it does not."""
        exercise = self.target(name)
        if exercise is None:
            self.all_done_line()
            return 0
        return self.check_one(exercise)

    def check_one(self, exercise: Exercise) -> int:
        """Show the first failing test, a problem, or the done line; 0 only when all pass."""
        out = self.out
        header = f"Exercise {self.number(exercise)}: {exercise.title}  (exercises/{exercise.slug})"
        out.line(out.style(header, "bold"))
        if not is_available(exercise):
            out.line(
                f"{out.fail_mark} exercises/{exercise.slug} is not in your copy of the course yet."
            )
            return 1
        with Progress(self.err.stream, f"running the tests of {exercise.slug} ..."):
            run = self.course.run(exercise)
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
            self.show_problem(run.problem)
        else:
            self.show_failure(run)
        out.line()
        out.line(f"Fix it, save, and check again: {RUN} check {exercise.slug}")
        out.line(f"Stuck? {RUN} hint {exercise.slug}")
        return 1

    def show_problem(self, problem: Problem) -> None:
        """A file and line the learner can fix, instead of a wall of identical failures."""
        out = self.out
        title = {
            "syntax": "Python cannot read this file",
            "import": "this file fails while Python imports it",
            "missing": "a file you edit is missing",
            "collection": "a test file cannot be loaded",
            "runner": "the tests could not run",
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
            source = _source_line(self.course.root / failure.where.file, failure.where.line)
            if source:
                out.line(out.style(f"             > {source}", "dim"))
        out.line(f"  test       {failure.file}, line {failure.line}")

    def watch(
        self, name: str | None, interval: float, max_runs: int | None, timeout: float | None
    ) -> int:
        """Check, then poll for saved changes and check again, until Ctrl-C or a limit.

        Without a name it follows the course: once the watched exercise passes,
        it watches the next pending one (and stops when none is left).
        """
        exercise = self.target(name)
        if exercise is None:
            self.all_done_line()
            return 0
        deadline = None if timeout is None else time.monotonic() + timeout
        runs = 0
        # Taken before each check, so a save made while the tests run triggers another run.
        snapshot = _snapshot(exercise.folder)
        try:
            while True:
                self.out.clear()
                code = self.check_one(exercise)
                runs += 1
                if max_runs is not None and runs >= max_runs:
                    return code
                if code == 0 and name is None:
                    upcoming = self.first_pending()
                    if upcoming is None:
                        return 0
                    exercise, snapshot = upcoming, _snapshot(upcoming.folder)
                self.out.line()
                self.out.line(
                    self.out.style(
                        f"Watching exercises/{exercise.slug}/ for saved changes "
                        "(polling; Ctrl-C to stop) ...",
                        "dim",
                    )
                )
                while (current := _snapshot(exercise.folder)) == snapshot:
                    if deadline is not None and time.monotonic() >= deadline:
                        self.out.line("Watch time limit reached.")
                        return code
                    time.sleep(interval)  # polling is the portable, stdlib-only mechanism
                snapshot = current
        except KeyboardInterrupt:
            self.out.line()
            self.out.line("Stopped watching.")
            return 0

    def hint(self, name: str) -> int:
        """Show the next unseen hint tier and remember it; say so when none are left."""
        out = self.out
        exercise = self.exercise(name)

        def advance(state: CourseState) -> int:
            # Read and counted under the state lock: two `hint` calls at once show two tiers.
            shown = state.hints.get(exercise.slug, 0)
            if shown < len(HINT_TIERS):
                state.hints[exercise.slug] = shown + 1
            return shown

        shown = self.course.update(advance)
        if shown >= len(HINT_TIERS):
            out.line(f"No hints left for {exercise.slug}: you have seen all {len(HINT_TIERS)}.")
            for tier, text in zip(HINT_TIERS, exercise.hints, strict=True):
                out.line(f"  {tier}: {text}")
            out.line(f"Still stuck after trying them? {RUN} solution {exercise.slug} --give-up")
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
            out.line(f"  {RUN} check {exercise.slug}")
            out.line(f"To see it anyway: {RUN} solution {exercise.slug} --give-up")
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
        self.out.line(f"(for scripts: {RUN} results --json)")
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


def _source_line(path: Path, number: int) -> str:
    """Line ``number`` of ``path``, stripped; empty if the file changed or cannot be read."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    return lines[number - 1].strip() if 0 < number <= len(lines) else ""


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Modification time and size of each file: a save changes at least one of them."""
    from aggregates_course.course.pristine import exercise_files

    snapshot: dict[str, tuple[int, int]] = {}
    for name, path in exercise_files(folder).items():
        try:
            info = path.stat()
        except OSError:
            continue  # an editor may be replacing the file right now
        snapshot[name] = (info.st_mtime_ns, info.st_size)
    return snapshot


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
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, or argparse's own usage error
        return exit_.code if isinstance(exit_.code, int) else 2
    out = Console(stdout if stdout is not None else sys.stdout)
    err = Console(stderr if stderr is not None else sys.stderr)
    try:
        return _dispatch(args, out, err, root)
    except (UsageError, CatalogError) as error:
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


def _dispatch(args: argparse.Namespace, out: Console, err: Console, root: Path | None) -> int:
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
    app = App(course, out, err)
    if args.command is None:
        return app.status()
    if args.command == "check":
        return app.check(args.exercise)
    if args.command == "watch":
        return app.watch(args.exercise, args.interval, args.max_runs, args.timeout)
    if args.command == "hint":
        return app.hint(args.exercise)
    if args.command == "reset":
        return app.reset(args.exercise, args.all, args.yes)
    if args.command == "solution":
        return app.solution(args.exercise, args.give_up)
    if args.command == "results":
        return app.results(args.json)
    raise AssertionError(f"unhandled command {args.command}")  # the parser allows no other
