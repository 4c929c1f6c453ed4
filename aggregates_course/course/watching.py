"""What ``watch`` waits for: a saved file in the exercise folder, or a key press.

Saved files: on Linux the kernel says when a file in the folder was written,
moved or deleted (inotify, reached through :mod:`ctypes`, so no dependency);
elsewhere, and if inotify is unavailable, nothing wakes the watcher early
and it polls. Either way the decision is the caller's: it compares a
snapshot of the folder (modification times and sizes) after every wake-up,
so an event source that misses a change only costs latency, and a spurious
event (pytest writing ``__pycache__``) costs nothing.

Keys: on a POSIX terminal, :class:`Keys` puts it in cbreak mode (one key at a
time, no Enter; Ctrl-C still interrupts) and restores it on exit. Without a
terminal, or without :mod:`termios` (Windows), there are no keys and
``watch`` prints lines as any pipe expects.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import sys
import time
from pathlib import Path
from typing import Any, TextIO

# inotify(7): the changes that end a save. IN_MODIFY is left out on purpose: it fires
# while an editor is still writing, and IN_CLOSE_WRITE follows when it is done.
_IN_ATTRIB = 0x004
_IN_CLOSE_WRITE = 0x008
_IN_MOVED_FROM = 0x040
_IN_MOVED_TO = 0x080
_IN_DELETE = 0x200
_IN_DELETE_SELF = 0x400
_IN_MOVE_SELF = 0x800
_SAVE_EVENTS = (
    _IN_ATTRIB
    | _IN_CLOSE_WRITE
    | _IN_MOVED_FROM
    | _IN_MOVED_TO
    | _IN_DELETE
    | _IN_DELETE_SELF
    | _IN_MOVE_SELF
)
_IN_NONBLOCK = 0o4000  # O_NONBLOCK on Linux (os.O_NONBLOCK does not exist on Windows)
_IN_CLOEXEC = 0o2000000  # O_CLOEXEC on Linux, the only kernel with inotify


class FolderEvents:
    """A descriptor that becomes readable when a file in one folder (not below) changes."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def fileno(self) -> int:
        """For :func:`select.select`."""
        return self._fd

    def drain(self) -> None:
        """Discard the pending events: the caller looks at the folder itself."""
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while os.read(self._fd, 65536):
                pass

    def close(self) -> None:
        """Stop watching; safe to call more than once."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    @classmethod
    def open(cls, folder: Path) -> FolderEvents | None:
        """Watch ``folder`` with inotify; ``None`` where inotify is not available."""
        if not sys.platform.startswith("linux"):
            return None
        try:
            # The running interpreter already has the C library loaded; no search needed.
            libc: Any = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        except (OSError, AttributeError):
            return None
        if fd < 0:
            return None  # e.g. the per-user limit on inotify instances is reached
        if libc.inotify_add_watch(fd, os.fsencode(folder), _SAVE_EVENTS) < 0:
            os.close(fd)
            return None
        return cls(fd)


class Keys:
    """Single key presses from a POSIX terminal, while the context is entered."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._saved: list[Any] | None = None

    @classmethod
    def open(cls, stream: TextIO | None) -> Keys | None:
        """Keys from ``stream`` if it is a terminal this platform can put in cbreak mode."""
        try:
            import termios  # noqa: F401 - only probing that the platform has it
        except ImportError:
            return None
        try:
            if stream is None or not stream.isatty():
                return None
            return cls(stream.fileno())
        except (AttributeError, ValueError, OSError):
            return None

    def fileno(self) -> int:
        """For :func:`select.select`."""
        return self._fd

    def read(self) -> str:
        """The keys pressed so far, lower-cased; escape sequences (arrows) are dropped.

        Raises EOFError once the terminal has gone (a closed window, a dropped
        connection), so that a watcher stops instead of spinning on it.
        """
        try:
            data = os.read(self._fd, 64)
        except (BlockingIOError, InterruptedError):
            return ""
        except OSError as error:  # EIO: the terminal hung up
            raise EOFError(str(error)) from error
        if not data:
            raise EOFError("the terminal closed")
        text = data.decode("utf-8", errors="ignore")
        return "" if text.startswith("\x1b") else text.lower()

    def read_key(self) -> str:
        """Wait for one key press and return it, lower-cased."""
        while not (text := self.read()):
            pass  # an escape sequence (an arrow key) is not an answer; wait for the next key
        return text[0]

    def __enter__(self) -> Keys:
        import termios
        import tty

        self._saved = termios.tcgetattr(self._fd)
        tty.setcbreak(self._fd)
        return self

    def __exit__(self, *_: object) -> None:
        import termios

        if self._saved is not None:
            # A terminal that has gone away needs no settings back.
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)


def wait(sources: list[FolderEvents | Keys], timeout: float) -> list[FolderEvents | Keys]:
    """The sources that became ready within ``timeout`` seconds (none: it timed out)."""
    if not sources:
        time.sleep(timeout)  # nothing to wait on but the clock: this is the polling tick
        return []
    ready, _, _ = select.select(sources, [], [], timeout)
    return ready
