"""Run an exercise's tests once: start pytest, and explain a run that left no report.

:func:`run_exercise` first compiles the learner's files, so that a syntax
error is reported as a file and a line, never as ten identical test
failures. It then starts pytest through a
:class:`~aggregates_course.course.launch.Launcher` and has the plugin's
report read (:func:`~aggregates_course.course.reading.read_report`). A run
that left no report is this module's to explain: it ran out of time (a
``timeout`` problem naming the test it was in and the line it was stuck on),
the learner's code ended it (a ``crash``), or it never got going (a
``runner`` problem). Every run is stamped with the fingerprint
(:meth:`Exercise.fingerprint`) of the files it judged; the cache
(:class:`aggregates_course.course.checkout.Course`) files it under that.
"""

from __future__ import annotations

import ast
import json
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aggregates_course.course.catalog import Exercise
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
from aggregates_course.course.outcomes import ExerciseRun, Location, Problem, readable_test_id
from aggregates_course.course.reading import (
    Frames,
    read_report,
    relative,
    source_line,
    syntax_problem,
)


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
    stamp = exercise.fingerprint()
    if not exercise.available:
        return ExerciseRun(exercise.slug, fingerprint=stamp)
    problem = syntax_problem(exercise)
    if problem is not None:
        return ExerciseRun(exercise.slug, problem=problem, fingerprint=stamp)
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
            return ExerciseRun(exercise.slug, problem=broken, duration=duration, fingerprint=stamp)
    try:
        return read_report(exercise, document, duration=duration, fingerprint=stamp)
    except (KeyError, TypeError, ValueError) as error:  # a report this CLI's plugin never writes
        broken = Problem("runner", f"pytest's report could not be read: {error}")
        return ExerciseRun(exercise.slug, problem=broken, duration=duration, fingerprint=stamp)


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
    where, in_learner_file = Frames(exercise).pick(_dumped_frames(dump))
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
    frames = Frames(exercise)
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
                    return Location(relative(exercise.root, str(path)), node.lineno)
    return None


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
