"""`aggregates-course hint`: one tier per call, remembered across calls."""

from __future__ import annotations

from pathlib import Path

from aggregates_course.course.catalog import load_catalog
from tests.test_cli_support import EX01, EX02, run_cli, solve, warm_course

__all__ = ["warm_course"]  # a fixture, re-exported for pytest


def test_each_call_shows_the_next_tier_then_says_none_are_left(warm_course: Path) -> None:
    hints = load_catalog(warm_course)[0].hints
    shown = [run_cli(warm_course, "hint", "ex01").out for _ in range(4)]
    for tier, (label, text) in enumerate(
        zip(("nudge", "pointer", "worked step"), hints, strict=True)
    ):
        assert f"Hint {tier + 1} of 3 ({label}) for {EX01}" in shown[tier]
        assert text in shown[tier]
    assert "No hints left" in shown[3]


def test_hints_are_counted_per_exercise(warm_course: Path) -> None:
    run_cli(warm_course, "hint", EX01)
    assert "Hint 1 of 3" in run_cli(warm_course, "hint", "2").out


def test_without_a_name_it_is_the_hint_for_the_exercise_being_worked_on(warm_course: Path) -> None:
    assert f"Hint 1 of 3 (nudge) for {EX01}" in run_cli(warm_course, "hint").out
    solve(warm_course, EX01, "policy.py")  # the warm course has seen this solution pass
    assert f"Hint 1 of 3 (nudge) for {EX02}" in run_cli(warm_course, "hint").out
