"""The maintainers' command that records ``exercises/`` as shipped, or checks the record.

The record itself (``.course/manifest.json`` and the pristine copies) is
read by :mod:`~aggregates_course.course.shipped`, which serves ``reset``,
``solution`` and ``doctor``; this module writes it, and learners never run it.

Invariant: the snapshot describes ``exercises/`` as the maintainers committed
it. Maintainers regenerate it after changing an exercise with::

    uv run python -m aggregates_course.course.pristine

and ``tests/test_cli_pristine.py`` fails while it is stale. The refresh runs
each exercise's tests first and refuses to record a "stub" that passes them:
a learner told to run it must not turn their solution into the original stub.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aggregates_course.course.catalog import Exercise, load_catalog
from aggregates_course.course.files import write_atomically
from aggregates_course.course.runner import run_exercise
from aggregates_course.course.shipped import (
    MANIFEST_NAME,
    MANIFEST_VERSION,
    PRISTINE_SUFFIX,
    Manifest,
    PristineError,
    digest,
    load_manifest,
    snapshot_folder,
)

REGENERATE = "uv run python -m aggregates_course.course.pristine"


def build_manifest(course_root: Path, catalog: Sequence[Exercise]) -> dict[str, dict[str, str]]:
    """Hashes of the exercise folders as they are now (exercises without a folder are left out)."""
    return {
        exercise.slug: {
            name: digest(path.read_bytes()) for name, path in exercise.course_files().items()
        }
        for exercise in catalog
        if exercise.folder.is_dir()
    }


def write_snapshot(course_root: Path, catalog: Sequence[Exercise]) -> Manifest:
    """Record ``exercises/`` as it is now: the manifest plus a copy of every learner file.

    A maintainer's step, run after changing an exercise; learners never need it.
    """
    folder = snapshot_folder(course_root)
    hashes = build_manifest(course_root, catalog)
    staging = Path(tempfile.mkdtemp(prefix=".pristine-", dir=folder if folder.is_dir() else None))
    try:
        for exercise in catalog:
            for name in exercise.files:
                source = exercise.folder / name
                if source.is_file():
                    target = staging / exercise.slug / f"{name}{PRISTINE_SUFFIX}"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(folder / "pristine", ignore_errors=True)
        shutil.move(str(staging), str(folder / "pristine"))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    document = {
        "version": MANIFEST_VERSION,
        "regenerate_with": REGENERATE,
        "exercises": hashes,
    }
    text = json.dumps(document, indent=1, sort_keys=True) + "\n"
    write_atomically(folder / MANIFEST_NAME, text.encode("utf-8"))
    return Manifest(course_root, hashes)


def stale_entries(
    course_root: Path, catalog: Sequence[Exercise], *, learner_files: bool = True
) -> list[str]:
    """How the stored snapshot differs from ``exercises/`` now; empty when it is current.

    With ``learner_files=False`` the files learners edit are left out of the
    comparison (in a learner's checkout they differ from the stubs by design);
    their stored copies are still checked against the manifest.
    """
    try:
        manifest = load_manifest(course_root)
    except PristineError as error:
        return [str(error)]
    current = build_manifest(course_root, catalog)
    edited = {exercise.slug: set(exercise.files) for exercise in catalog}
    problems: list[str] = []
    for slug in sorted(set(current) | set(manifest.hashes)):
        now, stored = current.get(slug, {}), manifest.hashes.get(slug, {})
        for name in sorted(set(now) | set(stored)):
            if not learner_files and name in edited.get(slug, set()):
                continue
            if now.get(name) != stored.get(name):
                problems.append(f"{slug}/{name}: manifest differs from exercises/")
    for exercise in catalog:
        for name in exercise.files:
            if name in current.get(exercise.slug, {}) or name in manifest.hashes.get(
                exercise.slug, {}
            ):
                try:
                    manifest.pristine_bytes(exercise, name)
                except PristineError as error:
                    problems.append(str(error))
    return problems


def unfit_stubs(catalog: Sequence[Exercise]) -> list[str]:
    """Why ``exercises/`` cannot be recorded as the original stubs: one line per exercise.

    A stub must fail its exercise's tests; that is what makes it an exercise.
    Each exercise that has tests is run against ``exercises/`` as it is now:
    one whose tests all pass holds a solution (a learner's, say), and one
    whose tests cannot run proves nothing either way. Recording either would
    let ``reset`` "restore" something that is not the stub.
    """
    available = [exercise for exercise in catalog if exercise.available]
    if not available:
        return []
    with ThreadPoolExecutor(max_workers=min(len(available), os.cpu_count() or 1)) as pool:
        runs = list(pool.map(run_exercise, available))
    reasons: list[str] = []
    for exercise, run in zip(available, runs, strict=True):
        files = " ".join(f"exercises/{exercise.slug}/{name}" for name in exercise.files)
        if run.status == "done":
            reasons.append(
                f"{exercise.slug}: all {len(run.tests)} tests pass against {files}, so it is a "
                "solution, not a stub (a stub must fail its tests); put the stub back "
                f"(`git checkout -- {files}`) and run this again"
            )
        elif run.problem is not None and run.problem.kind in ("runner", "collection"):
            first = (run.problem.message.strip().splitlines() or ["no reason given"])[0]
            reasons.append(
                f"{exercise.slug}: its tests could not run, so nothing shows that the stub "
                f"fails them ({first})"
            )
    return reasons


def main(argv: Sequence[str] | None = None) -> int:
    """Maintainers: rewrite the snapshot from ``exercises/``, or ``--check`` that it is current."""
    parser = argparse.ArgumentParser(
        prog="python -m aggregates_course.course.pristine",
        description="Record exercises/ as shipped: .course/manifest.json and .course/pristine/.",
        epilog=f"example: {REGENERATE}",
    )
    parser.add_argument("--check", action="store_true", help="only report whether it is stale")
    parser.add_argument("--root", type=Path, default=None, help="course root (default: here)")
    args = parser.parse_args(argv)
    catalog = load_catalog(args.root)
    root = catalog[0].root if catalog else (args.root or Path.cwd())
    if args.check:
        problems = stale_entries(root, catalog)
        for problem in problems:
            print(problem)
        print("snapshot is current" if not problems else f"stale; run: {REGENERATE}")
        return 1 if problems else 0
    reasons = unfit_stubs(catalog)
    if reasons:
        for reason in reasons:
            print(f"refused: {reason}")
        print(
            f"nothing was recorded; {snapshot_folder(root)} is unchanged. (Learners never need "
            "this command: `aggregates-course reset <exercise>` brings a stub back.)"
        )
        return 1
    manifest = write_snapshot(root, catalog)
    count = sum(len(files) for files in manifest.hashes.values())
    print(f"recorded {count} files of {len(manifest.hashes)} exercises in {snapshot_folder(root)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
