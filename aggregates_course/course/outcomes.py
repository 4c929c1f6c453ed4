"""The outcome model: what one run of an exercise's tests found, and its one JSON form.

An :class:`ExerciseRun` holds every test's :class:`TestResult`, or the
:class:`Problem` that kept the tests from judging the learner's code at all;
its verdict (``done``, ``pending`` or ``missing``) and whether every test
ran are derived from those, never stored apart from them. Each type writes
itself as JSON (``to_json``) and reads itself back with every field checked
(``from_json``): the state file's cache, ``results --json`` and the course
gate all use these. The kinds of problem, with the words ``check`` and
``status`` use for each, are defined here once (:data:`PROBLEM_WORDS`).

Invariant: an exercise is ``done`` only if its tests ran, none failed or
errored, and at least one passed.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal, cast, get_args

from aggregates_course.course import shapes

Status = Literal["done", "pending", "missing"]
TestStatus = Literal["passed", "failed", "error", "skipped"]
ProblemKind = Literal["syntax", "import", "missing", "collection", "runner", "timeout", "crash"]


@dataclass(frozen=True)
class ProblemWords:
    """How ``check`` heads a problem (``title``) and how ``status`` notes it in a few words.

    ``in_file`` is the note when the problem has a file (``{file}`` is its name).
    """

    title: str
    note: str
    in_file: str | None = None


#: Every kind of problem, and its words: the one list (``ProblemKind`` is its type).
PROBLEM_WORDS: dict[ProblemKind, ProblemWords] = {
    "syntax": ProblemWords(
        "Python cannot read this file", "a syntax error", "a syntax error in {file}"
    ),
    "import": ProblemWords(
        "this file fails while Python imports it",
        "a file fails when imported",
        "{file} fails when imported",
    ),
    "missing": ProblemWords("a file to edit is not there", "a file to edit is not there"),
    "collection": ProblemWords("a test file cannot be loaded", "a test file cannot be loaded"),
    "runner": ProblemWords("the tests could not run", "pytest could not run the tests"),
    "timeout": ProblemWords("the tests did not finish in time", "timed out: an infinite loop?"),
    "crash": ProblemWords(
        "your code ended the test process",
        "the test process was ended",
        "{file} ends the test process",
    ),
}
assert set(PROBLEM_WORDS) == set(get_args(ProblemKind)), "every kind has its words"


@dataclass(frozen=True)
class Location:
    """A place in a file, relative to the course root (POSIX separators), 1-based line."""

    file: str
    line: int
    function: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}"
        return f"{where}, in {self.function}" if self.function else where

    def to_json(self) -> dict[str, Any]:
        """``{"file", "line", "function"}``; :meth:`from_json` reads it back."""
        return {"file": self.file, "line": self.line, "function": self.function}

    @classmethod
    def from_json(cls, data: object, where: str) -> Location | None:
        """The location ``data`` holds (``None`` for null); ShapeError names ``where``."""
        if data is None:
            return None
        location = shapes.mapping(data, where)
        return cls(
            shapes.text(location.get("file"), f"{where}.file"),
            shapes.integer(location.get("line"), f"{where}.line"),
            shapes.optional_text(location.get("function"), f"{where}.function"),
        )


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

    def to_json(self) -> dict[str, Any]:
        """Every field, ``where`` as :meth:`Location.to_json`; :meth:`from_json` reads it back."""
        return {
            "id": self.id,
            "file": self.file,
            "line": self.line,
            "status": self.status,
            "message": self.message,
            "steps": self.steps,
            "duration": self.duration,
            "where": None if self.where is None else self.where.to_json(),
        }

    @classmethod
    def from_json(cls, data: object, where: str = "test") -> TestResult:
        """The test result ``data`` holds; raises ShapeError (naming ``where``) unless sound."""
        test = shapes.mapping(data, where)
        return cls(
            id=shapes.text(test.get("id"), f"{where}.id"),
            file=shapes.text(test.get("file"), f"{where}.file"),
            line=shapes.integer(test.get("line"), f"{where}.line"),
            status=cast(
                TestStatus,
                shapes.choice(test.get("status"), f"{where}.status", get_args(TestStatus)),
            ),
            duration=shapes.seconds(test.get("duration"), f"{where}.duration"),
            message=shapes.optional_text(test.get("message"), f"{where}.message"),
            steps=shapes.optional_text(test.get("steps"), f"{where}.steps"),
            where=Location.from_json(test.get("where"), f"{where}.where"),
        )


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

    def to_json(self) -> dict[str, Any]:
        """Every field, ``where`` as :meth:`Location.to_json`; :meth:`from_json` reads it back."""
        return {
            "kind": self.kind,
            "message": self.message,
            "where": None if self.where is None else self.where.to_json(),
            "source": self.source,
            "offset": self.offset,
        }

    @classmethod
    def from_json(cls, data: object) -> Problem:
        """The problem ``data`` holds; raises ShapeError unless every field is sound."""
        problem = shapes.mapping(data, "problem")
        source = shapes.optional_text(problem.get("source"), "problem.source")
        offset = problem.get("offset")
        kinds = get_args(ProblemKind)
        return cls(
            kind=cast(ProblemKind, shapes.choice(problem.get("kind"), "problem.kind", kinds)),
            message=shapes.text(problem.get("message"), "problem.message"),
            where=Location.from_json(problem.get("where"), "problem.where"),
            source=source,
            # The caret under the source line is indented by the offset: keep it on that line.
            offset=None
            if offset is None
            else shapes.integer(offset, "problem.offset", high=len(source or "") + 1),
        )

    @property
    def title(self) -> str:
        """The headline ``check`` shows above the problem."""
        return PROBLEM_WORDS[self.kind].title

    @property
    def note(self) -> str:
        """What kept the tests from judging the code, in a few words for a status line."""
        words = PROBLEM_WORDS[self.kind]
        if self.where is None or words.in_file is None:
            return words.note
        return words.in_file.format(file=PurePosixPath(self.where.file).name)


@dataclass(frozen=True)
class ExerciseRun:
    """The outcome of one exercise's tests, fresh or from the cache.

    ``collected`` is how many tests the exercise has; fewer in ``tests``
    means pytest stopped at the first failure. A run with neither tests nor
    a problem is a ``missing`` exercise's.
    """

    slug: str
    tests: tuple[TestResult, ...] = ()
    problem: Problem | None = None
    duration: float = 0.0
    cached: bool = False
    fingerprint: str = ""
    collected: int = 0

    @property
    def complete(self) -> bool:
        """Whether every collected test ran (False when pytest stopped at a failure)."""
        return len(self.tests) >= self.collected

    @property
    def status(self) -> Status:
        """``done`` when every test ran, one passed and none failed; ``missing`` when none ran."""
        if self.problem is None and not self.failures:
            if not self.tests:
                return "missing"
            if self.complete and any(test.status == "passed" for test in self.tests):
                return "done"
        return "pending"

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
        """A JSON-ready dict, with the derived verdict; :meth:`from_json` reads it back."""
        return {
            "slug": self.slug,
            "status": self.status,
            "tests": [test.to_json() for test in self.tests],
            "problem": None if self.problem is None else self.problem.to_json(),
            "duration": self.duration,
            "cached": self.cached,
            "fingerprint": self.fingerprint,
            "complete": self.complete,
            "collected": self.collected,
        }

    @classmethod
    def from_json(cls, data: object, *, cached: bool = False) -> ExerciseRun:
        """Rebuild a run saved by :meth:`to_json`; raises ValueError unless it can be trusted.

        Every field is checked, and so is the verdict written with it: it must
        be the one the tests give (``done`` only with a passing test, none
        failing, no problem and every test run), and a ``pending`` run must
        have a problem or a failing test to show. A cached run that says
        otherwise was not written by this CLI, and believing it would call an
        exercise done that never passed.
        """
        run = shapes.mapping(data, "a cached run")
        tests = tuple(
            TestResult.from_json(test, f"tests[{index}]")
            for index, test in enumerate(shapes.sequence(run.get("tests"), "tests"))
        )
        problem = run.get("problem")
        result = cls(
            slug=shapes.text(run.get("slug"), "slug"),
            tests=tests,
            problem=None if problem is None else Problem.from_json(problem),
            duration=shapes.seconds(run.get("duration"), "duration"),
            cached=cached,
            fingerprint=shapes.text(run.get("fingerprint", ""), "fingerprint"),
            collected=shapes.integer(run.get("collected", len(tests)), "collected"),
        )
        status = shapes.choice(run.get("status"), "status", get_args(Status))
        complete = shapes.flag(run.get("complete", True), "complete")
        if (status, complete) != (result.status, result.complete):
            raise shapes.ShapeError(
                f"the run says {status} (complete: {complete}), but its tests say "
                f"{result.status} (complete: {result.complete})"
            )
        if status == "pending" and result.problem is None and not result.failures:
            raise shapes.ShapeError("a pending run needs a problem or a failing test")
        return result
