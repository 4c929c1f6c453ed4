"""The policy-shaped aggregate: its model, its invariants, and the session and machine for it.

:func:`policy_machine` tests your own policy aggregate against the same model
the reference implementation passes::

    from aggregates_course.testing import policy_machine
    from my_service.policy import MyPolicy

    TestMyPolicy = policy_machine(MyPolicy).TestCase
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic, Protocol, TypeVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from aggregates_course.domain.errors import (
    DomainError,
    DuplicateMetricWindow,
    DuplicateRuleId,
    InvalidReason,
    UnknownRule,
)
from aggregates_course.domain.events import RuleActivated, RuleRetired
from aggregates_course.domain.rules import ActiveRule, RetiredRule
from aggregates_course.testing.machine import STEPS_PER_PROGRAM
from aggregates_course.testing.refusals import (
    INVARIANT_WORDS,
    _Refusal,
    expect_refusal,
    refusal_details,
)
from aggregates_course.testing.strategies import (
    METRICS,
    WINDOWS,
    active_rules,
    blank_reasons,
    reasons,
    rule_ids,
)
from aggregates_course.testing.words import describe, describe_watch, expect_equal


class PolicyLike(Protocol):
    """The reading and command API shared by every policy-shaped aggregate in the course."""

    @property
    def policy_id(self) -> str:
        """The policy's identity; every refusal names it."""
        ...

    @property
    def active_rules(self) -> Sequence[ActiveRule]:
        """Active rules in activation order; no two watch the same (metric, window)."""
        ...

    @property
    def retired_rules(self) -> Sequence[RetiredRule]:
        """Retired rules in retirement order; their ids stay taken forever."""
        ...

    def active_rule_for(self, metric: str, window: timedelta) -> ActiveRule | None:
        """The active rule watching ``(metric, window)``, or ``None``."""
        ...

    def add_active_rule(self, rule: ActiveRule) -> None:
        """Activate ``rule``; raise DuplicateRuleId or DuplicateMetricWindow, changing nothing."""
        ...

    def retire_rule(self, rule_id: str, reason: str) -> None:
        """Retire an active rule; raise UnknownRule or InvalidReason, changing nothing."""
        ...

    def collect_events(self) -> Sequence[object]:
        """Return the events recorded since the last call, and forget them."""
        ...


@dataclass
class PolicyModel:
    """The simplest possible policy: plain lists, checked by scanning.

    A state machine compares the aggregate under test against this model
    after every step. It is obviously correct, and deliberately slow.
    """

    active: list[ActiveRule] = field(default_factory=list)
    retired: list[tuple[ActiveRule, str]] = field(default_factory=list)

    def refusal_for_add(self, rule: ActiveRule) -> type[DomainError] | None:
        """The error class adding ``rule`` must raise, or ``None`` if it is allowed."""
        used = [r.rule_id for r in self.active] + [r.rule_id for r, _ in self.retired]
        if rule.rule_id in used:
            return DuplicateRuleId
        if any(r.watch == rule.watch for r in self.active):
            return DuplicateMetricWindow
        return None

    def refusal_for_retire(self, rule_id: str, reason: str) -> type[DomainError] | None:
        """The error class retiring ``rule_id`` must raise, or ``None`` if it is allowed."""
        if all(r.rule_id != rule_id for r in self.active):
            return UnknownRule
        if not reason.strip():
            return InvalidReason
        return None

    def add(self, rule: ActiveRule) -> None:
        """Apply an add the model allows."""
        self.active.append(rule)

    def retire(self, rule_id: str, reason: str) -> None:
        """Apply a retire the model allows."""
        rule = next(r for r in self.active if r.rule_id == rule_id)
        self.active.remove(rule)
        self.retired.append((rule, reason))


def check_policy_invariants(policy: PolicyLike, steps: Sequence[str] = ()) -> None:
    """Assert the three invariants on ``policy``, in domain words.

    The message names the broken invariant, the rules involved, and the
    steps that led there, e.g.
    ``two active rules watch (cpu, 5m): r1, r2 -- after: add r1(cpu, 5m); add r2(cpu, 5m)``.
    """
    after = f" -- after: {'; '.join(steps)}" if steps else ""
    active = list(policy.active_rules)
    retired = list(policy.retired_rules)
    seen_ids: dict[str, str] = {}
    for rule_id, where in [(r.rule_id, "active") for r in active] + [
        (r.rule_id, "retired") for r in retired
    ]:
        if rule_id in seen_ids:
            raise AssertionError(
                f"rule id {rule_id!r} is used twice ({seen_ids[rule_id]} and {where}); "
                f"ids must be unique within a policy{after}"
            )
        seen_ids[rule_id] = where
    by_watch: dict[tuple[str, timedelta], ActiveRule] = {}
    for active_rule in active:
        other = by_watch.get(active_rule.watch)
        if other is not None:
            raise AssertionError(
                f"two active rules watch {describe_watch(*active_rule.watch)}: "
                f"{other.rule_id}, {active_rule.rule_id}{after}"
            )
        by_watch[active_rule.watch] = active_rule
        found = policy.active_rule_for(active_rule.metric, active_rule.window)
        if found != active_rule:
            raise AssertionError(
                f"active_rule_for{describe_watch(*active_rule.watch)} returned {found!r}, "
                f"but {active_rule.rule_id} is the active rule watching it{after}"
            )
    for retired_rule in retired:
        watch = retired_rule.rule.watch
        if watch not in by_watch and policy.active_rule_for(*watch) is not None:
            raise AssertionError(
                f"retired rule {retired_rule.rule_id} still answers "
                f"active_rule_for{describe_watch(*watch)}; retiring must update the index{after}"
            )


_Policy = TypeVar("_Policy", bound=PolicyLike)


class PolicySession(Generic[_Policy]):
    """A policy driven through its root, remembering each step for failure messages.

    Plain tests use it to build a situation in domain words and to check that a
    refused command raised the right error and changed nothing::

        session = PolicySession(MonitoringPolicy("p1"))
        session.add(ActiveRule("r1", "cpu", timedelta(minutes=5), 0.9))
        session.retire("r1", "replaced")
        session.refuses_add(ActiveRule("r1", "memory", timedelta(hours=1), 0.5), DuplicateRuleId)

    ``history`` keeps every event collected so far, in order.
    """

    def __init__(self, policy: _Policy) -> None:
        self.policy = policy
        self.steps: list[str] = []
        self.history: list[object] = []

    def add(self, rule: ActiveRule) -> None:
        """Activate ``rule`` through the root, which must accept it, and record the step."""
        self._accepts(f"add {rule.describe()}", lambda: self.policy.add_active_rule(rule))

    def retire(self, rule_id: str, reason: str) -> None:
        """Retire ``rule_id`` through the root, which must accept it, and record the step."""
        self._accepts(
            f"retire {rule_id} ({reason!r})", lambda: self.policy.retire_rule(rule_id, reason)
        )

    def refuses_add(self, rule: ActiveRule, expected: type[_Refusal]) -> _Refusal:
        """Adding ``rule`` must raise ``expected``, telling the truth, and change nothing.

        The error must name this policy and the rule, say whether a reused id
        is retired, and for a watched pair name the rule watching it
        (:func:`refusal_details`). Returns the error.
        """
        details = refusal_details(
            expected,
            self.policy.policy_id,
            rule.rule_id,
            retired_ids=self._retired_ids(),
            watched_by=self.policy.active_rule_for(*rule.watch),
            watch=rule.watch,
        )
        return self._refuses(
            f"add {rule.describe()}", expected, lambda: self.policy.add_active_rule(rule), details
        )

    def refuses_retire(self, rule_id: str, reason: str, expected: type[_Refusal]) -> _Refusal:
        """Retiring ``rule_id`` must raise ``expected``, telling the truth, and change nothing.

        The error must name this policy and the rule, and an ``UnknownRule``
        must say whether the id belongs to a retired rule. Returns the error.
        """
        details = refusal_details(
            expected, self.policy.policy_id, rule_id, retired_ids=self._retired_ids()
        )
        return self._refuses(
            f"retire {rule_id} ({reason!r})",
            expected,
            lambda: self.policy.retire_rule(rule_id, reason),
            details,
        )

    def expect(self, what: str, expected: object, actual: object, why: str = "") -> None:
        """Assert that ``what`` reads ``expected`` after the steps so far (:func:`expect_equal`)."""
        expect_equal(what, expected, actual, self.steps, why)

    def state(self) -> tuple[object, ...]:
        """Everything a reader can see; override to add an aggregate's own indexes."""
        rules = [*self.policy.active_rules, *(r.rule for r in self.policy.retired_rules)]
        return (
            tuple(self.policy.active_rules),
            tuple(self.policy.retired_rules),
            tuple(self.policy.active_rule_for(*r.watch) for r in rules),
        )

    def check(self) -> None:
        """Assert the invariants, naming the steps taken so far."""
        check_policy_invariants(self.policy, self.steps)

    def _accepts(self, step: str, command: Callable[[], object]) -> None:
        try:
            command()
        except DomainError as refused:
            raise AssertionError(
                f"{step} breaks no invariant and should be accepted, but it was refused with "
                f"{type(refused).__name__}: {refused} -- after: {'; '.join([*self.steps, step])}"
            ) from refused
        self.steps.append(step)
        self.history.extend(self.policy.collect_events())

    def _retired_ids(self) -> set[str]:
        return {retired.rule_id for retired in self.policy.retired_rules}

    def _refuses(
        self,
        step: str,
        expected: type[_Refusal],
        command: Callable[[], object],
        details: tuple[Mapping[str, object], Sequence[str]],
    ) -> _Refusal:
        before = self.state()
        refused = _expect_policy_refusal(expected, step, command, self.steps, details)
        after = f" -- after: {'; '.join([*self.steps, step])}"
        now = self.state()
        assert now == before, (
            f"refused command {step} changed the policy: it read {describe(before)}, "
            f"now {describe(now)}{after}"
        )
        events = list(self.policy.collect_events())
        assert events == [], f"refused command {step} recorded events {describe(events)}{after}"
        self.steps.append(f"{step} (refused)")
        return refused


def _expect_policy_refusal(
    expected: type[_Refusal],
    step: str,
    command: Callable[[], object],
    steps: Sequence[str],
    details: tuple[Mapping[str, object], Sequence[str]],
) -> _Refusal:
    # A policy's refusal names its invariant, and must carry the details refusal_details gave.
    words = next((words for kind, words in INVARIANT_WORDS.items() if kind is expected), "")
    fields, mentions = details
    return expect_refusal(expected, step, command, steps, words, fields=fields, mentions=mentions)


def rule_values(rule: Any) -> tuple[str, str, timedelta, float]:
    """``(rule_id, metric, window, threshold)``: what a rule says, whatever class carries it.

    Comparing values rather than objects lets the model check an aggregate
    with its own child class, and a value copy cannot change behind the
    comparison's back the way a shared mutable child can.
    """
    return (rule.rule_id, rule.metric, rule.window, rule.threshold)


def policy_machine(
    make_policy: Callable[[str], _Policy],
    *,
    policy_id: str = "policy-1",
    add_routes: Mapping[str, Callable[[_Policy, ActiveRule], None]] | None = None,
    records_events: bool = True,
) -> type[RuleBasedStateMachine]:
    """Build a state machine that drives ``make_policy(policy_id)`` against :class:`PolicyModel`.

    Random adds and retires, duplicates, unknown ids and blank reasons
    included. After every step it checks the invariants, agreement with the
    model, the ``active_rule_for`` index and the emitted events; a refused
    command must raise the model's error and change nothing at all.
    Use ``policy_machine(MyPolicy).TestCase`` as a pytest test class.

    ``add_routes`` names several ways to add a rule (say, the entry points of
    a service); each add then takes a random route, and the steps in a
    failure message say which one (``add r1(cpu, 5m) via import_rules``).
    Without it every add calls ``policy.add_active_rule``.

    Rules are compared by :func:`rule_values`, so an aggregate may use its own
    child class (convert to it in an ``add_routes`` entry). With
    ``records_events=False`` the machine never calls ``collect_events``.
    Otherwise ``self.history`` holds every event collected so far, in order,
    for subclasses that rebuild a projection from them.
    """
    routes: dict[str, Callable[[_Policy, ActiveRule], None]] = (
        dict(add_routes) if add_routes else {"": lambda policy, rule: policy.add_active_rule(rule)}
    )

    class PolicyMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.policy = make_policy(policy_id)
            self.model = PolicyModel()
            self.steps: list[str] = []
            self.history: list[object] = []

        def _state(self) -> tuple[Any, ...]:
            return (tuple(self.policy.active_rules), tuple(self.policy.retired_rules))

        def _refused(
            self,
            step: str,
            expected: type[DomainError],
            command: Callable[[], None],
            rule_id: str,
            watch: tuple[str, timedelta] | None = None,
        ) -> None:
            before = self._state()
            details = refusal_details(
                expected,
                policy_id,
                rule_id,
                retired_ids={r.rule_id for r, _ in self.model.retired},
                watched_by=next((r for r in self.model.active if r.watch == watch), None),
            )
            _expect_policy_refusal(expected, step, command, self.steps, details)
            assert self._state() == before, (
                f"refused command {step} changed the policy -- after: {'; '.join(self.steps)}"
            )
            if records_events:
                events = list(self.policy.collect_events())
                assert events == [], f"refused command {step} recorded events {describe(events)}"
            self.steps.append(f"{step} (refused)")

        @rule(rule=active_rules(), route=st.sampled_from(sorted(routes)))
        def add(self, rule: ActiveRule, route: str) -> None:
            step = f"add {rule.describe()}" + (f" via {route}" if route else "")
            refusal = self.model.refusal_for_add(rule)
            if refusal is not None:
                self._refused(
                    step,
                    refusal,
                    lambda: routes[route](self.policy, rule),
                    rule.rule_id,
                    rule.watch,
                )
                return
            routes[route](self.policy, rule)
            self.model.add(rule)
            self.steps.append(step)
            if records_events:
                events = list(self.policy.collect_events())
                assert events == [RuleActivated(policy_id, rule)], (
                    f"{step} should record exactly RuleActivated, got {describe(events)}"
                )
                self.history.extend(events)

        @rule(rule_id=rule_ids(), reason=st.one_of(reasons(), blank_reasons()))
        def retire(self, rule_id: str, reason: str) -> None:
            step = f"retire {rule_id} ({reason!r})"
            refusal = self.model.refusal_for_retire(rule_id, reason)
            if refusal is not None:
                self._refused(
                    step, refusal, lambda: self.policy.retire_rule(rule_id, reason), rule_id
                )
                return
            self.policy.retire_rule(rule_id, reason)
            self.model.retire(rule_id, reason)
            self.steps.append(step)
            if records_events:
                events = list(self.policy.collect_events())
                assert events == [RuleRetired(policy_id, rule_id, reason)], (
                    f"{step} should record exactly RuleRetired, got {describe(events)}"
                )
                self.history.extend(events)

        @precondition(lambda self: bool(self.model.active))
        @rule(data=st.data())
        def retire_existing(self, data: st.DataObject) -> None:
            # Drawing from the live rules makes successful retirements common.
            target = data.draw(st.sampled_from([r.rule_id for r in self.model.active]))
            self.retire(target, data.draw(reasons()))

        @invariant()
        def invariants_hold(self) -> None:
            check_policy_invariants(self.policy, self.steps)

        @invariant()
        def agrees_with_model(self) -> None:
            after = f" -- after: {'; '.join(self.steps)}"
            active = [rule_values(r) for r in self.policy.active_rules]
            assert active == [rule_values(r) for r in self.model.active], (
                f"active rules {[r.rule_id for r in self.policy.active_rules]} differ from "
                f"expected {[r.rule_id for r in self.model.active]}{after}"
            )
            retired = [(rule_values(r.rule), r.reason) for r in self.policy.retired_rules]
            assert retired == [(rule_values(r), why) for r, why in self.model.retired], (
                f"retired rules {[r.rule_id for r in self.policy.retired_rules]} differ from "
                f"expected {[r.rule_id for r, _ in self.model.retired]}{after}"
            )
            for metric in METRICS:
                for window in WINDOWS:
                    expected = next(
                        (r for r in self.model.active if r.watch == (metric, window)), None
                    )
                    found = self.policy.active_rule_for(metric, window)
                    same = (found is None and expected is None) or (
                        found is not None
                        and expected is not None
                        and rule_values(found) == rule_values(expected)
                    )
                    assert same, (
                        f"active_rule_for{describe_watch(metric, window)} returned "
                        f"{found!r}, expected {expected!r}{after}"
                    )

    # Twenty steps reach every bug these invariants can have (the shortest needs four)
    # and keep a learner's run of a solved exercise well under two seconds. Set on the
    # TestCase, not with @settings, so a subclass may still decorate itself.
    PolicyMachine.TestCase.settings = settings(
        PolicyMachine.TestCase.settings, stateful_step_count=STEPS_PER_PROGRAM
    )
    name = getattr(make_policy, "__name__", "<lambda>")
    # Hypothesis prints the class name in every counterexample: make it read as a name.
    PolicyMachine.__name__ = PolicyMachine.__qualname__ = (
        "PolicyMachine" if name == "<lambda>" else f"{name}Machine"
    )
    return PolicyMachine
