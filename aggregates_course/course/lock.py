"""A lock file shared by every CLI process of one course: one state writer at a time.

``watch`` in one terminal and ``hint`` in another both read, change and write
``state.json``. Holding :class:`StateLock` around the whole read-modify-write
makes those steps one at a time, so neither writes back a stale copy over the
other's change.

The lock is the operating system's own: ``fcntl.flock`` on POSIX,
``msvcrt.locking`` on Windows, both standard library. The kernel releases it
when the holding process exits, however it exits, so a crashed ``watch`` never
leaves a stale lock behind, and the lock file itself is never deleted (deleting
a lock file while another process waits on it would let two writers in).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from types import TracebackType

if sys.platform == "win32":
    import msvcrt

    def _acquire(handle: int) -> None:
        # LK_LOCK gives up after about ten seconds; a writer holds the lock for milliseconds,
        # so a longer wait means a slow disk, not a dead holder: keep waiting.
        while True:
            try:
                msvcrt.locking(handle, msvcrt.LK_LOCK, 1)
                return
            except OSError:
                continue

    def _release(handle: int) -> None:
        os.lseek(handle, 0, os.SEEK_SET)
        msvcrt.locking(handle, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _acquire(handle: int) -> None:
        fcntl.flock(handle, fcntl.LOCK_EX)

    def _release(handle: int) -> None:
        fcntl.flock(handle, fcntl.LOCK_UN)


class StateLock:
    """An exclusive lock on ``path`` (created if missing), held for a ``with`` block.

    Entering blocks until no other holder, in this process or another, has it.
    Raises OSError if the lock file cannot be created (a read-only folder, a
    file where the folder should be); nothing is held then.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: int | None = None

    def __enter__(self) -> StateLock:
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
        try:
            _acquire(handle)
        except BaseException:
            os.close(handle)
            raise
        self._handle = handle
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            with contextlib.suppress(OSError):  # closing the handle releases it anyway
                _release(handle)
        finally:
            os.close(handle)
