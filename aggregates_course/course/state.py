"""The learner's progress, kept in one git-ignored folder: ``<course>/.aggregates-course/``.

Everything the CLI remembers lives there: ``state.json`` (hint tiers shown,
cached test results, from which what is done follows), ``state.lock`` and ``backups/`` (a
learner's files, saved before ``reset`` overwrites them).

Invariants:

- ``state.json`` is either the previous complete version or the new complete
  version, never half written (temp file + ``os.replace``).
- Every write is a read-modify-write under ``state.lock``
  (:meth:`StateStore.update`), so two CLI processes never lose each other's
  changes.
- Nothing is lost silently. A file that does not decode, or holds a value
  that breaks its schema, is moved aside to ``state.json.corrupt-<UTC time>``
  and the learner is told where; the CLI carries on from a fresh state (test
  results are recomputed by running the tests). A file that cannot be *read*
  (no permission) is a :class:`StateError`, and it is never overwritten; nor
  is one a newer CLI wrote (:class:`NewerState`), which is not damage.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aggregates_course.course import shapes
from aggregates_course.course.catalog import HINT_TIERS
from aggregates_course.course.files import timestamp, trouble, write_atomically
from aggregates_course.course.lock import StateLock

STATE_FOLDER = ".aggregates-course"
STATE_FILE = "state.json"
LOCK_FILE = "state.lock"
STATE_VERSION = 2
#: Versions this CLI reads and rewrites as its own: 1 also kept when each exercise was first
#: completed, which now follows from its cached results.
READABLE_VERSIONS = (1, STATE_VERSION)
CORRUPT_SUFFIX = ".corrupt-"


class StateError(Exception):
    """The state file cannot be read, or cannot be written; the message names it and the fix.

    Raised instead of overwriting or dropping anything: when it is raised, the
    file on disk is exactly as it was. ``what`` says what is wrong (naming the
    path), ``fix`` what the learner can do.
    """

    def __init__(self, what: str, fix: str) -> None:
        super().__init__(f"{what}; {fix}")
        self.what = what
        self.fix = fix

    @classmethod
    def of(cls, error: OSError, path: Path, doing: str, then: str) -> StateError:
        """``<doing>: <what is wrong with path>``, and the fix for that followed by ``then``."""
        problem = trouble(error, path)
        return cls(f"{doing}: {problem.what}", f"{problem.fix}{then}")


class NewerVersion(shapes.ShapeError):
    """The state file was written by a newer aggregates-course: its format is not this one's."""

    def __init__(self, version: int) -> None:
        super().__init__(f"version {version}, newer than this CLI's {STATE_VERSION}")
        self.version = version


class NewerState(StateError):
    """The state file is a newer CLI's: it is kept as it is, neither read nor overwritten."""


@dataclass
class CourseState:
    """What the CLI remembers between runs.

    ``hints`` maps a slug to how many hint tiers were shown (0 to the number of tiers);
    ``results`` maps a slug to ``{fingerprint: run}``: the cached outcome of
    its tests for each recent version of its files (oldest first). Each run is
    checked when it is read (``outcomes.ExerciseRun.from_json``); one that fails
    its checks is a cache miss.
    """

    hints: dict[str, int] = field(default_factory=dict)
    results: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The document written to ``state.json``."""
        return {
            "version": STATE_VERSION,
            "hints": self.hints,
            "results": self.results,
        }

    @classmethod
    def from_json(cls, data: object) -> CourseState:
        """Rebuild from ``state.json``; raises :class:`shapes.ShapeError` naming a bad field."""
        document = shapes.mapping(data, "the state document")
        version = document.get("version")
        if isinstance(version, int) and not isinstance(version, bool) and version > STATE_VERSION:
            raise NewerVersion(version)
        if isinstance(version, bool) or version not in READABLE_VERSIONS:
            raise shapes.ShapeError(f"version is {version!r}, not {STATE_VERSION}")
        if version == 1:
            # Checked, then dropped: a damaged version-1 file is still damage.
            for slug, when in shapes.mapping(document.get("completed"), "completed").items():
                where = f"completed.{shapes.text(slug, 'a slug in completed')}"
                _moment(shapes.text(when, where), where)
        hints = {
            shapes.text(slug, "a slug in hints"): shapes.integer(
                count, f"hints.{slug}", low=0, high=len(HINT_TIERS)
            )
            for slug, count in shapes.mapping(document.get("hints"), "hints").items()
        }
        results: dict[str, dict[str, dict[str, Any]]] = {}
        for slug, runs in shapes.mapping(document.get("results"), "results").items():
            where = f"results.{shapes.text(slug, 'a slug in results')}"
            results[slug] = {
                shapes.text(stamp, f"a fingerprint in {where}"): shapes.mapping(
                    run, f"{where}.{stamp}"
                )
                for stamp, run in shapes.mapping(runs, where).items()
            }
        return cls(hints, results)


def _moment(value: str, where: str) -> None:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise shapes.ShapeError(f"{where} is not a date and time") from None


def _finite(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):  # 1e400 overflows to infinity
        raise ValueError(f"{literal[:20]} is too large a number")
    return number


def _no_constant(literal: str) -> object:
    raise ValueError(f"{literal} is not a JSON number")


def decode(content: bytes) -> CourseState:
    """Parse and check the bytes of ``state.json``; raises ValueError saying what is wrong."""
    try:
        data = json.loads(content.decode("utf-8"), parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("it is nested too deeply to be a state file") from None
    return CourseState.from_json(data)


def encode(state: CourseState) -> bytes:
    """The bytes of ``state.json``; insertion order is kept, as it says which run is oldest."""
    return json.dumps(state.to_json(), indent=1).encode("utf-8")


def _print_warning(text: str) -> None:
    print(text, file=sys.stderr)


class StateStore:
    """Reads and writes ``state.json`` in the course's state folder, under its lock.

    ``warn`` receives one line whenever something the learner should know
    happened to their state (a damaged file moved aside, a save that failed);
    each distinct line is passed on once.
    """

    def __init__(self, course_root: Path, warn: Callable[[str], None] | None = None) -> None:
        self.folder = course_root / STATE_FOLDER
        self.path = self.folder / STATE_FILE
        self.lock_path = self.folder / LOCK_FILE
        #: Set by a read that moved a damaged file aside: where it went.
        self.recovered_from: Path | None = None
        #: Set by a load that found a newer CLI's state file, which is left alone.
        self.newer: NewerState | None = None
        self._warn = warn or _print_warning
        self._warned: set[str] = set()

    @property
    def backups(self) -> Path:
        """Where ``reset`` keeps the learner's files before restoring a stub."""
        return self.folder / "backups"

    def warn(self, text: str) -> None:
        """Tell the learner ``text``, once per store."""
        if text not in self._warned:
            self._warned.add(text)
            self._warn(text)

    def load(self) -> CourseState:
        """The saved state; a fresh one if there is none or it was damaged (and moved aside).

        A state file written by a newer CLI is left exactly as it is: a fresh
        state is returned, the learner is warned once, and :attr:`newer` is set
        (every later :meth:`update` then refuses to write). Raises
        :class:`StateError` if the file exists but cannot be read.
        """
        with contextlib.ExitStack() as held:
            # Where no lock file can be made (a read-only or missing folder) nobody can write
            # the state either, so reading without the lock is safe.
            with contextlib.suppress(OSError):
                held.enter_context(StateLock(self.lock_path))
            try:
                return self._read()
            except NewerState as newer:
                self.newer = newer
                self.warn(str(newer))
                return CourseState()

    def update(self, change: Callable[[CourseState], None]) -> CourseState:
        """Apply ``change`` to the state on disk and write it back, all under the lock.

        Returns the state written. Raises :class:`StateError` if it cannot be
        read or written, or was written by a newer CLI (:class:`NewerState`);
        the file is then as it was.
        """
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with StateLock(self.lock_path):
                state = self._read()
                change(state)
                write_atomically(self.path, encode(state))
        except OSError as error:
            raise StateError.of(
                error,
                self.path,
                "cannot save your progress",
                " (until then, hints and results are not remembered)",
            ) from error
        return state

    def _read(self) -> CourseState:
        """Read and check ``state.json``; call with the lock held when there is one."""
        try:
            if self.path.is_dir():
                return self._set_aside("it is a folder, not a file")
            content = self.path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            # No file, or no state folder (a file is in its place): nothing was saved yet.
            # A save will say what is in the way.
            return CourseState()
        except OSError as error:
            raise StateError.of(
                error,
                self.path,
                "cannot read your progress",
                ", or move it away to start afresh (it was left as it was)",
            ) from error
        try:
            return decode(content)
        except NewerVersion as error:
            raise NewerState(
                f"{self.path} was written by a newer version of aggregates-course "
                f"(state {error}), so this one leaves it as it is and remembers nothing new",
                "update this copy of the course (git pull, then uv sync) to carry on with it",
            ) from error
        except ValueError as error:  # UnicodeDecodeError, JSONDecodeError, ShapeError
            return self._set_aside(_short(str(error)))

    def _set_aside(self, reason: str) -> CourseState:
        """Move the damaged file to a new ``state.json.corrupt-<time>`` and start afresh."""
        stamp = timestamp()
        aside = self.path.with_name(f"{STATE_FILE}{CORRUPT_SUFFIX}{stamp}")
        copies = 0
        # Under the lock no other CLI process moves files here, so a free name stays free.
        while os.path.lexists(aside):
            copies += 1
            aside = self.path.with_name(f"{STATE_FILE}{CORRUPT_SUFFIX}{stamp}-{copies}")
        try:
            os.replace(self.path, aside)
        except OSError as error:
            raise StateError.of(
                error,
                self.path,
                f"{self.path} is damaged ({reason}) and could not be moved aside",
                ", or move the damaged file away yourself",
            ) from error
        self.recovered_from = aside
        self.warn(
            f"{self.path} was damaged ({reason}); it is kept as {aside} and the state was "
            "rebuilt (checks recompute which exercises are done; hints start again)"
        )
        return CourseState()


def _short(reason: str, limit: int = 100) -> str:
    """``reason`` as one short printable line: it may quote a damaged file's own text."""
    line = "".join(char if char.isprintable() else " " for char in reason)
    line = " ".join(line.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
