"""Run an exercise's tests once and turn what pytest left into an :class:`ExerciseRun`.

:func:`run_exercise` first compiles the learner's files, so that a syntax
error is reported as a file and a line, never as ten identical test
failures. It then starts pytest through a
:class:`~aggregates_course.course.launch.Launcher` and reads the plugin's
report: each test's outcome, and the frame of each failure a learner should
look at. A run that left no report either ran out of time (a ``timeout``
problem naming the test it was in and the line it was stuck on) or never
got going (a ``runner`` problem). Every run is stamped with the
:func:`fingerprint` of the files it judged; the cache
(:class:`aggregates_course.course.checkout.Course`) files it under that.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aggregates_course.course.catalog import Exercise, is_available
from aggregates_course.course.launch import (
    DEFAULT_TIME_LIMIT,
    REPORT_ENV,
    TIME_LIMIT_ENV,
    Launched,
    Launcher,
    RunGroup,
    launch_cold,
    pytest_arguments,
)
from aggregates_course.course.outcomes import ExerciseRun, Location, Problem, TestResult
from aggregates_course.course.pristine import exercise_files

# Part of every fingerprint: changing it makes every cached result a cache miss.
CACHE_VERSION = "1"


def fingerprint(exercise: Exercise) -> str:
    """A hash of every file in the exercise folder: equal fingerprints, equal test results."""
    hasher = hashlib.sha256(f"aggregates-course results {CACHE_VERSION}\n".encode())
    for name, path in exercise_files(exercise.folder).items():
        hasher.update(name.encode("utf-8") + b"\0")
        hasher.update(hashlib.sha256(path.read_bytes()).digest())
    return hasher.hexdigest()


def run_exercise(
    exercise: Exercise,
    *,
    complete: bool = False,
    limit: float = DEFAULT_TIME_LIMIT,
    launch: Launcher = launch_cold,
    on_output: Callable[[str], None] | None = None,
    group: RunGroup | None = None,
) -> ExerciseRun:
    """Run the exercise's tests now (no cache) and describe the outcome.

    Unless ``complete`` is asked for, pytest stops at the first failure: the
    learner fixes one test at a time, and a stub then fails in a fraction of
    the time a full run takes. A run still going after ``limit`` seconds is
    stopped and reported as a ``timeout`` problem. ``on_output``, if given,
    receives pytest's own verbose output. ``group`` is the batch of runs this
    one belongs to, which an interrupt stops as a whole.
    """
    started = time.monotonic()
    stamp = fingerprint(exercise)
    if not is_available(exercise):
        return ExerciseRun(exercise.slug, "missing", fingerprint=stamp)
    problem = syntax_problem(exercise)
    if problem is not None:
        return ExerciseRun(exercise.slug, "pending", problem=problem, fingerprint=stamp)
    with tempfile.TemporaryDirectory(prefix="aggregates-course-") as scratch:
        report = Path(scratch) / "report.json"
        launched = launch(
            pytest_arguments(exercise, complete=complete, verbose=on_output is not None),
            cwd=exercise.root,
            env={REPORT_ENV: str(report), TIME_LIMIT_ENV: repr(limit)},
            limit=limit,
            full_output=on_output is not None,
            scratch=Path(scratch),
            group=group,
        )
        if on_output is not None:
            on_output(launched.output)
        duration = time.monotonic() - started
        try:
            document = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            broken = _unfinished_problem(exercise, report, launched, limit)
            return ExerciseRun(
                exercise.slug, "pending", problem=broken, duration=duration, fingerprint=stamp
            )
    return _interpret(exercise, document, duration, stamp)


def _relative(course_root: Path, filename: str) -> str:
    path = Path(filename)
    try:
        return path.resolve().relative_to(course_root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def syntax_problem(exercise: Exercise) -> Problem | None:
    """A file the learner edits that Python cannot compile, with its line; else ``None``."""
    for name in exercise.files:
        path = exercise.folder / name
        if not path.is_file():
            return Problem("missing", f"exercises/{exercise.slug}/{name} is missing")
        try:
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        except SyntaxError as error:
            return Problem(
                "syntax",
                f"{type(error).__name__}: {error.msg}",
                Location(_relative(exercise.root, str(path)), error.lineno or 1),
                source=(error.text or "").rstrip("\n") or None,
                offset=error.offset,
            )
        except ValueError as error:  # e.g. a NUL byte pasted into the file
            return Problem("syntax", f"ValueError: {error}", Location(name, 1))
    return None


class _Frames:
    """Picks, from a failure's stack, the frame a learner should look at."""

    def __init__(self, exercise: Exercise) -> None:
        self.root = exercise.root
        self.learner = {(exercise.folder / name).resolve() for name in exercise.files}
        self.tests = {path.resolve() for path in exercise.folder.glob("test_*.py")}

    def pick(self, frames: Sequence[Sequence[Any]]) -> tuple[Location | None, bool]:
        """The deepest frame in a learner file, else in a test file; and whether it is learner's."""
        for wanted, is_learner in ((self.learner, True), (self.tests, False)):
            for filename, line, function in reversed(frames):
                if Path(filename).resolve() in wanted:
                    where = Location(_relative(self.root, filename), int(line), str(function))
                    return where, is_learner
        return None, False


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# One frame of a faulthandler dump: `  File "/path/policy.py", line 12 in add_active_rule`.
_DUMPED_FRAME = re.compile(r'^\s*File "(?P<file>.+)", line (?P<line>\d+) in (?P<function>.+)$')


def _unfinished_problem(
    exercise: Exercise, report: Path, launched: Launched, limit: float
) -> Problem:
    """Why pytest left no report: it ran out of time (and where it was), or it broke."""
    dump = _read_text(report.with_name(report.name + ".hang"))
    if not (dump or launched.killed):
        message = "pytest could not run these tests; `doctor` may say why.\n" + _tail(
            launched.output
        )
        return Problem("runner", message)
    running = _last_started(report.with_name(report.name + ".progress"))
    test = running["id"].split("::", 1)[-1] if running else "the test run"
    lines = [f"{test} did not finish within {limit:g} s: an infinite loop?"]
    if running is not None:
        lines.append(f"It was running {running['file']}, line {running['line']}.")
    # faulthandler lists the most recent call first; the frame picker wants oldest first.
    frames = [
        (match["file"], int(match["line"]), match["function"])
        for match in map(_DUMPED_FRAME.match, reversed(dump.splitlines()))
        if match is not None
    ]
    lines.append("It was stopped. If your code is only slow, give it longer: --timeout SECONDS")
    where, in_learner_file = _Frames(exercise).pick(frames)
    if where is None or not in_learner_file:
        return Problem("timeout", "\n".join(lines))
    source = source_line(exercise.root / where.file, where.line) or None
    return Problem("timeout", "\n".join(lines), where, source=source)


def source_line(path: Path, number: int) -> str:
    """Line ``number`` of ``path``, stripped; empty if the file changed or cannot be read."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    return lines[number - 1].strip() if 0 < number <= len(lines) else ""


def _last_started(progress: Path) -> dict[str, Any] | None:
    """The last test the plugin noted as starting (a line cut short by the kill is skipped)."""
    for line in reversed(_read_text(progress).splitlines()):
        try:
            started: dict[str, Any] = json.loads(line)
        except ValueError:
            continue
        return started
    return None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _learner_problem(frames: _Frames, failure: dict[str, Any]) -> Problem | None:
    """A failure that comes from a learner file not compiling or not importing, else None."""
    syntax = failure.get("syntax")
    if syntax and Path(syntax["file"]).resolve() in frames.learner:
        return Problem(
            "syntax",
            failure["message"],
            Location(_relative(frames.root, syntax["file"]), syntax["line"] or 1),
            source=(syntax["text"] or "").rstrip("\n") or None,
            offset=syntax["offset"],
        )
    where, in_learner_file = frames.pick(failure["frames"])
    if in_learner_file and where is not None and where.function == "<module>":
        # The learner's module fails while being imported: every test fails the same way.
        return Problem("import", failure["message"], where)
    return None


def _interpret(
    exercise: Exercise, document: dict[str, Any], duration: float, stamp: str
) -> ExerciseRun:
    frames = _Frames(exercise)
    for error in document["collection_errors"]:
        broken = _learner_problem(frames, error) or Problem(
            "collection", error["message"], frames.pick(error["frames"])[0]
        )
        return ExerciseRun(
            exercise.slug, "pending", problem=broken, duration=duration, fingerprint=stamp
        )
    tests: list[TestResult] = []
    problem: Problem | None = None
    for entry in document["tests"]:
        failure = entry.get("failure")
        if failure and problem is None:
            problem = _learner_problem(frames, failure)
        tests.append(
            TestResult(
                id=entry["id"],
                file=entry["file"],
                line=int(entry["line"]),
                status=entry["status"],
                duration=float(entry["duration"]),
                message=entry.get("message"),
                steps=entry.get("steps"),
                where=frames.pick(failure["frames"])[0] if failure else None,
            )
        )
    collected = int(document.get("collected", len(tests)))
    passed = any(test.status == "passed" for test in tests)
    failed = any(test.status in ("failed", "error") for test in tests)
    if problem is None and not passed and not failed:
        # Nothing failed, yet nothing passed: no test ran, so nothing is proven either way.
        problem = Problem(
            "runner", f"no test of {exercise.slug} ran ({collected} collected, none passed)"
        )
    return ExerciseRun(
        exercise.slug,
        "done" if problem is None and passed and not failed else "pending",
        tuple(tests),
        problem,
        duration,
        fingerprint=stamp,
        complete=len(tests) == collected,
        collected=collected,
    )
