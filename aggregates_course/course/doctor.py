"""``doctor``: what is wrong with the learner's setup, and how to fix each thing.

:func:`checks` lists the checks as :class:`Check` values (passed or not,
what was found, the fix); :func:`doctor` prints them and counts the failures.

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
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from aggregates_course.course.catalog import CatalogError, Exercise, catalog_root, load_catalog
from aggregates_course.course.console import Console
from aggregates_course.course.files import trouble, what_stands_there
from aggregates_course.course.guidance import restore_advice
from aggregates_course.course.outcomes import ExerciseRun
from aggregates_course.course.shipped import PristineError, load_manifest
from aggregates_course.course.state import CourseState, StateError, StateStore


@dataclass(frozen=True)
class Check:
    """One line of doctor's answer: whether a check passed, what it found, and the fix if not."""

    ok: bool
    text: str
    fix: str = ""


def doctor(out: Console, root: Path | None, run: str = "aggregates-course") -> int:
    """Print one line per check; each failed check says how to fix it. Returns 0 if all pass.

    ``run`` is how the fixes spell the CLI (``uv run aggregates-course``).
    """
    problems = 0
    for check in checks(root, run):
        mark = out.style(out.ok_mark, "green") if check.ok else out.style(out.fail_mark, "red")
        out.line(f"{mark} {check.text}")
        if not check.ok:
            problems += 1
            out.line(f"    fix: {check.fix}")
    out.line()
    out.line("All good." if problems == 0 else f"{problems} thing(s) to fix, listed above.")
    return 0 if problems == 0 else 1


def checks(root: Path | None, run: str) -> Iterator[Check]:
    """Every check, in the order doctor prints them; a course it cannot find ends the list."""
    version = ".".join(str(part) for part in sys.version_info[:3])
    yield Check(sys.version_info >= (3, 11), f"Python {version}", "install Python 3.11 or newer")
    for package in ("pytest", "hypothesis"):
        try:
            yield Check(True, f"{package} {importlib.metadata.version(package)} is installed")
        except importlib.metadata.PackageNotFoundError:
            yield Check(
                False, f"{package} is not installed", f"run `uv sync` (or `pip install {package}`)"
            )
    try:
        catalog = load_catalog(root)
    except CatalogError as error:
        yield Check(False, error.what, error.fix)
        return
    course_root = catalog_root(catalog, root)
    yield Check(True, f"course found at {course_root} ({len(catalog)} exercises)")
    yield from _snapshot_checks(course_root, catalog, run)
    state = yield from _state_checks(course_root)
    yield from _run_checks(catalog, state, run)


def _snapshot_checks(root: Path, catalog: Sequence[Exercise], run: str) -> Iterator[Check]:
    """The course's own files: each exercise present, tests as shipped, original stubs intact.

    Then the learner's own files: each one a file that can be read, or the
    fix that ``check`` gives too.
    """
    try:
        manifest = load_manifest(root)
    except PristineError as error:
        yield Check(False, str(error), "get a fresh copy of the course; .course/ is part of it")
        return
    for exercise in catalog:
        folder = f"exercises/{exercise.slug}"
        shipped = exercise.slug in manifest.hashes
        if not exercise.folder.is_dir():
            if shipped:
                yield Check(
                    False, f"{folder} was deleted", f"restore it: `git checkout -- {folder}`"
                )
            else:
                yield Check(
                    False, f"{folder} is missing", "update your copy of the course (git pull)"
                )
            continue
        if not shipped:
            yield Check(
                False,
                f"{folder} is not in the course manifest, so its tests cannot be verified",
                "get a fresh copy of the course (maintainers: "
                "`uv run python -m aggregates_course.course.pristine`)",
            )
            continue
        changes = manifest.drift(exercise)
        for name, change in changes:
            yield Check(
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
                yield Check(
                    False,
                    f"the original stub of {folder}/{name} cannot be used, so `reset` cannot "
                    f"restore it: {error}",
                    "get .course/ back as shipped: `git checkout -- .course`, or copy it "
                    "from a fresh clone",
                )
        unusable = list(_learner_file_checks(exercise, run))
        yield from unusable
        if not changes and not damaged and not unusable:
            yield Check(True, f"{folder}: tests and README unmodified, original stub kept")


def _learner_file_checks(exercise: Exercise, run: str) -> Iterator[Check]:
    """A failed check for each file the learner edits that the tests cannot import."""
    for name in exercise.files:
        path = exercise.folder / name
        shown = f"exercises/{exercise.slug}/{name}"
        what = what_stands_there(path)
        if what is not None:
            yield Check(False, f"{shown} {what}", restore_advice(run, exercise))
            continue
        try:
            with path.open("rb"):
                pass
        except OSError as error:
            problem = trouble(error, Path(shown))
            yield Check(False, problem.what, problem.fix)


def _state_checks(root: Path) -> Generator[Check, None, CourseState | None]:
    """The learner's state folder: readable, writable, and nothing in the way of its files.

    Returns the state read, for the checks that look at cached test runs.
    """
    # What load() tells the learner in passing (a damaged file set aside) is a note here;
    # a newer CLI's state file is reported below, as a check that failed.
    notes: list[str] = []
    store = StateStore(root, warn=lambda text: None if store.newer else notes.append(text))
    state: CourseState | None = None
    failure: StateError | None = None
    try:
        state = store.load()
    except StateError as error:
        failure = error
    yield from (Check(True, note) for note in notes)
    if failure is not None:
        yield Check(False, failure.what, failure.fix)
    if store.newer is not None:
        yield Check(False, store.newer.what, store.newer.fix)
    if store.backups.exists() and not store.backups.is_dir():
        yield Check(
            False,
            f"{store.backups} is a file, but `reset` keeps its backups in a folder of that name",
            "rename or remove that file",
        )
    try:
        store.folder.mkdir(parents=True, exist_ok=True)
        probe = store.folder / f".doctor-{os.getpid()}"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
        yield Check(True, f"state folder {store.folder} is writable")
    except OSError as error:
        problem = trouble(error, store.folder)
        yield Check(False, f"cannot write the state folder: {problem.what}", problem.fix)
    return state


def _run_checks(
    catalog: Sequence[Exercise], state: CourseState | None, run: str
) -> Iterator[Check]:
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
            yield Check(
                False,
                f"{folder}: your code ends the test process{where}, so no test can report",
                f"remove that call (os._exit and the like); `{run} check {exercise.slug}` "
                "says more",
            )
        else:
            last = (problem.message.strip().splitlines() or [""])[-1]
            yield Check(
                False,
                f"{folder}: pytest could not run its tests ({last})",
                f"`{run} check {exercise.slug} -v` shows pytest's own output",
            )
