"""``watch``: check, then wait for a save, a key or the clock, and check again.

:class:`WatchState` is the small state machine that decides what each event
means: a saved file (:class:`FilesChanged`), a key press
(:class:`KeyPressed`), the clock (:class:`Tick`) or a terminal that went away
(:class:`TerminalGone`). It does no I/O and reads time from the clock it is
given, so tests drive it event by event without sleeping. :func:`watch` is
the loop around it: it runs the checks (in forks of a warm pytest where the
platform allows, :mod:`aggregates_course.course.warm`), turns what
:mod:`aggregates_course.course.watching` reports into events, and carries
out what the state machine answers. Whether a file really changed is decided
by comparing snapshots of the folder, so a missed or spurious event costs
only latency. On a terminal single keys steer it: ``h`` the next hint, ``c``
check now, ``l`` the status, ``r`` reset (after asking), ``q`` quit.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Literal

from aggregates_course.course.app import App
from aggregates_course.course.catalog import Exercise
from aggregates_course.course.checking import check_one, status
from aggregates_course.course.guidance import hint, reset
from aggregates_course.course.warm import warm_launcher
from aggregates_course.course.watching import FolderEvents, Keys, wait

WATCH_INTERVAL = 0.25  # seconds between polls; with file events it is only a safety net


@dataclass(frozen=True)
class FilesChanged:
    """A file of the watched exercise differs from the snapshot taken before its check."""


@dataclass(frozen=True)
class KeyPressed:
    """The learner pressed ``key`` (lower-cased) on the terminal."""

    key: str


@dataclass(frozen=True)
class Tick:
    """Time passed with nothing else to report (a poll interval, or the watch's time limit)."""


@dataclass(frozen=True)
class TerminalGone:
    """The terminal closed: nobody is left to watch for."""


Event = FilesChanged | KeyPressed | Tick | TerminalGone
#: What the loop does next. ``ask`` puts the reset question; ``reset`` and ``keep`` answer it.
Action = Literal["check", "hint", "list", "ask", "reset", "keep", "quit", "time up", "gone", "wait"]
#: After a check: wait for the next event, stop watching, or move on to the next exercise.
AfterCheck = Literal["wait", "stop", "next"]

KEYS: dict[str, Action] = {"q": "quit", "c": "check", "h": "hint", "l": "list", "r": "ask"}


@dataclass
class WatchState:
    """What ``watch`` does with each event: the whole of its logic, with no I/O.

    ``duration`` (seconds, from when the state is made) and ``max_runs`` end
    the watch; ``follow`` (no exercise named) moves on to the next pending
    exercise once the watched one passes. Invariant: while the reset
    question is open (``asking``), only a key answers it; nothing else acts.
    """

    clock: Callable[[], float] = time.monotonic
    duration: float | None = None
    max_runs: int | None = None
    follow: bool = False
    runs: int = 0
    asking: bool = False
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def time_left(self) -> float | None:
        """Seconds until the watch's time limit; ``None`` without one."""
        if self.duration is None:
            return None
        return self.started + self.duration - self.clock()

    def on(self, event: Event) -> Action:
        """What to do about ``event``."""
        if isinstance(event, TerminalGone):
            return "gone"
        if self.asking:
            if not isinstance(event, KeyPressed):
                return "wait"  # a save while the question is open waits for the answer
            self.asking = False
            return "reset" if event.key == "y" else "keep"
        if isinstance(event, FilesChanged):
            return "check"
        if isinstance(event, KeyPressed):
            action = KEYS.get(event.key, "wait")
            self.asking = action == "ask"
            return action
        left = self.time_left()
        return "time up" if left is not None and left <= 0 else "wait"

    def checked(self, passed: bool) -> AfterCheck:
        """Count a finished check, and say what follows it."""
        self.runs += 1
        if self.max_runs is not None and self.runs >= self.max_runs:
            return "stop"
        return "next" if passed and self.follow else "wait"


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
    it watches the next pending one (and stops when none is left).
    """
    exercise = app.named_or_current(name)
    if exercise is None:
        app.all_done_line()
        return 0
    state = WatchState(duration=duration, max_runs=max_runs, follow=name is None)
    keys = Keys.open(sys.stdin) if app.out.tty else None
    warm = warm_launcher(app.course.root)
    with contextlib.ExitStack() as cleanup:
        if warm is not None:
            cleanup.enter_context(warm)
            app.course.launch = warm
        if keys is not None:
            cleanup.enter_context(keys)
        try:
            return _loop(app, exercise, state, keys, interval, verbose)
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (main turns it into the same)
            app.out.line()
            app.out.line("Stopped watching.")
            return 0


def _loop(
    app: App,
    exercise: Exercise,
    state: WatchState,
    keys: Keys | None,
    interval: float,
    verbose: bool,
) -> int:
    """Check, then act on events as ``state`` says, until it says stop; the last check's code."""
    while True:
        # Taken before each check, so a save made while the tests run counts.
        snapshot = _snapshot(exercise)
        app.out.clear()
        code = check_one(app, exercise, verbose=verbose)
        after = state.checked(code == 0)
        if after == "stop":
            return code
        if after == "next":
            upcoming = app.course.next_pending(app.verdict, after=exercise)
            if upcoming is None:
                return 0
            if upcoming[0] != exercise:
                exercise, snapshot = upcoming[0], _snapshot(upcoming[0])
        _watching_line(app, exercise, keys)
        # Closed as soon as the loop leaves it, so the folder's watch ends with the wait.
        with contextlib.closing(_events(exercise, snapshot, state, keys, interval)) as events:
            for event in events:
                action = state.on(event)
                if action == "check":
                    break
                if action == "quit":
                    app.out.line("Stopped watching.")
                    return 0
                if action == "gone":
                    return 0  # nothing can be shown any more
                if action == "time up":
                    app.out.line("Watch time limit reached.")
                    return code
                try:
                    if action != "wait" and _act(app, exercise, action, keys, state):
                        break
                except EOFError:  # the terminal closed while the reset question was open
                    return 0


def _act(
    app: App, exercise: Exercise, action: Action, keys: Keys | None, state: WatchState
) -> bool:
    """Carry out a key's action; True when the exercise must be checked again."""
    app.out.line()
    if action == "hint":
        hint(app, exercise.slug, again="Press h again")
    elif action == "list":
        status(app)
    elif action == "ask" and keys is not None:
        question = (
            f"Reset exercises/{exercise.slug} to its original stub? "
            "Your files are backed up first. [y/N] "
        )
        app.out.stream.write(question)
        app.out.stream.flush()
        answer = keys.read_key()
        app.out.line(answer)
        if state.on(KeyPressed(answer)) == "reset":
            reset(app, exercise.slug, every=False, yes=True)
            return True
        app.out.line("Nothing was changed.")
    _watching_line(app, exercise, keys)
    return False


def _events(
    exercise: Exercise,
    snapshot: dict[str, tuple[int, int]],
    state: WatchState,
    keys: Keys | None,
    interval: float,
) -> Generator[Event, None, None]:
    """The events of one wait: saves, keys and ticks, until the consumer stops asking."""
    folder_events = FolderEvents.open(exercise.folder)
    try:
        while True:
            # Compared before every wait: a save made while the check ran counts too.
            if _snapshot(exercise) != snapshot:
                yield FilesChanged()
                continue
            left = state.time_left()
            if left is not None and left <= 0:
                yield Tick()
                continue
            sources: list[FolderEvents | Keys] = [
                source for source in (folder_events, keys) if source is not None
            ]
            ready = wait(sources, interval if left is None else min(interval, left))
            if folder_events is not None and folder_events in ready:
                folder_events.drain()
            if keys is not None and keys in ready:
                try:
                    pressed = keys.read()
                except EOFError:
                    yield TerminalGone()
                    continue
                for key in pressed:
                    yield KeyPressed(key)
            yield Tick()
    finally:
        if folder_events is not None:
            folder_events.close()


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
