"""The learner's working tree never affects the project's suite.

A learner edits the stubs in ``exercises/`` and is told that ``uv run pytest``
stays green. Here a copy of the course (a git checkout, as a clone is) is
left the way a learner mid-course leaves it, and worse: one exercise solved
(with a test file of the learner's own beside it, failing), one with a
syntax error and a file replaced by a dangling symlink, one stub that hangs
forever at import (``while True: pass``), one that ends the process at import
(``os._exit(1)``) with a scratch file beside it, one file deleted, one
replaced by a folder, one half edited, and the CLI's own state folder. The
project's suite then runs in that copy, and must pass and finish.

Which tests run, and why these: every test that reads an exercise folder
or could import a learner's file. The course gate's stub tests (they run each
exercise's tests against its stubs), its file and README checks, the
recorded stub runs the instructor pages quote (``tests/test_recorded_runs.py``),
the two ``check`` tests that assert what the shipped ex01 stub and its
solution do (every CLI test builds its course from this checkout's ex01
through ``tests/test_cli_support.py``, so these two stand for all), the
snapshot check (``tests/test_cli_pristine.py``) and the mypy check of solved
exercises (``tests/test_course_types.py``). The gate's solution and decoy
runs, and the recorded decoy runs, are left out: their target folders hold
every file a learner edits, so the learner's copies are never imported (the
gate refuses any other target, and the import recorder test proves which
files a run imports). The docs tests are left out too: they read READMEs and
test files, which learners do not edit, never a stub.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from aggregates_course.course.catalog import load_catalog
from tests.course_gate import (
    CATALOG,
    COURSE_ROOT,
    course_copy,
    fenced_off_learner_files,
    run_exercise,
    write_shipped_stubs,
)
from tests.tooling import ensure_group, skip_or_fail

READERS_OF_EXERCISE_FILES = (
    "tests/test_course_gate.py::test_untouched_stub_fails_in_every_module_without_errors",
    "tests/test_course_gate.py::test_the_learner_path_never_imports_solutions",
    "tests/test_course_gate.py::test_exercise_has_its_files",
    "tests/test_course_gate.py::test_readme_shows_the_nudge_only_and_points_to_the_hint_command",
    *(
        f"tests/test_recorded_runs.py::test_a_quoted_run_matches_a_real_run[stub {exercise.slug}]"
        for exercise in CATALOG
    ),
    "tests/test_cli_check.py::test_a_failing_exercise_shows_only_its_first_failing_test",
    "tests/test_cli_check.py::test_a_passing_exercise_gets_a_done_line_and_the_next_step",
    "tests/test_cli_pristine.py",
    "tests/test_course_types.py",
)
#: Seconds the suite gets in the learner's copy; it takes well under a minute. A suite that
#: hangs on a learner's file fails this test instead of hanging the whole session.
SUITE_LIMIT = 600.0


@dataclass(frozen=True)
class SuiteRun:
    """The suite's outcome in the learner's copy, and the learner's files around it."""

    code: int
    output: str
    learner_files_before: dict[str, str]
    learner_files_after: dict[str, str]


def learner_files(course: Path) -> dict[str, str]:
    """Everything under ``exercises/`` by relative path: a file's hash, or what stands there."""
    folder = course / "exercises"
    tree: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        if "__pycache__" in path.parts:
            continue
        name = path.relative_to(folder).as_posix()
        if path.is_symlink():
            tree[name] = f"symlink to {os.readlink(path)}"
        elif path.is_dir():
            tree[name] = "folder"
        else:
            tree[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return tree


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


def prepend(path: Path, code: str) -> None:
    """Put ``code`` at the top of the learner's file, as a learner experimenting might."""
    path.write_text(code + path.read_text(encoding="utf-8"), encoding="utf-8")


def work_as_a_learner(course: Path) -> None:
    """Leave the copy as a learner mid-course does: solved, broken, hanging, gone, untouched."""
    exercises = {exercise.slug[:4]: exercise for exercise in load_catalog(course)}
    ex01 = exercises["ex01"]
    for name in ex01.files:
        shutil.copyfile(ex01.solution_folder / name, ex01.folder / name)
    (ex01.folder / "test_mine.py").write_text(
        "def test_mine() -> None:\n    assert False\n", "utf-8"
    )
    ex02 = exercises["ex02"]
    broken = ex02.folder / ex02.files[0]
    broken.write_text(broken.read_text(encoding="utf-8") + "\ndef half_typed(:\n", "utf-8")
    linked = ex02.folder / ex02.files[1]
    linked.unlink()
    with contextlib.suppress(OSError):  # Windows lets only some users make symlinks
        linked.symlink_to("no-such-file.py")
    ex03, ex04 = exercises["ex03"], exercises["ex04"]
    prepend(ex03.folder / ex03.files[0], "while True:\n    pass\n")
    prepend(ex04.folder / ex04.files[0], "import os\n\nos._exit(1)\n")
    (ex04.folder / "scratch.py").write_text("x: int = 'not an int'\n", "utf-8")
    ex05, ex06 = exercises["ex05"], exercises["ex06"]
    (ex05.folder / ex05.files[0]).unlink()
    folder = ex06.folder / ex06.files[0]
    folder.unlink()
    folder.mkdir()
    (folder / "notes.txt").write_text("moved my work in here\n", "utf-8")
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
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *READERS_OF_EXERCISE_FILES],
            cwd=course,
            env=env,
            capture_output=True,
            text=True,
            timeout=SUITE_LIMIT,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        output = "".join(
            part.decode(errors="replace") if isinstance(part, bytes) else part or ""
            for part in (expired.stdout, expired.stderr)
        )
        pytest.fail(f"the suite did not finish within {SUITE_LIMIT:g} s:\n{output}")
    return SuiteRun(
        finished.returncode, finished.stdout + finished.stderr, before, learner_files(course)
    )


def test_the_suite_stays_green_while_a_learner_is_mid_course(
    suite_in_a_learners_copy: SuiteRun,
) -> None:
    run = suite_in_a_learners_copy
    summary = run.output.strip().splitlines()[-1]
    assert run.code == 0, run.output
    # Every chosen test ran: none was deselected by a stale node id, none skipped.
    assert re.search(r"\b\d+ passed in ", summary), summary
    assert "skipped" not in summary, run.output
    assert "deselected" not in summary, run.output
    assert "ERROR: not found" not in run.output, run.output


def test_the_suite_leaves_the_learners_files_as_they_were(
    suite_in_a_learners_copy: SuiteRun,
) -> None:
    run = suite_in_a_learners_copy
    assert run.learner_files_after == run.learner_files_before


def test_the_gate_refuses_to_run_an_exercise_against_the_learners_files(
    pytester: pytest.Pytester,
) -> None:
    with pytest.raises(ValueError, match="learner's working files"):
        run_exercise(pytester, CATALOG[0].slug, "exercises")


def test_the_gate_refuses_a_target_that_lacks_a_file_the_learner_edits(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    exercise = next(exercise for exercise in CATALOG if len(exercise.files) > 1)
    target = write_shipped_stubs(tmp_path, [exercise])
    (target / exercise.slug / exercise.files[0]).unlink()
    with pytest.raises(ValueError, match="would import the learner's copy"):
        run_exercise(pytester, exercise.slug, target)


def test_a_learners_file_cannot_be_imported_while_the_gate_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = tmp_path / "ran.txt"
    learner = tmp_path / "learners_stub.py"
    learner.write_text(f"open({str(ran)!r}, 'w').close()\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with fenced_off_learner_files(frozenset({learner})), pytest.raises(ImportError):
        importlib.import_module("learners_stub")
    assert not ran.exists(), "the fenced-off file ran"


def test_shipped_stubs_replace_a_folder_or_a_symlink_standing_in_their_place(
    tmp_path: Path,
) -> None:
    exercise = next(exercise for exercise in CATALOG if len(exercise.files) > 1)
    folder, linked = (tmp_path / exercise.slug / name for name in exercise.files[:2])
    (folder / "inside").mkdir(parents=True)
    try:
        linked.symlink_to(COURSE_ROOT / "README.md")
    except OSError:
        pytest.skip("this user cannot make symlinks here")
    write_shipped_stubs(tmp_path, [exercise])
    for path in (folder, linked):
        assert not path.is_symlink()
        assert path.is_file()
    assert (COURSE_ROOT / "README.md").read_text(encoding="utf-8")  # the link's target is intact
