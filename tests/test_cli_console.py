"""Terminal output: decorated on a terminal, plain when piped or when NO_COLOR is set."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from aggregates_course.course.cli import main
from aggregates_course.course.console import Console, Progress
from tests.test_cli_support import EX01, EX02, run_cli, warm_course

__all__ = ["warm_course"]  # a fixture, re-exported for pytest


class Terminal(io.StringIO):
    """A text stream that says it is a terminal and can encode the course's symbols."""

    encoding = "utf-8"

    def __init__(self) -> None:
        super().__init__()
        self.written = threading.Event()

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        count = super().write(text)
        self.written.set()
        return count


def test_a_terminal_gets_colour_and_symbols(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    console = Console(Terminal())
    assert console.style("done", "green") == "\033[32mdone\033[0m"
    assert console.ok_mark == "✓"


def test_no_color_keeps_the_symbols_but_drops_the_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    console = Console(Terminal())
    assert console.style("done", "green") == "done"


def test_piped_output_is_plain(warm_course: Path) -> None:
    result = run_cli(warm_course, "check", EX01)
    assert "\033[" not in result.out + result.err
    assert "x FAIL" in result.out


def test_the_progress_line_is_drawn_only_on_a_terminal() -> None:
    piped, terminal = io.StringIO(), Terminal()
    with Progress(piped, "running"):
        pass
    with Progress(terminal, "running"):
        assert terminal.written.wait(timeout=30)  # the spinner draws within 0.1 s
    assert piped.getvalue() == ""
    assert "running" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r\033[K")


METRIC = "错误率"  # the course's own example of a metric name no code page holds
RAISES_IN_CHINESE = (
    "def double(number: int) -> int:\n"
    "    # é: an accented comment on the line that raised\n"
    f"    raise ValueError('the {METRIC} metric is unknown')\n"
)


def cli_process(course: Path, encoding: str, *argv: str) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI as its own process, its output redirected under ``encoding`` (not a tty)."""
    return subprocess.run(
        [sys.executable, "-m", "aggregates_course", *argv],
        cwd=course,
        env={**os.environ, "PYTHONIOENCODING": encoding},
        capture_output=True,
        check=False,
    )


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_check_writes_a_character_its_output_cannot_encode_as_an_escape(
    warm_course: Path, encoding: str
) -> None:
    (warm_course / "exercises" / EX02 / "answer.py").write_text(RAISES_IN_CHINESE, "utf-8")
    finished = cli_process(warm_course, encoding, "check", EX02)
    out, err = finished.stdout.decode(encoding), finished.stderr.decode(encoding)
    assert finished.returncode == 1, err
    assert "Traceback" not in out + err
    assert "ValueError: the \\u9519\\u8bef\\u7387 metric is unknown" in out
    assert f"exercises/{EX02}/answer.py, line 3, in double" in out


def test_pytests_own_output_is_read_in_utf8_whatever_the_learners_encoding(
    warm_course: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on Windows under a legacy code page: pytest would write the metric as escapes.
    monkeypatch.setenv("PYTHONIOENCODING", "ascii")
    (warm_course / "exercises" / EX02 / "answer.py").write_text(RAISES_IN_CHINESE, "utf-8")
    result = run_cli(warm_course, "check", EX02, "--verbose")
    pytest_part = result.out.split("FAIL test_double_of_one_is_two")[0]
    assert f"ValueError: the {METRIC} metric is unknown" in pytest_part


def test_results_json_stays_valid_json_on_an_ascii_stream(warm_course: Path) -> None:
    (warm_course / "exercises" / EX02 / "answer.py").write_text(RAISES_IN_CHINESE, "utf-8")
    finished = cli_process(warm_course, "ascii", "results", "--json")
    assert finished.returncode == 0, finished.stderr.decode("ascii")
    document = json.loads(finished.stdout.decode("ascii"))
    messages = [test["message"] for test in document["exercises"][1]["tests"]]
    assert f"ValueError: the {METRIC} metric is unknown" in messages


def test_a_stream_handed_to_the_cli_gets_escapes_instead_of_an_error(warm_course: Path) -> None:
    (warm_course / "exercises" / EX02 / "answer.py").write_text(RAISES_IN_CHINESE, "utf-8")
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="cp1252")
    code = main(["check", EX02], stdout=stdout, stderr=io.StringIO(), root=warm_course)
    stdout.flush()
    assert code == 1
    assert b"the \\u9519\\u8bef\\u7387 metric" in raw.getvalue()
