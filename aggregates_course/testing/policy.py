"""A policy driven through its root: the session example tests use, and the machine built on it.

:class:`PolicySession` runs policy commands and checks each outcome: an
accepted command records exactly its event; a refused one raises the error
its invariant calls for, telling the truth, and leaves no trace (the one
refusal checker, :meth:`AggregateSession.expect_no_trace`). :class:`PolicyMachine`
is an :class:`~aggregates_course.testing.machine.AggregateMachine` whose
commands go through such a session, with :class:`PolicyModel` deciding
which ones must be refused. Test your own policy aggregate with it::

    from aggregates_course.testing import policy_machine
    from my_service.policy import MyPolicy

    TestMyPolicy = policy_machine(MyPolicy).TestCase
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import timedelta
from typing import Any, ClassVar, TypeVar, cast

from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from aggregates_course.domain.errors import DomainError
from aggregates_course.domain.events import RuleActivated, RuleRetired
from aggregates_course.domain.rules import ActiveRule
from aggregates_course.testing.machine import AggregateMachine
from aggregates_course.testing.policy_model import (
    PolicyLike,
    PolicyModel,
    check_policy_invariants,
    policy_state,
    rule_values,
)
from aggregates_course.testing.refusals import INVARIANT_WORDS, expect_refusal, refusal_details
from aggregates_course.testing.session import AggregateSession
from aggregates_course.testing.strategies import (
    METRICS,
    WINDOWS,
    active_rules,
    blank_reasons,
    reasons,
    rule_ids,
)
from aggregates_course.testing.words import describe, describe_watch, expect_equal

_Policy = TypeVar("_Policy", bound=PolicyLike)
_Refusal = TypeVar("_Refusal", bound=Exception)

AddRoute = Callable[[Any, ActiveRule], None]
"""One way to add a rule to a policy: ``route(policy, rule)``."""


def _add_through_the_root(policy: Any, rule: ActiveRule) -> None:
    policy.add_active_rule(rule)


class PolicySession(AggregateSession[_Policy]):
    """A policy driven through its root, remembering each step for failure messages.

    Plain tests use it to build a situation in domain words and to check that a
    refused command raised the right error and changed nothing::

        session = PolicySession(MonitoringPolicy("p1"))
        session.add(ActiveRule("r1", "cpu", timedelta(minutes=5), 0.9))
        session.retire("r1", "replaced")
        session.refuses_add(ActiveRule("r1", "memory", timedelta(hours=1), 0.5), DuplicateRuleId)

    ``history`` keeps every event collected so far, in order. With
    ``records_events=False`` the session never calls ``collect_events``.
    """

    exact_events: bool = False
    """Whether an accepted command must record exactly its own event (the machine's check)."""

    def __init__(self, policy: _Policy, *, records_events: bool = True) -> None:
        super().__init__(policy, noun="policy")
        self.records_events = records_events
        self.history: list[object] = []

    @property
    def policy(self) -> _Policy:
        """The policy under test."""
        return self.root

    @policy.setter
    def policy(self, policy: _Policy) -> None:
        self.root = policy

    def add(self, rule: ActiveRule, *, via: str = "", route: AddRoute | None = None) -> None:
        """Activate ``rule`` through the root, which must accept it, and record the step.

        ``route(policy, rule)`` adds it another way than ``add_active_rule``
        (a service's entry point, say); the step then reads ``add r1(cpu, 5m)
        via <via>``.
        """
        add = route or _add_through_the_root
        self._accepts(
            _add_step(rule, via),
            lambda: add(self.policy, rule),
            [RuleActivated(self.policy.policy_id, rule)],
        )

    def retire(self, rule_id: str, reason: str) -> None:
        """Retire ``rule_id`` through the root, which must accept it, and record the step."""
        self._accepts(
            _retire_step(rule_id, reason),
            lambda: self.policy.retire_rule(rule_id, reason),
            [RuleRetired(self.policy.policy_id, rule_id, reason)],
        )

    def refuses_add(
        self,
        rule: ActiveRule,
        expected: type[_Refusal],
        *,
        via: str = "",
        route: AddRoute | None = None,
    ) -> _Refusal:
        """Adding ``rule`` must raise ``expected``, telling the truth, and change nothing.

        The error must name this policy and the rule, say whether a reused id
        is retired, and for a watched pair name the rule watching it
        (:func:`refusal_details`). Returns the error.
        """
        add = route or _add_through_the_root
        details = refusal_details(
            expected,
            self.policy.policy_id,
            rule.rule_id,
            retired_ids=self.retired_ids(),
            watched_by=self.watching(rule.watch),
            watch=rule.watch,
        )
        return self._refuses(
            _add_step(rule, via), expected, lambda: add(self.policy, rule), details
        )

    def refuses_retire(self, rule_id: str, reason: str, expected: type[_Refusal]) -> _Refusal:
        """Retiring ``rule_id`` must raise ``expected``, telling the truth, and change nothing.

        The error must name this policy and the rule, and an ``UnknownRule``
        must say whether the id belongs to a retired rule. Returns the error.
        """
        details = refusal_details(
            expected, self.policy.policy_id, rule_id, retired_ids=self.retired_ids()
        )
        return self._refuses(
            _retire_step(rule_id, reason),
            expected,
            lambda: self.policy.retire_rule(rule_id, reason),
            details,
        )

    def expect(self, what: str, expected: object, actual: object, why: str = "") -> None:
        """Assert that ``what`` reads ``expected`` after the steps so far (:func:`expect_equal`)."""
        expect_equal(what, expected, actual, self.steps, why)

    def state(self) -> tuple[object, ...]:
        """Everything a reader can see (:func:`policy_state`); override to add your own indexes."""
        return policy_state(self.policy)

    def check(self) -> None:
        """Assert the invariants, naming the steps taken so far."""
        check_policy_invariants(self.policy, self.steps)

    def retired_ids(self) -> Collection[str]:
        """The ids a refusal must call retired: the policy's retired rules, as it reports them."""
        return {retired.rule_id for retired in self.policy.retired_rules}

    def watching(self, watch: tuple[str, timedelta]) -> ActiveRule | None:
        """The active rule a ``DuplicateMetricWindow`` must name for ``watch``."""
        return self.policy.active_rule_for(*watch)

    def _accepts(self, step: str, command: Callable[[], object], events: list[object]) -> None:
        try:
            command()
        except DomainError as refused:
            raise AssertionError(
                f"{step} breaks no invariant and should be accepted, but it was refused with "
                f"{type(refused).__name__}: {refused}{self.after(step)}"
            ) from refused
        self.steps.append(step)
        if not self.records_events:
            return
        recorded = list(self.policy.collect_events())
        if self.exact_events and recorded != events:
            kind = type(events[0]).__name__
            raise AssertionError(f"{step} should record exactly {kind}, got {describe(recorded)}")
        self.history.extend(recorded)

    def _refuses(
        self,
        step: str,
        expected: type[_Refusal],
        command: Callable[[], object],
        details: tuple[Mapping[str, object], tuple[str, ...]],
    ) -> _Refusal:
        before = self.state()
        # A policy's refusal names its invariant, and must carry the details refusal_details gave.
        words = next((words for kind, words in INVARIANT_WORDS.items() if kind is expected), "")
        fields, mentions = details
        refused = expect_refusal(
            expected, step, command, self.steps, words, fields=fields, mentions=mentions
        )
        self.expect_no_trace(step, before)
        if self.records_events:
            events = list(self.policy.collect_events())
            if events:
                raise AssertionError(
                    f"refused command {step} recorded events {describe(events)}{self.after(step)}"
                )
        self.steps.append(f"{step} (refused)")
        return refused


def _add_step(rule: ActiveRule, via: str) -> str:
    return f"add {rule.describe()}" + (f" via {via}" if via else "")


def _retire_step(rule_id: str, reason: str) -> str:
    return f"retire {rule_id} ({reason!r})"


class _ModelledSession(PolicySession[_Policy]):
    """A session whose refusals are judged by the model, not by the policy under test.

    A policy with a stale index must not get to decide which rule its own
    ``DuplicateMetricWindow`` should name. An accepted command must record
    exactly its own event.
    """

    exact_events = True

    def __init__(
        self,
        policy: _Policy,
        model: PolicyModel,
        observe: Callable[[_Policy], tuple[object, ...]],
        *,
        records_events: bool,
    ) -> None:
        super().__init__(policy, records_events=records_events)
        self.model = model
        self._reads = observe

    def state(self) -> tuple[object, ...]:
        return self._reads(self.policy)

    def retired_ids(self) -> Collection[str]:
        return {retired.rule_id for retired, _ in self.model.retired}

    def watching(self, watch: tuple[str, timedelta]) -> ActiveRule | None:
        return next((r for r in self.model.active if r.watch == watch), None)


class PolicyMachine(AggregateMachine[_Policy]):
    """Random adds and retires against a policy and :class:`PolicyModel`, checked after every step.

    Duplicates, unknown ids and blank reasons included. Every command goes
    through a :class:`PolicySession`, so a refused one must raise the model's
    error, telling the truth, and change nothing at all; after every step the
    invariants hold and the policy agrees with the model, ``active_rule_for``
    answers included. Subclass it and define :meth:`make_policy`, or use
    :func:`policy_machine`; ``.TestCase`` is a pytest test class.

    ``add_routes`` names several ways to add a rule (say, the entry points of
    a service); each add then takes a random route, and the steps in a
    failure message say which one (``add r1(cpu, 5m) via import_rules``).
    Rules are compared by :func:`rule_values`, so an aggregate may use its
    own child class (convert to it in an ``add_routes`` entry).
    """

    policy_id: ClassVar[str] = "policy-1"
    """The id of every policy the machine makes."""

    add_routes: ClassVar[Mapping[str, AddRoute]] = {"": _add_through_the_root}
    """Route name -> ``route(policy, rule)``; the empty name reads as plain ``add``."""

    records_events: ClassVar[bool] = True
    """Whether the policy records events; ``False`` never calls ``collect_events``."""

    refusals = (DomainError,)
    root_name = "policy"
    # The policy exercises seal their boundary in exercise 3, with routes of their own.
    boundary_depth = 0

    session: PolicySession[_Policy]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Each add takes one of the subclass's routes, drawn with the rule.
        cls.add = rule(rule=active_rules(), route=st.sampled_from(sorted(cls.add_routes)))(
            _add_rule
        )

    def __init__(self) -> None:
        self.model = PolicyModel()
        super().__init__()

    def make_policy(self, policy_id: str) -> _Policy:
        """A new, empty policy with id ``policy_id``."""
        raise TypeError(f"{type(self).__name__} must define make_policy(policy_id)")

    def new_root(self) -> _Policy:
        return self.make_policy(self.policy_id)

    def observe(self, root: _Policy) -> tuple[object, ...]:
        """What a reader sees (:func:`policy_state`); extend it with your aggregate's own reads."""
        return policy_state(root)

    def new_session(self, root: _Policy) -> PolicySession[_Policy]:
        return _ModelledSession(root, self.model, self.observe, records_events=self.records_events)

    @property
    def policy(self) -> _Policy:
        """The policy under test; a subclass may replace it, say from an ``@initialize`` rule."""
        return self.session.policy

    @policy.setter
    def policy(self, policy: _Policy) -> None:
        self.session.policy = policy

    @property
    def history(self) -> list[object]:
        """Every event collected so far, in order, for subclasses that rebuild a projection."""
        return self.session.history

    def apply(self, root: _Policy, name: str, argument: object) -> None:
        """``add`` takes ``(rule, route name)``, ``retire`` takes ``(rule_id, reason)``."""
        if name == "add":
            rule, via = cast(tuple[ActiveRule, str], argument)
            self.add_routes[via](root, rule)
        else:
            rule_id, reason = cast(tuple[str, str], argument)
            root.retire_rule(rule_id, reason)

    def run_command(self, name: str, argument: object) -> None:
        """Run ``add`` or ``retire`` through the session; the model says whether it must refuse."""
        self.commands_run.append((name, argument))
        if name == "add":
            rule, via = cast(tuple[ActiveRule, str], argument)
            self._add(rule, via)
        else:
            rule_id, reason = cast(tuple[str, str], argument)
            self._retire(rule_id, reason)

    def _add(self, rule: ActiveRule, via: str) -> None:
        route = self.add_routes[via]
        refusal = self.model.refusal_for_add(rule)
        if refusal is not None:
            self.session.refuses_add(rule, refusal, via=via, route=route)
            return
        self.session.add(rule, via=via, route=route)
        self.model.add(rule)

    def _retire(self, rule_id: str, reason: str) -> None:
        refusal = self.model.refusal_for_retire(rule_id, reason)
        if refusal is not None:
            self.session.refuses_retire(rule_id, reason, refusal)
            return
        self.session.retire(rule_id, reason)
        self.model.retire(rule_id, reason)

    @rule(rule_id=rule_ids(), reason=st.one_of(reasons(), blank_reasons()))
    def retire(self, rule_id: str, reason: str) -> None:
        self.run_command("retire", (rule_id, reason))

    @precondition(lambda self: bool(self.model.active))
    @rule(data=st.data())
    def retire_existing(self, data: st.DataObject) -> None:
        # Drawing from the live rules makes successful retirements common.
        target = data.draw(st.sampled_from([r.rule_id for r in self.model.active]))
        self.run_command("retire", (target, data.draw(reasons())))

    @invariant()
    def invariants_hold(self) -> None:
        check_policy_invariants(self.policy, self.steps)

    @invariant()
    def agrees_with_model(self) -> None:
        after = self.session.after()
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
                expected = next((r for r in self.model.active if r.watch == (metric, window)), None)
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


def _add_rule(machine: PolicyMachine[Any], rule: ActiveRule, route: str) -> None:
    machine.run_command("add", (rule, route))


def policy_machine(
    make_policy: Callable[[str], _Policy],
    *,
    policy_id: str = "policy-1",
    add_routes: Mapping[str, AddRoute] | None = None,
    records_events: bool = True,
) -> type[PolicyMachine[_Policy]]:
    """Build a :class:`PolicyMachine` that drives ``make_policy(policy_id)``.

    Use ``policy_machine(MyPolicy).TestCase`` as a pytest test class. See
    :class:`PolicyMachine` for ``add_routes``; with ``records_events=False``
    the machine never calls ``collect_events``. To add rules or invariants of
    your own, subclass :class:`PolicyMachine` instead: mypy cannot check a
    class built at run time as a base class.
    """
    declared_id = policy_id
    declared_routes = dict(add_routes) if add_routes else {"": _add_through_the_root}
    declared_events = records_events

    class Machine(PolicyMachine[Any]):
        policy_id = declared_id
        add_routes = declared_routes
        records_events = declared_events

        def make_policy(self, policy_id: str) -> Any:
            return make_policy(policy_id)

    name = getattr(make_policy, "__name__", "<lambda>")
    # Hypothesis prints the class name in every counterexample: make it read as a name.
    Machine.__name__ = Machine.__qualname__ = (
        "PolicyMachine" if name == "<lambda>" else f"{name}Machine"
    )
    return Machine


__all__ = ["AddRoute", "PolicyMachine", "PolicySession", "policy_machine"]
