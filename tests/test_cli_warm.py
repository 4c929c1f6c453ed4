"""The warm pytest behind `watch`: fresh imports every run, a time limit, no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregates_course.course import warm
from aggregates_course.course.catalog import Exercise, load_catalog
from aggregates_course.course.launch import (
    REPORT_ENV,
    TIME_LIMIT_ENV,
    LaunchRequest,
    pytest_arguments,
)
from aggregates_course.course.runner import run_exercise
from aggregates_course.course.warm import WarmLauncher
from tests.test_cli_support import EX02, solve, warm_course
from tests.test_cli_watch import (
    HANG_GUARD,
    hang,
    processes_working_in,
    wait_until_a_test_runs,
)

__all__ = ["warm_course"]  # a fixture, re-exported for pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the warm pytest forks")


def exercise_2(course: Path) -> Exercise:
    return load_catalog(course)[1]


@pytest.fixture
def launcher(warm_course: Path) -> Iterator[WarmLauncher]:
    with WarmLauncher(warm_course) as launcher:
        yield launcher


def test_every_run_imports_the_learners_module_afresh(
    warm_course: Path, launcher: WarmLauncher
) -> None:
    before = run_exercise(exercise_2(warm_course), launch=launcher)
    solve(warm_course, EX02, "answer.py")
    after = run_exercise(exercise_2(warm_course), launch=launcher)
    assert (before.status, after.status) == ("pending", "done")


def test_a_hanging_run_is_stopped_at_the_time_limit(
    warm_course: Path, launcher: WarmLauncher
) -> None:
    hang(warm_course)
    run = run_exercise(exercise_2(warm_course), launch=launcher, limit=2)
    assert run.problem is not None
    assert run.problem.kind == "timeout"
    assert "test_double_of_one_is_two did not finish within 2 s" in run.problem.message


def test_a_run_past_its_limit_and_grace_is_killed_and_the_server_carries_on(
    warm_course: Path, tmp_path: Path
) -> None:
    hang(warm_course)
    exercise = exercise_2(warm_course)
    with WarmLauncher(warm_course, grace=0.1) as launcher:
        # The plugin's own limit is far away, so only the server's deadline ends this run.
        launched = launcher(
            LaunchRequest(
                pytest_arguments(exercise, complete=False, verbose=False),
                cwd=warm_course,
                env={REPORT_ENV: str(tmp_path / "report.json"), TIME_LIMIT_ENV: "600"},
                limit=0.1,
                full_output=False,
                scratch=tmp_path,
            )
        )
        assert launched.killed
        if Path("/proc/self/cwd").exists():
            assert len(processes_working_in(warm_course)) == 1  # the server, still up
        solve(warm_course, EX02, "answer.py")
        assert run_exercise(exercise, launch=launcher).status == "done"


def test_a_server_that_cannot_start_leaves_the_run_to_a_cold_pytest(
    warm_course: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(warm, "SERVER_MODULE", "aggregates_course.no_such_server")
    with WarmLauncher(warm_course) as launcher:
        run = run_exercise(exercise_2(warm_course), launch=launcher)
    assert run.status == "pending"
    assert run.first_failure is not None
    assert run.first_failure.name == "test_double_is_twice_the_number"


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="finds processes through /proc")
def test_a_client_that_dies_mid_run_leaves_no_process_behind(
    warm_course: Path, tmp_path: Path
) -> None:
    hang(warm_course)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    client = textwrap.dedent(
        f"""
        from pathlib import Path
        from aggregates_course.course.catalog import load_catalog
        from aggregates_course.course.runner import run_exercise
        from aggregates_course.course.warm import WarmLauncher

        course = Path({str(warm_course)!r})
        run_exercise(load_catalog(course)[1], launch=WarmLauncher(course), limit=600)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", client], env={**os.environ, "TMPDIR": str(scratch)}
    )
    try:
        wait_until_a_test_runs(scratch, process)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=HANG_GUARD)
        # The server notices its stdin close and kills the run: poll for that to happen.
        deadline = time.monotonic() + HANG_GUARD
        while processes_working_in(warm_course) and time.monotonic() < deadline:
            time.sleep(0.01)  # not a guess at timing: only to leave the CPU to the server
        assert processes_working_in(warm_course) == []
    finally:
        process.kill()
