"""``status`` and ``check``: the commands that say what the learner's tests found.

``status`` lists every exercise as done, pending or missing, then names the
next step. ``check`` runs one exercise's tests and shows the first failing
test, or the problem that kept the tests from judging the code, or says done
and what comes next; :mod:`~aggregates_course.course.render` words each of those.
"""

from __future__ import annotations

import functools

from aggregates_course.course.app import PROG, App
from aggregates_course.course.catalog import Exercise
from aggregates_course.course.console import Progress
from aggregates_course.course.guidance import restore_advice
from aggregates_course.course.render import show_failure, show_problem, show_pytest_output


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
            exercise, on_output=functools.partial(show_pytest_output, out) if verbose else None
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
        show_problem(out, run.problem, fix=restore_advice(app.run, exercise), run=app.run)
    else:
        show_failure(out, run, app.course.root)
    out.line()
    out.line(f"Fix it, save, and check again: {app.run} check {exercise.slug}")
    out.line(f"Stuck? {app.run} hint {exercise.slug}")
    return 1
