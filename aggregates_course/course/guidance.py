"""``hint``, ``reset`` and ``solution``: help for a learner who is stuck, or done.

``hint`` shows the next of an exercise's three hint tiers and remembers it;
``reset`` puts the original stub back from the course's snapshot, backing up
the learner's file first; ``solution`` shows how the solution differs from
the stub, once the exercise passes (or when the learner gives up).

Invariant: nothing the learner wrote is overwritten without a backup, and a
snapshot that fails its manifest hash never overwrites anything.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

from aggregates_course.course.app import PROG, App, UsageError
from aggregates_course.course.catalog import HINT_TIERS, Exercise, is_available
from aggregates_course.course.files import trouble, write_atomically
from aggregates_course.course.pristine import PristineError, load_manifest
from aggregates_course.course.state import CourseState, timestamp


def hint(app: App, name: str | None) -> int:
    """Show the next unseen hint tier and remember it; say so when none are left."""
    out = app.out
    exercise = app.named_or_current(name)
    if exercise is None:
        app.all_done_line()
        out.line(f"For the hints of one of them: {app.run} hint ex01")
        return 0
    slug = exercise.slug

    def advance(state: CourseState) -> int:
        # Read and counted under the state lock: two `hint` calls at once show two tiers.
        shown = state.hints.get(slug, 0)
        if shown < len(HINT_TIERS):
            state.hints[slug] = shown + 1
        return shown

    shown = app.course.update(advance)
    if shown >= len(HINT_TIERS):
        out.line(f"No hints left for {exercise.slug}: you have seen all {len(HINT_TIERS)}.")
        for tier, text in zip(HINT_TIERS, exercise.hints, strict=True):
            out.line(f"  {tier}: {text}")
        out.line(f"Still stuck after trying them? {app.run} solution {exercise.slug} --give-up")
        return 0
    tier = HINT_TIERS[shown]
    out.line(
        out.style(f"Hint {shown + 1} of {len(HINT_TIERS)} ({tier}) for {exercise.slug}:", "bold")
    )
    out.line(f"  {exercise.hints[shown]}")
    if shown + 1 < len(HINT_TIERS):
        out.line(f"Run it again for the {HINT_TIERS[shown + 1]}.")
    else:
        out.line("That was the last hint.")
    return 0


def reset(app: App, name: str | None, every: bool, yes: bool) -> int:
    """Restore stubs from the course snapshot, backing up any learner version first.

    A pristine copy that fails its manifest hash is refused, so a damaged
    snapshot can never overwrite the learner's work.
    """
    if every == (name is not None):
        raise UsageError("reset needs one exercise name, or --all (with --yes to skip asking)")
    try:
        manifest = load_manifest(app.course.root)
    except PristineError as error:
        app.err.line(f"{PROG}: {error}")
        return 1
    if every:
        if not yes and not _confirm(
            app,
            f"Reset all {len(app.course.catalog)} exercises to their stubs? "
            "Your files are backed up first. [y/N] ",
        ):
            app.out.line("Nothing was changed.")
            return 1
        exercises = [e for e in app.course.catalog if e.slug in manifest.hashes]
    else:
        exercises = [app.exercise(name or "")]
    backup_root = app.course.store.backups / timestamp()
    code = 0
    for exercise in exercises:
        try:
            stubs = {f: manifest.pristine_bytes(exercise, f) for f in exercise.files}
        except PristineError as error:
            app.err.line(f"{PROG}: cannot reset {exercise.slug}: {error}")
            code = 1
            continue
        for file_name, stub in stubs.items():
            if not _restore(app, exercise, file_name, stub, backup_root):
                code = 1
    return code


def _restore(app: App, exercise: Exercise, file_name: str, stub: bytes, backup_root: Path) -> bool:
    """Put one stub back, backing up the learner's version first.

    Returns False after one line on stderr (the path, what is wrong, what to
    do) when the file cannot be read, backed up or written; the learner's
    file is then unchanged.
    """
    path = exercise.folder / file_name
    shown = f"exercises/{exercise.slug}/{file_name}"
    try:
        current = path.read_bytes() if path.exists() else None
    except OSError as error:
        app.err.line(f"{PROG}: cannot reset {shown}: {trouble(error, path)}; nothing changed")
        return False
    if current == stub:
        app.out.line(f"{shown} is already the original stub.")
        return True
    kept = "nothing changed"
    if current is not None:
        backup = backup_root / exercise.slug / file_name
        try:
            write_atomically(backup, current)
        except OSError as error:
            app.err.line(
                f"{PROG}: cannot back up {shown}, so it was not reset: "
                f"{trouble(error, backup)}; nothing changed"
            )
            return False
        app.out.line(f"Your version of {shown} is saved in {backup}")
        kept = f"your version is unchanged (a copy is in {backup})"
    try:
        write_atomically(path, stub)
    except OSError as error:
        app.err.line(f"{PROG}: cannot restore {shown}: {trouble(error, path)}; {kept}")
        return False
    app.out.line(f"{app.out.ok_mark} {shown} is the original stub again.")
    return True


def _confirm(app: App, question: str) -> bool:
    """Ask on a terminal; without one, refuse (a script must say --yes)."""
    stdin = sys.stdin
    if stdin is None or not stdin.isatty():
        app.err.line(f"{PROG}: not asking without a terminal; add --yes to reset everything")
        return False
    app.out.stream.write(question)
    app.out.stream.flush()
    return stdin.readline().strip().lower() in ("y", "yes")


def solution(app: App, name: str, give_up: bool) -> int:
    """The stub-to-solution diff, refused while the exercise is pending unless giving up."""
    out = app.out
    exercise = app.exercise(name)
    if not is_available(exercise):
        out.line(f"exercises/{exercise.slug} is not in your copy of the course yet.")
        return 1
    run = app.runs([exercise])[0]
    if run.status != "done" and not give_up:
        out.line(
            f"{exercise.slug} is still pending ({app.progress_words(run)}). "
            "The solution is shown once your tests pass:"
        )
        out.line(f"  {app.run} check {exercise.slug}")
        out.line(f"To see it anyway: {app.run} solution {exercise.slug} --give-up")
        return 1
    try:
        manifest = load_manifest(app.course.root)
        for file_name in exercise.files:
            stub = manifest.pristine_bytes(exercise, file_name).decode("utf-8")
            solved = (exercise.solution_folder / file_name).read_text(encoding="utf-8")
            diff = difflib.unified_diff(
                stub.splitlines(keepends=True),
                solved.splitlines(keepends=True),
                fromfile=f"stub/{exercise.slug}/{file_name}",
                tofile=f"solution/{exercise.slug}/{file_name}",
            )
            for line in diff:
                text = line.rstrip("\n")
                colour = {"+": "green", "-": "red", "@": "cyan"}.get(text[:1], "")
                out.line(out.style(text, colour) if colour else text)
    except (PristineError, OSError) as error:
        app.err.line(f"{PROG}: cannot show the solution: {error}")
        return 1
    return 0
