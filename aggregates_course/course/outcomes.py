"""What one run of an exercise's tests found, and how it is kept in the state file.

An :class:`ExerciseRun` is the verdict on an exercise (``done``, ``pending``
or ``missing``) with every test's :class:`TestResult`, or the
:class:`Problem` that kept the tests from judging the learner's code at all.
Runs are cached in the state file as JSON (:meth:`ExerciseRun.to_json`);
reading one back (:meth:`ExerciseRun.from_json`) checks every field, because
a cached run decides what the CLI calls done.

Invariant: an exercise is ``done`` only if its tests ran, none failed or
errored, and at least one passed.
"""

from __future__ import annotations

import codecs
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast, get_args

from aggregates_course.course import shapes

Status = Literal["done", "pending", "missing"]
TestStatus = Literal["passed", "failed", "error", "skipped"]
ProblemKind = Literal["syntax", "import", "missing", "collection", "runner", "timeout", "crash"]


@dataclass(frozen=True)
class Location:
    """A place in a file, relative to the course root (POSIX separators), 1-based line."""

    file: str
    line: int
    function: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}"
        return f"{where}, in {self.function}" if self.function else where


@dataclass(frozen=True)
class TestResult:
    """One test's outcome; ``message`` and ``steps`` are set only when it did not pass.

    ``steps`` is Hypothesis' falsifying example, the shortest program of
    commands that breaks the invariant. ``where`` points at the line that
    raised: in the learner's file if the error came from there.
    """

    id: str
    file: str
    line: int
    status: TestStatus
    duration: float
    message: str | None = None
    steps: str | None = None
    where: Location | None = None

    @property
    def name(self) -> str:
        """The test's name without its file: ``test_x[case]`` or ``TestClass::runTest``."""
        return self.id.split("::", 1)[-1]

    @property
    def shown_name(self) -> str:
        """:attr:`name` as a learner reads it (see :func:`readable_test_id`)."""
        return readable_test_id(self.name)


def readable_test_id(test_id: str) -> str:
    """A pytest test id with pytest's escapes undone: ``test_x[错误率]``, not ``[\\u9519...]``.

    pytest writes a parameter's non-ASCII characters as escapes. They are
    decoded for display only where that gives printable text; anything else
    is shown as pytest wrote it.
    """
    if "\\" not in test_id or not test_id.isascii():
        return test_id
    try:
        decoded = codecs.decode(test_id, "unicode_escape")
    except UnicodeError:
        return test_id
    return decoded if decoded.isprintable() else test_id


@dataclass(frozen=True)
class Problem:
    """Why the tests could not judge the learner's code at all.

    ``kind`` is ``syntax`` (a file does not compile), ``import`` (a file fails
    while Python imports it), ``missing`` (a file to edit is gone),
    ``collection`` (a test file cannot be loaded), ``runner`` (pytest
    itself did not run; ``doctor`` helps there), ``timeout`` (the tests
    did not finish within the time limit; ``where`` is the line they were
    stuck on) or ``crash`` (the learner's code ended the test process, with
    ``os._exit`` or a crash; ``where`` is the call, when it is known).
    """

    kind: ProblemKind
    message: str
    where: Location | None = None
    source: str | None = None
    offset: int | None = None


@dataclass(frozen=True)
class ExerciseRun:
    """The outcome of one exercise's tests, fresh or from the cache."""

    slug: str
    status: Status
    tests: tuple[TestResult, ...] = ()
    problem: Problem | None = None
    duration: float = 0.0
    cached: bool = False
    fingerprint: str = ""
    #: False when pytest stopped at the first failure, so later tests did not run.
    complete: bool = True
    #: How many tests the exercise has (``len(tests)`` when complete).
    collected: int = 0

    @property
    def failures(self) -> list[TestResult]:
        """Tests that failed or errored, in test-file order."""
        return [test for test in self.tests if test.status in ("failed", "error")]

    @property
    def first_failure(self) -> TestResult | None:
        """The failing test a learner should fix first: the first in test-file order."""
        failures = self.failures
        return failures[0] if failures else None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_json` reads it back."""
        data = asdict(self)
        data["tests"] = [asdict(test) for test in self.tests]
        return data

    @classmethod
    def from_json(cls, data: object, *, cached: bool = False) -> ExerciseRun:
        """Rebuild a run saved by :meth:`to_json`; raises ValueError unless it can be trusted.

        Every field is checked, and so is the verdict: ``done`` only with at
        least one passing test, none failing, no problem and every test run;
        ``pending`` only with a problem or a failing test to show; ``missing``
        only with no tests at all. A cached run that says otherwise was not
        written by this CLI, and believing it would call an exercise done that
        never passed.
        """
        run = shapes.mapping(data, "a cached run")
        tests = tuple(
            _test_from_json(test, f"tests[{index}]")
            for index, test in enumerate(shapes.sequence(run.get("tests"), "tests"))
        )
        problem = run.get("problem")
        result = cls(
            slug=shapes.text(run.get("slug"), "slug"),
            status=cast(Status, shapes.choice(run.get("status"), "status", get_args(Status))),
            tests=tests,
            problem=None if problem is None else _problem_from_json(problem),
            duration=shapes.seconds(run.get("duration"), "duration"),
            cached=cached,
            fingerprint=shapes.text(run.get("fingerprint", ""), "fingerprint"),
            complete=shapes.flag(run.get("complete", True), "complete"),
            collected=shapes.integer(run.get("collected", len(tests)), "collected"),
        )
        _check_verdict(result)
        return result


def _check_verdict(run: ExerciseRun) -> None:
    """Refuse a run whose status does not follow from its tests (see ExerciseRun.from_json)."""
    passed = any(test.status == "passed" for test in run.tests)
    if run.status == "done" and (
        run.problem is not None or not passed or run.failures or not run.complete
    ):
        raise shapes.ShapeError(
            "a done run needs a passing test, no failing one, no problem, and every test run"
        )
    if run.status == "pending" and run.problem is None and not run.failures:
        raise shapes.ShapeError("a pending run needs a problem or a failing test")
    if run.status == "missing" and (run.tests or run.problem is not None):
        raise shapes.ShapeError("a missing exercise has no tests and no problem")


def _location(data: object, where: str) -> Location | None:
    if data is None:
        return None
    location = shapes.mapping(data, where)
    return Location(
        shapes.text(location.get("file"), f"{where}.file"),
        shapes.integer(location.get("line"), f"{where}.line"),
        shapes.optional_text(location.get("function"), f"{where}.function"),
    )


def _test_from_json(data: object, where: str) -> TestResult:
    test = shapes.mapping(data, where)
    return TestResult(
        id=shapes.text(test.get("id"), f"{where}.id"),
        file=shapes.text(test.get("file"), f"{where}.file"),
        line=shapes.integer(test.get("line"), f"{where}.line"),
        status=cast(
            TestStatus, shapes.choice(test.get("status"), f"{where}.status", get_args(TestStatus))
        ),
        duration=shapes.seconds(test.get("duration"), f"{where}.duration"),
        message=shapes.optional_text(test.get("message"), f"{where}.message"),
        steps=shapes.optional_text(test.get("steps"), f"{where}.steps"),
        where=_location(test.get("where"), f"{where}.where"),
    )


def _problem_from_json(data: object) -> Problem:
    problem = shapes.mapping(data, "problem")
    source = shapes.optional_text(problem.get("source"), "problem.source")
    offset = problem.get("offset")
    return Problem(
        kind=cast(
            ProblemKind, shapes.choice(problem.get("kind"), "problem.kind", get_args(ProblemKind))
        ),
        message=shapes.text(problem.get("message"), "problem.message"),
        where=_location(problem.get("where"), "problem.where"),
        source=source,
        # The caret under the source line is indented by the offset: keep it on that line.
        offset=None
        if offset is None
        else shapes.integer(offset, "problem.offset", high=len(source or "") + 1),
    )
