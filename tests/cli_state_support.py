"""Helpers for the tests of the CLI's state under damage, sharing and permissions (no tests here).

File permissions only stop a process that may not override them: root reads
a mode-000 file as if nothing were wrong. So that a mode-000 ``state.json``
or a read-only exercise folder is tested for real where the suite runs as
root (CI, a container), :func:`run_as_learner` runs the CLI in a forked child
that first gives up the capabilities that let root ignore permission bits
(``CAP_DAC_OVERRIDE``, ``CAP_DAC_READ_SEARCH``, ``CAP_FOWNER``; Linux's
``capset``), then calls the same in-process entry point as every other CLI
test. It stays uid 0, the owner of the files, so the kernel applies their
owner bits to it exactly as to a learner on their own checkout, while the
Python installation stays readable. Run as an ordinary user, the child just
runs. Where neither applies (Windows, root elsewhere than Linux) those tests skip.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import sys
from collections.abc import Iterator
from multiprocessing.connection import Connection
from multiprocessing.context import ForkContext, SpawnContext
from pathlib import Path

import pytest

from tests.test_cli_support import Outcome, run_cli

STATE = Path(".aggregates-course") / "state.json"
#: The capabilities that let root read, search and change files whatever their mode.
PERMISSION_OVERRIDES = (1, 2, 3)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
_CAPABILITY_VERSION_3 = 0x20080522


def processes() -> ForkContext | SpawnContext:
    """A multiprocessing context that starts children quickly: fork where there is one.

    The children only call this project's functions, and the test process runs
    no threads of its own, so forking is safe; elsewhere ``spawn`` is the fallback.
    """
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def needs_posix_modes() -> None:
    """Skip where files have no POSIX mode bits to set and read back."""
    if sys.platform == "win32":
        pytest.skip("Windows has no POSIX permission bits")


def needs_permission_bits() -> None:
    """Skip where ``chmod`` cannot take read or write access away from the CLI under test."""
    needs_posix_modes()
    if _is_root() and sys.platform != "linux":
        pytest.skip("root ignores permission bits, and only Linux lets it give that up here")


class _CapabilityHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapabilitySets(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _give_up_permission_overrides() -> None:
    """Drop, for this process only, root's power to ignore file permission bits."""
    libc = ctypes.CDLL(None, use_errno=True)
    header = _CapabilityHeader(_CAPABILITY_VERSION_3, 0)
    sets = (_CapabilitySets * 2)()  # capabilities 0-31, then 32-63
    if libc.capget(ctypes.byref(header), sets) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    keep = ~sum(1 << capability for capability in PERMISSION_OVERRIDES) & 0xFFFFFFFF
    for name in ("effective", "permitted", "inheritable"):
        setattr(sets[0], name, getattr(sets[0], name) & keep)
    if libc.capset(ctypes.byref(header), sets) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def _as_learner(send: Connection, root: Path, argv: tuple[str, ...]) -> None:
    if _is_root():
        _give_up_permission_overrides()
    send.send(run_cli(root, *argv))


def run_as_learner(root: Path, *argv: str) -> Outcome:
    """Run ``aggregates-course *argv`` on ``root`` in a process that permission bits do stop.

    An exception in the child, a traceback included, fails the calling test.
    """
    needs_permission_bits()
    context = processes()
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_as_learner, args=(send, root, argv))
    child.start()
    send.close()
    try:
        outcome: Outcome = receive.recv()
    except EOFError:
        child.join()
        pytest.fail(f"the CLI child process died (exit code {child.exitcode}); see its stderr")
    child.join()
    return outcome


def restoring_access(course: Path) -> Iterator[Path]:
    """Yield ``course``; afterwards give its owner full access everywhere again.

    For fixtures whose tests take permissions away: pytest must be able to
    remove the folder later, whoever runs the suite.
    """
    needs_permission_bits()
    try:
        yield course
    finally:
        _restore_access(course)


def _restore_access(path: Path) -> None:
    if path.is_symlink():
        return
    path.chmod(path.stat().st_mode | 0o700)
    if path.is_dir():
        for child in path.iterdir():
            _restore_access(child)


def one_line(text: str) -> str:
    """The only line of ``text``; fails the test if there are several (a traceback, say)."""
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    return lines[0]


def no_traceback(*texts: str) -> None:
    """Fail if any of ``texts`` carries a Python traceback."""
    for text in texts:
        assert "Traceback (most recent call last)" not in text, text


def keep_only(course: Path, *slugs: str) -> None:
    """Cut the course's catalog down to the exercises ``slugs``, in their order."""
    catalog = course / "exercises" / "exercises.toml"
    entries = catalog.read_text(encoding="utf-8").split("[[exercise]]")[1:]
    kept = [entry for entry in entries if any(f'slug = "{slug}"' in entry for slug in slugs)]
    assert len(kept) == len(slugs), f"not every one of {slugs} is in {catalog}"
    catalog.write_text("".join(f"[[exercise]]{entry}" for entry in kept), encoding="utf-8")
