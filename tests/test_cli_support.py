"""Shared fixtures for the CLI tests (this module holds no tests of its own).

Every CLI test runs the real command against a temporary course: the real
exercise 1 (its stub as shipped, tests, solution), a tiny Hypothesis-tested exercise 2, and
a catalog entry for an exercise 3 whose folder does not exist, as in a copy
of the course that is still being written. ``warm_course`` is a copy whose
state already caches real test runs of both stubs and both solutions, so
tests about what the CLI *shows* need not run pytest again.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest

from aggregates_course.course.catalog import load_catalog
from aggregates_course.course.cli import main
from aggregates_course.course.pristine import write_snapshot
from aggregates_course.course.shipped import pristine_path
from tests.course_gate import course_files_only, write_shipped_stubs

REPO = Path(__file__).resolve().parent.parent
EX01 = "ex01_aggregate_root"
EX02 = "ex02_double"
EX03 = "ex03_not_written_yet"


def done_line(slug: str) -> re.Pattern[str]:
    """What ``check`` prints when every test of ``slug`` passes, whatever their number."""
    return re.compile(rf"done: all [1-9]\d* tests of {re.escape(slug)} pass")


EX02_STUB = '''"""Exercise 2 (a test double): write double()."""


def double(number: int) -> int:
    return number + number if number < 10 else number
'''
EX02_SOLUTION = '''"""Exercise 2, solved."""


def double(number: int) -> int:
    return 2 * number
'''
EX02_TESTS = '''"""Exercise 2 specification."""

from hypothesis import given
from hypothesis import strategies as st

from aggregates_course.course.target import load_target


def double(number: int) -> int:
    result: int = load_target("ex02_double", "answer").double(number)
    return result


def test_double_of_one_is_two() -> None:
    assert double(1) == 2


@given(st.integers(min_value=0, max_value=1_000))
def test_double_is_twice_the_number(number: int) -> None:
    assert double(number) == 2 * number, "double must be twice the number"
'''


def _catalog_entry(slug: str, title: str, files: list[str], hints: list[str]) -> str:
    # JSON strings are valid TOML basic strings, so json.dumps quotes safely.
    return (
        f"[[exercise]]\nslug = {json.dumps(slug)}\ntitle = {json.dumps(title)}\n"
        f"files = {json.dumps(files)}\nhints = [{', '.join(json.dumps(h) for h in hints)}]\n\n"
    )


def build_course(root: Path) -> Path:
    """Write the temporary course under ``root`` and record its pristine snapshot."""
    root.mkdir(parents=True, exist_ok=True)
    # The real root conftest, plus a small derandomized Hypothesis profile: these tests are
    # about what the CLI shows, and a real exercise run must stay quick.
    # Hypothesis' explain phase is left out: it costs seconds and the CLI shows no more for it.
    conftest = (REPO / "conftest.py").read_text(encoding="utf-8") + (
        '\nsettings.register_profile("cli-tests", max_examples=25, deadline=None, '
        "derandomize=True, database=None,\n"
        "    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])\n"
        'settings.load_profile("cli-tests")\n'
    )
    (root / "conftest.py").write_text(conftest, encoding="utf-8")
    for kind in ("exercises", "solutions"):
        shutil.copytree(REPO / kind / EX01, root / kind / EX01, ignore=course_files_only)
    real = load_catalog(REPO)[0]
    # The stub as shipped, not this checkout's copy, which a learner may have edited (or
    # replaced by a folder): the copy above left it out.
    write_shipped_stubs(root / "exercises", [real])
    (root / "exercises" / EX02).mkdir(parents=True)
    (root / "exercises" / EX02 / "__init__.py").write_text("", encoding="utf-8")
    (root / "exercises" / EX02 / "README.md").write_text("# Double\n", encoding="utf-8")
    (root / "exercises" / EX02 / "answer.py").write_text(EX02_STUB, encoding="utf-8")
    (root / "exercises" / EX02 / "test_answer.py").write_text(EX02_TESTS, encoding="utf-8")
    (root / "solutions" / EX02).mkdir(parents=True)
    (root / "solutions" / EX02 / "answer.py").write_text(EX02_SOLUTION, encoding="utf-8")
    catalog = (
        _catalog_entry(real.slug, real.title, list(real.files), list(real.hints))
        + _catalog_entry(EX02, "Double a number", ["answer.py"], ["one", "two", "three"])
        + _catalog_entry(EX03, "Not written yet", ["missing.py"], ["a", "b", "c"])
    )
    (root / "exercises" / "exercises.toml").write_text(catalog, encoding="utf-8")
    write_snapshot(root, load_catalog(root))
    return root


@dataclass
class Outcome:
    """What one in-process CLI invocation printed, and its exit code."""

    code: int
    out: str
    err: str


def run_cli(root: Path, *argv: str) -> Outcome:
    """Run ``aggregates-course *argv`` in this process against the course at ``root``.

    The CLI words the commands it suggests after how it was started; here it is
    always started as the README starts it, ``uv run aggregates-course``, whether
    the suite itself runs under uv, plain pytest or ``python -m pytest``.
    """
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.object(sys, "argv", ["aggregates-course", *argv]),
        mock.patch.dict(os.environ, {"UV_RUN_RECURSION_DEPTH": "1"}),
    ):
        code = main(list(argv), stdout=out, stderr=err, root=root)
    return Outcome(code, out.getvalue(), err.getvalue())


def solve(root: Path, slug: str, name: str) -> None:
    """Copy the exercise's solution file over the learner's, as a learner who solved it."""
    shutil.copy(root / "solutions" / slug / name, root / "exercises" / slug / name)


def unsolve(root: Path, slug: str, name: str) -> None:
    """Put the shipped stub back, straight from the snapshot (not through ``reset``)."""
    shutil.copy(pristine_path(root, slug, name), root / "exercises" / slug / name)


_warm_template: Path | None = None


@pytest.fixture
def fresh_course(tmp_path: Path) -> Path:
    """A temporary course that has never been run."""
    return build_course(tmp_path / "course")


@pytest.fixture
def warm_course(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    """A copy of a course whose state caches real runs of both stubs and both solutions."""
    global _warm_template
    if _warm_template is None:
        template = build_course(tmp_path_factory.mktemp("warm") / "course")
        assert run_cli(template, "results", "--json").code == 0
        solve(template, EX01, "policy.py")
        solve(template, EX02, "answer.py")
        assert run_cli(template, "results", "--json").code == 0
        unsolve(template, EX01, "policy.py")
        unsolve(template, EX02, "answer.py")
        _warm_template = template
    copy = tmp_path / "course"
    shutil.copytree(_warm_template, copy)
    return copy
