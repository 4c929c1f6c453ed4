"""Whatever ``state.json`` holds, every command ends cleanly and the file never vanishes unseen.

Hypothesis writes arbitrary bytes, arbitrary JSON, and real state documents
with one value replaced or removed (which reaches the checks of cached runs
deep inside), then runs a CLI command on a temporary course. No command may
print a traceback or exit with anything but 0, 1 or 2; a file the CLI did not
accept must be kept aside, byte for byte, and named in the output.

The fuzz is about the state file, not about pytest: running an exercise's
tests is replaced by replaying the real run recorded for the same files in
the warm course (``tests/test_cli_support.py``), so an example takes
milliseconds. A few real processes run the installed entry point as well.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregates_course.course import checkout
from aggregates_course.course.catalog import Exercise, load_catalog
from aggregates_course.course.cli import build_parser
from aggregates_course.course.outcomes import ExerciseRun
from aggregates_course.course.state import CORRUPT_SUFFIX, decode
from tests.cli_state_support import STATE, no_traceback
from tests.test_cli_support import EX01, EX02, EX03, run_cli, warm_course

__all__ = ["warm_course"]  # a fixture, re-exported for pytest

#: How each command is run; a command added to the parser later is run with no arguments.
ARGUMENTS: dict[str, list[list[str]]] = {
    "check": [["check"], ["check", EX01], ["check", EX02]],
    "watch": [["watch", EX01, "--max-runs", "1"]],
    "hint": [["hint", EX01], ["hint", EX03]],
    "reset": [["reset", EX01], ["reset", "--all", "--yes"]],
    "solution": [["solution", EX01], ["solution", EX02, "--give-up"]],
    "results": [["results", "--json"], ["results"]],
}
(_commands,) = [action for action in build_parser()._actions if action.dest == "command"]
INVOCATIONS = [[]] + [
    argv for name in sorted(_commands.choices or {}) for argv in ARGUMENTS.get(name, [[name]])
]
OPENS_NO_STATE = {"demo"}
FUZZ = settings(
    max_examples=60,
    deadline=None,
    # The course is copied once per test; every example rewrites its state folder itself.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from([EX01, EX02, "done", "pending", "passed", "failed", "syntax"]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@dataclass(frozen=True)
class Replaying:
    """A warm course whose test runs are replayed, and its state document as recorded."""

    course: Path
    document: dict[str, Any]
    #: The fingerprints of the exercises' files as they are: the cached runs a command reads.
    current: set[str]


@pytest.fixture
def replaying(warm_course: Path, monkeypatch: pytest.MonkeyPatch) -> Replaying:
    """The warm course, with every test run answered from the real runs recorded there."""
    document = json.loads((warm_course / STATE).read_text(encoding="utf-8"))
    recorded = {stamp: run for runs in document["results"].values() for stamp, run in runs.items()}

    def replay(exercise: Exercise, *args: object, **options: object) -> ExerciseRun:
        return ExerciseRun.from_json(recorded[exercise.fingerprint()])

    monkeypatch.setattr(checkout, "run_exercise", replay)
    current = {exercise.fingerprint() for exercise in load_catalog(warm_course)}
    return Replaying(warm_course, document, current)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON document where a value sits."""
    if path:
        yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


#: Values one step away from valid ones: other statuses and kinds, empty containers, edges.
near_misses: st.SearchStrategy[object] = st.sampled_from(
    [
        *("passed", "failed", "error", "skipped", "done", "pending", "missing"),
        *("syntax", "import", "runner", "", "\x00", "\udc80"),
        *(None, True, False, 0, -1, 3, 4, 10**12, 0.5, [], {}),
    ]
)


@st.composite
def damaged_documents(draw: st.DrawFn, document: dict[str, Any], read: set[str]) -> bytes:
    """A real state document with one to three values replaced, or removed.

    Only the cached runs in ``read`` (those for the files as they are) are
    ever read by a command, so only they, and the rest of the document, are
    damaged.
    """
    copy = json.loads(json.dumps(document))
    places = [
        path
        for path in _paths(copy)
        if not (path[0] == "results" and len(path) > 2 and path[2] not in read)
    ]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        *parents, last = draw(st.sampled_from(places))
        node: Any = copy
        try:
            for key in parents:
                node = node[key]
            if draw(st.booleans()):
                node[last] = draw(near_misses | json_values)
            elif isinstance(node, dict):
                del node[last]
            elif isinstance(node, list):
                node.pop(last)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed or replaced this place
    return json.dumps(copy).encode()


def run_on_state(course: Path, content: bytes, argv: list[str]) -> None:
    """Put ``content`` in the state file, run ``argv``, and check the two promises."""
    folder = course / STATE.parent
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (course / STATE).write_bytes(content)
    result = run_cli(course, *argv)
    assert result.code in (0, 1, 2), (argv, result)
    no_traceback(result.out, result.err)
    asides = list(folder.glob(f"{STATE.name}{CORRUPT_SUFFIX}*"))
    try:
        decode(content)
    except ValueError:
        accepted = False
    else:
        accepted = True
    if accepted or (argv and argv[0] in OPENS_NO_STATE):
        assert asides == []
        return
    (aside,) = asides
    assert aside.read_bytes() == content
    assert str(aside) in result.out + result.err


@FUZZ
@given(content=st.binary(max_size=300), argv=st.sampled_from(INVOCATIONS))
def test_any_bytes_in_the_state_file(replaying: Replaying, content: bytes, argv: list[str]) -> None:
    run_on_state(replaying.course, content, argv)


@FUZZ
@given(value=json_values, argv=st.sampled_from(INVOCATIONS))
def test_any_json_in_the_state_file(replaying: Replaying, value: object, argv: list[str]) -> None:
    run_on_state(replaying.course, json.dumps(value).encode(), argv)


@settings(FUZZ, max_examples=100)
@given(data=st.data(), argv=st.sampled_from(INVOCATIONS))
def test_a_real_state_with_one_value_damaged(
    replaying: Replaying, data: st.DataObject, argv: list[str]
) -> None:
    document = replaying.document | {"hints": {EX01: 1, EX02: 3}}
    run_on_state(replaying.course, data.draw(damaged_documents(document, replaying.current)), argv)


def test_the_fuzz_runs_every_command_the_parser_knows() -> None:
    assert {argv[0] for argv in INVOCATIONS if argv} == set(_commands.choices or {})


@pytest.mark.parametrize(
    ("content", "argv"),
    [
        (b"[" * 100_000 + b"]" * 100_000, ["hint", EX01]),
        (b"\x00\xff" * 64, ["doctor"]),
        (b"1e400", ["reset", EX01]),
    ],
    ids=["deep nesting, hint", "binary, doctor", "1e400, reset"],
)
def test_a_real_process_on_a_damaged_state(
    warm_course: Path, content: bytes, argv: list[str]
) -> None:
    (warm_course / STATE).write_bytes(content)
    entry = "import sys; from aggregates_course.course.cli import main; sys.exit(main())"
    finished = subprocess.run(
        [sys.executable, "-c", entry, *argv],
        cwd=warm_course,
        capture_output=True,
        text=True,
        check=False,
    )
    assert finished.returncode in (0, 1), finished
    no_traceback(finished.stdout, finished.stderr)
    (aside,) = (warm_course / STATE.parent).glob(f"{STATE.name}{CORRUPT_SUFFIX}*")
    assert aside.read_bytes() == content
    assert str(aside) in finished.stdout + finished.stderr
