"""Helpers for the tests of the CLI's state under damage, sharing and permissions (no tests here).

File permissions only stop a process that is not root: root reads a mode-000
file as if nothing were wrong. So that a mode-000 ``state.json`` or a read-only
exercise folder is tested for real even where the suite runs as root (CI, a
container), :func:`run_as_learner` runs the CLI in a forked child process that
first gives up root for an unprivileged user id, then calls the same
in-process entry point as every other CLI test. Run as an ordinary user, the
child just runs. Windows has no permission bits of this kind; those tests skip.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest

from tests.test_cli_support import Outcome, run_cli

#: The conventional "nobody" user; any id without special rights would do.
UNPRIVILEGED = 65534
STATE = Path(".aggregates-course") / "state.json"


def processes() -> Any:
    """A multiprocessing context that starts children quickly: fork where there is one.

    The children only call this project's functions, and the test process runs
    no threads of its own, so forking is safe; elsewhere ``spawn`` is the fallback.
    """
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def needs_permission_bits() -> None:
    """Skip on platforms where ``chmod`` cannot take read or write access away."""
    if sys.platform == "win32":
        pytest.skip("Windows has no POSIX permission bits to take away")


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _as_learner(send: Connection, root: Path, argv: tuple[str, ...]) -> None:
    if _is_root():
        os.setgroups([])
        os.setgid(UNPRIVILEGED)
        os.setuid(UNPRIVILEGED)
    send.send(run_cli(root, *argv))


def run_as_learner(root: Path, *argv: str) -> Outcome:
    """Run ``aggregates-course *argv`` on ``root`` as a user whom permission bits do stop.

    ``root`` must be a :func:`learner_course` (owned by that user). An
    exception in the child, a traceback included, fails the calling test.
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


def hand_over(course: Path) -> None:
    """Make ``course`` (and everything in it) belong to the user :func:`run_as_learner` runs as."""
    if not _is_root():
        return
    os.chown(course, UNPRIVILEGED, UNPRIVILEGED)
    for folder, names, files in os.walk(course):
        for name in names + files:
            os.chown(os.path.join(folder, name), UNPRIVILEGED, UNPRIVILEGED, follow_symlinks=False)


def learner_course(template: Path) -> Iterator[Path]:
    """A copy of ``template`` that :func:`run_as_learner` can use, removed afterwards.

    pytest's own temporary folders are private to the user running the
    suite, so the copy lives in a folder of its own that anyone may enter.
    """
    needs_permission_bits()
    home = Path(tempfile.mkdtemp(prefix="aggregates-course-learner-"))
    home.chmod(0o755)
    course = home / "course"
    shutil.copytree(template, course)
    hand_over(course)
    try:
        yield course
    finally:
        _restore_access(home)
        shutil.rmtree(home, ignore_errors=True)


def _restore_access(path: Path) -> None:
    """Give the owner back read, write and search access everywhere, so the copy can be removed."""
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
