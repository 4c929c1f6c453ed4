"""The renderer: what a run of an exercise's tests found, as the text a learner reads.

Each function writes to a :class:`~aggregates_course.course.console.Console`
and takes only the outcome and the words it needs (how the CLI is spelt, the
fix to suggest): the first failing test (:func:`show_failure`), the problem
that kept the tests from judging the code (:func:`show_problem`), pytest's
own output (:func:`show_pytest_output`), and how far a pending exercise is
(:func:`progress_words`). Wording that depends on the course's state (what
comes next, what is missing) stays with :class:`~aggregates_course.course.app.App`.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from aggregates_course.course.console import Console
from aggregates_course.course.outcomes import ExerciseRun, Problem
from aggregates_course.course.reading import source_line

MESSAGE_LINES = 30  # longer assertion explanations are cut; the first lines say what broke


def show_pytest_output(out: Console, output: str) -> None:
    """pytest's own report, as it printed it, set off from the CLI's summary."""
    out.line(out.style("pytest says:", "dim"))
    for line in output.rstrip().splitlines():
        out.line(line)
    out.line()


def show_problem(out: Console, problem: Problem, *, fix: str, run: str) -> None:
    """A file and line the learner can fix, instead of a wall of identical failures.

    ``fix`` is how to put a missing file back; ``run`` how the CLI is spelt.
    """
    if problem.kind == "missing":
        # The message is the whole story: which file, and what stands in its place.
        out.line(out.style(f"{out.fail_mark} {problem.message}", "red", "bold"))
        if "permission denied" in problem.message:
            out.line("  Make it readable for you again, then check again.")
        else:
            out.line(f"  Fix: {fix}.")
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
        out.line(f"  {run} doctor checks your setup.")


def show_failure(out: Console, run: ExerciseRun, course_root: Path) -> None:
    """The first failing test: the broken invariant, Hypothesis' minimal steps, the line."""
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
        source = source_line(course_root / failure.where.file, failure.where.line)
        if source:
            out.line(out.style(f"             > {source}", "dim"))
    out.line(f"  test       {failure.file}, line {failure.line}")


def progress_words(run: ExerciseRun) -> str:
    """How far a pending exercise is, in a few words."""
    if run.problem is not None:
        return run.problem.note
    failure = run.first_failure
    if failure is None:
        return "no test has failed"
    if run.complete:
        return f"{len(run.failures)} of {len(run.tests)} tests failing"
    return f"fails at test {run.tests.index(failure) + 1} of {run.collected}"


def _wrap(message: str, width: int = 96) -> list[str]:
    """Long lines folded for a terminal; short lines (and their indentation) kept as they are."""
    lines: list[str] = []
    for line in message.splitlines():
        lines.extend(textwrap.wrap(line, width, subsequent_indent="  ") or [""])
    return lines
