"""Decoys: plausible wrong answers, each kept as a small diff against the solution.

A decoy is the mistake a learner really makes (checking ids but forgetting
retired ones, appending before checking, ...). Keeping only the diff means a
decoy shows exactly that mistake, and it follows the solution when the
solution changes. The course gate materializes each decoy into a folder laid
out like ``solutions/`` and proves the exercise's tests fail on it; the
instructor guide lists them as the common learner mistakes.

File format, ``tests/decoys/<name>.diff``: ``#`` comment lines (the first says
what is wrong), then a unified diff from ``solutions/<slug>/<file>`` to
``decoy/<slug>/<file>`` for each file the decoy changes.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")


class DecoyError(Exception):
    """A decoy's diff no longer applies to the solution it was written against."""


@dataclass(frozen=True, slots=True)
class Decoy:
    """One wrong answer: its name, the exercise it targets, what is wrong, and its diff."""

    name: str
    exercise: str
    mistake: str
    diff: str

    def materialize(self, course_root: Path, folder: Path) -> Path:
        """Write ``<folder>/<exercise>/<file>`` for every file the decoy touches; return folder.

        Files come from ``solutions/<exercise>`` with the diff applied. Raises
        :class:`DecoyError` when a hunk's context no longer matches.
        """
        patches = _split_by_file(self.diff)
        target = folder / self.exercise
        target.mkdir(parents=True, exist_ok=True)
        solution = course_root / "solutions" / self.exercise
        for source in solution.glob("*.py"):
            shutil.copy2(source, target / source.name)
        for name, hunks in patches.items():
            original = (solution / name).read_text(encoding="utf-8").splitlines(keepends=True)
            patched = _apply(original, hunks, f"{self.name}: {name}")
            (target / name).write_text("".join(patched), encoding="utf-8")
        return folder


def discover_decoys(course_root: Path) -> tuple[Decoy, ...]:
    """Every ``tests/decoys/*.diff``, in name order."""
    folder = course_root / "tests" / "decoys"
    decoys = []
    for path in sorted(folder.glob("*.diff")):
        text = path.read_text(encoding="utf-8")
        comments = [line[1:].strip() for line in text.splitlines() if line.startswith("#")]
        exercises = set(re.findall(r"^--- solutions/([^/]+)/", text, flags=re.MULTILINE))
        if len(exercises) != 1 or not comments:
            raise DecoyError(f"{path}: needs a '# mistake' line and a diff of one exercise")
        decoys.append(Decoy(path.stem, exercises.pop(), comments[0], text))
    return tuple(decoys)


def _split_by_file(diff: str) -> dict[str, list[list[str]]]:
    files: dict[str, list[list[str]]] = {}
    hunks: list[list[str]] = []
    for line in diff.splitlines(keepends=True):
        if line.startswith("--- solutions/"):
            hunks = files.setdefault(line.split("/", 2)[2].strip(), [])
        elif line.startswith("+++ ") or line.startswith("#"):
            continue
        elif line.startswith("@@"):
            hunks.append([line])
        elif hunks:
            hunks[-1].append(line)
    return files


def _apply(original: list[str], hunks: list[list[str]], where: str) -> list[str]:
    result: list[str] = []
    cursor = 0
    for hunk in hunks:
        match = _HUNK.match(hunk[0])
        if match is None:
            raise DecoyError(f"{where}: bad hunk header {hunk[0]!r}")
        start = int(match.group(1)) - (0 if match.group(2) == "0" else 1)
        result.extend(original[cursor:start])
        cursor = start
        for line in hunk[1:]:
            tag, text = line[:1], _ensure_newline(line[1:])
            if tag in (" ", "-"):
                if cursor >= len(original) or _ensure_newline(original[cursor]) != text:
                    raise DecoyError(f"{where}: line {cursor + 1} no longer reads {text!r}")
                cursor += 1
                if tag == " ":
                    result.append(text)
            elif tag == "+":
                result.append(text)
    result.extend(original[cursor:])
    return result


def _ensure_newline(line: str) -> str:
    return line if line.endswith("\n") else line + "\n"
