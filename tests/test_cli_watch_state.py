"""The watch's state machine: what each saved file, key and tick means, with a clock we turn."""

from __future__ import annotations

import pytest

from aggregates_course.course.watch import (
    KEYS,
    FilesChanged,
    KeyPressed,
    TerminalGone,
    Tick,
    WatchState,
)


class Clock:
    """A clock that moves only when the test moves it."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_saved_file_asks_for_a_check() -> None:
    assert WatchState().on(FilesChanged()) == "check"


@pytest.mark.parametrize(("key", "action"), KEYS.items())
def test_each_key_names_its_action(key: str, action: str) -> None:
    assert WatchState().on(KeyPressed(key)) == action


def test_an_unknown_key_changes_nothing() -> None:
    state = WatchState()
    assert state.on(KeyPressed("x")) == "wait"
    assert not state.asking


def test_a_tick_waits_until_the_time_limit_then_ends_the_watch() -> None:
    clock = Clock()
    state = WatchState(clock=clock, duration=5.0)
    clock.now += 4.9
    assert state.on(Tick()) == "wait"
    assert state.time_left() == pytest.approx(0.1)
    clock.now += 0.1
    assert state.on(Tick()) == "time up"


def test_without_a_time_limit_a_tick_never_ends_the_watch() -> None:
    clock = Clock()
    state = WatchState(clock=clock)
    clock.now += 10**9
    assert state.on(Tick()) == "wait"
    assert state.time_left() is None


def test_the_reset_question_is_answered_only_by_a_key() -> None:
    state = WatchState()
    assert state.on(KeyPressed("r")) == "ask"
    assert state.on(FilesChanged()) == "wait"  # the save is seen once the question is answered
    assert state.on(KeyPressed("q")) == "keep"  # any key but y keeps the files
    assert state.on(KeyPressed("q")) == "quit"  # the question is closed: q quits again


def test_y_answers_the_reset_question_with_a_reset() -> None:
    state = WatchState()
    state.on(KeyPressed("r"))
    assert state.on(KeyPressed("y")) == "reset"
    assert not state.asking


def test_a_terminal_that_goes_away_ends_the_watch_even_mid_question() -> None:
    state = WatchState()
    state.on(KeyPressed("r"))
    assert state.on(TerminalGone()) == "gone"


def test_max_runs_stops_after_that_many_checks() -> None:
    state = WatchState(max_runs=2)
    assert state.checked(passed=False) == "wait"
    assert state.checked(passed=False) == "stop"


def test_following_the_course_moves_on_only_after_a_pass() -> None:
    state = WatchState(follow=True)
    assert state.checked(passed=False) == "wait"
    assert state.checked(passed=True) == "next"


def test_a_named_exercise_is_watched_even_after_it_passes() -> None:
    assert WatchState(follow=False).checked(passed=True) == "wait"
