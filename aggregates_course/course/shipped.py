"""The exercises as shipped: the course's record of them, and putting a stub back from it.

``<course>/.course/manifest.json`` holds the SHA-256 of every file in every
exercise folder, and ``<course>/.course/pristine/<slug>/<file>.pristine`` a
copy of each file a learner edits (maintainers write both with
:mod:`~aggregates_course.course.pristine`). From them ``reset`` puts a stub
back (:func:`restore_stub`, which backs the learner's version up first),
``solution`` compares a stub with its solution (:func:`solution_diff`), and
``doctor`` spots edited test files (:meth:`Manifest.drift`). None of it needs
git or a network. Each function returns what it did; the commands word it.

Invariant: nothing the learner wrote is overwritten without a backup, and a
copy that fails its manifest hash never overwrites anything.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from aggregates_course.course.catalog import Exercise
from aggregates_course.course.files import trouble, write_atomically

SNAPSHOT_FOLDER = ".course"
MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
PRISTINE_SUFFIX = ".pristine"


class PristineError(Exception):
    """The snapshot is missing, lacks an exercise, or a stored copy fails its hash."""


def digest(content: bytes) -> str:
    """SHA-256 of ``content`` with CRLF read as LF, so a Windows checkout hashes the same."""
    return hashlib.sha256(content.replace(b"\r\n", b"\n")).hexdigest()


def snapshot_folder(course_root: Path) -> Path:
    """``<course>/.course``: the manifest and the pristine copies."""
    return course_root / SNAPSHOT_FOLDER


def pristine_path(course_root: Path, slug: str, name: str) -> Path:
    """``.course/pristine/<slug>/<name>.pristine``.

    The suffix keeps linters, formatters, type checkers and pytest away from
    the copies: a tool that rewrote one would break its hash, and ``reset``
    would then (rightly) refuse to use it.
    """
    return snapshot_folder(course_root) / "pristine" / slug / f"{name}{PRISTINE_SUFFIX}"


@dataclass(frozen=True)
class Manifest:
    """File hashes per exercise, as shipped: ``hashes[slug][relative path] = sha256``."""

    course_root: Path
    hashes: dict[str, dict[str, str]]

    def pristine_path(self, exercise: Exercise, name: str) -> Path:
        """Where the shipped copy of learner file ``name`` is kept."""
        return pristine_path(self.course_root, exercise.slug, name)

    def pristine_bytes(self, exercise: Exercise, name: str) -> bytes:
        """The shipped content of learner file ``name``, checked against its recorded hash."""
        expected = self.hashes.get(exercise.slug, {}).get(name)
        if expected is None:
            raise PristineError(
                f"the course snapshot has no copy of {exercise.slug}/{name}; "
                "this exercise may not be available yet"
            )
        path = self.pristine_path(exercise, name)
        try:
            content = path.read_bytes()
        except OSError as error:
            raise PristineError(f"cannot read the pristine copy {path}: {error}") from error
        if digest(content) != expected:
            raise PristineError(f"the pristine copy {path} does not match the course manifest")
        return content

    def drift(self, exercise: Exercise) -> list[tuple[str, str]]:
        """Course files of ``exercise`` (not the learner's) that differ from the manifest.

        Returns ``(relative path, "edited" | "missing" | "unreadable")`` pairs, in path order.
        """
        shipped = self.hashes.get(exercise.slug, {})
        present = exercise.course_files()
        changes: list[tuple[str, str]] = []
        for name, expected in sorted(shipped.items()):
            if name in exercise.files:
                continue
            path = present.get(name)
            if path is None:
                changes.append((name, "missing"))
                continue
            try:
                content = path.read_bytes()
            except OSError:
                changes.append((name, "unreadable"))
                continue
            if digest(content) != expected:
                changes.append((name, "edited"))
        return changes


def load_manifest(course_root: Path) -> Manifest:
    """Read ``.course/manifest.json``; raises PristineError if it is missing or malformed."""
    path = snapshot_folder(course_root) / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise PristineError(f"cannot read the course manifest {path}: {error}") from error
    exercises = data.get("exercises") if isinstance(data, dict) else None
    if not isinstance(exercises, dict) or data.get("version") != MANIFEST_VERSION:
        raise PristineError(f"{path} is not a version-{MANIFEST_VERSION} course manifest")
    hashes = {
        str(slug): {str(name): str(value) for name, value in files.items()}
        for slug, files in exercises.items()
        if isinstance(files, dict)
    }
    return Manifest(course_root, hashes)


@dataclass(frozen=True)
class Restored:
    """What :func:`restore_stub` did to one learner file.

    ``moved_folder`` is where a folder that stood at the file's place went;
    ``backup`` where the learner's version was saved; ``already`` says the
    file was the stub already. ``failure`` says what went wrong and what is
    left as it was; nothing after that step was done.
    """

    shown: str
    moved_folder: Path | None = None
    backup: Path | None = None
    already: bool = False
    failure: str | None = None


def restore_stub(exercise: Exercise, name: str, stub: bytes, backup_root: Path) -> Restored:
    """Put the stub ``stub`` back at learner file ``name``, backing up what stands there first.

    A folder in the file's place is moved into ``backup_root``; a learner's
    version is copied there before the stub overwrites it. The file is never
    left half written (:func:`~aggregates_course.course.files.write_atomically`).
    """
    path = exercise.folder / name
    shown = f"exercises/{exercise.slug}/{name}"
    backup = backup_root / exercise.slug / name
    moved: Path | None = None
    if path.is_dir() and not path.is_symlink():
        try:
            backup.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, backup)
        except OSError as error:
            why = f"{trouble(error, path)}; nothing changed"
            return Restored(shown, failure=f"cannot move the folder {shown} out of the way: {why}")
        moved = backup
    try:
        current = path.read_bytes() if path.exists() else None
    except OSError as error:
        why = f"{trouble(error, path)}; nothing changed"
        return Restored(shown, moved, failure=f"cannot reset {shown}: {why}")
    if current == stub:
        return Restored(shown, moved, already=True)
    kept = "nothing changed"
    saved: Path | None = None
    if current is not None:
        try:
            write_atomically(backup, current)
        except OSError as error:
            why = f"{trouble(error, backup)}; nothing changed"
            return Restored(
                shown, moved, failure=f"cannot back up {shown}, so it was not reset: {why}"
            )
        saved = backup
        kept = f"your version is unchanged (a copy is in {backup})"
    try:
        write_atomically(path, stub)
    except OSError as error:
        return Restored(
            shown, moved, saved, failure=f"cannot restore {shown}: {trouble(error, path)}; {kept}"
        )
    return Restored(shown, moved, saved)


def solution_diff(manifest: Manifest, exercise: Exercise) -> list[str]:
    """The unified diff from each shipped stub of ``exercise`` to its solution, line by line.

    Raises :class:`PristineError` for a stub that fails its hash, and
    OSError for a solution file that cannot be read.
    """
    lines: list[str] = []
    for name in exercise.files:
        stub = manifest.pristine_bytes(exercise, name).decode("utf-8")
        solved = (exercise.solution_folder / name).read_text(encoding="utf-8")
        diff = difflib.unified_diff(
            stub.splitlines(keepends=True),
            solved.splitlines(keepends=True),
            fromfile=f"stub/{exercise.slug}/{name}",
            tofile=f"solution/{exercise.slug}/{name}",
        )
        lines.extend(line.rstrip("\n") for line in diff)
    return lines
