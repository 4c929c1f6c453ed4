"""The learner's working tree never affects the project's suite.

A learner edits the stubs in ``exercises/`` and is told that ``uv run pytest``
stays green. Here a copy of the course (a git checkout, as a clone is) is
left the way a learner mid-course leaves it: three exercises solved, one
stub untouched, one with a syntax error and a scratch file beside it, one
file deleted, one half edited, and the CLI's own state folder. The project's
suite then runs in that copy.

Which tests run, and why these: the tests that read an exercise
folder or the learner's files. The course gate's stub tests (they run each
exercise's tests against its stubs), its file and README checks, the two
``check`` tests that assert what the shipped ex01 stub and its solution do
(every CLI test builds its course from this checkout's ex01 through
``tests/test_cli_support.py``, so these two stand for all), the snapshot check
(``tests/test_cli_pristine.py``) and the mypy check of solved exercises
(``tests/test_course_types.py``). The gate's solution and decoy runs are
left out: their target folders hold every file a learner edits, so the
learner's copies are never imported (the import recorder test proves which
files a run imports). The docs tests are left out too: they read READMEs and
test files, which learners do not edit, never a stub. Together the chosen
tests cost about a sixth of the suite.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from aggregates_course.course.catalog import load_catalog
from tests.course_gate import course_copy
from tests.tooling import ensure_group, skip_or_fail

READERS_OF_EXERCISE_FILES = (
    "tests/test_course_gate.py::test_untouched_stub_fails_in_every_module_without_errors",
    "tests/test_course_gate.py::test_the_learner_path_never_imports_solutions",
    "tests/test_course_gate.py::test_exercise_has_its_files",
    "tests/test_course_gate.py::test_readme_shows_the_nudge_only_and_points_to_the_hint_command",
    "tests/test_cli_check.py::test_a_failing_exercise_shows_only_its_first_failing_test",
    "tests/test_cli_check.py::test_a_passing_exercise_gets_a_done_line_and_the_next_step",
    "tests/test_cli_pristine.py",
    "tests/test_course_types.py",
)


@dataclass(frozen=True)
class SuiteRun:
    """The suite's outcome in the learner's copy, and the learner's files around it."""

    code: int
    output: str
    learner_files_before: dict[str, str]
    learner_files_after: dict[str, str]


def learner_files(course: Path) -> dict[str, str]:
    """Every file under ``exercises/`` by relative path, with its content's hash."""
    folder = course / "exercises"
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def git(course: Path, *arguments: str) -> None:
    executable = shutil.which("git")
    if executable is None:
        skip_or_fail("git is not installed; a learner's copy of the course is a git clone")
    subprocess.run(
        [executable, "-c", "user.name=learner", "-c", "user.email=learner@example.org", *arguments],
        cwd=course,
        check=True,
        capture_output=True,
    )


def work_as_a_learner(course: Path) -> None:
    """Leave the copy as a learner mid-course does: some solved, some broken, some untouched."""
    exercises = {exercise.slug[:4]: exercise for exercise in load_catalog(course)}
    for number in ("ex01", "ex03", "ex05"):
        for name in exercises[number].files:
            shutil.copyfile(
                exercises[number].solution_folder / name, exercises[number].folder / name
            )
    # ex02 stays the stub as shipped.
    broken = exercises["ex04"].folder / exercises["ex04"].files[0]
    broken.write_text(broken.read_text(encoding="utf-8") + "\ndef half_typed(:\n", "utf-8")
    (exercises["ex04"].folder / "scratch.py").write_text("x: int = 'not an int'\n", "utf-8")
    (exercises["ex06"].folder / exercises["ex06"].files[0]).unlink()
    half_edited = exercises["ex07"].folder / exercises["ex07"].files[0]
    half_edited.write_text(
        re.sub(
            r"raise NotImplementedError\(.*?\)", "pass", half_edited.read_text("utf-8"), count=1
        ),
        encoding="utf-8",
    )
    hint = subprocess.run(
        [sys.executable, "-m", "aggregates_course", "hint"],
        cwd=course,
        capture_output=True,
        text=True,
        check=False,
    )
    assert hint.returncode == 0, hint.stderr
    assert (course / ".aggregates-course" / "state.json").is_file()


@pytest.fixture(scope="module")
def suite_in_a_learners_copy(tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    # The copy runs on this environment, where only this checkout can add a group.
    ensure_group("lint", "mypy")
    course = course_copy(tmp_path_factory.mktemp("learner") / "course")
    git(course, "init", "--quiet")
    git(course, "add", "--all")
    git(course, "commit", "--quiet", "--message", "the course as cloned")
    work_as_a_learner(course)
    before = learner_files(course)
    # The copy's own package and tests, not this checkout's: run from the copy's root.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *READERS_OF_EXERCISE_FILES],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return SuiteRun(
        finished.returncode, finished.stdout + finished.stderr, before, learner_files(course)
    )


def test_the_suite_stays_green_while_a_learner_is_mid_course(
    suite_in_a_learners_copy: SuiteRun,
) -> None:
    run = suite_in_a_learners_copy
    summary = run.output.strip().splitlines()[-1]
    assert run.code == 0, run.output
    assert re.search(r"\d+ passed", summary), summary
    assert "skipped" not in summary, run.output


def test_the_suite_leaves_the_learners_files_as_they_were(
    suite_in_a_learners_copy: SuiteRun,
) -> None:
    run = suite_in_a_learners_copy
    assert run.learner_files_after == run.learner_files_before
