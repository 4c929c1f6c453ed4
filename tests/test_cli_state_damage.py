"""A damaged, unreadable or misplaced state never stops the CLI, and never disappears silently.

One test per damage the CLI has met: a state file that does not decode or
breaks its schema is moved aside (the learner is told where) and the command
carries on; one that cannot be read is an error and stays as it was; a folder
that is read-only or a file where a folder belongs is one line naming the
path and what to do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregates_course.course.state import CORRUPT_SUFFIX, STATE_VERSION
from tests.cli_state_support import (
    STATE,
    no_traceback,
    one_line,
    restoring_access,
    run_as_learner,
)
from tests.test_cli_support import EX01, run_cli, warm_course

__all__ = ["warm_course"]  # a fixture, re-exported for pytest

NESTED = b"[" * 100_000 + b"]" * 100_000
HINTS_OK = b'{"version": 1, "completed": {}, "results": {}, "hints": '

UNDECODABLE = {
    "random bytes": bytes(range(256)) * 3,
    "invalid UTF-8": b'{"version": 1, "hints": {"\xff": 1}, "completed": {}, "results": {}}',
    "100k nested brackets": NESTED,
    "nested brackets inside a field": HINTS_OK + NESTED + b"}",
    "1e400 alone": b"1e400",
    "1e400 as a duration": b'{"version": 1, "completed": {}, "hints": {}, "results": '
    b'{"ex01": {"f": {"duration": 1e400}}}}',
    "a NaN literal": HINTS_OK + b'{"x": NaN}}',
    "a 5000-digit number": HINTS_OK + b'{"x": 1' + b"0" * 5000 + b"}}",
    "an empty file": b"",
    "a truncated file": b'{"version": 1, "hints": {',
}
WRONG_SHAPES: dict[str, object] = {
    "an array": [],
    "null": None,
    "a string": "state",
    "version 0": {"version": 0, "completed": {}, "hints": {}, "results": {}},
    "version true": {"version": True, "completed": {}, "hints": {}, "results": {}},
    "no hints": {"version": 1, "completed": {}, "results": {}},
    "hints as an array": {"version": 1, "completed": {}, "hints": [], "results": {}},
    "a negative hint count": {"version": 1, "completed": {}, "hints": {EX01: -1}, "results": {}},
    "a hint count past the tiers": {
        "version": 1,
        "completed": {},
        "hints": {EX01: 4},
        "results": {},
    },
    "a fractional hint count": {"version": 1, "completed": {}, "hints": {EX01: 1.5}, "results": {}},
    "a hint count of true": {"version": 1, "completed": {}, "hints": {EX01: True}, "results": {}},
    "a completion that is no date": {
        "version": 1,
        "completed": {EX01: "yesterday"},
        "hints": {},
        "results": {},
    },
    "results as an array": {"version": 1, "completed": {}, "hints": {}, "results": []},
    "a cached run that is a number": {
        "version": 1,
        "completed": {},
        "hints": {},
        "results": {EX01: {"f": 3}},
    },
    "a NUL in a slug": {"version": 1, "completed": {}, "hints": {"ex\u00001": 1}, "results": {}},
}
DAMAGED = {
    **UNDECODABLE,
    **{name: json.dumps(value).encode() for name, value in WRONG_SHAPES.items()},
}


def asides(course: Path) -> list[Path]:
    """The damaged state files set aside in ``course``."""
    return sorted((course / STATE).parent.glob(f"{STATE.name}{CORRUPT_SUFFIX}*"))


@pytest.mark.parametrize("content", DAMAGED.values(), ids=DAMAGED.keys())
def test_a_damaged_state_file_is_set_aside_named_and_the_command_carries_on(
    warm_course: Path, content: bytes
) -> None:
    (warm_course / STATE).write_bytes(content)
    result = run_cli(warm_course, "hint", EX01)
    assert result.code == 0
    assert f"Hint 1 of 3 (nudge) for {EX01}" in result.out
    (aside,) = asides(warm_course)
    assert aside.read_bytes() == content
    assert str(aside) in one_line(result.err)
    assert json.loads((warm_course / STATE).read_text(encoding="utf-8"))["hints"] == {EX01: 1}


def test_a_state_file_from_a_newer_cli_is_kept_as_it_is_and_named(warm_course: Path) -> None:
    newer = json.dumps(
        {"version": STATE_VERSION + 1, "hints": {EX01: 3}, "what": "a newer format"}
    ).encode()
    (warm_course / STATE).write_bytes(newer)
    result = run_cli(warm_course, "hint", EX01)
    assert result.code == 0
    assert f"Hint 1 of 3 (nudge) for {EX01}" in result.out
    line = one_line(result.err)
    assert "was written by a newer version of aggregates-course" in line
    assert "update this copy of the course" in line
    assert (warm_course / STATE).read_bytes() == newer
    assert asides(warm_course) == []


def test_doctor_names_a_state_file_from_a_newer_cli_as_a_thing_to_fix(warm_course: Path) -> None:
    (warm_course / STATE).write_text('{"version": 7}', encoding="utf-8")
    result = run_cli(warm_course, "doctor")
    assert result.code == 1
    assert "x " + str(warm_course / STATE) + " was written by a newer version" in result.out
    assert "fix: update this copy of the course" in result.out
    assert asides(warm_course) == []


def test_a_folder_in_place_of_the_state_file_is_set_aside_with_its_contents(
    warm_course: Path,
) -> None:
    state = warm_course / STATE
    state.unlink()
    state.mkdir()
    (state / "notes.txt").write_text("mine", encoding="utf-8")
    result = run_cli(warm_course, "hint", EX01)
    assert result.code == 0
    assert "Hint 1 of 3" in result.out
    (aside,) = asides(warm_course)
    assert (aside / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert str(aside) in one_line(result.err)


def test_a_second_damaged_file_in_the_same_instant_gets_its_own_name(warm_course: Path) -> None:
    for attempt in (b"first", b"second"):
        (warm_course / STATE).write_bytes(attempt)
        assert run_cli(warm_course, "hint", EX01).code == 0
    assert sorted(path.read_bytes() for path in asides(warm_course)) == [b"first", b"second"]


def test_doctor_names_the_damaged_file_it_set_aside_and_still_runs_every_check(
    warm_course: Path,
) -> None:
    (warm_course / STATE).write_bytes(NESTED)
    result = run_cli(warm_course, "doctor")
    (aside,) = asides(warm_course)
    assert str(aside) in result.out
    assert "tests and README unmodified" in result.out
    assert "is writable" in result.out


# -- a state folder that is in the way ---------------------------------------------------------


@pytest.fixture
def state_folder_is_a_file(warm_course: Path) -> Path:
    folder = warm_course / STATE.parent
    for path in folder.rglob("*"):
        if path.is_file():
            path.unlink()
    for path in sorted(folder.rglob("*"), reverse=True):
        path.rmdir()
    folder.rmdir()
    folder.write_text("not a folder", encoding="utf-8")
    return folder


def test_hint_still_shows_when_a_file_is_where_the_state_folder_belongs(
    warm_course: Path, state_folder_is_a_file: Path
) -> None:
    result = run_cli(warm_course, "hint", EX01)
    assert result.code == 0
    assert "Hint 1 of 3" in result.out
    line = one_line(result.err)
    assert f"{state_folder_is_a_file} is a file where a folder belongs" in line
    assert "rename or remove that file" in line
    assert state_folder_is_a_file.read_text(encoding="utf-8") == "not a folder"


def test_reset_refuses_in_one_line_when_a_file_is_where_the_state_folder_belongs(
    warm_course: Path, state_folder_is_a_file: Path
) -> None:
    policy = warm_course / "exercises" / EX01 / "policy.py"
    policy.write_text("# mine\n", encoding="utf-8")
    result = run_cli(warm_course, "reset", EX01)
    assert result.code == 1
    line = one_line(result.err)
    assert f"{state_folder_is_a_file} is a file where a folder belongs" in line
    assert "nothing changed" in line
    assert policy.read_text(encoding="utf-8") == "# mine\n"


def test_doctor_reports_a_file_where_the_state_folder_belongs(
    warm_course: Path, state_folder_is_a_file: Path
) -> None:
    result = run_cli(warm_course, "doctor")
    assert result.code == 1
    assert f"{state_folder_is_a_file} is a file where a folder belongs" in result.out


def test_reset_refuses_in_one_line_when_backups_is_a_file(warm_course: Path) -> None:
    backups = warm_course / STATE.parent / "backups"
    backups.write_text("not a folder", encoding="utf-8")
    policy = warm_course / "exercises" / EX01 / "policy.py"
    policy.write_text("# mine\n", encoding="utf-8")
    result = run_cli(warm_course, "reset", EX01)
    assert result.code == 1
    line = one_line(result.err)
    assert f"{backups} is a file where a folder belongs" in line
    assert "nothing changed" in line
    assert policy.read_text(encoding="utf-8") == "# mine\n"
    assert "backups" in run_cli(warm_course, "doctor").out


# -- permissions: run as a user whom they stop (see tests/cli_state_support.py) -----------------


@pytest.fixture
def learner_copy(warm_course: Path) -> Iterator[Path]:
    yield from restoring_access(warm_course)


def test_an_unreadable_state_file_is_an_error_and_is_never_overwritten(
    learner_copy: Path,
) -> None:
    state = learner_copy / STATE
    before = state.read_bytes()
    state.chmod(0)
    result = run_as_learner(learner_copy, "hint", EX01)
    assert result.code == 1
    line = one_line(result.err)
    assert f"permission denied for {state}" in line
    assert "left as it was" in line
    assert state.read_bytes() == before
    assert state.stat().st_mode & 0o777 == 0
    assert asides(learner_copy) == []


def test_doctor_reports_an_unreadable_state_file(learner_copy: Path) -> None:
    (learner_copy / STATE).chmod(0)
    result = run_as_learner(learner_copy, "doctor")
    assert result.code == 1
    assert "cannot read your progress" in result.out
    no_traceback(result.out, result.err)


def test_a_read_only_state_folder_shows_the_hint_and_says_it_was_not_remembered(
    learner_copy: Path,
) -> None:
    state = learner_copy / STATE
    before = state.read_bytes()
    state.parent.chmod(0o555)
    result = run_as_learner(learner_copy, "hint", EX01)
    assert result.code == 0
    assert "Hint 1 of 3" in result.out
    line = one_line(result.err)
    assert f"cannot save your progress: permission denied for {state}" in line
    assert state.read_bytes() == before


def test_reset_into_a_read_only_exercise_folder_keeps_the_learners_file(
    learner_copy: Path,
) -> None:
    policy = learner_copy / "exercises" / EX01 / "policy.py"
    policy.write_text("# mine\n", encoding="utf-8")
    policy.parent.chmod(0o555)
    result = run_as_learner(learner_copy, "reset", EX01)
    assert result.code == 1
    line = one_line(result.err)
    assert f"cannot restore exercises/{EX01}/policy.py: permission denied for {policy}" in line
    assert "your version is unchanged" in line
    assert policy.read_text(encoding="utf-8") == "# mine\n"


def test_check_names_a_learner_file_it_cannot_read(learner_copy: Path) -> None:
    policy = learner_copy / "exercises" / EX01 / "policy.py"
    policy.chmod(0)
    result = run_as_learner(learner_copy, "check", EX01)
    assert result.code == 1
    assert f"x permission denied for exercises/{EX01}/policy.py\n" in result.out
    assert "Make it readable for you again, then check again." in result.out
    no_traceback(result.out, result.err)


def test_reset_names_a_learner_file_it_cannot_read_and_leaves_it(learner_copy: Path) -> None:
    policy = learner_copy / "exercises" / EX01 / "policy.py"
    policy.write_text("# mine\n", encoding="utf-8")
    policy.chmod(0)
    result = run_as_learner(learner_copy, "reset", EX01)
    assert result.code == 1
    line = one_line(result.err)
    assert f"cannot reset exercises/{EX01}/policy.py: permission denied for {policy}" in line
    policy.chmod(0o644)
    assert policy.read_text(encoding="utf-8") == "# mine\n"


def test_a_damaged_file_quoting_control_characters_is_still_reported_in_one_plain_line(
    warm_course: Path,
) -> None:
    slug = "ex\n01\x1b[2J\r"
    content = json.dumps({"version": 1, "completed": {}, "results": {}, "hints": {slug: 9}})
    (warm_course / STATE).write_text(content, encoding="utf-8")
    result = run_cli(warm_course, "hint", EX01)
    line = one_line(result.err)
    assert line.isprintable()
    assert "hints.ex 01 [2J is 9" in line
