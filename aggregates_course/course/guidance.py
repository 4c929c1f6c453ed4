"""``hint``, ``reset`` and ``solution``: the commands for a learner who is stuck, or done.

``hint`` shows the next of an exercise's three hint tiers and remembers it;
``reset`` puts the original stubs back and starts the exercise over (its
hints are forgotten, and it is no longer done); ``solution`` shows how the
solution differs from the stub, once the exercise passes (or when the
learner gives up). The file work is :mod:`~aggregates_course.course.shipped`'s;
these commands ask, word what it did, and keep the state.

Invariant: nothing the CLI remembered is forgotten without a backup of the
state as it was.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aggregates_course.course.app import PROG, App, UsageError
from aggregates_course.course.catalog import HINT_TIERS, Exercise
from aggregates_course.course.files import timestamp, trouble, write_atomically
from aggregates_course.course.render import progress_words
from aggregates_course.course.shipped import (
    PristineError,
    load_manifest,
    restore_stub,
    solution_diff,
)
from aggregates_course.course.state import STATE_FILE, STATE_FOLDER, CourseState, encode


def hint(app: App, name: str | None, *, again: str = "Run it again") -> int:
    """Show the next unseen hint tier and remember it; say so when none are left.

    ``again`` is how the learner asks for the next one (``watch`` says: press h).
    """
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
        out.line(f"{again} for the {HINT_TIERS[shown + 1]}.")
    else:
        out.line("That was the last hint.")
    return 0


def reset(app: App, name: str | None, every: bool, yes: bool) -> int:
    """Restore stubs from the course snapshot, backing up any learner version first.

    An exercise reset starts over: its hints start again from the first and
    it no longer counts as completed. The state file as it was is kept in
    the same backup folder as the files, so nothing is lost. A pristine
    copy that fails its manifest hash is refused, so a damaged snapshot can
    never overwrite the learner's work.
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
    # Done is what the cached runs of the files as they are now say; restoring the stubs
    # ends that, and the learner is told so.
    done = {e.slug for e in exercises if (run := app.course.cached(e)) and run.status == "done"}
    code = 0
    restored: list[Exercise] = []
    for exercise in exercises:
        try:
            stubs = {f: manifest.pristine_bytes(exercise, f) for f in exercise.files}
        except PristineError as error:
            app.err.line(f"{PROG}: cannot reset {exercise.slug}: {error}")
            code = 1
            continue
        if all([_restore(app, exercise, name, stub, backup_root) for name, stub in stubs.items()]):
            restored.append(exercise)
        else:
            code = 1
    if not _forget(app, restored, done, backup_root):
        code = 1
    return code


def _forget(app: App, exercises: list[Exercise], done: set[str], backup_root: Path) -> bool:
    """Forget the hints seen of ``exercises``, keeping the state as it was in the backup.

    ``done`` are the slugs that were done before the reset: their completion
    ends with it. Returns False (after a line on stderr) when the state could
    not be backed up; nothing is forgotten then.
    """
    slugs = {exercise.slug for exercise in exercises}
    state = app.course.state
    if not slugs & (set(state.hints) | done):
        return True  # nothing to forget
    kept = backup_root / STATE_FILE
    try:
        write_atomically(kept, encode(state))
    except OSError as error:
        app.err.line(
            f"{PROG}: cannot back up your progress, so the hints and completions were kept: "
            f"{trouble(error, kept)}"
        )
        return False

    def forget(state: CourseState) -> None:
        for slug in slugs:
            state.hints.pop(slug, None)

    app.course.update(forget)
    names = ", ".join(sorted(slugs))
    app.out.line(f"Starting over with {names}: hints begin again at the first, completion cleared.")
    app.out.line(f"  (your progress before the reset is kept in {kept})")
    return True


def restore_advice(run: str, exercise: Exercise) -> str:
    """How to put an exercise's stubs back: the one fix ``check`` and ``doctor`` give.

    It says what ``reset`` will do with a folder standing where a file
    belongs: move it into the backups, then restore the stub.
    """
    command = f"`{run} reset {exercise.slug}`"
    folders = [
        name
        for name in exercise.files
        if (exercise.folder / name).is_dir() and not (exercise.folder / name).is_symlink()
    ]
    if folders:
        return f"{command} moves that folder into {STATE_FOLDER}/backups/ and puts the stub back"
    return f"{command} puts the stub back"


def _restore(app: App, exercise: Exercise, file_name: str, stub: bytes, backup_root: Path) -> bool:
    """Put one stub back (see :func:`~aggregates_course.course.shipped.restore_stub`) and say so.

    Returns False after one line on stderr (the path, what is wrong, what to
    do) when the file cannot be read, backed up or written.
    """
    restored = restore_stub(exercise, file_name, stub, backup_root)
    shown = restored.shown
    if restored.moved_folder is not None:
        app.out.line(f"The folder that stood at {shown} is moved to {restored.moved_folder}")
    if restored.already:
        app.out.line(f"{shown} is already the original stub.")
        return True
    if restored.backup is not None:
        app.out.line(f"Your version of {shown} is saved in {restored.backup}")
    if restored.failure is not None:
        app.err.line(f"{PROG}: {restored.failure}")
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
    if not exercise.available:
        out.line(f"{app.absence(exercise)[1]}.")
        return 1
    run = app.runs([exercise])[0]
    if run.status != "done" and not give_up:
        out.line(
            f"{exercise.slug} is still pending ({progress_words(run)}). "
            "The solution is shown once your tests pass:"
        )
        out.line(f"  {app.run} check {exercise.slug}")
        out.line(f"To see it anyway: {app.run} solution {exercise.slug} --give-up")
        return 1
    try:
        lines = solution_diff(load_manifest(app.course.root), exercise)
    except (PristineError, OSError) as error:
        app.err.line(f"{PROG}: cannot show the solution: {error}")
        return 1
    for text in lines:
        colour = {"+": "green", "-": "red", "@": "cyan"}.get(text[:1], "")
        out.line(out.style(text, colour) if colour else text)
    return 0
