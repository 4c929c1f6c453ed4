"""Machinery for the two-way gate: run an exercise's tests in-process against a target.

The files in ``exercises/`` that a learner edits are theirs: the project's
suite never reads them. The stubs as shipped come from the course snapshot
(``.course/pristine/``, checked against ``.course/manifest.json``) through
:func:`write_shipped_stubs`, and whole-course experiments run in a
:func:`course_copy`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from aggregates_course.course.catalog import Exercise, load_catalog
from aggregates_course.course.decoys import discover_decoys
from aggregates_course.course.launch import PLUGIN, REPORT_ENV
from aggregates_course.course.pristine import load_manifest
from aggregates_course.course.pytest_results import describe_failure
from aggregates_course.course.target import configure_target, current_target

COURSE_ROOT = Path(__file__).resolve().parent.parent
CATALOG = load_catalog(COURSE_ROOT)
DECOYS = discover_decoys(COURSE_ROOT)
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


def write_shipped_stubs(target: Path, exercises: Sequence[Exercise] = CATALOG) -> Path:
    """Write each exercise's stubs as shipped to ``target/<slug>/<file>``; return ``target``.

    ``target`` is laid out like ``exercises/`` (it may be a copy's
    ``exercises/``), so it serves as a ``--target`` folder. The stubs come from
    this checkout's snapshot, whatever the learner has done to its files.
    """
    manifest = load_manifest(COURSE_ROOT)
    for exercise in exercises:
        for name in exercise.files:
            path = target / exercise.slug / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(manifest.pristine_bytes(exercise, name))
    return target


def course_copy(destination: Path) -> Path:
    """A copy of this course at ``destination``, every learner file the stub as shipped."""
    shutil.copytree(COURSE_ROOT, destination, ignore=NOT_COURSE)
    return write_shipped_stubs(destination / "exercises").parent


@dataclass(frozen=True)
class Failure:
    """One failed test: its node id and its message as the learner's check shows it."""

    test: str
    message: str


@dataclass(frozen=True)
class GateRun:
    """Outcomes of one in-process run, per test module."""

    passed: dict[str, int]
    failed: dict[str, int]
    errors: list[str]
    first_failure: str
    imported_files: frozenset[Path]
    failures: tuple[Failure, ...] = ()
    """Every failed test in the order it ran (the docs quote these; see docs/hooks)."""

    @property
    def total_failed(self) -> int:
        return sum(self.failed.values())


def run_exercise(
    pytester: pytest.Pytester,
    slug: str,
    target: str | Path,
    *,
    first_failure_only: bool = False,
    profile: str = "gate",
    select: str = "",
    fresh_process: bool = False,
) -> GateRun:
    """Run ``exercises/<slug>`` against ``target``; count outcomes per test module.

    ``first_failure_only`` stops at the first failing test, for runs that only
    need to prove that something fails. ``profile`` is the Hypothesis profile;
    ``select``, when given, is a ``-k`` expression choosing the tests to run.
    The run is in this process, unless ``fresh_process`` asks for a new one, as
    a learner's or an instructor's command has: Hypothesis draws on constants
    from every module already imported, so only a fresh process finds the
    counterexample that command finds (it records no imported files).
    """
    arguments = [
        *(["--exitfirst"] if first_failure_only else []),
        str(COURSE_ROOT / "exercises" / slug),
        f"--target={target}",
        f"--rootdir={COURSE_ROOT}",
        "-p",
        "no:cacheprovider",
        f"--hypothesis-profile={profile}",
        "-q",
        *(["-k", select] if select else []),
    ]
    if fresh_process:
        return _run_in_a_fresh_process(pytester, arguments)
    imports = _ImportRecorder()
    failures = _FailureRecorder()
    # The inner run sets its Hypothesis profile and --target globally; give the outer
    # session its own back.
    outer_profile = settings.get_current_profile_name()
    outer_target = current_target()
    try:
        recorder = pytester.inline_run(*arguments, plugins=[imports, failures])
    finally:
        settings.load_profile(outer_profile)
        configure_target(COURSE_ROOT, outer_target)

    passed: dict[str, int] = defaultdict(int)
    failed: dict[str, int] = defaultdict(int)
    errors: list[str] = [str(report.nodeid) for report in recorder.getfailedcollections()]
    first_failure = ""
    for report in recorder.getreports("pytest_runtest_logreport"):
        module = report.nodeid.split("::")[0]
        if report.when == "call" and report.passed:
            passed[module] += 1
        elif report.failed and report.when == "call":
            failed[module] += 1
            first_failure = first_failure or str(report.longrepr)
        elif report.failed:
            errors.append(f"{report.nodeid} ({report.when})")
    return GateRun(
        dict(passed), dict(failed), errors, first_failure, imports.files, tuple(failures.failures)
    )


def _run_in_a_fresh_process(pytester: pytest.Pytester, arguments: list[str]) -> GateRun:
    # The CLI's own plugin writes each test's outcome and message, worded as check words it.
    report = pytester.path / "report.json"
    command = [sys.executable, "-m", "pytest", *arguments, "-p", PLUGIN]
    finished = subprocess.run(
        command,
        cwd=COURSE_ROOT,
        env={**os.environ, REPORT_ENV: str(report)},
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        document = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        output = finished.stdout + finished.stderr
        return GateRun({}, {}, [f"pytest wrote no report:\n{output}"], "", frozenset(), ())
    passed: dict[str, int] = defaultdict(int)
    failed: dict[str, int] = defaultdict(int)
    errors = [str(error["id"]) for error in document["collection_errors"]]
    failures: list[Failure] = []
    for test in document["tests"]:
        module = test["id"].split("::")[0]
        if test["status"] == "passed":
            passed[module] += 1
        elif test["status"] == "failed":
            failed[module] += 1
            failures.append(Failure(test["id"], str(test["message"])))
        elif test["status"] == "error":
            errors.append(f"{test['id']} (setup or teardown)")
    first_failure = failures[0].message if failures else ""
    return GateRun(dict(passed), dict(failed), errors, first_failure, frozenset(), tuple(failures))


class _FailureRecorder:
    """A pytest plugin keeping each failed test's message, worded as the CLI words it."""

    def __init__(self) -> None:
        self.failures: list[Failure] = []

    def pytest_exception_interact(
        self, call: pytest.CallInfo[object], report: pytest.CollectReport | pytest.TestReport
    ) -> None:
        if isinstance(report, pytest.TestReport) and report.when == "call" and call.excinfo:
            message = str(describe_failure(call.excinfo.value)["message"])
            self.failures.append(Failure(report.nodeid, message))


class _ImportRecorder:
    """A pytest plugin noting every module file loaded by the end of a run.

    pytester restores ``sys.modules`` after an in-process run, so the modules
    the run imported must be read before that, at session finish.
    """

    def __init__(self) -> None:
        self.files: frozenset[Path] = frozenset()

    def pytest_sessionfinish(self) -> None:
        files = (getattr(module, "__file__", None) for module in list(sys.modules.values()))
        self.files = frozenset(Path(file).resolve() for file in files if file)


def exercise_test_modules(slug: str) -> list[str]:
    """The test files of an exercise, as paths relative to the course root."""
    folder = COURSE_ROOT / "exercises" / slug
    return sorted(str(path.relative_to(COURSE_ROOT)) for path in folder.glob("test_*.py"))
