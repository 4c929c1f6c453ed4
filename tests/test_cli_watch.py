"""`aggregates-course watch`: a save re-runs the check; Ctrl-C ends it cleanly."""

from __future__ import annotations

import io
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from aggregates_course.course.cli import main
from tests.test_cli_support import EX01, EX02, solve, warm_course

__all__ = ["warm_course"]  # a fixture, re-exported for pytest

WATCHING = "Watching exercises/"
HANG_GUARD = 60  # seconds; only reached if the watcher is broken


class LineQueue(io.StringIO):
    """A text stream that hands every complete line to a queue, so a test can react to it."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: queue.Queue[str] = queue.Queue()
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        *complete, self._partial = self._partial.split("\n")
        for line in complete:
            self.lines.put(line)
        return super().write(text)


def wait_for(lines: queue.Queue[str], marker: str) -> None:
    while marker not in lines.get(timeout=HANG_GUARD):
        pass


def test_saving_a_file_re_runs_the_check(warm_course: Path) -> None:
    out = LineQueue()
    codes: list[int] = []
    argv = ["watch", EX01, "--interval", "0.05", "--max-runs", "2", "--timeout", str(HANG_GUARD)]
    watcher = threading.Thread(
        target=lambda: codes.append(main(argv, stdout=out, stderr=io.StringIO(), root=warm_course))
    )
    watcher.start()
    wait_for(out.lines, WATCHING)
    solve(warm_course, EX01, "policy.py")
    watcher.join(HANG_GUARD)
    first, second = out.getvalue().split(WATCHING)
    assert "FAIL" in first
    assert f"done: all 19 tests of {EX01} pass" in second
    assert codes == [0]


def test_without_a_name_it_follows_the_course_until_everything_passes(warm_course: Path) -> None:
    out = LineQueue()
    codes: list[int] = []
    argv = ["watch", "--interval", "0.05", "--timeout", str(HANG_GUARD)]
    watcher = threading.Thread(
        target=lambda: codes.append(main(argv, stdout=out, stderr=io.StringIO(), root=warm_course))
    )
    watcher.start()
    wait_for(out.lines, f"{WATCHING}{EX01}/")
    solve(warm_course, EX01, "policy.py")
    wait_for(out.lines, f"{WATCHING}{EX02}/")
    solve(warm_course, EX02, "answer.py")
    watcher.join(HANG_GUARD)
    assert codes == [0]
    assert "Every available exercise is done." in out.getvalue()


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT, which is POSIX")
def test_ctrl_c_stops_watching_without_a_traceback(warm_course: Path) -> None:
    watcher = subprocess.Popen(
        [sys.executable, "-m", "aggregates_course", "watch", EX01, "--interval", "0.05"],
        cwd=warm_course,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watcher.stdout is not None
    try:
        while WATCHING not in watcher.stdout.readline():
            pass
        os.kill(watcher.pid, signal.SIGINT)
        out, err = watcher.communicate(timeout=HANG_GUARD)
    finally:
        watcher.kill()
    assert watcher.returncode == 0
    assert "Stopped watching." in out
    assert "Traceback" not in err
