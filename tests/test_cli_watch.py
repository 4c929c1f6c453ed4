"""`aggregates-course watch`: a save re-runs the check; Ctrl-C ends it cleanly."""

from __future__ import annotations

import contextlib
import io
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregates_course.course.catalog import Exercise, load_catalog
from aggregates_course.course.cli import main
from aggregates_course.course.watching import FolderEvents
from tests.test_cli_support import EX01, EX02, done_line, run_cli, solve, warm_course

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


class Watch:
    """``watch`` running in a thread of this process, its output readable line by line."""

    def __init__(self, course: Path, *argv: str) -> None:
        self.out = LineQueue()
        self.codes: list[int] = []
        arguments = ["watch", *argv, "--duration", str(HANG_GUARD)]
        self.thread = threading.Thread(
            target=lambda: self.codes.append(
                main(arguments, stdout=self.out, stderr=io.StringIO(), root=course)
            )
        )
        self.thread.start()

    def wait_for(self, marker: str) -> None:
        wait_for(self.out.lines, marker)

    def finish(self) -> str:
        self.thread.join(HANG_GUARD)
        return self.out.getvalue()


def test_saving_a_file_re_runs_the_check(warm_course: Path) -> None:
    watch = Watch(warm_course, EX01, "--max-runs", "2")
    watch.wait_for(WATCHING)
    solve(warm_course, EX01, "policy.py")
    first, second = watch.finish().split(WATCHING)
    assert "FAIL" in first
    assert done_line(EX01).search(second)
    assert watch.codes == [0]


def test_without_file_events_a_save_is_found_by_polling(
    warm_course: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FolderEvents, "open", classmethod(lambda cls, folder: None))
    watch = Watch(warm_course, EX01, "--max-runs", "2", "--interval", "0.05")
    watch.wait_for(WATCHING)
    solve(warm_course, EX01, "policy.py")
    assert done_line(EX01).search(watch.finish().split(WATCHING)[1])


def test_without_a_terminal_it_prints_lines_and_takes_no_keys(warm_course: Path) -> None:
    watch = Watch(warm_course, EX01, "--max-runs", "2")
    watch.wait_for(WATCHING)
    solve(warm_course, EX01, "policy.py")
    output = watch.finish()
    assert "(Ctrl-C to stop)" in output
    assert "keys:" not in output
    assert "\033[" not in output


def test_without_a_name_it_follows_the_course_until_everything_passes(warm_course: Path) -> None:
    watch = Watch(warm_course)
    watch.wait_for(f"{WATCHING}{EX01}/")
    solve(warm_course, EX01, "policy.py")
    watch.wait_for(f"{WATCHING}{EX02}/")
    solve(warm_course, EX02, "answer.py")
    output = watch.finish()
    assert watch.codes == [0]
    assert "Every available exercise is done." in output


@pytest.mark.parametrize(
    "option",
    [
        ["--interval", "0"],
        ["--interval", "-1"],
        ["--interval", "nan"],
        ["--interval", "inf"],
        ["--timeout", "nan"],
        ["--timeout", "0"],
        ["--duration", "-5"],
        ["--max-runs", "0"],
        ["--timeout", "1e10"],
        ["--interval", "1e8"],
        ["--duration", "1e400"],
    ],
    ids=" ".join,
)
def test_a_bad_number_is_a_usage_error_not_a_traceback(
    warm_course: Path, option: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(warm_course, "watch", EX01, *option).code == 2
    err = capsys.readouterr().err
    assert "usage: aggregates-course watch" in err
    assert "Traceback" not in err


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


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGTERM, which is POSIX")
def test_sigterm_mid_run_stops_the_run_and_removes_its_temporary_folder(
    warm_course: Path, tmp_path: Path
) -> None:
    hang(warm_course)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    watcher = subprocess.Popen(
        [sys.executable, "-m", "aggregates_course", "watch", EX02],
        cwd=warm_course,
        env={**os.environ, "TMPDIR": str(scratch)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_a_test_runs(scratch, watcher)
        os.kill(watcher.pid, signal.SIGTERM)
        out, err = watcher.communicate(timeout=HANG_GUARD)
    finally:
        watcher.kill()
    assert watcher.returncode == 0, err
    assert "Stopped watching." in out
    assert "Traceback" not in err
    assert list(scratch.iterdir()) == []
    assert processes_working_in(warm_course) == []


def wait_until_a_test_runs(scratch: Path, process: subprocess.Popen[Any]) -> None:
    """Return once ``process`` runs a test: its run's progress file in ``scratch`` exists."""
    while not any(scratch.glob("aggregates-course-*/report.json.progress")):
        assert process.poll() is None, "the process ended before its test run started"
        time.sleep(0.01)  # not a guess at timing: only to leave the CPU to the watcher


def hang(course: Path) -> None:
    """Make exercise 2's answer loop forever, as a learner's bug might."""
    (course / "exercises" / EX02 / "answer.py").write_text(
        "def double(number: int) -> int:\n    while True: pass\n", encoding="utf-8"
    )


def processes_working_in(folder: Path) -> list[int]:
    """Processes whose working directory is ``folder`` (Linux; elsewhere nothing is known)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if Path(os.readlink(entry / "cwd")).resolve() == folder.resolve():
                found.append(int(entry.name))
    return found


class TerminalWatch:
    """``watch`` started in a pseudo-terminal, as a learner's shell starts it; keys are typed."""

    def __init__(self, course: Path) -> None:
        import pty
        import termios

        self.master, terminal = pty.openpty()
        self.settings_before = termios.tcgetattr(terminal)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aggregates_course", "watch", EX01],
            cwd=course,
            env={**os.environ, "NO_COLOR": "1", "TERM": "xterm"},
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
        )
        os.close(terminal)
        self.seen = ""

    def wait_for(self, marker: str) -> str:
        """Everything shown since the last marker, up to and including ``marker``."""
        while marker not in self.seen:
            ready, _, _ = select.select([self.master], [], [], HANG_GUARD)
            assert ready, f"no {marker!r} on the terminal; it shows:\n{self.seen}"
            self.seen += os.read(self.master, 65536).decode("utf-8", errors="replace")
        shown, self.seen = self.seen.split(marker, 1)
        return shown + marker

    def press(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> int:
        """Wait for the watch to end; the terminal stays open for inspection until teardown."""
        try:
            return self.process.wait(timeout=HANG_GUARD)
        finally:
            self.process.kill()


@pytest.fixture
def terminal_watch(warm_course: Path) -> Iterator[TerminalWatch]:
    if sys.platform == "win32":
        pytest.skip("pseudo-terminals are POSIX; on Windows watch takes no keys")
    watch = TerminalWatch(warm_course)
    watch.wait_for("keys: h hint, c check now, l list, r reset, q quit")
    yield watch
    watch.press("q")
    watch.close()
    os.close(watch.master)


KEYS_LINE = "keys: h hint"


def test_on_a_terminal_h_shows_the_next_hint(terminal_watch: TerminalWatch) -> None:
    terminal_watch.press("h")
    first = terminal_watch.wait_for(KEYS_LINE)
    assert f"Hint 1 of 3 (nudge) for {EX01}" in first
    assert "Press h again for the pointer." in first  # watch's own key, not a command to rerun
    terminal_watch.press("h")
    assert f"Hint 2 of 3 (pointer) for {EX01}" in terminal_watch.wait_for(KEYS_LINE)


def test_on_a_terminal_l_lists_the_exercises(terminal_watch: TerminalWatch) -> None:
    terminal_watch.press("l")
    assert "0 of 3 exercises done" in terminal_watch.wait_for(KEYS_LINE)


def test_on_a_terminal_c_checks_again(terminal_watch: TerminalWatch) -> None:
    terminal_watch.press("c")
    assert "FAIL test_an_added_rule_becomes_active_and_indexed" in terminal_watch.wait_for(
        KEYS_LINE
    )


def test_on_a_terminal_r_asks_first_and_n_changes_nothing(
    terminal_watch: TerminalWatch, warm_course: Path
) -> None:
    policy = warm_course / "exercises" / EX01 / "policy.py"
    mine = policy.read_text(encoding="utf-8").replace("raise NotImplementedError", "pass # mine")
    policy.write_text(mine, encoding="utf-8")
    terminal_watch.wait_for(KEYS_LINE)  # the save was checked
    terminal_watch.press("r")
    terminal_watch.wait_for("[y/N]")
    terminal_watch.press("n")
    assert "Nothing was changed." in terminal_watch.wait_for(KEYS_LINE)
    assert policy.read_text(encoding="utf-8") == mine


def test_on_a_terminal_r_then_y_resets_after_a_backup(
    terminal_watch: TerminalWatch, warm_course: Path
) -> None:
    policy = warm_course / "exercises" / EX01 / "policy.py"
    stub = policy.read_text(encoding="utf-8")
    policy.write_text(stub.replace("raise NotImplementedError", "pass # mine"), encoding="utf-8")
    terminal_watch.wait_for(KEYS_LINE)
    terminal_watch.press("r")
    terminal_watch.wait_for("[y/N]")
    terminal_watch.press("y")
    shown = terminal_watch.wait_for(KEYS_LINE)
    assert f"Your version of exercises/{EX01}/policy.py is saved in" in shown
    assert policy.read_text(encoding="utf-8") == stub
    (backup,) = (warm_course / ".aggregates-course" / "backups").rglob("policy.py")
    assert "pass # mine" in backup.read_text(encoding="utf-8")


def test_on_a_terminal_q_quits_and_gives_the_terminal_back_as_it_was(warm_course: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("pseudo-terminals are POSIX")
    import termios

    watch = TerminalWatch(warm_course)
    try:
        watch.wait_for(KEYS_LINE)
        while_watching = termios.tcgetattr(watch.master)
        watch.press("q")
        assert "Stopped watching." in watch.wait_for("Stopped watching.")
        assert watch.close() == 0
        local_modes = 3
        assert while_watching[local_modes] & termios.ICANON == 0  # keys came one at a time
        assert termios.tcgetattr(watch.master) == watch.settings_before
    finally:
        os.close(watch.master)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")
def test_folder_events_wake_the_watcher_on_a_save_and_only_then(tmp_path: Path) -> None:
    events = FolderEvents.open(tmp_path)
    assert events is not None
    try:
        assert select.select([events], [], [], 0)[0] == []
        (tmp_path / "policy.py").write_text("x = 1\n", encoding="utf-8")
        assert select.select([events], [], [], HANG_GUARD)[0] == [events]
        events.drain()
        assert select.select([events], [], [], 0)[0] == []
    finally:
        events.close()


def test_a_terminal_that_goes_away_ends_the_watch(warm_course: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("pseudo-terminals are POSIX")
    watch = TerminalWatch(warm_course)
    watch.wait_for(KEYS_LINE)
    os.close(watch.master)  # the window is closed: reading a key now fails
    assert watch.process.wait(timeout=HANG_GUARD) == 0


def test_a_file_replaced_while_it_is_hashed_does_not_end_the_watch(
    warm_course: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An editor that saves by replacing the file removes it between listing and reading.
    exercise = load_catalog(warm_course)[1]
    answer = exercise.folder / "answer.py"
    before = exercise.fingerprint()
    listed = exercise.course_files()
    answer.unlink()
    monkeypatch.setattr(Exercise, "course_files", lambda self: listed)
    during = exercise.fingerprint()
    assert during != before
    answer.mkdir()  # or, as briefly, a folder stands there
    assert exercise.fingerprint() not in (before, during)
