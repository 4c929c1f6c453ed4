"""Exercise 1 specification: add_active_rule on the aggregate root.

Run: uv run pytest exercises/ex01_aggregate_root
"""

from __future__ import annotations

from datetime import timedelta
from types import ModuleType

import pytest

from aggregates_course import (
    ActiveRule,
    DomainError,
    DuplicateMetricWindow,
    DuplicateRuleId,
    RuleActivated,
)
from aggregates_course.course.target import load_target
from aggregates_course.testing import PolicyLike, PolicySession, policy_machine

FIVE_MINUTES = timedelta(minutes=5)


def solution() -> ModuleType:
    return load_target("ex01_aggregate_root", "policy")


def new_policy(policy_id: str = "policy-1") -> PolicyLike:
    policy: PolicyLike = solution().MonitoringPolicy(policy_id)
    return policy


def session_with(*rules: ActiveRule) -> PolicySession[PolicyLike]:
    session = PolicySession(new_policy())
    for active in rules:
        session.add(active)
    return session


def rule(rule_id: str, metric: str = "cpu", window: timedelta = FIVE_MINUTES) -> ActiveRule:
    return ActiveRule(rule_id=rule_id, metric=metric, window=window, threshold=0.9)


def test_an_added_rule_becomes_active_and_indexed() -> None:
    policy = new_policy()
    policy.add_active_rule(rule("r1"))
    assert policy.active_rules == (rule("r1"),)
    assert policy.active_rule_for("cpu", FIVE_MINUTES) == rule("r1")
    assert policy.collect_events() == [RuleActivated("policy-1", rule("r1"))]


def test_a_reused_active_id_is_refused() -> None:
    session = session_with(rule("r1"))
    session.refuses_add(rule("r1", metric="memory"), DuplicateRuleId)


def test_a_retired_id_is_never_reused() -> None:
    session = session_with(rule("r1"))
    session.retire("r1", "replaced")
    session.refuses_add(rule("r1", metric="memory"), DuplicateRuleId)


def test_two_active_rules_cannot_watch_the_same_metric_and_window() -> None:
    session = session_with(rule("r1"))
    session.refuses_add(rule("r2"), DuplicateMetricWindow)


@pytest.mark.parametrize(
    ("metric", "window"), [("cpu", timedelta(hours=1)), ("memory", FIVE_MINUTES)]
)
def test_the_same_metric_or_window_alone_is_allowed(metric: str, window: timedelta) -> None:
    session = session_with(rule("r1"), rule("r2", metric, window))
    assert [r.rule_id for r in session.policy.active_rules] == ["r1", "r2"]
    session.check()


def test_a_retired_rules_watch_is_free_again() -> None:
    session = session_with(rule("r1"))
    session.retire("r1", "replaced")
    session.add(rule("r2"))
    assert session.policy.active_rule_for("cpu", FIVE_MINUTES) == rule("r2")
    session.check()


@pytest.mark.parametrize(
    ("refused", "error"),
    [(rule("r1", metric="memory"), DuplicateRuleId), (rule("r2"), DuplicateMetricWindow)],
    ids=["duplicate id", "duplicate watch"],
)
def test_a_refused_add_changes_nothing(refused: ActiveRule, error: type[DomainError]) -> None:
    # refuses_add also checks that rules, index and events are exactly as before.
    session = session_with(rule("r1"))
    session.refuses_add(refused, error)
    session.check()


TestRandomProgramsOfCommands = policy_machine(lambda policy_id: new_policy(policy_id)).TestCase
