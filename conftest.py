"""Root pytest configuration, shared by the project's tests and the exercises.

It registers the Hypothesis profiles once, and adds ``--target``, the one
switch that decides which implementation the exercise tests import.

Profiles: ``dev`` (default), ``ci`` (loaded when ``CI`` is set: derandomized,
no example database, no deadline) and ``thorough`` (many more examples:
``uv run pytest --hypothesis-profile thorough``). Every profile has
``deadline=None``, so a correct solution never fails on a slow machine.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from aggregates_course.course.target import configure_target

COURSE_ROOT = Path(__file__).parent

# The course gate in tests/ runs the exercise suites in-process through pytester.
pytest_plugins = ["pytester"]

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=2_000, deadline=None)
# The course gate runs every exercise against many implementations and only needs
# pass or fail, so it skips shrinking; explicit @example cases still run first.
settings.register_profile(
    "gate",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=60,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--target",
        default="exercises",
        help="what the exercise tests import: exercises (default), solutions, or a folder path",
    )


def pytest_configure(config: pytest.Config) -> None:
    configure_target(COURSE_ROOT, str(config.getoption("--target")))
