"""The file system, safely: atomic writes, sortable names, and why an operation failed.

One job, the file system: :func:`write_atomically` replaces a file so that a
reader sees the old content or the new, never a mix, and the file keeps its
permissions; :func:`trouble` turns an ``OSError`` into one line a learner can
act on: which path, what is wrong with it, what to do; :func:`timestamp`
names a file set aside (a backup, a damaged state file) so that it sorts.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


def timestamp() -> str:
    """A sortable UTC timestamp that is safe in file names on every platform."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` so a reader sees the old file or the new one, never a mix.

    The temporary file sits beside ``path``, on the same file system, so that
    ``os.replace`` is atomic on every platform; it is removed if anything fails.
    An existing file keeps its mode (a stub restored by ``reset`` stays as
    readable as it was); a new one gets the usual mode for new files (the
    umask applies), not the owner-only mode of a ``mkstemp`` file.
    Raises OSError, with the original file untouched, when it cannot be done.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        kept_mode: int | None = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        kept_mode = None
    temporary = path.with_name(f".{path.name}-{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    handle = os.open(temporary, flags, 0o666)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        if kept_mode is not None:
            os.chmod(temporary, kept_mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@dataclass(frozen=True)
class Trouble:
    """A file-system failure in plain words: ``what`` went wrong (naming the path), ``fix``."""

    what: str
    fix: str

    def __str__(self) -> str:
        return f"{self.what}; {self.fix}"


def trouble(error: OSError, path: Path | None = None) -> Trouble:
    """What ``error`` means for ``path`` (default: the path the error names), and what to do.

    ``path`` should be the file the caller was working on: an error from
    ``os.replace`` or a temporary file names a path the learner never heard of.
    """
    named = error.filename if path is None else path
    where = Path(os.fsdecode(named)) if isinstance(named, str | bytes | os.PathLike) else None
    shown = str(where) if where is not None else "a file"
    if isinstance(error, IsADirectoryError) and where is not None:
        return Trouble(f"{where} is a folder where a file belongs", "move that folder away")
    if isinstance(error, NotADirectoryError | FileExistsError) and where is not None:
        blocker = _file_in_the_way(where)
        if blocker is not None:
            return Trouble(
                f"{blocker} is a file where a folder belongs", "rename or remove that file"
            )
    if isinstance(error, PermissionError):
        return Trouble(
            f"permission denied for {shown}",
            "make it (and its folder) readable and writable for you",
        )
    if error.errno == errno.EROFS:
        return Trouble(f"{shown} is on a read-only file system", "work in a writable copy")
    if error.errno == errno.ENOSPC:
        return Trouble(f"no space left on the disk holding {shown}", "free some space")
    reason = error.strerror or str(error) or type(error).__name__
    return Trouble(f"{shown}: {reason}", "check that path and try again")


def what_stands_there(path: Path) -> str | None:
    """What stands where the file ``path`` belongs, if not a file: words to follow its name.

    ``None`` when ``path`` is a file (or a link to one). Otherwise ``"is
    missing"``, ``"is a folder where your file belongs"`` or ``"is a link to
    ..., which does not exist"``. Never raises: a path that cannot even be
    looked at is described as unreadable.
    """
    try:
        if path.is_file():
            return None
        if path.is_symlink():
            return f"is a link to {os.readlink(path)}, which does not exist"
        if path.is_dir():
            return "is a folder where your file belongs"
        if path.exists():
            return "is not a file (a device or a pipe?)"
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    return "is missing"


def _file_in_the_way(path: Path) -> Path | None:
    """The first of ``path`` and its parents (outermost first) that exists but is no folder."""
    for candidate in (*reversed(path.parents), path):
        try:
            if candidate.exists() and not candidate.is_dir():
                return candidate
        except OSError:
            return None
    return None
