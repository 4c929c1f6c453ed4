"""Run an exercise's tests and turn pytest's outcome into what a learner needs to see.

The runner starts pytest on ``exercises/<slug>`` with the
:mod:`aggregates_course.course.pytest_results` plugin, reads the JSON it
writes, and returns an :class:`ExerciseRun`. How pytest is started is a
:class:`Launcher`: a cold ``python -m pytest`` subprocess (:func:`launch_cold`,
every platform) or a fork of a warm process that has pytest and Hypothesis
imported already (:mod:`aggregates_course.course.warm`, what ``watch`` uses
where the platform can fork). Before that it compiles the learner's files, so
a syntax error is reported as a file and a line, never as ten identical test
failures. Results are cached in the state file under a fingerprint of the
exercise folder's files: an unchanged folder is never run twice.

Every run has a time limit (:data:`DEFAULT_TIME_LIMIT` unless the learner
asks for another): a learner's infinite loop ends as a ``timeout`` problem
naming the test it was in and the line it was stuck on, never as a check
that spins forever.

Invariant: an exercise is ``done`` only if its tests ran, none failed or
errored, and at least one passed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, cast, get_args

from aggregates_course.course import shapes
from aggregates_course.course.catalog import Exercise, load_catalog
from aggregates_course.course.pristine import exercise_files
from aggregates_course.course.state import CourseState, StateError, StateStore

CACHE_VERSION = "1"
PLUGIN = "aggregates_course.course.pytest_results"
# The plugin reads the same names: where to write the report, and the run's time limit.
REPORT_ENV = "AGGREGATES_COURSE_REPORT"
TIME_LIMIT_ENV = "AGGREGATES_COURSE_TIME_LIMIT"
DEFAULT_TIME_LIMIT = 30.0
# The plugin stops a run at its limit itself, with a stack dump; the launcher kills a
# pytest that is still alive this long after the limit (stuck before the plugin loaded).
KILL_GRACE_SECONDS = 5.0
CACHED_VERSIONS = 8
T = TypeVar("T")

Status = Literal["done", "pending", "missing"]
TestStatus = Literal["passed", "failed", "error", "skipped"]
ProblemKind = Literal["syntax", "import", "missing", "collection", "runner", "timeout"]


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


@dataclass(frozen=True)
class Problem:
    """Why the tests could not judge the learner's code at all.

    ``kind`` is ``syntax`` (a file does not compile), ``import`` (a file fails
    while Python imports it), ``missing`` (a file to edit is gone),
    ``collection`` (a test file cannot be loaded), ``runner`` (pytest
    itself did not run; ``doctor`` helps there) or ``timeout`` (the tests
    did not finish within the time limit; ``where`` is the line they were
    stuck on).
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


def _record(run: ExerciseRun, state: CourseState) -> None:
    """Cache ``run`` as the newest result for its files; note a first completion."""
    entries = state.results.setdefault(run.slug, {})
    entries.pop(run.fingerprint, None)
    entries[run.fingerprint] = run.to_json()
    # Several versions per exercise stay cached, so undoing an edit or a reset is instant.
    while len(entries) > CACHED_VERSIONS:
        del entries[next(iter(entries))]
    if run.status == "done":
        state.completed.setdefault(run.slug, datetime.now(UTC).isoformat())


def _unchanged(state: CourseState) -> None:
    """No change of its own: a save that only writes the unsaved steps."""


def fingerprint(exercise: Exercise) -> str:
    """A hash of every file in the exercise folder: equal fingerprints, equal test results."""
    hasher = hashlib.sha256(f"aggregates-course results {CACHE_VERSION}\n".encode())
    for name, path in exercise_files(exercise.folder).items():
        hasher.update(name.encode("utf-8") + b"\0")
        hasher.update(hashlib.sha256(path.read_bytes()).digest())
    return hasher.hexdigest()


def is_available(exercise: Exercise) -> bool:
    """Whether the exercise folder exists and holds at least one test file."""
    return exercise.folder.is_dir() and any(exercise.folder.glob("test_*.py"))


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


@dataclass(frozen=True)
class Launched:
    """What one pytest process left behind: its output, and whether the launcher killed it."""

    output: str
    killed: bool = False


class Launcher(Protocol):
    """Starts pytest with ``arguments`` in ``cwd`` and waits for its report.

    ``env`` holds the variables the plugin reads (added to the process'
    own). A pytest still running ``limit`` + :data:`KILL_GRACE_SECONDS`
    seconds after it started is killed. With ``full_output`` the launcher
    waits for pytest to exit, so that ``Launched.output`` is complete;
    without it, it may return as soon as the plugin has written the report.
    ``scratch`` is a folder the launcher may write into; it is removed after.
    """

    def __call__(
        self,
        arguments: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        limit: float,
        full_output: bool,
        scratch: Path,
    ) -> Launched: ...


def _text(captured: str | bytes | None) -> str:
    if isinstance(captured, bytes):
        return captured.decode("utf-8", errors="replace")
    return captured or ""


def launch_cold(
    arguments: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    limit: float,
    full_output: bool,
    scratch: Path,
) -> Launched:
    """Run ``python -m pytest`` in a new interpreter: slower to start, works everywhere.

    Its output is always complete (``full_output`` changes nothing), and it
    needs no ``scratch`` folder.
    """
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "pytest", *arguments],
            cwd=cwd,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,  # a learner's input() must not wait on the terminal
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=limit + KILL_GRACE_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        return Launched(_text(expired.stdout) + _text(expired.stderr), killed=True)
    return Launched(finished.stdout + finished.stderr)


def pytest_arguments(exercise: Exercise, *, complete: bool, verbose: bool) -> list[str]:
    """pytest's command line for one exercise: our plugin, no cache, first failure only."""
    return [
        str(exercise.folder),
        f"--rootdir={exercise.root}",
        "-p",
        PLUGIN,
        "-p",
        "no:cacheprovider",
        "-v" if verbose else "-q",
        "--color=no",
        *([] if complete else ["-x"]),
    ]


def run_exercise(
    exercise: Exercise,
    *,
    complete: bool = False,
    limit: float = DEFAULT_TIME_LIMIT,
    launch: Launcher = launch_cold,
    on_output: Callable[[str], None] | None = None,
) -> ExerciseRun:
    """Run the exercise's tests now (no cache) and describe the outcome.

    Unless ``complete`` is asked for, pytest stops at the first failure: the
    learner fixes one test at a time, and a stub then fails in a fraction of
    the time a full run takes. A run still going after ``limit`` seconds is
    stopped and reported as a ``timeout`` problem. ``on_output``, if given,
    receives pytest's own verbose output.
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


def catalog_root(catalog: Sequence[Exercise], root: Path | None) -> Path:
    """The course folder ``catalog`` was read from (``root``, or the one found from here)."""
    return catalog[0].root if catalog else (root or Path.cwd()).resolve()


@dataclass
class Course:
    """A learner's course checkout: its catalog, its state, and cached test results.

    ``state`` is this process's view. Change it only through :meth:`remember`
    and :meth:`update`: every change is kept as a step and replayed on the file
    as it is on disk when it is saved, under the state lock, so another CLI
    process's changes made meanwhile (a ``hint`` while ``watch`` runs) are kept.
    ``time_limit`` and ``launch`` say how its tests are run: how long a run
    may take, and how pytest is started (cold, or forked from a warm process).
    """

    root: Path
    catalog: tuple[Exercise, ...]
    store: StateStore
    state: CourseState = field(default_factory=CourseState)
    #: Changes made here since the last save, in order; replayed onto the file when saving.
    unsaved: list[Callable[[CourseState], object]] = field(
        default_factory=list, repr=False, compare=False
    )
    time_limit: float = DEFAULT_TIME_LIMIT
    launch: Launcher = launch_cold

    @classmethod
    def open(cls, root: Path | None = None, *, warn: Callable[[str], None] | None = None) -> Course:
        """Load the catalog and the state.

        A damaged state file is moved aside and rebuilt, with one line to
        ``warn`` (default: stderr); a state file that cannot be read raises
        :class:`~aggregates_course.course.state.StateError`.
        """
        catalog = load_catalog(root)
        course_root = catalog_root(catalog, root)
        store = StateStore(course_root, warn)
        return cls(course_root, catalog, store, store.load())

    def cached(self, exercise: Exercise, *, complete: bool = False) -> ExerciseRun | None:
        """The stored result for the exercise's current files, if there is one.

        With ``complete``, a run that stopped at its first failure does not count;
        nor does a run that timed out under a shorter limit than today's.
        """
        entries = self.state.results.get(exercise.slug)
        if not entries or not is_available(exercise):
            return None
        stamp = fingerprint(exercise)
        stored = entries.get(stamp)
        if stored is None:
            return None
        try:
            run = ExerciseRun.from_json(stored, cached=True)
        except ValueError:
            return None  # an untrustworthy cache entry is just a cache miss
        if (run.slug, run.fingerprint) != (exercise.slug, stamp) or run.status == "missing":
            return None  # filed under the wrong exercise or files: not this exercise's result
        if run.problem is not None and run.problem.kind == "timeout":
            # A run stopped at its limit ran about that long: given longer now, try again.
            return run if run.duration >= self.time_limit else None
        return run if run.complete or not complete else None

    def run(
        self,
        exercise: Exercise,
        *,
        complete: bool = False,
        on_output: Callable[[str], None] | None = None,
    ) -> ExerciseRun:
        """The exercise's result, from the cache when its files are unchanged.

        ``on_output`` asks for pytest's own verbose output, which only a fresh
        run has, so the cache is bypassed (the fresh result is still cached).
        """
        if on_output is None:
            return self.run_many([exercise], complete=complete)[0]
        run = run_exercise(
            exercise,
            complete=complete,
            limit=self.time_limit,
            launch=self.launch,
            on_output=on_output,
        )
        self._remember_if_unchanged(exercise, run)
        self.save()
        return run

    def run_many(
        self,
        exercises: Sequence[Exercise],
        *,
        complete: bool = False,
        on_start: Callable[[list[Exercise]], None] | None = None,
    ) -> list[ExerciseRun]:
        """Results for several exercises, running the uncached ones in parallel subprocesses.

        ``complete`` asks for every test's result, not just up to the first
        failure. ``on_start`` is told which exercises will really run (for a
        progress line). The state file is saved once, after every run finished.
        """
        runs: dict[str, ExerciseRun] = {}
        to_run: list[Exercise] = []
        for exercise in exercises:
            hit = self.cached(exercise, complete=complete)
            if hit is not None:
                runs[exercise.slug] = hit
            elif not is_available(exercise):
                runs[exercise.slug] = ExerciseRun(exercise.slug, "missing")
            else:
                to_run.append(exercise)
        if to_run:
            if on_start is not None:
                on_start(to_run)
            for exercise, run in zip(to_run, self._run_now(to_run, complete), strict=True):
                runs[exercise.slug] = run
                self._remember_if_unchanged(exercise, run)
            self.save()
        return [runs[exercise.slug] for exercise in exercises]

    def _run_now(self, exercises: Sequence[Exercise], complete: bool) -> list[ExerciseRun]:
        """Run the exercises' tests, several at once in threads; one in this thread.

        One run stays in this thread so that Ctrl-C or SIGTERM reaches the
        launcher mid-run and it stops pytest at once. With several, an interrupt
        is not held up waiting for the others to finish.
        """

        def run_one(exercise: Exercise) -> ExerciseRun:
            return run_exercise(
                exercise, complete=complete, limit=self.time_limit, launch=self.launch
            )

        if len(exercises) == 1:
            return [run_one(exercises[0])]
        pool = ThreadPoolExecutor(max_workers=max(1, min(len(exercises), os.cpu_count() or 1)))
        try:
            return list(pool.map(run_one, exercises))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _remember_if_unchanged(self, exercise: Exercise, run: ExerciseRun) -> None:
        """Cache a fresh run unless the exercise's files changed while it ran.

        Such a run may have imported a file saved after its fingerprint was
        taken: filed under that fingerprint, it would later answer for files it
        never judged (a stub called done because a solution was saved mid-run).
        """
        if run.fingerprint == fingerprint(exercise):
            self.remember(run)

    def remember(self, run: ExerciseRun) -> None:
        """Cache a fresh run and note a first completion (saved by :meth:`save`)."""
        if run.status == "missing":
            return
        step = functools.partial(_record, run)
        step(self.state)
        self.unsaved.append(step)

    def update(self, change: Callable[[CourseState], T]) -> T:
        """Apply ``change`` to the freshest state and save it, with every unsaved change.

        The file is read, changed and written under the state lock, so
        ``change`` sees every other process's saved changes and none of them
        is lost; ``state`` then shows the result. If the state cannot be
        saved, the learner is warned once, ``change`` still applies to this
        process's ``state``, and its result is returned.
        """
        outcome: list[T] = []

        def replay(state: CourseState) -> None:
            for step in self.unsaved:
                step(state)
            outcome.append(change(state))

        try:
            self.state = self.store.update(replay)
        except StateError as error:
            self.store.warn(str(error))
            return change(self.state)
        self.unsaved.clear()
        return outcome[-1]

    def save(self) -> None:
        """Write this process's unsaved changes into the state file (see :meth:`update`)."""
        if self.unsaved:
            self.update(_unchanged)

    def next_pending(self, runs: Sequence[ExerciseRun]) -> Exercise | None:
        """The first exercise, in course order, that is available and not done."""
        by_slug = {run.slug: run for run in runs}
        for exercise in self.catalog:
            run = by_slug.get(exercise.slug)
            if run is not None and run.status == "pending":
                return exercise
        return None
