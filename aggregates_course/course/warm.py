"""A warm pytest for ``watch``: imported once, forked for every check.

Most of a cold check is spent importing pytest, Hypothesis and the course's
testing helpers. ``watch`` therefore starts one long-lived server process
(``python -m aggregates_course.course.warm``) that imports them once, then
forks a fresh child for every run. The child imports the exercise's tests and
the learner's module anew (the server never imports them), runs pytest with
the results plugin, and exits; nothing it does reaches the next run. Where
the platform cannot fork, :func:`warm_launcher` gives ``None`` and the CLI
starts pytest cold (:func:`aggregates_course.course.launch.launch_cold`).

Protocol, one JSON object per line. The client sends ``{"arguments", "cwd",
"env", "kill_after", "output", "full_output"}``; the server answers
``{"killed": bool}`` as soon as the child has written its report (the
plugin closes the pipe named by ``AGGREGATES_COURSE_DONE_FD``), has died, or
has been killed ``kill_after`` seconds after it started. The child's
output goes to the file ``output``; the server's stdout carries replies
only. When its stdin closes, the server kills the run in progress and exits,
so a CLI that stops, however it stops, leaves no test run behind.

Invariant: the server never runs a test itself, so every run starts from the
same freshly imported state.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import importlib
import importlib.util
import inspect
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from aggregates_course.course.launch import (
    DONE_FD_ENV,
    KILL_GRACE_SECONDS,
    Launched,
    LaunchRequest,
    RunStopped,
    child_environment,
    launch_cold,
)

SERVER_MODULE = "aggregates_course.course.warm"
READY = "ready"
# What every run needs and no learner edits, besides what the course's conftest imports
# from outside the course (see _conftest_imports). The exercise's tests and the learner's
# modules are deliberately absent: each child imports them fresh.
PRELOAD = (
    "pytest",
    "_pytest.pytester",
    "hypothesis",
    "hypothesis.stateful",
    "aggregates_course.testing",
    "aggregates_course.course.pytest_results",
)


class _ClientGone(Exception):
    """The CLI closed the server's stdin: stop everything."""


class _Requests:
    """Lines from the server's stdin, read straight from the descriptor (select-friendly)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = b""

    def fill(self) -> bool:
        """Read what is there now; ``False`` at end of input."""
        chunk = os.read(self.fd, 65536)
        self._buffer += chunk
        return bool(chunk)

    def next(self) -> str | None:
        """The next request line, waiting for it; ``None`` once the client has gone."""
        while b"\n" not in self._buffer:
            if not self.fill():
                return None
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode("utf-8")


class _Server:
    """Forks one child per request and answers when its report is ready."""

    def __init__(
        self, replies: IO[str], requests: _Requests, pytest_main: Callable[..., Any]
    ) -> None:
        self.replies = replies
        self.requests = requests
        self.pytest_main = pytest_main
        self.children: list[int] = []

    def serve(self) -> None:
        try:
            while (line := self.requests.next()) is not None:
                killed = self.run(json.loads(line))
                self.replies.write(json.dumps({"killed": killed}) + "\n")
                self.replies.flush()
        except _ClientGone:
            pass
        finally:
            for pid in self.children:
                _kill(pid)

    def run(self, request: dict[str, Any]) -> bool:
        """One pytest run in a forked child; ``True`` if it had to be killed."""
        self._reap()
        done_read, done_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(done_read)
            self._child(request, done_write)
        os.close(done_write)
        self.children.append(pid)
        killed = False
        try:
            killed = self._wait(done_read, time.monotonic() + request["kill_after"])
        except _ClientGone:
            _kill(pid)
            raise
        finally:
            os.close(done_read)
        if killed:
            _kill(pid)
        elif request["full_output"]:
            os.waitpid(pid, 0)  # the output file is complete only once the child has exited
        else:
            return False  # it is still printing its summary; reaped before the next run
        self.children.remove(pid)
        return killed

    def _wait(self, done: int, deadline: float) -> bool:
        """Wait for the child's signal (or its death); ``True`` if the deadline came first."""
        while (remaining := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([done, self.requests.fd], [], [], remaining)
            if done in ready:
                return False
            if self.requests.fd in ready and not self.requests.fill():
                raise _ClientGone
        return True

    def _child(self, request: dict[str, Any], done: int) -> None:
        """Run pytest in this forked child and exit, skipping the server's own cleanup."""
        code = 70  # EX_SOFTWARE: the child broke before pytest could say anything
        try:
            os.close(self.replies.fileno())
            output = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(output, 1)
            os.dup2(output, 2)
            os.close(output)
            nothing = os.open(os.devnull, os.O_RDONLY)
            os.dup2(nothing, 0)
            os.close(nothing)
            os.chdir(request["cwd"])
            os.environ.update(request["env"])
            os.environ[DONE_FD_ENV] = str(done)
            code = int(self.pytest_main(request["arguments"]))
        except BaseException:
            traceback.print_exc()
        finally:
            with contextlib.suppress(BaseException):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)

    def _reap(self) -> None:
        """Collect children that finished after their report (their summary and exit)."""
        for pid in list(self.children):
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] == 0:
                    continue
            self.children.remove(pid)


def _kill(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _conftest_imports(course_root: Path) -> list[str]:
    """Modules the course's root conftest imports from installed packages (not the course's)."""
    try:
        tree = ast.parse((course_root / "conftest.py").read_bytes())
    except (OSError, SyntaxError, ValueError):
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    installed = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name.split(".")[0])
        except (ImportError, ValueError):
            continue
        origin = spec.origin if spec is not None else None
        if origin and not Path(origin).resolve().is_relative_to(course_root.resolve()):
            installed.append(name)
    return installed


def _index_modules_once() -> None:
    """Build, here and once, the indexes of imported modules that every child would build.

    Before its first example Hypothesis reads every imported module of the
    project for constants worth trying, and :func:`inspect.getmodule` (Sybil
    and Hypothesis call it) maps every module to its file. Done in the server,
    a child indexes only what it imports itself: the exercise's tests and the
    learner's code, exactly as a cold run would. Hypothesis' function is an
    internal, so this is an optimisation only: without it, children do the work.
    """
    inspect.getmodule(inspect.currentframe())  # a frame has no module name: files are indexed
    with contextlib.suppress(Exception):
        importlib.import_module("hypothesis.internal.conjecture.providers")._get_local_constants()


def serve() -> int:
    """The server's main: preload, say ready, then answer requests until stdin closes.

    It runs in the course root (the client starts it there), like a cold pytest.
    """
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything printed while importing must not be mistaken for a reply
    for name in (*PRELOAD, *_conftest_imports(Path.cwd())):
        # Whatever fails here fails again, with its proper report, in the child's pytest.
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    pytest_main = importlib.import_module("pytest").main
    _index_modules_once()
    # Everything imported so far is shared by every child. Frozen, the garbage collector
    # leaves it alone: children neither scan it nor touch (and so copy) its pages.
    gc.freeze()
    replies.write(READY + "\n")
    replies.flush()
    _Server(replies, _Requests(0), pytest_main).serve()
    return 0


class WarmLauncher:
    """A :class:`~aggregates_course.course.launch.Launcher` backed by the warm server.

    The server is started on first use and stopped by :meth:`close`. If it
    cannot start or stops answering, this run and every later one are started
    cold instead: slower, never wrong. Once closed it runs nothing more: a run
    still waiting in another thread then fails rather than start again cold.
    """

    def __init__(self, course_root: Path, *, grace: float = KILL_GRACE_SECONDS) -> None:
        self.course_root = course_root
        #: How long past a run's limit the server waits before it kills the run itself.
        self.grace = grace
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()  # one run at a time through the one server
        self._broken = False
        self._closed = False

    def __call__(self, launch: LaunchRequest) -> Launched:
        with self._lock:
            if self._closed:
                raise OSError("the warm test server was stopped")
            if launch.group is not None and launch.group.stopped:
                # The batch was interrupted while this run waited for the server.
                raise RunStopped("the runs were stopped")
            if not self._broken:
                output = launch.scratch / "pytest-output.txt"
                request = {
                    "arguments": list(launch.arguments),
                    "cwd": str(launch.cwd),
                    "env": dict(launch.env),
                    "kill_after": launch.limit + self.grace,
                    "output": str(output),
                    "full_output": launch.full_output,
                }
                try:
                    killed = self._ask(request)
                except (OSError, ValueError, KeyError):
                    if self._closed:
                        raise
                    self._broken = True
                    self._stop_server()
                except BaseException:
                    # Ctrl-C or SIGTERM mid-run: stop the run before its scratch folder goes.
                    self.close()
                    raise
                else:
                    text = output.read_text(encoding="utf-8", errors="replace")
                    return Launched(text, killed=killed)
        return launch_cold(launch)

    def _ask(self, request: dict[str, Any]) -> bool:
        process = self._started()
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
        reply = process.stdout.readline()
        if not reply:
            raise OSError("the warm test server stopped")
        return bool(json.loads(reply)["killed"])

    def _started(self) -> subprocess.Popen[str]:
        if self._process is None:
            self._process = subprocess.Popen(
                [sys.executable, "-m", SERVER_MODULE],
                cwd=self.course_root,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=child_environment({}),
                text=True,
                encoding="utf-8",
                # Its own session: Ctrl-C on the terminal reaches the CLI, which stops it.
                start_new_session=True,
            )
            assert self._process.stdout is not None
            if self._process.stdout.readline().strip() != READY:
                raise OSError("the warm test server did not start")
        return self._process

    def close(self) -> None:
        """Stop the server (and a run in progress) for good; safe to call more than once."""
        self._closed = True
        self._stop_server()

    def _stop_server(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None
        assert process.stdout is not None
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            process.wait(timeout=KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()

    def __enter__(self) -> WarmLauncher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def warm_launcher(course_root: Path) -> WarmLauncher | None:
    """A warm launcher where the platform can fork (Linux, macOS); ``None`` elsewhere."""
    return WarmLauncher(course_root) if hasattr(os, "fork") else None


if __name__ == "__main__":
    raise SystemExit(serve())
