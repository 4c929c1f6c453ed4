"""Failure messages in domain words: describe, expect_equal, and refusals that must tell the truth.

Every check in the exercises reports through these helpers, so a learner
never reads a bare ``assert [] == [...]``, and a refusal that names the wrong
rule, or says "active" of a retired one, fails as surely as no refusal.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from aggregates_course import (
    ActiveRule,
    ConcurrencyConflict,
    DuplicateMetricWindow,
    DuplicateRuleId,
    InvalidReason,
    MonitoringPolicy,
    RetiredRule,
    RuleActivated,
    RuleRetired,
    UnknownRule,
)
from aggregates_course.testing import (
    PolicySession,
    describe,
    expect_equal,
    expect_refusal,
    policy_machine,
    refusal_details,
)

FIVE_MINUTES = timedelta(minutes=5)
R1 = ActiveRule("r1", "cpu", FIVE_MINUTES, 0.9)


# -- describe ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (R1, "r1(cpu, 5m)"),
        (RetiredRule(R1, "noisy"), "r1(cpu, 5m) retired for 'noisy'"),
        (RuleActivated("p1", R1), "RuleActivated(r1(cpu, 5m))"),
        (RuleRetired("p1", "r1", "noisy"), "RuleRetired(r1, 'noisy')"),
        ((R1,), "(r1(cpu, 5m),)"),
        ((), "()"),
        ([R1, None], "[r1(cpu, 5m), none]"),
        ({"cpu": 1}, "{'cpu': 1}"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        ("r1", "'r1'"),
    ],
)
def test_describe_speaks_the_domain(value: object, words: str) -> None:
    assert describe(value) == words


def test_describe_reads_a_stored_policy_as_its_id_version_and_rules() -> None:
    policy = MonitoringPolicy("checkout")
    policy.add_active_rule(R1)
    assert describe(policy.snapshot()) == "checkout v0: active (r1(cpu, 5m),), retired ()"


# -- expect_equal --------------------------------------------------------------------------


def test_expect_equal_is_silent_when_the_values_agree() -> None:
    expect_equal("active_rules", (R1,), (R1,), ["add r1(cpu, 5m)"])


def test_expect_equal_names_what_was_read_both_values_and_the_steps() -> None:
    with pytest.raises(AssertionError) as failure:
        expect_equal("active_rules", (R1,), (), ["add r1(cpu, 5m)"], "an accepted rule is active")
    assert str(failure.value) == (
        "after add r1(cpu, 5m), active_rules should be (r1(cpu, 5m),), but was (): "
        "an accepted rule is active"
    )


def test_a_session_reports_reads_after_its_steps() -> None:
    session = PolicySession(MonitoringPolicy("p1"))
    session.add(R1)
    with pytest.raises(AssertionError, match=r"^after add r1\(cpu, 5m\), retired_rules should"):
        session.expect("retired_rules", (RetiredRule(R1, "x"),), session.policy.retired_rules)


# -- refusals that tell the truth ------------------------------------------------------------


def test_a_refusal_must_carry_the_expected_fields() -> None:
    def refuse() -> None:
        raise DuplicateRuleId("p1", "r1", retired=False)

    with pytest.raises(AssertionError) as failure:
        expect_refusal(DuplicateRuleId, "add r1(memory, 5m)", refuse, fields={"retired": True})
    message = str(failure.value)
    assert "was refused with DuplicateRuleId, as it should be" in message
    assert "says retired=False where it should say retired=True" in message
    assert failure.value.__context__ is None, "one error, not the refusal chained under it"


def test_a_flag_must_be_the_boolean_itself() -> None:
    def refuse() -> None:
        raise UnknownRule("p1", "r1", retired=1)  # type: ignore[arg-type]

    with pytest.raises(AssertionError, match="says retired=1 where it should say retired=True"):
        expect_refusal(UnknownRule, "retire r1", refuse, fields={"retired": True})


def test_a_refusal_message_must_name_what_it_mentions() -> None:
    def refuse() -> None:
        raise DuplicateMetricWindow("p1", "r2", "r1", "cpu over five minutes")

    with pytest.raises(AssertionError, match=r"does not name \(cpu, 5m\)"):
        expect_refusal(DuplicateMetricWindow, "add r2", refuse, mentions=["(cpu, 5m)"])


def test_any_exception_type_can_be_expected() -> None:
    def refuse() -> None:
        raise ConcurrencyConflict("p1", 1, 3)

    refused = expect_refusal(
        ConcurrencyConflict, "save", refuse, fields={"expected": 1, "actual": 3}
    )
    assert refused.actual == 3
    expect_refusal(ValueError, "parse", lambda: int("x"), mentions=["'x'"])


def test_refusal_details_name_the_policy_the_rule_and_what_it_clashed_with() -> None:
    assert refusal_details(DuplicateRuleId, "p1", "r1", retired_ids={"r1"}) == (
        {"policy_id": "p1", "rule_id": "r1", "retired": True},
        (),
    )
    assert refusal_details(UnknownRule, "p1", "r9", retired_ids={"r1"}) == (
        {"policy_id": "p1", "rule_id": "r9", "retired": False},
        (),
    )
    assert refusal_details(DuplicateMetricWindow, "p1", "r2", watched_by=R1) == (
        {"policy_id": "p1", "rule_id": "r2", "existing_rule_id": "r1"},
        ("(cpu, 5m)",),
    )
    assert refusal_details(InvalidReason, "p1", "r1") == ({"policy_id": "p1", "rule_id": "r1"}, ())


class SaysActiveForRetiredIds(MonitoringPolicy):
    """Broken on purpose: refuses a reused retired id, but says an active rule has it."""

    __slots__ = ()

    def add_active_rule(self, rule: ActiveRule) -> None:
        if any(r.rule_id == rule.rule_id for r in self.retired_rules):
            raise DuplicateRuleId(self.policy_id, rule.rule_id, retired=False)
        super().add_active_rule(rule)


class NamesTheWrongClash(MonitoringPolicy):
    """Broken on purpose: a watched pair is refused naming the new rule as the one watching it."""

    __slots__ = ()

    def add_active_rule(self, rule: ActiveRule) -> None:
        try:
            super().add_active_rule(rule)
        except DuplicateMetricWindow:
            raise DuplicateMetricWindow(self.policy_id, rule.rule_id, rule.rule_id, "(?)") from None


def test_a_session_refuses_a_refusal_that_misreports_a_retired_id() -> None:
    session = PolicySession(SaysActiveForRetiredIds("p1"))
    session.add(R1)
    session.retire("r1", "replaced")
    with pytest.raises(AssertionError, match="retired=False where it should say retired=True"):
        session.refuses_add(ActiveRule("r1", "memory", FIVE_MINUTES, 0.5), DuplicateRuleId)


def test_the_machine_refuses_a_refusal_that_names_the_wrong_clash() -> None:
    quick = settings(
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        report_multiple_bugs=False,
    )
    with pytest.raises(AssertionError, match="existing_rule_id="):
        run_state_machine_as_test(policy_machine(NamesTheWrongClash), settings=quick)
