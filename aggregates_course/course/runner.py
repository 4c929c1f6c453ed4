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

import ast
import hashlib
import importlib.metadata
import io
import json
import re
import tempfile
import time
import tokenize
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aggregates_course.course.catalog import Exercise, is_available
from aggregates_course.course.files import trouble, what_stands_there
from aggregates_course.course.launch import (
    DEFAULT_TIME_LIMIT,
    REPORT_ENV,
    TIME_LIMIT_ENV,
    Launched,
    Launcher,
    LaunchRequest,
    RunGroup,
    launch_cold,
    pytest_arguments,
)
from aggregates_course.course.outcomes import (
    ExerciseRun,
    Location,
    Problem,
    TestResult,
    readable_test_id,
)
from aggregates_course.course.pristine import exercise_files

# Part of every fingerprint: changing it makes every cached result a cache miss.
CACHE_VERSION = "1"


def fingerprint(exercise: Exercise) -> str:
    """A hash of every file in the exercise folder: equal fingerprints, equal test results.

    Never raises for a file that vanishes or cannot be read while it is hashed:
    ``watch`` hashes folders that an editor is saving into.
    """
    hasher = hashlib.sha256(f"aggregates-course results {CACHE_VERSION}\n".encode())
    hasher.update(_shared_machinery(exercise.root))
    for name, path in exercise_files(exercise.folder).items():
        hasher.update(name.encode("utf-8") + b"\0")
        try:
            hasher.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError as error:
            # Gone since the folder was listed (an editor replacing it), or unreadable: that
            # state has a fingerprint of its own, and the next save gives another.
            hasher.update(f"unreadable: {type(error).__name__}".encode())
    return hasher.hexdigest()


# Besides the exercise's folder, these decide a verdict: the course's root conftest
# (Hypothesis profiles, --target), the shared test helpers, and the results plugin.
_SHARED_FILES = (
    Path("conftest.py"),
    Path(__file__).resolve().parent.parent / "testing.py",
    Path(__file__).resolve().parent / "pytest_results.py",
)
_SHARED_TOOLS = ("pytest", "hypothesis")


def _shared_machinery(root: Path) -> bytes:
    """A digest of what decides an exercise's results outside its folder.

    A course update (a new helper in aggregates_course.testing, a changed
    profile) or an upgrade of pytest or Hypothesis must not leave an old
    verdict cached as if it still held.
    """
    hasher = hashlib.sha256()
    for file in _SHARED_FILES:
        path = file if file.is_absolute() else root / file
        try:
            hasher.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError as error:
            hasher.update(f"unreadable: {type(error).__name__}".encode())
    for tool in _SHARED_TOOLS:
        try:
            hasher.update(f"{tool} {importlib.metadata.version(tool)}\n".encode())
        except importlib.metadata.PackageNotFoundError:
            hasher.update(f"{tool} missing\n".encode())
    return hasher.digest()


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
            LaunchRequest(
                pytest_arguments(exercise, complete=complete, verbose=on_output is not None),
                cwd=exercise.root,
                env={REPORT_ENV: str(report), TIME_LIMIT_ENV: repr(limit)},
                limit=limit,
                full_output=on_output is not None,
                scratch=Path(scratch),
                group=group,
            )
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
        location = Location(_relative(exercise.root, str(path)), 1)
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


class _Frames:
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
    """Why pytest left no report: it ran out of time, the learner's code ended it, or it broke."""
    dump = _read_text(report.with_name(report.name + ".hang"))
    progress = report.with_name(report.name + ".progress")
    running = _last_started(progress)
    test = readable_test_id(running["id"].split("::", 1)[-1]) if running else None
    if not (dump or launched.killed):
        if progress.exists():
            # The plugin was loaded, so pytest was running: something ended it mid-run.
            return _ended_problem(exercise, launched, test)
        message = "pytest could not run these tests; `doctor` may say why.\n" + _tail(
            launched.output
        )
        return Problem("runner", message)
    lines = [f"{test or 'the test run'} did not finish within {limit:g} s: an infinite loop?"]
    if running is not None:
        lines.append(f"It was running {running['file']}, line {running['line']}.")
    lines.append("It was stopped. If your code is only slow, give it longer: --timeout SECONDS")
    where, in_learner_file = _Frames(exercise).pick(_dumped_frames(dump))
    if where is None or not in_learner_file:
        return Problem("timeout", "\n".join(lines))
    source = source_line(exercise.root / where.file, where.line) or None
    return Problem("timeout", "\n".join(lines), where, source=source)


def _dumped_frames(dump: str) -> list[tuple[str, int, str]]:
    """The frames of a faulthandler dump, oldest first (the dump lists the newest first)."""
    return [
        (match["file"], int(match["line"]), match["function"])
        for match in map(_DUMPED_FRAME.match, reversed(dump.splitlines()))
        if match is not None
    ]


# What ends Python at once, before any test can report: the calls a learner's file may make.
_PROCESS_ENDERS = frozenset({"_exit", "abort", "kill", "killpg", "raise_signal"})


def _ended_problem(exercise: Exercise, launched: Launched, test: str | None) -> Problem:
    """pytest was ended mid-run, with no report: name the learner's call that did it, if any.

    A crash (a segmentation fault) leaves pytest's faulthandler dump in its
    output, with the frame it happened in; ``os._exit`` and its kin leave
    nothing, so the learner's files are searched for such a call.
    """
    during = f"while {test} ran" if test else "while the tests were being loaded"
    lines = [
        f"The test process ended {during}, before any result was written.",
        "Something ended Python at once (os._exit, os.abort, a signal, or a crash), "
        "and tests cannot report on code that does that.",
    ]
    frames = _Frames(exercise)
    where, in_learner_file = frames.pick(_dumped_frames(launched.output))
    if where is None or not in_learner_file:
        where = _process_ender(exercise)
    if where is None:
        lines.append(f"Look in {', '.join(exercise.files)} for what ends the program.")
        return Problem("crash", "\n".join(lines))
    lines.append("Remove that call: the tests judge your code by what it returns and raises.")
    source = source_line(exercise.root / where.file, where.line) or None
    return Problem("crash", "\n".join(lines), where, source=source)


def _process_ender(exercise: Exercise) -> Location | None:
    """The first call in a learner file to a function that ends the process (``os._exit``)."""
    for name in exercise.files:
        path = exercise.folder / name
        try:
            tree = ast.parse(path.read_bytes(), str(path))
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                called = node.func
                named = called.attr if isinstance(called, ast.Attribute) else None
                named = called.id if isinstance(called, ast.Name) else named
                if named in _PROCESS_ENDERS:
                    return Location(_relative(exercise.root, str(path)), node.lineno)
    return None


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
    if in_learner_file and where is not None and frames.importing(failure["frames"]):
        # The learner's module fails while being imported (at its top level, or in a function
        # its top level calls, as a runaway recursion): every test fails the same way.
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
