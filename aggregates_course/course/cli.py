"""The ``aggregates-course`` command line: the learner's loop around the exercises.

``aggregates-course`` alone (or ``status``) shows the course status and the
next step; ``check`` checks the exercise being worked on and shows its first
failing test, or says done; ``watch`` re-checks on every save and takes
single keys on a terminal; ``hint``, ``reset``, ``solution``,
``results --json``, ``doctor`` and ``demo`` do what their ``--help`` says.
Exit codes: 0 success (or an exercise passes), 1 a failing check or a
problem found, 2 a usage error. All state lives in ``.aggregates-course/``
in the course checkout. Every command it suggests is spelled the way the
learner started it (:class:`~aggregates_course.course.app.Invocation`).

This module is the parser, :func:`main` (the ``aggregates-course`` entry
point) and the dispatch to the commands, which live in modules of their
own (see :mod:`aggregates_course.course.app`).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from aggregates_course.course import checking, guidance, results, watch
from aggregates_course.course.app import PROG, App, Invocation, UsageError
from aggregates_course.course.catalog import CatalogError, CourseNotFound
from aggregates_course.course.checkout import Course
from aggregates_course.course.console import Console, tolerant
from aggregates_course.course.demo import run_demo
from aggregates_course.course.doctor import doctor
from aggregates_course.course.files import trouble
from aggregates_course.course.launch import DEFAULT_TIME_LIMIT
from aggregates_course.course.state import StateError
from aggregates_course.course.watch import WATCH_INTERVAL

RUN = f"uv run {PROG}"  # how the README and the docs spell the command


#: The longest time limit, poll interval or watch duration: a day. A longer one is a slip,
#: and past this the platform's clocks and timers may overflow.
MAX_SECONDS = 86_400.0


def _seconds(text: str) -> float:
    """A number of seconds above 0 and at most :data:`MAX_SECONDS`, or an argparse usage error."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds above 0")
    if value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text!r}: give at most {MAX_SECONDS:g} seconds (a day)")
    return value


def _count(text: str) -> int:
    """A whole number above 0, or an argparse usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number above 0")
    return value


def _parser_for(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    examples: str,
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=summary,
        description=summary[0].upper() + summary[1:] + ".",
        epilog=examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options ``check`` and ``watch`` share: verbosity and the time limit."""
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also show pytest's own, full output"
    )
    _add_time_limit(parser)


def _add_time_limit(parser: argparse.ArgumentParser) -> None:
    """``--timeout``: how long one exercise's test run may take (every command that runs them)."""
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIME_LIMIT,
        metavar="SECONDS",
        help=f"stop a test run after this long (default: {DEFAULT_TIME_LIMIT:g})",
    )


def build_parser(run: str = RUN) -> argparse.ArgumentParser:
    """The argument parser, with one subcommand per job; with no command it shows the status.

    ``run`` is how the examples spell the command (:attr:`Invocation.cli`).
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "A hands-on course on aggregates and consistency boundaries.\n"
            "With no command: which exercises are done, and what to do next."
        ),
        epilog=(
            "examples (the learner loop):\n"
            f"  {run}            # status and the next exercise\n"
            f"  {run} check      # the exercise you are on: its first failing test, or done\n"
            f"  {run} watch      # re-check on every save\n"
            f"  {run} hint       # one hint tier at a time"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    status = _parser_for(
        commands,
        "status",
        "which exercises are done, and what to do next (the same as no command)",
        f"examples:\n  {run} status\n"
        f"  {run} status --timeout 5   # give up on a hanging test sooner",
    )
    _add_time_limit(status)
    check = _parser_for(
        commands,
        "check",
        "run an exercise's tests: its first failing test, or done and what is next",
        f"examples:\n  {run} check          # the exercise you are working on\n"
        f"  {run} check ex01     # by number, prefix or full name\n"
        f"  {run} check -v       # with pytest's own output too",
    )
    check.add_argument(
        "exercise", nargs="?", help="default: the first exercise not yet done when you run it"
    )
    _add_run_options(check)
    watch = _parser_for(
        commands,
        "watch",
        "check again whenever a file of the exercise is saved (q or Ctrl-C stops)",
        f"example:\n  {run} watch\n\n"
        "On a terminal it takes single keys: h the next hint, c check now, l the list\n"
        "of exercises, r reset the exercise (after asking; your file is backed up),\n"
        "q quit. Saves are noticed at once on Linux and by polling elsewhere.",
    )
    watch.add_argument(
        "exercise", nargs="?", help="default: the exercise you are working on, then the next"
    )
    _add_run_options(watch)
    watch.add_argument(
        "--interval",
        type=_seconds,
        default=WATCH_INTERVAL,
        metavar="SECONDS",
        help=f"seconds between polls for saved files (default: {WATCH_INTERVAL:g})",
    )
    watch.add_argument("--max-runs", type=_count, default=None, help="stop after this many checks")
    watch.add_argument(
        "--duration",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="stop watching after this long (default: until q or Ctrl-C)",
    )
    hint = _parser_for(
        commands,
        "hint",
        "show the next hint for an exercise: nudge, then pointer, then worked step",
        f"examples:\n  {run} hint        # the exercise you are working on\n  {run} hint ex01",
    )
    hint.add_argument(
        "exercise", nargs="?", help="default: the first exercise not yet done when you run it"
    )
    reset = _parser_for(
        commands,
        "reset",
        "restore an exercise's original stub, backing up your version first",
        f"examples:\n  {run} reset ex01\n  {run} reset --all --yes",
    )
    reset.add_argument("exercise", nargs="?", help="the exercise to restore")
    reset.add_argument("--all", action="store_true", help="restore every exercise")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    solution = _parser_for(
        commands,
        "solution",
        "show how the solution differs from the stub (once the exercise is done)",
        f"examples:\n  {run} solution ex01\n  {run} solution ex01 --give-up",
    )
    solution.add_argument("exercise", help="the exercise whose solution to show")
    solution.add_argument(
        "--give-up", action="store_true", help="show it even though the exercise is pending"
    )
    results = _parser_for(
        commands,
        "results",
        "every exercise's test results, per test, for scripts and dashboards",
        f"example:\n  {run} results --json > results.json\n\n"
        "The JSON shape is documented in aggregates_course/course/results.py.",
    )
    results.add_argument("--json", action="store_true", help="print the results as JSON")
    _add_time_limit(results)
    _parser_for(
        commands,
        "doctor",
        "check Python, pytest, Hypothesis and the exercise files; say what to fix",
        f"example:\n  {run} doctor",
    )
    _parser_for(
        commands,
        "demo",
        "walk through the reference MonitoringPolicy, step by step",
        f"example:\n  {run} demo",
    )
    return parser


def subcommand_parser(parser: argparse.ArgumentParser, name: str | None) -> argparse.ArgumentParser:
    """The parser of subcommand ``name``; the main parser for no command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            chosen: argparse.ArgumentParser = action.choices[name]
            return chosen
    return parser


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM stops the CLI the way Ctrl-C does: temporary folders are removed.

    Signal handlers can only be set from the main thread; elsewhere (tests run
    the CLI in threads) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    root: Path | None = None,
) -> int:
    """Run the CLI and return its exit code.

    ``stdout``/``stderr`` default to the process streams; ``root`` to the
    course found at or above the working directory (tests pass both).
    """
    if stdout is None:
        tolerant(sys.stdout)
    if stderr is None:
        tolerant(sys.stderr)
    invocation = Invocation.detect(sys.argv[0], os.environ)
    parser = build_parser(invocation.cli)
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # e.g. `check ex01 ex02`: the subcommand's own usage says what it takes
            subcommand_parser(parser, args.command).error(
                f"unrecognized arguments: {' '.join(extra)}"
            )
    except SystemExit as exit_:  # --help, or argparse's own usage error
        return exit_.code if isinstance(exit_.code, int) else 2
    out = Console(tolerant(stdout if stdout is not None else sys.stdout))
    err = Console(tolerant(stderr if stderr is not None else sys.stderr))
    try:
        with _terminate_as_interrupt():
            return _dispatch(args, out, err, root, invocation)
    except UsageError as error:
        err.stream.write(subcommand_parser(parser, args.command).format_usage())
        err.line(f"{PROG}: {error}")
        return 2
    except CatalogError as error:
        # Outside a course, the command was typed in the wrong place (a usage error); a
        # damaged catalog is a problem found.
        err.line(f"{PROG}: {error}")
        return 2 if isinstance(error, CourseNotFound) else 1
    except KeyboardInterrupt:
        # Ctrl-C mid-run: say so in one line; the state file is only ever replaced whole.
        err.line(f"{PROG}: interrupted")
        return 130
    except BrokenPipeError:
        # Piped into `head`, which stopped reading: the output is cut short, but no traceback.
        if stdout is None:
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as error:
        # A file or folder the command needed is unreadable, read-only or in the wrong place.
        err.line(f"{PROG}: {trouble(error)}")
        return 1


#: The handler of each command that works on the learner's course (no command: ``status``).
#: ``demo`` and ``doctor`` run before the course is opened (see :func:`_dispatch`).
HANDLERS: dict[str | None, Callable[[App, argparse.Namespace], int]] = {
    None: lambda app, args: checking.status(app),
    "status": lambda app, args: checking.status(app),
    "check": lambda app, args: checking.check(app, args.exercise, verbose=args.verbose),
    "watch": lambda app, args: watch.watch(
        app, args.exercise, args.interval, args.max_runs, args.duration, verbose=args.verbose
    ),
    "hint": lambda app, args: guidance.hint(app, args.exercise),
    "reset": lambda app, args: guidance.reset(app, args.exercise, args.all, args.yes),
    "solution": lambda app, args: guidance.solution(app, args.exercise, args.give_up),
    "results": lambda app, args: results.results(app, args.json),
}


def _dispatch(
    args: argparse.Namespace,
    out: Console,
    err: Console,
    root: Path | None,
    invocation: Invocation,
) -> int:
    """Run the command ``args`` names; the course and its state are opened for all but two."""
    if args.command == "demo":
        run_demo(out.line)
        return 0
    if args.command == "doctor":
        return doctor(out, root, invocation.cli)
    try:
        course = Course.open(root, warn=lambda text: err.line(f"{PROG}: {text}"))
    except StateError as error:
        err.line(f"{PROG}: {error}")
        return 1
    course.time_limit = getattr(args, "timeout", DEFAULT_TIME_LIMIT)
    return HANDLERS[args.command](App(course, out, err, invocation), args)
