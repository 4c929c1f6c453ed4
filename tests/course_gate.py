"""Machinery for the two-way gate: run an exercise's tests in-process against a target.

The files in ``exercises/`` that a learner edits are theirs: the project's
suite never reads them. The stubs as shipped come from the course snapshot
(``.course/pristine/``, checked against ``.course/manifest.json``) through
:func:`write_shipped_stubs`, and whole-course experiments run in a
:func:`course_copy`, which never copies a learner's file either.

Invariant: no gate run imports a learner's file, whatever it holds (a stub
that hangs at import, one that calls ``os._exit``). :func:`run_exercise`
refuses a target that does not hold every file a learner edits (the tests
would fall back to the learner's copy), runs only the test files the course
shipped, and fences the learner's files off while it runs in this process.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.abc
import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType

import pytest

from aggregates_course.course.catalog import Exercise, load_catalog
from aggregates_course.course.decoys import discover_decoys
from aggregates_course.course.launch import PLUGIN, REPORT_ENV
from aggregates_course.course.outcomes import ExerciseRun, Problem
from aggregates_course.course.pytest_results import ResultsReporter
from aggregates_course.course.reading import read_report
from aggregates_course.course.shipped import load_manifest

COURSE_ROOT = Path(__file__).resolve().parent.parent
EXERCISES = COURSE_ROOT / "exercises"
CATALOG = load_catalog(COURSE_ROOT)
DECOYS = discover_decoys(COURSE_ROOT)
#: The learner's working files: never read, imported or copied by the project's suite.
LEARNER_FILES = frozenset(exercise.folder / name for exercise in CATALOG for name in exercise.files)
# What a checkout holds besides the course: tools' folders, the learner's state, caches.
NOT_COURSE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "site",
    "mutants",
    "test-artifacts",
    ".aggregates-course",
    ".hypothesis",
    "__pycache__",
    "*.pyc",
    ".*_cache",
)


def course_files_only(directory: str, names: list[str]) -> set[str]:
    """A :func:`shutil.copytree` ``ignore`` that copies the course and nothing of the learner's.

    Left out: the tools' folders (:data:`NOT_COURSE`) and, under
    ``exercises/``, whatever the course did not ship: the files a learner
    edits (whatever they are now: a folder, a symlink, an unreadable file),
    and a learner's own additions (a scratch file, a test of their own).
    """
    ignored = set(NOT_COURSE(directory, names))
    folder = Path(directory).resolve()
    if folder.is_relative_to(EXERCISES):
        for name in names:
            path = folder / name
            if path in LEARNER_FILES or not _shipped(path):
                ignored.add(name)
    return ignored


@functools.cache
def _shipped_files() -> dict[str, dict[str, str]]:
    return load_manifest(COURSE_ROOT).hashes


def _shipped(path: Path) -> bool:
    """A plain file or folder of ``exercises/`` that the course shipped, by the manifest."""
    if path.is_symlink() or not (path.is_dir() or path.is_file()):
        return False  # a learner's symlink or named pipe: a clone holds neither
    slug, *inside = path.relative_to(EXERCISES).parts
    shipped = _shipped_files().get(slug)
    if not inside or shipped is None:
        return True  # the catalog and the exercise folders; an exercise still being written
    name = "/".join(inside)
    return name in shipped or any(entry.startswith(f"{name}/") for entry in shipped)


def write_shipped_stubs(target: Path, exercises: Sequence[Exercise] = CATALOG) -> Path:
    """Write each exercise's stubs as shipped to ``target/<slug>/<file>``; return ``target``.

    ``target`` is laid out like ``exercises/`` (it may be a copy's
    ``exercises/``), so it serves as a ``--target`` folder. The stubs come from
    this checkout's snapshot, whatever the learner has done to its files.
    Whatever stands at a stub's place in ``target`` (a folder, a symlink) is
    replaced. Raises ValueError for this checkout's own ``exercises/``: the
    learner's work there is never overwritten.
    """
    if target.resolve().is_relative_to(EXERCISES):
        raise ValueError(f"{target} holds the learner's work; write the stubs somewhere else")
    manifest = load_manifest(COURSE_ROOT)
    for exercise in exercises:
        for name in exercise.files:
            path = target / exercise.slug / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.is_symlink():
                path.unlink()
            path.write_bytes(manifest.pristine_bytes(exercise, name))
    return target


def course_copy(destination: Path) -> Path:
    """A copy of this course at ``destination``, every learner file the stub as shipped."""
    shutil.copytree(COURSE_ROOT, destination, ignore=course_files_only)
    return write_shipped_stubs(destination / "exercises").parent


def errors(run: ExerciseRun) -> list[str]:
    """What kept a gate run from judging cleanly: a problem, or a test's setup or teardown.

    Empty for a run in which every test passed or failed as a test.
    """
    problems = [f"{run.problem.kind}: {run.problem.message}"] if run.problem is not None else []
    return problems + [
        f"{test.id} (setup or teardown)" for test in run.tests if test.status == "error"
    ]


def modules(run: ExerciseRun, status: str) -> set[str]:
    """The test modules of ``run`` with at least one test of ``status`` (``passed``, ``failed``)."""
    return {test.id.split("::")[0] for test in run.tests if test.status == status}


class ImportRecorder:
    """A pytest plugin noting every module file loaded by the end of a run.

    pytester restores ``sys.modules`` after an in-process run, so the modules
    the run imported must be read before that, at session finish.
    """

    def __init__(self) -> None:
        self.files: frozenset[Path] = frozenset()

    def pytest_sessionfinish(self) -> None:
        files = (getattr(module, "__file__", None) for module in list(sys.modules.values()))
        self.files = frozenset(Path(file).resolve() for file in files if file)


def run_exercise(
    pytester: pytest.Pytester,
    slug: str,
    target: str | Path,
    *,
    first_failure_only: bool = False,
    profile: str = "gate",
    select: str = "",
    fresh_process: bool = False,
    imports: ImportRecorder | None = None,
) -> ExerciseRun:
    """Run ``exercises/<slug>`` against ``target``: the same ExerciseRun ``check`` reads.

    ``first_failure_only`` stops at the first failing test, for runs that only
    need to prove that something fails. ``profile`` is the Hypothesis profile;
    ``select``, when given, is a ``-k`` expression choosing the tests to run.
    The run is in this process, unless ``fresh_process`` asks for a new one, as
    a learner's or an instructor's command has: Hypothesis draws on constants
    from every module already imported, so only a fresh process finds the
    counterexample that command finds. ``imports``, when given, notes the
    files an in-process run imported.

    Only the test files the course shipped run (a learner's own test file in
    the folder does not). Raises ValueError for a target that lacks a file
    the learner edits: the tests would import the learner's copy instead.
    """
    folder = _target_folder(target)
    exercise = next(exercise for exercise in CATALOG if exercise.slug == slug)
    if folder == EXERCISES:
        raise ValueError(
            f"{folder} holds the learner's working files, which the gate never runs; "
            "write the stubs as shipped out with write_shipped_stubs"
        )
    lacking = [name for name in exercise.files if not (folder / slug / name).is_file()]
    if lacking:
        raise ValueError(
            f"target {folder} lacks {', '.join(lacking)} of {slug}, so the tests would "
            "import the learner's copy instead"
        )
    arguments = [
        *(["--exitfirst"] if first_failure_only else []),
        *(str(COURSE_ROOT / module) for module in exercise_test_modules(slug)),
        f"--target={target}",
        f"--rootdir={COURSE_ROOT}",
        "-p",
        "no:cacheprovider",
        f"--hypothesis-profile={profile}",
        "-q",
        *(["-k", select] if select else []),
    ]
    if fresh_process:
        return _run_in_a_fresh_process(pytester, exercise, arguments)
    reporter = ResultsReporter()
    plugins: list[object] = [reporter] if imports is None else [reporter, imports]
    with fenced_off_learner_files():
        pytester.inline_run(*arguments, plugins=plugins)

    return read_report(exercise, reporter.document(), duration=0.0, fingerprint="")


def _target_folder(target: str | Path) -> Path:
    """The folder ``--target`` names, resolved as the root conftest resolves it."""
    folder = Path(target)
    return (folder if folder.is_absolute() else COURSE_ROOT / folder).resolve()


class _LearnerFilesFence(importlib.abc.MetaPathFinder):
    """Refuses to import any of ``files``: such an import is a bug of the suite."""

    def __init__(self, files: frozenset[Path]) -> None:
        self.files = files

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        origin = spec.origin if spec is not None else None
        if origin is not None and Path(origin).resolve() in self.files:
            raise ImportError(f"the project's suite imported the learner's {origin}")
        return None  # the usual finders import everything else, as if this were not here


@contextlib.contextmanager
def fenced_off_learner_files(files: frozenset[Path] = LEARNER_FILES) -> Iterator[None]:
    """While inside, importing one of ``files`` raises ImportError and never runs it.

    A learner's stub may hang at import or end the process; an in-process run
    that imported it would take the whole suite down with it.
    """
    fence = _LearnerFilesFence(frozenset(path.resolve() for path in files))
    sys.meta_path.insert(0, fence)
    try:
        yield
    finally:
        sys.meta_path.remove(fence)


def _run_in_a_fresh_process(
    pytester: pytest.Pytester, exercise: Exercise, arguments: list[str]
) -> ExerciseRun:
    # The CLI's own plugin writes each test's outcome and message, worded as check words it.
    report = pytester.path / "report.json"
    command = [sys.executable, "-m", "pytest", *arguments, "-p", PLUGIN]
    finished = subprocess.run(
        command,
        cwd=COURSE_ROOT,
        env={**os.environ, REPORT_ENV: str(report), "PYTHONIOENCODING": "utf-8"},
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        check=False,
    )
    try:
        document = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        output = finished.stdout + finished.stderr
        return ExerciseRun(exercise.slug, problem=Problem("runner", f"no report:\n{output}"))
    return read_report(exercise, document, duration=0.0, fingerprint="")


def exercise_test_modules(slug: str) -> list[str]:
    """The test files the course ships for an exercise, as paths relative to the course root.

    Read from the course manifest, so a test file a learner adds is not one of them.
    """
    shipped = load_manifest(COURSE_ROOT).hashes[slug]
    return sorted(
        f"exercises/{slug}/{name}"
        for name in shipped
        if "/" not in name and name.startswith("test_") and name.endswith(".py")
    )
