"""Read what pytest reported on an exercise into an :class:`ExerciseRun`, in learner terms.

The plugin's report lists each test's outcome and each failure's frames;
this module picks the frame a learner should look at (:class:`Frames`), and
tells a failing test from a learner's file that does not compile or import
(:func:`syntax_problem` before a run, :func:`read_report` after one). Both
the CLI's runner and the course gate read reports through it.
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from aggregates_course.course import shapes
from aggregates_course.course.catalog import Exercise
from aggregates_course.course.files import trouble, what_stands_there
from aggregates_course.course.outcomes import ExerciseRun, Location, Problem, TestResult


def relative(course_root: Path, filename: str) -> str:
    path = Path(filename)
    try:
        return path.resolve().relative_to(course_root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def syntax_problem(exercise: Exercise) -> Problem | None:
    """A file the learner edits that is not there or Python cannot compile, with its line.

    ``None`` when every file compiles. A byte that is not text in the file's
    encoding, or a NUL byte, is located by this function: Python's own error
    would name the last line of the string or comment holding it, or none.
    """
    for name in exercise.files:
        path = exercise.folder / name
        shown = f"exercises/{exercise.slug}/{name}"
        what = what_stands_there(path)
        if what is not None:
            return Problem("missing", f"{shown} {what}")
        try:
            content = path.read_bytes()
        except OSError as error:  # an editor replacing it right now, or no permission
            return Problem("missing", trouble(error, Path(shown)).what)
        location = Location(relative(exercise.root, str(path)), 1)
        problem = _not_text(content, location)
        if problem is not None:
            return problem
        try:
            compile(content, str(path), "exec", dont_inherit=True)
        except SyntaxError as error:
            return Problem(
                "syntax",
                f"{type(error).__name__}: {error.msg}",
                Location(location.file, error.lineno or 1),
                source=(error.text or "").rstrip("\n") or None,
                offset=error.offset,
            )
        except ValueError as error:  # what older Pythons raise for a NUL byte
            return Problem("syntax", f"ValueError: {error}", location)
    return None


def _not_text(content: bytes, location: Location) -> Problem | None:
    """A NUL byte, or a byte that is not text in the file's encoding: where it is, and why."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(content).readline)
    except SyntaxError:
        # Either a coding line naming no codec (compile says so, on its line) or, as
        # here, a first line that is not UTF-8 text: UTF-8 is what is expected then.
        encoding = "utf-8"
    position = content.find(b"\0")
    why = "a NUL byte, which no Python file may hold; delete it"
    if position < 0:
        try:
            content.decode(encoding)
            return None
        except (UnicodeDecodeError, LookupError) as error:
            position = getattr(error, "start", 0)
            shown = encoding.upper()
            why = (
                f"byte 0x{content[position]:02x}, which is not {shown} text; save the file as "
                f"{shown} (an editor's Save with Encoding), or retype the character"
            )
    start = content.rfind(b"\n", 0, position) + 1
    end = content.find(b"\n", position)
    line = content[start : end if end >= 0 else len(content)]
    column = len(content[start:position].decode(encoding, errors="replace")) + 1
    source = line.decode(encoding, errors="replace").replace("\0", "\ufffd").rstrip("\r")
    return Problem(
        "syntax",
        f"SyntaxError: this line holds {why}",
        Location(location.file, content.count(b"\n", 0, position) + 1),
        source=source,
        offset=column,
    )


class Frames:
    """Picks, from a failure's stack, the frame a learner should look at."""

    def __init__(self, exercise: Exercise) -> None:
        self.root = exercise.root
        self.learner = {(exercise.folder / name).resolve() for name in exercise.files}
        self.tests = {path.resolve() for path in exercise.folder.glob("test_*.py")}

    def importing(self, frames: Sequence[Sequence[Any]]) -> bool:
        """Whether the stack runs through a learner file's top level: it was being imported."""
        return any(
            str(function) == "<module>" and Path(filename).resolve() in self.learner
            for filename, _, function in frames
        )

    def pick(self, frames: Sequence[Sequence[Any]]) -> tuple[Location | None, bool]:
        """The deepest frame in a learner file, else in a test file; and whether it is learner's."""
        for wanted, is_learner in ((self.learner, True), (self.tests, False)):
            for filename, line, function in reversed(frames):
                if Path(filename).resolve() in wanted:
                    where = Location(relative(self.root, filename), int(line), str(function))
                    return where, is_learner
        return None, False


def source_line(path: Path, number: int) -> str:
    """Line ``number`` of ``path``, stripped; empty if the file changed or cannot be read."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    return lines[number - 1].strip() if 0 < number <= len(lines) else ""


def _learner_problem(frames: Frames, failure: dict[str, Any]) -> Problem | None:
    """A failure that comes from a learner file not compiling or not importing, else None."""
    syntax = failure.get("syntax")
    if syntax and Path(syntax["file"]).resolve() in frames.learner:
        return Problem(
            "syntax",
            failure["message"],
            Location(relative(frames.root, syntax["file"]), syntax["line"] or 1),
            source=(syntax["text"] or "").rstrip("\n") or None,
            offset=syntax["offset"],
        )
    where, in_learner_file = frames.pick(failure["frames"])
    if in_learner_file and where is not None and frames.importing(failure["frames"]):
        # The learner's module fails while being imported (at its top level, or in a function
        # its top level calls, as a runaway recursion): every test fails the same way.
        return Problem("import", failure["message"], where)
    return None


def read_report(
    exercise: Exercise, document: dict[str, Any], *, duration: float, fingerprint: str
) -> ExerciseRun:
    """The run the plugin's ``document`` describes, stamped with ``fingerprint``.

    A collection error is the run's problem, as is a failure raised while a
    learner's file was being imported or compiled; a run in which no test
    passed or failed proves nothing, and says so as a ``runner`` problem.
    """
    frames = Frames(exercise)
    failures = [entry["failure"] for entry in document["tests"] if entry.get("failure")]
    for part in (*document["tests"], *failures, *document["collection_errors"]):
        # A learner's message may hold anything; the run is cached, and the cache keeps text
        # only as shapes.text allows.
        for key in ("message", "steps"):
            if isinstance(part.get(key), str):
                part[key] = shapes.plausible(part[key])
    for error in document["collection_errors"]:
        broken = _learner_problem(frames, error) or Problem(
            "collection", error["message"], frames.pick(error["frames"])[0]
        )
        return ExerciseRun(
            exercise.slug, problem=broken, duration=duration, fingerprint=fingerprint
        )
    tests: list[TestResult] = []
    problem: Problem | None = None
    for entry in document["tests"]:
        failure = entry.get("failure")
        if failure and problem is None:
            problem = _learner_problem(frames, failure)
        test = TestResult.from_json(entry, f"the report's test {entry.get('id')!r}")
        tests.append(replace(test, where=frames.pick(failure["frames"])[0]) if failure else test)
    collected = int(document.get("collected", len(tests)))
    judged = any(test.status in ("passed", "failed", "error") for test in tests)
    if problem is None and not judged:
        # Nothing failed, yet nothing passed: no test ran, so nothing is proven either way.
        problem = Problem(
            "runner", f"no test of {exercise.slug} ran ({collected} collected, none passed)"
        )
    return ExerciseRun(
        exercise.slug, tuple(tests), problem, duration, fingerprint=fingerprint, collected=collected
    )
