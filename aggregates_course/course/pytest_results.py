"""The course's pytest plugin: :class:`ResultsReporter` records each test's outcome.

One reporter is registered per pytest run. The CLI loads this module with
``-p aggregates_course.course.pytest_results``; its :func:`pytest_configure`
registers a reporter that writes its :meth:`~ResultsReporter.document` as
JSON to the file named in the ``AGGREGATES_COURSE_REPORT`` environment
variable. The course gate passes a reporter of its own to an in-process run
and reads the same document from it. Either way the document becomes an
:class:`~aggregates_course.course.outcomes.ExerciseRun` through
:func:`aggregates_course.course.reading.read_report`. It is the only module
of the package that imports pytest, and it only runs inside pytest. The
document::

    {"tests": [TEST, ...], "collected": int, "collection_errors": [FAILURE, ...]}

    TEST    = TestResult.to_json() (with "where": null) and "failure": FAILURE | null
    FAILURE = {"exception": str, "message": str, "steps": str | null,
               "frames": [[file, line, function], ...],
               "syntax": {"file": str, "line": int, "offset": int | null,
                          "text": str | null} | null}

Tests appear in collection order, which is test-file order; tests that did
not run (pytest stopped at the first failure) are left out, and
``collected`` says how many there were. ``steps`` is the
Hypothesis falsifying example (the notes Hypothesis attaches to the error),
so the CLI can show the minimal program that breaks an invariant.

The time limit: with ``AGGREGATES_COURSE_TIME_LIMIT`` set (seconds), a run
still going after that long dumps every thread's stack to ``<report>.hang``
and exits (:func:`faulthandler.dump_traceback_later`, which works even when
Python code never yields). ``<report>.progress`` gets one JSON line per test
as it starts, ``{"id", "file", "line"}``, so the CLI can name the test that
hung. ``AGGREGATES_COURSE_DONE_FD``, set by the warm runner, names a pipe the
plugin closes once the report is written: the runner need not wait for
pytest's own summary and shutdown.
"""

from __future__ import annotations

import faulthandler
import json
import os
import traceback
from pathlib import Path
from typing import IO, Any

import pytest

from aggregates_course.course.plugin_env import DONE_FD_ENV, REPORT_ENV, TIME_LIMIT_ENV
from aggregates_course.course.target import plain_names

# What pytest says when a test reads the keyboard while it captures the output.
_STDIN_CAPTURED = "reading from stdin while output is captured"


def describe_failure(error: BaseException) -> dict[str, Any]:
    """The parts of a failure a learner needs: type, message, Hypothesis steps, frames.

    Messages name the learner's modules by their files, never by the
    synthetic package the tests import them through (``target.plain_names``).
    An exception group (Hypothesis found several distinct failures) is
    described by its first member, which is the one a learner fixes first.
    """
    extra = 0
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        extra += len(error.exceptions) - 1
        error = error.exceptions[0]
    notes = [plain_names(str(note)) for note in getattr(error, "__notes__", ())]
    if isinstance(error, AssertionError):
        message = str(error) or "an assertion failed"
    elif isinstance(error, OSError) and _STDIN_CAPTURED in str(error):
        # pytest's own advice (run with -s) is not one a learner can take through the CLI.
        message = (
            "input() was called, but the tests do not type anything: give the code its "
            "values as arguments instead of asking for them"
        )
    else:
        message = f"{type(error).__name__}: {error}".rstrip(": ")
    message = plain_names(message)
    if extra:
        notes.append(f"(and {extra} other distinct failure(s) after this one is fixed)")
    frames = [
        [frame.filename, frame.lineno or 0, frame.name]
        for frame in traceback.extract_tb(error.__traceback__)
        # Frames inside installed packages (pytest, Hypothesis) mean nothing to a learner.
        if "site-packages" not in frame.filename and "dist-packages" not in frame.filename
    ]
    syntax = None
    if isinstance(error, SyntaxError):
        syntax = {
            "file": error.filename or "",
            "line": error.lineno or 0,
            "offset": error.offset,
            "text": error.text,
        }
    return {
        "exception": type(error).__name__,
        "message": message,
        "steps": "\n".join(notes) or None,
        "frames": frames,
        "syntax": syntax,
    }


class ResultsReporter:
    """Collects one run's outcomes; writes them to ``report`` at the end, if it is given.

    ``limit`` (seconds) arms the time limit and the progress file beside
    ``report``; ``done_fd`` is the warm runner's pipe, closed once the
    report is written.
    """

    def __init__(
        self, report: Path | None = None, *, limit: float | None = None, done_fd: int | None = None
    ) -> None:
        self.report = report
        self.done_fd = done_fd
        self._order: list[str] = []
        self._locations: dict[str, tuple[str, int]] = {}
        self._outcomes: dict[str, dict[str, Any]] = {}
        self._failures: dict[str, dict[str, Any]] = {}
        self._collection_errors: list[dict[str, Any]] = []
        # Kept open for the whole run: faulthandler writes the dump to the file's descriptor,
        # and the progress lines are appended as each test starts.
        self._open_files: dict[str, IO[str]] = {}
        if report is not None and limit is not None:
            hang = self._open_files["hang"] = open(str(report) + ".hang", "w", encoding="utf-8")  # noqa: SIM115
            self._open_files["progress"] = open(str(report) + ".progress", "w", encoding="utf-8")  # noqa: SIM115
            faulthandler.dump_traceback_later(limit, exit=True, file=hang)

    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        """Note the test that is starting, in case it never finishes."""
        progress = self._open_files.get("progress")
        if progress is not None:
            path, line, _ = location
            progress.write(json.dumps({"id": nodeid, "file": path, "line": (line or 0) + 1}) + "\n")
            progress.flush()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Remember the tests in file order, so "the first failure" means the first in the file."""
        for item in session.items:
            self._order.append(item.nodeid)
            path, line, _ = item.location
            self._locations[item.nodeid] = (path, (line or 0) + 1)

    def pytest_exception_interact(
        self, call: pytest.CallInfo[Any], report: pytest.CollectReport | pytest.TestReport
    ) -> None:
        """Keep each failure's exception in learner terms: message, steps, where it was raised."""
        if call.excinfo is None:
            return
        failure = describe_failure(call.excinfo.value)
        if isinstance(report, pytest.CollectReport):
            failure["id"] = report.nodeid
            self._collection_errors.append(failure)
        else:
            self._failures.setdefault(report.nodeid, failure)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Add up each test's outcome and duration over setup, call and teardown."""
        outcome = self._outcomes.setdefault(report.nodeid, {"status": "passed", "duration": 0.0})
        outcome["duration"] += report.duration
        if report.failed:
            # A failure in setup or teardown is an error of the test, not a failed invariant.
            outcome["status"] = "failed" if report.when == "call" else "error"
        elif report.skipped and outcome["status"] == "passed":
            outcome["status"] = "skipped"

    def document(self) -> dict[str, Any]:
        """What the run found so far, in the shape this module's docstring describes."""
        # Imported only now, when every test has run: see plugin_env on why the plugin
        # imports no other course module while they run.
        from aggregates_course.course.outcomes import TestResult

        tests = []
        for nodeid in self._order:
            outcome = self._outcomes.get(nodeid)
            if outcome is None:
                continue  # not run: pytest stopped early (-x) at an earlier failure
            failure = self._failures.get(nodeid)
            path, line = self._locations[nodeid]
            result = TestResult(
                id=nodeid,
                file=path,
                line=line,
                status=outcome["status"],
                duration=round(outcome["duration"], 6),
                message=failure["message"] if failure else None,
                steps=failure["steps"] if failure else None,
            )
            tests.append(result.to_json() | {"failure": failure})
        return {
            "tests": tests,
            "collected": len(self._order),
            "collection_errors": self._collection_errors,
        }

    def pytest_sessionfinish(self) -> None:
        """Write the document where the CLI asked for it, then tell the warm runner."""
        if self.report is None:
            return
        self.report.write_text(json.dumps(self.document()), encoding="utf-8")
        if self._open_files:
            faulthandler.cancel_dump_traceback_later()
        if self.done_fd is not None:
            os.close(self.done_fd)  # the warm runner's signal: the report is complete


def pytest_configure(config: pytest.Config) -> None:
    """Register this run's reporter, writing where ``AGGREGATES_COURSE_REPORT`` says."""
    report = os.environ.get(REPORT_ENV)
    if not report:
        return
    limit = os.environ.get(TIME_LIMIT_ENV)
    done = os.environ.pop(DONE_FD_ENV, None)
    reporter = ResultsReporter(
        Path(report),
        limit=float(limit) if limit else None,
        done_fd=int(done) if done else None,
    )
    config.pluginmanager.register(reporter, "aggregates-course-results")
