"""``status`` and ``check``: what the learner's tests say, in words a learner can act on.

``status`` lists every exercise as done, pending or missing, then names the
next step. ``check`` runs one exercise's tests and shows the first failing
test (the broken invariant, Hypothesis' minimal steps, the line that
raised), or the problem that kept the tests from judging the code (a syntax
error, a time limit), or says done and what comes next.
"""

from __future__ import annotations

import functools
import textwrap

from aggregates_course.course.app import PROG, App
from aggregates_course.course.catalog import Exercise
from aggregates_course.course.console import Progress
from aggregates_course.course.guidance import restore_advice
from aggregates_course.course.outcomes import ExerciseRun, Problem
from aggregates_course.course.reading import source_line

MESSAGE_LINES = 30  # longer assertion explanations are cut; the first lines say what broke


def status(app: App) -> int:
    """Every exercise done, pending or missing; then the next step. Always exits 0."""
    out = app.out
    runs = app.runs(app.course.catalog)
    done = sum(run.status == "done" for run in runs)
    out.line(out.style(f"{PROG}: {done} of {len(runs)} exercises done", "bold"))
    out.line()
    width = max(len(exercise.title) for exercise in app.course.catalog)
    for number, (exercise, run) in enumerate(zip(app.course.catalog, runs, strict=True), start=1):
        # Pending is where every exercise starts, not a failure: no cross for it.
        mark, colour = {
            "done": (out.ok_mark, "green"),
            "pending": (out.bullet, "yellow"),
            "missing": (" ", "dim"),
        }[run.status]
        label = out.style(f"{mark} {run.status:<8}", colour)
        folder = f"exercises/{exercise.slug}"
        note = ""
        if run.status == "missing":
            note = f"  ({app.absence(exercise)[0]})"
        elif run.problem is not None:
            note = f"  ({run.problem.note})"
        out.line(f"  {label} {number:>2}. {exercise.title:<{width}}  {folder}{note}")
    out.line()
    by_exercise = dict(zip(app.course.catalog, runs, strict=True))
    pending = app.course.next_pending(by_exercise.__getitem__)
    if pending is None:
        app.all_done_line()
    else:
        app.describe_next(*pending)
    return 0


def check(app: App, name: str | None, *, verbose: bool = False) -> int:
    """Check the named exercise, or the :meth:`App.current` one; 0 when it passes, else 1."""
    exercise = app.named_or_current(name)
    if exercise is None:
        app.all_done_line()
        return 0
    return check_one(app, exercise, verbose=verbose)


def check_one(app: App, exercise: Exercise, *, verbose: bool = False) -> int:
    """Show the first failing test, a problem, or the done line; 0 only when all pass.

    ``verbose`` runs the tests afresh and shows pytest's own output first.
    """
    out = app.out
    header = f"Exercise {app.number(exercise)}: {exercise.title}  (exercises/{exercise.slug})"
    out.line(out.style(header, "bold"))
    if not exercise.available:
        out.line(f"{out.fail_mark} {app.absence(exercise)[1]}.")
        return 1
    with Progress(app.err.stream, f"running the tests of {exercise.slug} ..."):
        run = app.course.run(
            exercise, on_output=functools.partial(_show_pytest_output, app) if verbose else None
        )
    if run.status == "done":
        out.line(
            out.style(
                f"{out.ok_mark} done: all {len(run.tests)} tests of {exercise.slug} pass.",
                "green",
                "bold",
            )
        )
        app.next_step(after=exercise)
        return 0
    if run.problem is not None:
        _show_problem(app, run.problem, exercise)
    else:
        _show_failure(app, run)
    out.line()
    out.line(f"Fix it, save, and check again: {app.run} check {exercise.slug}")
    out.line(f"Stuck? {app.run} hint {exercise.slug}")
    return 1


def _show_pytest_output(app: App, output: str) -> None:
    """pytest's own report, as it printed it, set off from the CLI's summary."""
    app.out.line(app.out.style("pytest says:", "dim"))
    for line in output.rstrip().splitlines():
        app.out.line(line)
    app.out.line()


def _show_problem(app: App, problem: Problem, exercise: Exercise) -> None:
    """A file and line the learner can fix, instead of a wall of identical failures."""
    out = app.out
    if problem.kind == "missing":
        # The message is the whole story: which file, and what stands in its place.
        out.line(out.style(f"{out.fail_mark} {problem.message}", "red", "bold"))
        if "permission denied" in problem.message:
            out.line("  Make it readable for you again, then check again.")
        else:
            out.line(f"  Fix: {restore_advice(app.run, exercise)}.")
        return
    where = f"{problem.where}: " if problem.where else ""
    out.line(out.style(f"{out.fail_mark} {where}{problem.title}", "red", "bold"))
    if problem.source is not None and problem.where is not None:
        number = f"{problem.where.line}"
        out.line(f"    {number} | {problem.source}")
        if problem.offset:
            out.line(f"    {' ' * len(number)} | {' ' * (problem.offset - 1)}^")
    for line in _wrap(problem.message)[:MESSAGE_LINES]:
        out.line(f"  {line}")
    if problem.kind == "runner":
        out.line(f"  {app.run} doctor checks your setup.")


def _show_failure(app: App, run: ExerciseRun) -> None:
    """The first failing test: the broken invariant, Hypothesis' minimal steps, the line."""
    out = app.out
    failure = run.first_failure
    assert failure is not None  # a pending run without a problem has a failing test
    position = f"test {run.tests.index(failure) + 1} of {run.collected}, the first to fail"
    shown = f"{out.fail_mark} FAIL {failure.shown_name}"
    out.line(out.style(shown, "red", "bold") + f"  ({position})")
    out.line()
    lines = _wrap(failure.message or "(no message)")
    for line in lines[:MESSAGE_LINES]:
        out.line(f"  {line}")
    if len(lines) > MESSAGE_LINES:
        out.line(f"  ... ({len(lines) - MESSAGE_LINES} more lines)")
    if failure.steps:
        out.line()
        out.line(out.style("  Minimal steps that break it (Hypothesis' falsifying example):"))
        for line in failure.steps.splitlines():
            out.line(f"    {line}")
    out.line()
    if failure.where is not None:
        out.line(f"  raised at  {failure.where}")
        source = source_line(app.course.root / failure.where.file, failure.where.line)
        if source:
            out.line(out.style(f"             > {source}", "dim"))
    out.line(f"  test       {failure.file}, line {failure.line}")


def _wrap(message: str, width: int = 96) -> list[str]:
    """Long lines folded for a terminal; short lines (and their indentation) kept as they are."""
    lines: list[str] = []
    for line in message.splitlines():
        lines.extend(textwrap.wrap(line, width, subsequent_indent="  ") or [""])
    return lines
