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

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from aggregates_course.course.catalog import Exercise
from aggregates_course.course.plugin_env import DONE_FD_ENV, REPORT_ENV, TIME_LIMIT_ENV

__all__ = ["DONE_FD_ENV", "REPORT_ENV", "TIME_LIMIT_ENV"]  # what a launcher sets, for its callers

PLUGIN = "aggregates_course.course.pytest_results"
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


@dataclass(frozen=True)
class LaunchRequest:
    """One pytest run to start: its command line, where, with what, and for how long.

    ``env`` holds the variables the plugin reads (added to the process'
    own). A pytest still running ``limit`` + :data:`KILL_GRACE_SECONDS`
    seconds after it started is killed. With ``full_output`` the launcher
    waits for pytest to exit, so that ``Launched.output`` is complete;
    without it, it may return as soon as the plugin has written the report.
    ``scratch`` is a folder the launcher may write into; it is removed after.
    ``group``, when given, is the batch this run belongs to: stopping the
    group stops this run (see :class:`RunGroup`).
    """

    arguments: Sequence[str]
    cwd: Path
    env: Mapping[str, str]
    limit: float
    full_output: bool
    scratch: Path
    group: RunGroup | None = None


class Launcher(Protocol):
    """Starts the pytest run ``request`` describes and waits for its report."""

    def __call__(self, request: LaunchRequest, /) -> Launched: ...


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


class RunStopped(Exception):
    """A run of a :class:`RunGroup` that was stopped: it never started, or was killed."""


class RunGroup:
    """The pytest processes of one batch of runs, so that one interrupt stops them all at once.

    ``status`` and ``results`` run several exercises at once, each waited
    for in a thread of its own; Ctrl-C or SIGTERM reaches only the main
    thread. :meth:`stop` kills every process of the group.

    Invariant: once :meth:`stop` has returned, no process of the group is
    alive or will start (:meth:`spawn` raises :class:`RunStopped`).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[str]] = set()
        self._stopped = False

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopped

    def spawn(self, command: Sequence[str], **options: Any) -> subprocess.Popen[str]:
        """Start ``command`` (``subprocess.Popen`` options), unless the group was stopped."""
        with self._lock:  # started and noted at once: a stop never misses a process
            if self._stopped:
                raise RunStopped("the runs were stopped")
            process: subprocess.Popen[str] = subprocess.Popen(command, **options)
            self._running.add(process)
        return process

    def finished(self, process: subprocess.Popen[str]) -> None:
        """Forget ``process``, which has exited."""
        with self._lock:
            self._running.discard(process)

    def stop(self) -> None:
        """Kill every running process of the group, and refuse to start another."""
        with self._lock:
            self._stopped = True
            running = list(self._running)
        for process in running:
            with contextlib.suppress(OSError):
                process.kill()


def launch_cold(request: LaunchRequest) -> Launched:
    """Run ``python -m pytest`` in a new interpreter: slower to start, works everywhere.

    Its output is always complete (``full_output`` changes nothing), and it
    needs no ``scratch`` folder. An interrupt in this thread kills pytest
    before it is passed on; the request's ``group`` lets another thread stop it too.
    """
    group = request.group if request.group is not None else RunGroup()
    process = group.spawn(
        [sys.executable, "-m", "pytest", *request.arguments],
        cwd=request.cwd,
        env=child_environment(request.env),
        stdin=subprocess.DEVNULL,  # a learner's input() must not wait on the terminal
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    try:
        try:
            out, err = process.communicate(timeout=request.limit + KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            return Launched(_text(out) + _text(err), killed=True)
        except BaseException:  # Ctrl-C or SIGTERM: no pytest outlives the CLI
            process.kill()
            process.wait()
            raise
    finally:
        group.finished(process)
    return Launched(out + err, killed=group.stopped)
