"""The learner's progress, kept in one git-ignored folder: ``<course>/.aggregates-course/``.

Everything the CLI remembers lives there: ``state.json`` (exercises completed,
hint tiers shown, cached test results) and ``backups/`` (a learner's files,
saved before ``reset`` overwrites them). Invariant: ``state.json`` is either
the previous complete version or the new complete version, never half
written (temp file + ``os.replace``). A missing or corrupt file is rebuilt
from scratch; a corrupt one is first kept aside so nothing is lost.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aggregates_course.course.files import write_atomically

STATE_FOLDER = ".aggregates-course"
STATE_FILE = "state.json"
STATE_VERSION = 1


def timestamp() -> str:
    """A sortable UTC timestamp that is safe in file names on every platform."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


@dataclass
class CourseState:
    """What the CLI remembers between runs.

    ``completed`` maps a slug to when its tests first all passed; ``hints``
    maps a slug to how many hint tiers were shown; ``results`` maps a slug to
    ``{fingerprint: run}``: the cached outcome of its tests for each recent
    version of its files (oldest first).
    """

    completed: dict[str, str] = field(default_factory=dict)
    hints: dict[str, int] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The document written to ``state.json``."""
        return {
            "version": STATE_VERSION,
            "completed": self.completed,
            "hints": self.hints,
            "results": self.results,
        }

    @classmethod
    def from_json(cls, data: object) -> CourseState:
        """Rebuild from ``state.json``; raises ValueError if the shape is wrong."""
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise ValueError("not a version-1 state document")
        completed, hints, results = data.get("completed"), data.get("hints"), data.get("results")
        if not (
            isinstance(completed, dict) and isinstance(hints, dict) and isinstance(results, dict)
        ):
            raise ValueError("state document lacks completed/hints/results")
        return cls(
            completed={str(k): str(v) for k, v in completed.items()},
            hints={str(k): int(v) for k, v in hints.items()},
            results={str(k): v for k, v in results.items() if isinstance(v, dict)},
        )


class StateStore:
    """Reads and atomically writes ``state.json`` in the course's state folder."""

    def __init__(self, course_root: Path) -> None:
        self.folder = course_root / STATE_FOLDER
        self.path = self.folder / STATE_FILE
        #: Set by :meth:`load` when a corrupt file was moved aside: where it went.
        self.recovered_from: Path | None = None

    @property
    def backups(self) -> Path:
        """Where ``reset`` keeps the learner's files before restoring a stub."""
        return self.folder / "backups"

    def load(self) -> CourseState:
        """The saved state, or a fresh one if the file is missing or unreadable."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return CourseState()
        except OSError:
            return CourseState()
        try:
            return CourseState.from_json(json.loads(text))
        except (ValueError, TypeError):
            # Keep the damaged file for inspection rather than silently dropping it.
            aside = self.path.with_name(f"{STATE_FILE}.corrupt-{timestamp()}")
            with contextlib.suppress(OSError):
                os.replace(self.path, aside)
                self.recovered_from = aside
            return CourseState()

    def save(self, state: CourseState) -> None:
        """Write ``state`` so a reader sees the old or the new file, never a mix."""
        text = json.dumps(state.to_json(), indent=1, sort_keys=True)
        write_atomically(self.path, text.encode("utf-8"))
