"""``doctor``: what is wrong with the learner's setup, and how to fix each thing.

It checks Python, pytest and Hypothesis, the course's own files (each
exercise present, its tests as shipped, its original stub intact) and the
state folder, one line per check. It runs before the course's state is
opened, so it can describe a state folder the other commands refuse.
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
from aggregates_course.course.files import trouble
from aggregates_course.course.pristine import PristineError, load_manifest
from aggregates_course.course.state import StateError, StateStore


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
