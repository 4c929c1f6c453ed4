"""The policy machine is the aggregate machine with a model: one refusal checker, one state.

``PolicyMachine`` drives a ``PolicySession``, so a refused command in a random
program is judged exactly as in an example test: by ``policy_state``, which
includes the ``active_rule_for`` answers. It is an ``AggregateMachine``, so it
can be subclassed without a type ignore, keeps its program length, and can
check its boundary too.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import settings
from hypothesis.stateful import invariant, run_state_machine_as_test

from aggregates_course import ActiveRule, DuplicateMetricWindow, MonitoringPolicy
from aggregates_course.testing import (
    STEPS_PER_PROGRAM,
    AggregateMachine,
    PolicyMachine,
    PolicySession,
    policy_machine,
    policy_state,
)
from tests.rooms import VERDICT


class GoesBlindAfterARefusal(MonitoringPolicy):
    """Refuses a watched pair correctly, then stops answering for it: a trace left by a refusal."""

    def __init__(self, policy_id: str) -> None:
        super().__init__(policy_id)
        self._blind: set[tuple[str, timedelta]] = set()

    def add_active_rule(self, rule: ActiveRule) -> None:
        try:
            super().add_active_rule(rule)
        except DuplicateMetricWindow:
            self._blind.add(rule.watch)
            raise

    def active_rule_for(self, metric: str, window: timedelta) -> ActiveRule | None:
        if (metric, window) in self._blind:
            return None
        return super().active_rule_for(metric, window)


class LeaksItsActiveRules(MonitoringPolicy):
    @property
    def active_rules(self) -> tuple[ActiveRule, ...]:
        return self._active  # type: ignore[return-value]


def first_failure(machine: type[AggregateMachine[MonitoringPolicy]]) -> str:
    with pytest.raises(AssertionError) as failure:
        run_state_machine_as_test(machine, settings=VERDICT)
    return str(failure.value)


TRACE = (
    "refused command add {b}(cpu, 1m) changed the policy: it read (({a}(cpu, 1m),), (), "
    "({a}(cpu, 1m),)), now (({a}(cpu, 1m),), (), (none,)) -- after: add {a}(cpu, 1m); "
    "add {b}(cpu, 1m)"
)


def test_the_machine_judges_a_refusal_by_the_active_rule_for_answers_too() -> None:
    # The rule lists are as they were; only active_rule_for stopped answering for (cpu, 1m).
    message = first_failure(policy_machine(GoesBlindAfterARefusal))
    first, second = re.findall(r"add (r\d)\(cpu, 1m\)", message.partition(" -- after: ")[2])
    assert message == TRACE.format(a=first, b=second)


def test_a_session_reports_a_trace_in_the_machines_words() -> None:
    session = PolicySession(GoesBlindAfterARefusal("policy-1"))
    session.add(ActiveRule("r1", "cpu", timedelta(minutes=1), 0.5))
    clash = ActiveRule("r2", "cpu", timedelta(minutes=1), 0.5)
    with pytest.raises(AssertionError) as failure:
        session.refuses_add(clash, DuplicateMetricWindow)
    assert str(failure.value) == TRACE.format(a="r1", b="r2")


def test_a_session_reads_the_policy_through_policy_state() -> None:
    policy = MonitoringPolicy("policy-1")
    policy.add_active_rule(ActiveRule("r1", "cpu", timedelta(minutes=1), 0.5))
    policy.retire_rule("r1", "noisy")
    assert PolicySession(policy).state() == policy_state(policy)
    active, retired, answers = policy_state(policy)
    assert (active, answers) == ((), (None,))  # the retired rule's watch answers nothing now
    assert retired == tuple(policy.retired_rules)


class ReferenceMachine(PolicyMachine[MonitoringPolicy]):
    """Subclassed directly: no type: ignore, no @settings, an invariant of its own."""

    def make_policy(self, policy_id: str) -> MonitoringPolicy:
        return MonitoringPolicy(policy_id)

    @invariant()
    def history_matches_the_steps_accepted(self) -> None:
        accepted = [step for step in self.steps if not step.endswith("(refused)")]
        assert len(self.history) == len(accepted)


# Taken at import, as a test module takes it (Hypothesis caches few TestCase classes).
REFERENCE_TEST_CASE = ReferenceMachine.TestCase


def test_a_direct_subclass_keeps_the_program_length_and_runs_its_own_invariants() -> None:
    assert REFERENCE_TEST_CASE.settings.stateful_step_count == STEPS_PER_PROGRAM
    run_state_machine_as_test(ReferenceMachine, settings=settings(VERDICT, max_examples=30))


class SealedReferenceMachine(ReferenceMachine):
    boundary_depth = 4


class LeakyMachine(SealedReferenceMachine):
    def make_policy(self, policy_id: str) -> MonitoringPolicy:
        return LeaksItsActiveRules(policy_id)


def test_the_reference_policy_has_no_route_around_its_root() -> None:
    run_state_machine_as_test(SealedReferenceMachine, settings=settings(VERDICT, max_examples=30))


def test_the_policy_machine_can_check_the_boundary_as_any_aggregate_machine_does() -> None:
    message = first_failure(LeakyMachine)
    assert message.startswith(
        "policy.active_rules[...] = ... changed the aggregate behind the root's back: "
    )
