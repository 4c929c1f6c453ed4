"""Terminal output: colour and symbols on a terminal, plain text when piped or NO_COLOR is set.

Invariant: what is *said* never depends on the terminal; only decoration
does. Every line carries its meaning in words ("done", "pending", "FAIL"),
so piped output, logs and screen readers lose nothing.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import TextIO

_CODES = {"green": "32", "red": "31", "yellow": "33", "dim": "2", "bold": "1", "cyan": "36"}


def tolerant(stream: TextIO) -> TextIO:
    """``stream``, set to write a character its encoding lacks as an escape, never to fail.

    A Windows console or a file redirected under a legacy code page (cp1252),
    or ``PYTHONIOENCODING=ascii``, cannot encode every character a learner's
    test message may hold (a metric named 错误率, an accented comment): such a
    character is written as ``\\u9519`` instead of raising UnicodeEncodeError.
    A stream that cannot be reconfigured is returned as it is.
    """
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        # A closed or detached stream raises here; nothing is written to it anyway.
        with contextlib.suppress(ValueError, OSError):
            reconfigure(errors="backslashreplace")
    return stream


def _encodes(stream: TextIO, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Console:
    """Writes lines to ``stream``; styles them only when ``stream`` is a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = _is_tty(stream)
        self.color = self.tty and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
        fancy = self.tty and _encodes(stream, "✓✗•")
        self.ok_mark = "✓" if fancy else "+"
        self.fail_mark = "✗" if fancy else "x"
        self.bullet = "•" if fancy else "-"

    def encodes(self, text: str) -> bool:
        """Whether the stream's encoding can write ``text`` as it is, with no escapes."""
        return _encodes(self.stream, text)

    def style(self, text: str, *names: str) -> str:
        """``text`` wrapped in ANSI styles, or unchanged when colour is off."""
        if not self.color or not names:
            return text
        codes = ";".join(_CODES[name] for name in names)
        return f"\033[{codes}m{text}\033[0m"

    def line(self, text: str = "") -> None:
        """Print one line and flush, so a watcher's output appears as it happens."""
        self.stream.write(text + "\n")
        self.stream.flush()

    def clear(self) -> None:
        """Clear the screen on a terminal; elsewhere draw a separator instead."""
        if self.tty:
            self.stream.write("\033[2J\033[H")
            self.stream.flush()
        else:
            self.line("-" * 60)


class Progress:
    """A one-line "still running" indicator on stderr, shown only on a terminal.

    Use as a context manager around a long step; the line is erased at the end.
    """

    FRAMES = "|/-\\"

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.enabled = _is_tty(stream)
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Progress:
        if self.enabled:
            self._thread = threading.Thread(target=self._spin, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self.stream.write("\r\033[K")
            self.stream.flush()

    def _spin(self) -> None:
        started = time.monotonic()
        frame = 0
        # Event.wait doubles as the refresh tick and the stop signal.
        while not self._done.wait(0.1):
            elapsed = time.monotonic() - started
            spinner = self.FRAMES[frame % len(self.FRAMES)]
            self.stream.write(f"\r{spinner} {self.label} {elapsed:4.1f}s")
            self.stream.flush()
            frame += 1
