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
On a file system that has no locks at all (some network and FUSE mounts) the
block runs unlocked, as the CLI did before it had a lock: still working, with
the old last-writer-wins risk, rather than never saving.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from pathlib import Path

if sys.platform == "win32":
    import msvcrt

    def _acquire(handle: int) -> None:
        # LK_LOCK gives up after about ten seconds; a writer holds the lock for milliseconds,
        # so a longer wait means a slow disk, not a dead holder: keep waiting.
        while True:
            try:
                msvcrt.locking(handle, msvcrt.LK_LOCK, 1)
                return
            except OSError as error:
                if error.errno != errno.EDEADLOCK:  # what LK_LOCK says when it gives up
                    raise

    def _release(handle: int) -> None:
        os.lseek(handle, 0, os.SEEK_SET)
        msvcrt.locking(handle, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _acquire(handle: int) -> None:
        fcntl.flock(handle, fcntl.LOCK_EX)

    def _release(handle: int) -> None:
        fcntl.flock(handle, fcntl.LOCK_UN)


#: What a file system without locks answers; anything else is a real failure.
NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS}


class StateLock:
    """An exclusive lock on ``path`` (created if missing), held for a ``with`` block.

    Entering blocks until no other holder, in this process or another, has it.
    Raises OSError if the lock file cannot be created (a read-only folder, a
    file where the folder should be); nothing is held then. ``held`` is False
    inside the block only where the file system has no locks.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.held = False
        self._handle: int | None = None

    def __enter__(self) -> StateLock:
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
        try:
            _acquire(handle)
        except OSError as error:
            os.close(handle)
            if error.errno not in NO_LOCKS:
                raise
            return self
        except BaseException:
            os.close(handle)
            raise
        self._handle, self.held = handle, True
        return self

    def __exit__(self, *_: object) -> None:
        handle, self._handle, self.held = self._handle, None, False
        if handle is None:
            return
        try:
            with contextlib.suppress(OSError):  # closing the handle releases it anyway
                _release(handle)
        finally:
            os.close(handle)
