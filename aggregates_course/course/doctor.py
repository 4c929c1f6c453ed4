"""``doctor``: what is wrong with the learner's setup, and how to fix each thing.

It checks Python, pytest and Hypothesis, the course's own files (each
exercise present, its tests as shipped, its original stub intact), the
learner's files (each one a file the tests can import), the state folder,
and the last test run of each exercise where pytest itself could not go on
(it could not start, or the learner's code ended it), one line per check.
It runs before the course's state is opened, so it can describe a state
folder the other commands refuse. A failed check's fix is the same one the
other commands give for the same trouble.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from aggregates_course.course.catalog import CatalogError, Exercise, catalog_root, load_catalog
from aggregates_course.course.console import Console
from aggregates_course.course.files import trouble, what_stands_there
from aggregates_course.course.guidance import restore_advice
from aggregates_course.course.outcomes import ExerciseRun
from aggregates_course.course.pristine import PristineError, load_manifest
from aggregates_course.course.state import CourseState, StateError, StateStore


def doctor(out: Console, root: Path | None, run: str = "aggregates-course") -> int:
    """Print one line per check; each failed check says how to fix it. Returns 0 if all pass.

    ``run`` is how the fixes spell the CLI (``uv run aggregates-course``).
    """
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
        report(False, error.what, error.fix)
        return 1
    course_root = catalog_root(catalog, root)
    report(True, f"course found at {course_root} ({len(catalog)} exercises)")
    _doctor_snapshot(report, course_root, catalog, run)
    state = _doctor_state(report, course_root)
    _doctor_runs(report, catalog, state, run)
    out.line()
    out.line("All good." if problems == 0 else f"{problems} thing(s) to fix, listed above.")
    return 0 if problems == 0 else 1


class Report(Protocol):
    """Prints one doctor line: a check that passed, or one that failed and how to fix it."""

    def __call__(self, ok: bool, text: str, fix: str = "") -> None: ...


def _doctor_snapshot(report: Report, root: Path, catalog: Sequence[Exercise], run: str) -> None:
    """The course's own files: each exercise present, tests as shipped, original stubs intact.

    Then the learner's own files: each one a file that can be read, or the
    fix that ``check`` gives too.
    """
    try:
        manifest = load_manifest(root)
    except PristineError as error:
        report(False, str(error), "get a fresh copy of the course; .course/ is part of it")
        return
    for exercise in catalog:
        folder = f"exercises/{exercise.slug}"
        shipped = exercise.slug in manifest.hashes
        if not exercise.folder.is_dir():
            if shipped:
                report(False, f"{folder} was deleted", f"restore it: `git checkout -- {folder}`")
            else:
                report(False, f"{folder} is missing", "update your copy of the course (git pull)")
            continue
        if not shipped:
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
        unusable = _doctor_learner_files(report, exercise, run)
        if not changes and not damaged and not unusable:
            report(True, f"{folder}: tests and README unmodified, original stub kept")


def _doctor_learner_files(report: Report, exercise: Exercise, run: str) -> bool:
    """Report each file the learner edits that the tests cannot import; True if any."""
    unusable = False
    for name in exercise.files:
        path = exercise.folder / name
        shown = f"exercises/{exercise.slug}/{name}"
        what = what_stands_there(path)
        if what is not None:
            unusable = True
            report(False, f"{shown} {what}", restore_advice(run, exercise))
            continue
        try:
            with path.open("rb"):
                pass
        except OSError as error:
            unusable = True
            problem = trouble(error, Path(shown))
            report(False, problem.what, problem.fix)
    return unusable


def _doctor_state(report: Report, root: Path) -> CourseState | None:
    """The learner's state folder: readable, writable, and nothing in the way of its files.

    Returns the state read, for the checks that look at cached test runs.
    """
    # What load() tells the learner in passing (a damaged file set aside) is a note here;
    # a newer CLI's state file is reported below, as a check that failed.
    store = StateStore(root, warn=lambda text: None if store.newer else report(True, text))
    state: CourseState | None = None
    try:
        state = store.load()
    except StateError as error:
        report(False, error.what, error.fix)
    if store.newer is not None:
        report(False, store.newer.what, store.newer.fix)
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
    return state


def _doctor_runs(
    report: Report, catalog: Sequence[Exercise], state: CourseState | None, run: str
) -> None:
    """The last test runs of the exercises as they are now, where pytest itself could not go on.

    A failing test is the learner's work in progress; a run that pytest could
    not start, or that the learner's code ended, is what ``check`` sends the
    learner here for.
    """
    if state is None:
        return
    for exercise in catalog:
        stored = state.results.get(exercise.slug, {}).get(exercise.fingerprint())
        try:
            cached = ExerciseRun.from_json(stored) if stored is not None else None
        except ValueError:
            continue
        problem = cached.problem if cached is not None else None
        if problem is None or problem.kind not in ("runner", "crash"):
            continue
        folder = f"exercises/{exercise.slug}"
        if problem.kind == "crash":
            where = f" at {problem.where}" if problem.where else ""
            report(
                False,
                f"{folder}: your code ends the test process{where}, so no test can report",
                f"remove that call (os._exit and the like); `{run} check {exercise.slug}` "
                "says more",
            )
        else:
            last = (problem.message.strip().splitlines() or [""])[-1]
            report(
                False,
                f"{folder}: pytest could not run its tests ({last})",
                f"`{run} check {exercise.slug} -v` shows pytest's own output",
            )
