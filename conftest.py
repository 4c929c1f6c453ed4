"""Root pytest configuration, shared by the project's tests and the exercises.

It registers the Hypothesis profiles once, and adds ``--target``, the one
switch that decides which implementation the exercise tests import.

Profiles: ``dev`` (default, 50 examples), ``ci`` (loaded when ``CI`` is set:
derandomized, no example database, 100 examples) and ``thorough`` (2,000 examples:
``uv run pytest --hypothesis-profile thorough``). Every profile has
``deadline=None``, so a correct solution never fails on a slow machine.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from aggregates_course.course.target import configure_target, release_target

COURSE_ROOT = Path(__file__).parent

# The course gate in tests/ runs the exercise suites in-process through pytester.
pytest_plugins = ["pytester"]

# Shared by every profile. One counterexample at a time, and no explain phase: on a
# wrong answer both cost a learner many seconds and add nothing that the step list
# in our failure messages does not already say.
_COMMON = settings(
    deadline=None,
    report_multiple_bugs=False,
    phases=[phase for phase in Phase if phase is not Phase.explain],
    suppress_health_check=[HealthCheck.too_slow],
)
# Fifty examples keep a learner's check of a solved exercise under two seconds. The
# common wrong answers are caught by explicit examples (the gate proves it), so the
# generated ones hunt for the rest; `ci` and `thorough` run more.
settings.register_profile("dev", _COMMON, max_examples=50)
settings.register_profile("ci", _COMMON, derandomize=True, database=None)
settings.register_profile("thorough", _COMMON, max_examples=2_000)
# The course gate runs every exercise against many implementations and only needs
# pass or fail, so it skips shrinking; explicit @example cases still run first.
settings.register_profile(
    "gate",
    _COMMON,
    derandomize=True,
    database=None,
    max_examples=60,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
# Only the explicit examples, no generated ones: the course gate runs each decoy under it
# to prove a wrong answer fails on every run, not only when generation is lucky.
settings.register_profile("explicit", _COMMON, database=None, phases=[Phase.explicit])
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--target",
        default="exercises",
        help="what the exercise tests import: exercises (default), solutions, or a folder path",
    )


# A session selects its target and its Hypothesis profile, and gives both back when it
# ends: a session run inside another (the course gate's, through pytester) leaves the
# outer one's as they were. First, so the profile is noted before Hypothesis loads its own.
_PROFILE_BEFORE = pytest.StashKey[str]()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.stash[_PROFILE_BEFORE] = settings.get_current_profile_name()
    configure_target(COURSE_ROOT, str(config.getoption("--target")))


def pytest_unconfigure(config: pytest.Config) -> None:
    release_target()
    settings.load_profile(config.stash[_PROFILE_BEFORE])


# Every Python block in docs/ and in README.md runs as a test, so the prose cannot
# drift from the package. Blocks on one page share one namespace, top to bottom.
# Sybil is in the docs dependency group, which a learner's first `uv run` leaves out.
# A session asked to collect those files (`uv run pytest`, `uv run pytest docs`) adds
# the group before collection starts (tests/tooling.ensure_group, the one way a test
# gets a tool); any other session, such as a learner's `uv run pytest
# exercises/<slug>`, installs nothing. Where the group cannot be added, the blocks are
# not collected and tests/test_docs_site.py says why (and fails under CI).
_DOCS = COURSE_ROOT / "docs"
_README = COURSE_ROOT / "README.md"
_WANTS_DOCUMENTATION = pytest.StashKey[bool]()


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    wanted = any(
        _README.is_relative_to(path) or _DOCS.is_relative_to(path) or path.is_relative_to(_DOCS)
        for path in (
            (config.invocation_params.dir / argument.split("::")[0]).resolve()
            for argument in config.args
        )
    )
    config.stash[_WANTS_DOCUMENTATION] = wanted
    if wanted:
        _sybil_collector(install=True)


def _is_documentation(path: Path) -> bool:
    # README.md at the root only: an exercise's README is the learner's, not ours.
    return path.suffix == ".md" and (path == _README or path.is_relative_to(_DOCS))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    # pytest also offers the files beside the folders it was asked for; those never
    # install anything.
    if not _is_documentation(file_path):
        return None
    collect = _sybil_collector(install=parent.config.stash.get(_WANTS_DOCUMENTATION, False))
    return collect(file_path, parent) if collect is not None else None


@functools.cache
def _sybil_collector(
    install: bool,
) -> Callable[[Path, pytest.Collector], pytest.Collector | None] | None:
    if install:
        try:
            from tests.tooling import ensure_group

            ensure_group("docs", "sybil")
        except ImportError:  # this conftest copied outside the course repository
            return None
        except (pytest.skip.Exception, pytest.fail.Exception):
            return None
    if importlib.util.find_spec("sybil") is None:
        return None
    import doctest

    from sybil import Sybil
    from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

    # Long refusal messages may wrap over several lines on a page and still match.
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

    def parsers() -> list[PythonCodeBlockParser | SkipParser]:
        return [PythonCodeBlockParser(doctest_optionflags=flags), SkipParser()]

    collect: Callable[[Path, pytest.Collector], pytest.Collector | None] = (
        Sybil(parsers=parsers(), path="docs", patterns=["*.md"], name="docs")
        + Sybil(parsers=parsers(), filenames=["README.md"], excludes=["*/*"], name="readme")
    ).pytest()
    return collect
