"""Exercise 1 specification: add_active_rule on the aggregate root.

One named example per behaviour of the README's goal list, then random
programs of commands on top.

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
ONE_MINUTE = timedelta(minutes=1)
ONE_HOUR = timedelta(hours=1)

# (metric, window) pairs the examples watch: a check that special-cases one of them fails.
WATCHES = [("cpu", FIVE_MINUTES), ("memory", ONE_HOUR), ("错误率", ONE_MINUTE)]


def solution() -> ModuleType:
    return load_target("ex01_aggregate_root", "policy")


def new_policy(policy_id: str = "policy-1") -> PolicyLike:
    policy: PolicyLike = solution().MonitoringPolicy(policy_id)
    return policy


def session_with(*rules: ActiveRule, policy_id: str = "policy-1") -> PolicySession[PolicyLike]:
    session = PolicySession(new_policy(policy_id))
    for active in rules:
        session.add(active)
    return session


def rule(
    rule_id: str, metric: str = "cpu", window: timedelta = FIVE_MINUTES, threshold: float = 0.9
) -> ActiveRule:
    return ActiveRule(rule_id=rule_id, metric=metric, window=window, threshold=threshold)


# -- an accepted rule ------------------------------------------------------------------------


def test_an_added_rule_becomes_active_and_indexed() -> None:
    session = session_with(rule("r1"))
    session.expect("active_rules", (rule("r1"),), tuple(session.policy.active_rules))
    session.expect(
        "active_rule_for(cpu, 5m)", rule("r1"), session.policy.active_rule_for("cpu", FIVE_MINUTES)
    )
    session.expect("the recorded events", [RuleActivated("policy-1", rule("r1"))], session.history)


def test_rules_stay_active_in_the_order_they_were_added() -> None:
    session = session_with(rule("r2", "memory"), rule("r1"), policy_id="checkout")
    session.expect(
        "active_rules", (rule("r2", "memory"), rule("r1")), tuple(session.policy.active_rules)
    )
    session.expect(
        "the recorded events",
        [RuleActivated("checkout", rule("r2", "memory")), RuleActivated("checkout", rule("r1"))],
        session.history,
    )


@pytest.mark.parametrize(
    ("metric", "window"), [("cpu", ONE_HOUR), ("memory", FIVE_MINUTES)], ids=["window", "metric"]
)
def test_the_same_metric_or_window_alone_is_allowed(metric: str, window: timedelta) -> None:
    session = session_with(rule("r1"), rule("r2", metric, window))
    session.expect(
        "active_rules", (rule("r1"), rule("r2", metric, window)), tuple(session.policy.active_rules)
    )
    session.check()


def test_a_retired_rules_watch_is_free_again() -> None:
    session = session_with(rule("r1"))
    session.retire("r1", "replaced")
    session.add(rule("r2"))
    session.expect(
        "active_rule_for(cpu, 5m)", rule("r2"), session.policy.active_rule_for("cpu", FIVE_MINUTES)
    )
    session.check()


@pytest.mark.parametrize("other_id", ["R1", "r10", "\uff521"], ids=["case", "prefix", "full width"])
def test_rule_ids_compare_exactly(other_id: str) -> None:
    # R1 is not r1: ids are compared as they are, never folded, trimmed or matched by prefix.
    session = session_with(rule("r1"))
    session.retire("r1", "replaced")
    session.add(rule(other_id, "memory"))
    session.add(rule("r2"))
    session.expect(
        "active_rules", (rule(other_id, "memory"), rule("r2")), tuple(session.policy.active_rules)
    )
    session.check()


@pytest.mark.parametrize(
    "other_metric", ["CPU", "\uff43\uff50\uff55", "cpu "], ids=["case", "full width", "padded"]
)
def test_metric_names_compare_exactly(other_metric: str) -> None:
    # CPU is not cpu: a metric name is compared as it is, never folded, trimmed or normalized,
    # so (CPU, 5m) is a pair of its own, and the index answers for each pair exactly.
    session = session_with(rule("r1"))
    session.add(rule("r2", other_metric))
    session.expect(
        f"active_rule_for({other_metric}, 5m)",
        rule("r2", other_metric),
        session.policy.active_rule_for(other_metric, FIVE_MINUTES),
    )
    session.expect(
        "active_rule_for(cpu, 5m)", rule("r1"), session.policy.active_rule_for("cpu", FIVE_MINUTES)
    )
    refused = session.refuses_add(rule("r3", other_metric), DuplicateMetricWindow)
    session.expect("DuplicateMetricWindow.existing_rule_id", "r2", refused.existing_rule_id)
    session.check()


# -- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("rule_id", ["r1", "cpu-hot"])
def test_a_reused_active_id_is_refused(rule_id: str) -> None:
    session = session_with(rule(rule_id))
    session.refuses_add(rule(rule_id, metric="memory"), DuplicateRuleId)


@pytest.mark.parametrize("rule_id", ["r1", "cpu-hot"])
def test_a_retired_id_is_never_reused(rule_id: str) -> None:
    session = session_with(rule(rule_id))
    session.retire(rule_id, "replaced")
    refused = session.refuses_add(rule(rule_id, metric="memory"), DuplicateRuleId)
    session.expect("DuplicateRuleId.retired", True, refused.retired)


@pytest.mark.parametrize(("metric", "window"), WATCHES, ids=[m for m, _ in WATCHES])
def test_two_active_rules_cannot_watch_the_same_metric_and_window(
    metric: str, window: timedelta
) -> None:
    # Another threshold changes nothing: the pair alone decides.
    session = session_with(rule("r1", metric, window), policy_id="checkout")
    refused = session.refuses_add(rule("r2", metric, window, 0.5), DuplicateMetricWindow)
    session.expect("DuplicateMetricWindow.existing_rule_id", "r1", refused.existing_rule_id)


@pytest.mark.parametrize(
    ("refused", "error"),
    [(rule("r1", metric="memory"), DuplicateRuleId), (rule("r2"), DuplicateMetricWindow)],
    ids=["duplicate id", "duplicate watch"],
)
def test_a_refused_add_changes_nothing(refused: ActiveRule, error: type[DomainError]) -> None:
    # refuses_add also checks that rules, index and events are exactly as before, and
    # that the error names the policy, the rule and what it clashed with.
    session = session_with(rule("r1"), rule("r3", "memory"))
    session.refuses_add(refused, error)
    session.check()
    session.add(rule("r4", "latency_p99"))
    session.expect(
        "active_rules",
        (rule("r1"), rule("r3", "memory"), rule("r4", "latency_p99")),
        tuple(session.policy.active_rules),
    )


@pytest.mark.parametrize("retired", [False, True], ids=["active id", "retired id"])
def test_a_reused_id_is_refused_as_such_even_when_its_watch_clashes_too(retired: bool) -> None:
    # The id is checked first, retired ids included: r1 is refused as a reused id even
    # when (cpu, 5m) is watched too (by r1 itself, or by r2 once r1 is retired).
    session = session_with(rule("r1"))
    if retired:
        session.retire("r1", "replaced")
        session.add(rule("r2"))
    session.refuses_add(rule("r1"), DuplicateRuleId)


# -- random programs -----------------------------------------------------------------------

TestRandomProgramsOfCommands = policy_machine(lambda policy_id: new_policy(policy_id)).TestCase
