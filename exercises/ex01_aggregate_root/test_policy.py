"""Exercise 1 specification: add_active_rule on the aggregate root.

Run: uv run pytest exercises/ex01_aggregate_root
"""

from __future__ import annotations

from datetime import timedelta
from types import ModuleType

import pytest

from aggregates_course import ActiveRule, DuplicateMetricWindow, DuplicateRuleId, RuleActivated
from aggregates_course.course.target import load_target
from aggregates_course.testing import PolicyLike, check_policy_invariants, policy_machine

FIVE_MINUTES = timedelta(minutes=5)


def solution() -> ModuleType:
    return load_target("ex01_aggregate_root", "policy")


def new_policy(policy_id: str = "policy-1") -> PolicyLike:
    policy: PolicyLike = solution().MonitoringPolicy(policy_id)
    return policy


def rule(rule_id: str, metric: str = "cpu", window: timedelta = FIVE_MINUTES) -> ActiveRule:
    return ActiveRule(rule_id=rule_id, metric=metric, window=window, threshold=0.9)


def state(policy: PolicyLike) -> tuple[object, ...]:
    return (policy.active_rules, policy.retired_rules, policy.active_rule_for("cpu", FIVE_MINUTES))


def test_an_added_rule_becomes_active_and_indexed() -> None:
    policy = new_policy()
    policy.add_active_rule(rule("r1"))
    assert policy.active_rules == (rule("r1"),)
    assert policy.active_rule_for("cpu", FIVE_MINUTES) == rule("r1")
    assert policy.collect_events() == [RuleActivated("policy-1", rule("r1"))]


def test_a_reused_active_id_is_refused() -> None:
    policy = new_policy()
    policy.add_active_rule(rule("r1"))
    with pytest.raises(DuplicateRuleId):
        policy.add_active_rule(rule("r1", metric="memory"))


def test_a_retired_id_is_never_reused() -> None:
    policy = new_policy()
    policy.add_active_rule(rule("r1"))
    policy.retire_rule("r1", "replaced")
    with pytest.raises(DuplicateRuleId):
        policy.add_active_rule(rule("r1", metric="memory"))


def test_two_active_rules_cannot_watch_the_same_metric_and_window() -> None:
    policy = new_policy()
    policy.add_active_rule(rule("r1"))
    with pytest.raises(DuplicateMetricWindow):
        policy.add_active_rule(rule("r2"))


@pytest.mark.parametrize(
    ("metric", "window"), [("cpu", timedelta(hours=1)), ("memory", FIVE_MINUTES)]
)
def test_the_same_metric_or_window_alone_is_allowed(metric: str, window: timedelta) -> None:
    policy = new_policy()
    policy.add_active_rule(rule("r1"))
    policy.add_active_rule(rule("r2", metric, window))
    assert [r.rule_id for r in policy.active_rules] == ["r1", "r2"]


def test_a_retired_rules_watch_is_free_again() -> None:
    policy = new_policy()
    policy.add_active_rule(rule("r1"))
    policy.retire_rule("r1", "replaced")
    policy.add_active_rule(rule("r2"))
    assert policy.active_rule_for("cpu", FIVE_MINUTES) == rule("r2")


@pytest.mark.parametrize(
    "refused",
    [rule("r1", metric="memory"), rule("r2")],
    ids=["duplicate id", "duplicate watch"],
)
def test_a_refused_add_changes_nothing(refused: ActiveRule) -> None:
    policy = new_policy()
    policy.add_active_rule(rule("r1"))
    policy.collect_events()
    before = state(policy)
    with pytest.raises((DuplicateRuleId, DuplicateMetricWindow)):
        policy.add_active_rule(refused)
    assert state(policy) == before
    assert policy.collect_events() == []
    check_policy_invariants(policy, [f"add {rule('r1').describe()}", f"add {refused.describe()}"])


TestRandomProgramsOfCommands = policy_machine(lambda policy_id: new_policy(policy_id)).TestCase
