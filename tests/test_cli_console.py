"""Terminal output: decorated on a terminal, plain when piped or when NO_COLOR is set."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from aggregates_course.course.console import Console, Progress
from tests.test_cli_support import EX01, run_cli, warm_course

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
