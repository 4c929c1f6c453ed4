"""The public test kit in aggregates_course.testing: valid values, and a machine that bites.

Learners test their own aggregates with these strategies and with
``policy_machine``; a strategy that drew invalid values, or a machine that let
a broken aggregate pass, would mislead every one of them.
"""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from aggregates_course import (
    ActiveRule,
    DuplicateMetricWindow,
    DuplicateRuleId,
    InvalidReason,
    MonitoringPolicy,
    RuleActivated,
    UnknownRule,
)
from aggregates_course.testing import (
    METRICS,
    RULE_IDS,
    WINDOWS,
    PolicyModel,
    PolicySession,
    active_rules,
    blank_reasons,
    check_policy_invariants,
    describe_watch,
    expect_refusal,
    policies,
    policy_machine,
    reasons,
    thresholds,
)

# The first failing program is enough to show the machine bites; shrinking it would take
# most of the runtime. One bug, one report: no exception groups.
CATCH_FAST = settings(
    settings.default,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    report_multiple_bugs=False,
)


# -- strategies -------------------------------------------------------------------------


@given(policy=policies(policy_id="payments"))
def test_a_drawn_policy_is_valid_unsaved_and_has_no_pending_events(
    policy: MonitoringPolicy,
) -> None:
    # One test for all three, because drawing a policy is the slow part (about 10 ms).
    check_policy_invariants(policy)
    assert (policy.policy_id, policy.version, policy.collect_events()) == ("payments", 0, [])


def test_drawn_policies_include_retired_rules() -> None:
    policy = find(
        policies(),
        lambda p: len(p.retired_rules) > 0 and len(p.active_rules) > 0,
        settings=CATCH_FAST,
    )
    check_policy_invariants(policy)


@given(rule=active_rules())
def test_drawn_rules_come_from_the_small_pools(rule: ActiveRule) -> None:
    assert rule.rule_id in RULE_IDS
    assert rule.metric in METRICS
    assert rule.window in WINDOWS


@given(rule=active_rules())
def test_drawn_rules_rebuild_equal_through_validation(rule: ActiveRule) -> None:
    assert ActiveRule(rule.rule_id, rule.metric, rule.window, rule.threshold) == rule


@given(rule=active_rules(ids=st.just("custom"), window=st.just(timedelta(seconds=30))))
def test_drawn_rules_use_the_strategies_given(rule: ActiveRule) -> None:
    assert (rule.rule_id, rule.window) == ("custom", timedelta(seconds=30))


@given(threshold=thresholds())
def test_drawn_thresholds_are_finite(threshold: float) -> None:
    assert math.isfinite(threshold)


def test_drawn_thresholds_include_negative_zero() -> None:
    negative_zero = find(thresholds(), lambda t: t == 0 and math.copysign(1.0, t) < 0)
    assert repr(negative_zero) == "-0.0"


@given(reason=reasons())
def test_drawn_reasons_are_accepted_by_retire(reason: str) -> None:
    policy = MonitoringPolicy("checkout")
    policy.add_active_rule(ActiveRule("r1", "cpu", timedelta(minutes=5), 1.0))
    policy.retire_rule("r1", reason)
    assert policy.retired_rules[0].reason == reason


@given(reason=blank_reasons())
def test_drawn_blank_reasons_are_refused_by_retire(reason: str) -> None:
    policy = MonitoringPolicy("checkout")
    policy.add_active_rule(ActiveRule("r1", "cpu", timedelta(minutes=5), 1.0))
    with pytest.raises(InvalidReason):
        policy.retire_rule("r1", reason)


def test_the_model_refuses_a_retired_id() -> None:
    model = PolicyModel()
    model.add(ActiveRule("r1", "cpu", timedelta(minutes=5), 1.0))
    model.retire("r1", "replaced")
    assert model.refusal_for_add(ActiveRule("r1", "memory", timedelta(hours=1), 1.0)) is (
        DuplicateRuleId
    )


# -- policy_machine against broken aggregates --------------------------------------------


class ForgetsRetiredIds(MonitoringPolicy):
    """Broken on purpose: lets a new rule reuse the id of a retired one."""

    __slots__ = ()

    def _check_can_activate(self, rule: ActiveRule) -> None:
        # The bug: only active ids are checked, so a retired id looks free again.
        if rule.rule_id in self._active:
            raise DuplicateRuleId(self.policy_id, rule.rule_id, retired=False)
        existing = self.active_rule_for(*rule.watch)
        if existing is not None:
            watch = describe_watch(*rule.watch)
            raise DuplicateMetricWindow(self.policy_id, rule.rule_id, existing.rule_id, watch)


class KeepsRetiredRulesIndexed(MonitoringPolicy):
    """Broken on purpose: retiring leaves the rule answering ``active_rule_for``."""

    __slots__ = ()

    def retire_rule(self, rule_id: str, reason: str) -> None:
        rule = self._active.get(rule_id)
        super().retire_rule(rule_id, reason)
        if rule is not None:
            self._by_watch[rule.watch] = rule


class AnnouncesRefusedRules(MonitoringPolicy):
    """Broken on purpose: records RuleActivated before checking the invariants."""

    __slots__ = ()

    def add_active_rule(self, rule: ActiveRule) -> None:
        # The bug: the event is recorded before the checks, so a refusal still announces it.
        self._events.append(RuleActivated(self.policy_id, rule))
        super().add_active_rule(rule)
        self._events.pop()  # on success, drop the second copy the root recorded


def machine_failure(make_policy: type[MonitoringPolicy]) -> str:
    """Run ``policy_machine(make_policy)`` and return the message it fails with."""
    with pytest.raises(AssertionError) as failure:
        run_state_machine_as_test(policy_machine(make_policy), settings=CATCH_FAST)
    return str(failure.value)


def test_the_machine_catches_a_policy_that_reuses_retired_ids() -> None:
    message = machine_failure(ForgetsRetiredIds)
    assert "should be refused with DuplicateRuleId" in message
    assert "retire" in message


def test_the_machine_catches_a_policy_whose_index_keeps_retired_rules() -> None:
    message = machine_failure(KeepsRetiredRulesIndexed)
    assert "active_rule_for(" in message
    assert "retire" in message


def test_the_machine_catches_a_refused_command_that_records_an_event() -> None:
    message = machine_failure(AnnouncesRefusedRules)
    assert "recorded events" in message


def test_the_invariant_check_names_a_reused_retired_id() -> None:
    policy = ForgetsRetiredIds("checkout")
    policy.add_active_rule(ActiveRule("r1", "cpu", timedelta(minutes=5), 1.0))
    policy.retire_rule("r1", "replaced")
    policy.add_active_rule(ActiveRule("r1", "memory", timedelta(hours=1), 1.0))
    with pytest.raises(AssertionError, match="ids must be unique within a policy"):
        check_policy_invariants(policy)


def test_the_invariant_check_names_a_stale_index_entry() -> None:
    policy = KeepsRetiredRulesIndexed("checkout")
    policy.add_active_rule(ActiveRule("r1", "cpu", timedelta(minutes=5), 1.0))
    policy.retire_rule("r1", "replaced")
    with pytest.raises(AssertionError, match="retiring must update the index"):
        check_policy_invariants(policy, ["add r1(cpu, 5m)", "retire r1"])


def test_a_missing_refusal_names_the_invariant_and_the_steps() -> None:
    session = PolicySession(ForgetsRetiredIds("policy-1"))
    session.add(ActiveRule("r1", "cpu", timedelta(minutes=5), 0.9))
    session.retire("r1", "replaced")
    with pytest.raises(AssertionError) as failure:
        session.refuses_add(ActiveRule("r1", "memory", timedelta(hours=1), 0.5), DuplicateRuleId)
    assert str(failure.value) == (
        "add r1(memory, 1h) should be refused with DuplicateRuleId (rule ids are unique "
        "within a policy, retired ids included), but it was accepted -- after: "
        "add r1(cpu, 5m); retire r1 ('replaced'); add r1(memory, 1h)"
    )


def test_a_refusal_of_the_wrong_type_is_reported_as_such() -> None:
    def refuse_with_a_value_error() -> None:
        raise ValueError("not a domain error")

    with pytest.raises(AssertionError, match="but it raised ValueError: not a domain error"):
        expect_refusal(DuplicateMetricWindow, "add r2(cpu, 5m)", refuse_with_a_value_error)


def test_a_session_notices_a_refused_command_that_records_an_event() -> None:
    session = PolicySession(AnnouncesRefusedRules("policy-1"))
    session.add(ActiveRule("r1", "cpu", timedelta(minutes=5), 0.9))
    with pytest.raises(AssertionError, match="refused command add r2\\(cpu, 5m\\) recorded events"):
        session.refuses_add(
            ActiveRule("r2", "cpu", timedelta(minutes=5), 0.5), DuplicateMetricWindow
        )


def test_a_session_returns_the_refusal_for_further_checks() -> None:
    session = PolicySession(MonitoringPolicy("policy-1"))
    refused = session.refuses_retire("r9", "cleanup", UnknownRule)
    assert isinstance(refused, UnknownRule)
    assert session.steps == ["retire r9 ('cleanup') (refused)"]
