"""`aggregates-course solution`: refused while pending, a stub-to-solution diff after."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli_support import EX01, run_cli, solve, warm_course

__all__ = ["warm_course"]  # a fixture, re-exported for pytest

SOLUTION_LINE = "+        if rule.rule_id in self._active or rule.rule_id in self._retired:"


def test_a_pending_exercise_refuses_to_show_its_solution(warm_course: Path) -> None:
    result = run_cli(warm_course, "solution", EX01)
    assert result.code == 1
    assert "--give-up" in result.out
    assert SOLUTION_LINE not in result.out


def test_give_up_shows_the_diff_from_stub_to_solution(warm_course: Path) -> None:
    result = run_cli(warm_course, "solution", EX01, "--give-up")
    assert result.code == 0
    assert f"--- stub/{EX01}/policy.py" in result.out
    assert f"+++ solution/{EX01}/policy.py" in result.out
    assert SOLUTION_LINE in result.out
    assert "-        raise NotImplementedError(" in result.out


def test_a_done_exercise_shows_its_solution(warm_course: Path) -> None:
    solve(warm_course, EX01, "policy.py")
    result = run_cli(warm_course, "solution", EX01)
    assert result.code == 0
    assert SOLUTION_LINE in result.out
