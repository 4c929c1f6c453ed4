"""How pytest is started on one exercise, and how long it may run.

pytest runs with the :mod:`aggregates_course.course.pytest_results` plugin,
which writes its report to the file named by :data:`REPORT_ENV` and stops
the run itself once :data:`TIME_LIMIT_ENV` seconds have passed, leaving a
stack dump that says where the tests were stuck. Starting pytest is a
:class:`Launcher`'s job: :func:`launch_cold` starts a new interpreter (every
platform); :class:`aggregates_course.course.warm.WarmLauncher` forks a
process that has pytest and Hypothesis imported already (what ``watch``
uses where the platform can fork).

Invariant: no pytest outlives its time limit by more than
:data:`KILL_GRACE_SECONDS`, whatever the learner's code does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aggregates_course.course.catalog import Exercise

PLUGIN = "aggregates_course.course.pytest_results"
# The plugin reads the same names: where to write the report, and the run's time limit.
REPORT_ENV = "AGGREGATES_COURSE_REPORT"
TIME_LIMIT_ENV = "AGGREGATES_COURSE_TIME_LIMIT"
DEFAULT_TIME_LIMIT = 30.0
# The plugin stops a run at its limit itself, with a stack dump; the launcher kills a
# pytest that is still alive this long after the limit (stuck before the plugin loaded).
KILL_GRACE_SECONDS = 5.0


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


def child_environment(env: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with ``env`` added, and pytest's output in UTF-8.

    Read back as UTF-8 whatever the platform: under a Windows code page a
    child would otherwise fail to print a learner's non-ASCII message.
    """
    return {**os.environ, **env, "PYTHONIOENCODING": "utf-8"}


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
            env=child_environment(env),
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
