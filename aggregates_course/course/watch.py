"""``watch``: check, wait for a save or a key, check again, until told to stop.

Checks run in forks of a warm pytest where the platform allows
(:mod:`aggregates_course.course.warm`). What wakes the loop, a saved file or
a key press, comes from :mod:`aggregates_course.course.watching`; whether a
file really changed is decided here, by comparing snapshots of the folder,
so a missed or spurious event costs only latency. On a terminal single keys
steer it: ``h`` the next hint, ``c`` check now, ``l`` the status, ``r``
reset (after asking), ``q`` quit.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Literal

from aggregates_course.course.app import App
from aggregates_course.course.catalog import Exercise
from aggregates_course.course.checking import check_one, status
from aggregates_course.course.guidance import hint, reset
from aggregates_course.course.warm import warm_launcher
from aggregates_course.course.watching import FolderEvents, Keys, wait

WATCH_INTERVAL = 0.25  # seconds between polls; with file events it is only a safety net


def watch(
    app: App,
    name: str | None,
    interval: float,
    max_runs: int | None,
    duration: float | None,
    *,
    verbose: bool = False,
) -> int:
    """Check, then wait for a saved change (or a key) and check again, until told to stop.

    Without a name it follows the course: once the watched exercise passes,
    it watches the next pending one (and stops when none is left). Checks
    run in forks of a warm pytest where the platform allows.
    """
    exercise = app.named_or_current(name)
    if exercise is None:
        app.all_done_line()
        return 0
    deadline = None if duration is None else time.monotonic() + duration
    keys = Keys.open(sys.stdin) if app.out.tty else None
    warm = warm_launcher(app.course.root)
    runs = 0
    with contextlib.ExitStack() as cleanup:
        if warm is not None:
            cleanup.enter_context(warm)
            app.course.launch = warm
        if keys is not None:
            cleanup.enter_context(keys)
        try:
            while True:
                # Taken before each check, so a save made while the tests run counts.
                snapshot = _snapshot(exercise)
                app.out.clear()
                code = check_one(app, exercise, verbose=verbose)
                runs += 1
                if max_runs is not None and runs >= max_runs:
                    return code
                if code == 0 and name is None:
                    upcoming = app.first_pending()
                    if upcoming is None:
                        return 0
                    if upcoming != exercise:
                        exercise, snapshot = upcoming, _snapshot(upcoming)
                woken = _wait_for_change(app, exercise, snapshot, keys, interval, deadline)
                if woken == "quit":
                    app.out.line("Stopped watching.")
                    return 0
                if woken == "gone":
                    return 0  # nothing can be shown any more
                if woken == "time up":
                    app.out.line("Watch time limit reached.")
                    return code
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (main turns it into the same)
            app.out.line()
            app.out.line("Stopped watching.")
            return 0


def _wait_for_change(
    app: App,
    exercise: Exercise,
    snapshot: dict[str, tuple[int, int]],
    keys: Keys | None,
    interval: float,
    deadline: float | None,
) -> Literal["changed", "check", "quit", "time up", "gone"]:
    """Wait until a file of the exercise differs from ``snapshot``, or a key says what to do."""
    _watching_line(app, exercise, keys)
    events = FolderEvents.open(exercise.folder)
    try:
        while True:
            # Compared before every wait: a save made while the check ran counts too.
            if _snapshot(exercise) != snapshot:
                return "changed"
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return "time up"
            sources: list[FolderEvents | Keys] = [s for s in (events, keys) if s is not None]
            ready = wait(sources, interval if left is None else min(interval, left))
            if events is not None and events in ready:
                events.drain()
            if keys is not None and keys in ready:
                try:
                    action = _on_keys(app, exercise, keys)
                except EOFError:  # the terminal is gone: nobody is left to watch for
                    return "gone"
                if action is not None:
                    return action
    finally:
        if events is not None:
            events.close()


def _watching_line(app: App, exercise: Exercise, keys: Keys | None) -> None:
    """What ``watch`` is waiting for, and how to steer it."""
    how = (
        "keys: h hint, c check now, l list, r reset, q quit"
        if keys is not None
        else "Ctrl-C to stop"
    )
    app.out.line()
    app.out.line(
        app.out.style(f"Watching exercises/{exercise.slug}/ for saved changes ({how}) ...", "dim")
    )


def _on_keys(app: App, exercise: Exercise, keys: Keys) -> Literal["check", "quit"] | None:
    """Act on the keys pressed; say whether the watch should check again or stop."""
    for key in keys.read():
        if key == "q":
            return "quit"
        if key == "c":
            return "check"
        if key == "h":
            app.out.line()
            hint(app, exercise.slug, again="Press h again")
        elif key == "l":
            app.out.line()
            status(app)
        elif key == "r":
            question = (
                f"Reset exercises/{exercise.slug} to its original stub? "
                "Your files are backed up first. [y/N] "
            )
            app.out.stream.write("\n" + question)
            app.out.stream.flush()
            answer = keys.read_key()
            app.out.line(answer)
            if answer == "y":
                reset(app, exercise.slug, every=False, yes=True)
                return "check"
            app.out.line("Nothing was changed.")
        else:
            continue
        _watching_line(app, exercise, keys)
    return None


def _snapshot(exercise: Exercise) -> dict[str, tuple[int, int]]:
    """Modification time and size of each file: a save changes at least one of them."""
    snapshot: dict[str, tuple[int, int]] = {}
    for name, path in exercise.course_files().items():
        try:
            info = path.stat()
        except OSError:
            continue  # an editor may be replacing the file right now
        snapshot[name] = (info.st_mtime_ns, info.st_size)
    return snapshot
