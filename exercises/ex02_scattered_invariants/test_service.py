"""Exercise 2 specification: every entry point goes through the root, and only the root checks.

Run: uv run pytest exercises/ex02_scattered_invariants

The entry points are the application service (``activate_rule``), the form
handler (``submit_rule_form``) and the bulk import (``import_rules``); the
repository saves what they hand it. The tests prove three things:

* every entry point refuses a broken rule with the root's own domain error;
* no entry point, and not the repository, keeps a check of its own: handed a
  root that accepts everything, each accepts everything, and handed a root
  that refuses everything, each refuses;
* the invariants hold whatever sequence of entry-point calls runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from aggregates_course import (
    ActiveRule,
    DomainError,
    DuplicateMetricWindow,
    DuplicateRuleId,
    InvalidRule,
    PolicyEvent,
    RetiredRule,
    RuleActivated,
    RuleRetired,
)
from aggregates_course.course.target import load_target
from aggregates_course.testing import (
    PolicyModel,
    active_rules,
    check_policy_invariants,
    policy_machine,
)

SLUG = "ex02_scattered_invariants"
POLICY_ID = "policy-1"
FIVE_MINUTES = timedelta(minutes=5)
ONE_HOUR = timedelta(hours=1)


def service() -> ModuleType:
    return load_target(SLUG, "service")


def rule(rule_id: str, metric: str = "cpu", window: timedelta = FIVE_MINUTES) -> ActiveRule:
    return ActiveRule(rule_id=rule_id, metric=metric, window=window, threshold=0.9)


def form_for(rule: ActiveRule) -> dict[str, str]:
    """The form a user fills in to ask for ``rule`` (windows are whole minutes)."""
    minutes, rest = divmod(rule.window, timedelta(minutes=1))
    assert not rest, f"a form can only ask for whole minutes, not {rule.window}"
    return {
        "rule_id": rule.rule_id,
        "metric": rule.metric,
        "window_minutes": str(minutes),
        "threshold": repr(rule.threshold),  # repr round-trips every float exactly
    }


class PermissivePolicy:
    """A root that accepts every rule: entry points handed it must accept every rule too."""

    def __init__(self, policy_id: str) -> None:
        self.policy_id = policy_id
        self.active_rules: list[ActiveRule] = []
        self.retired_rules: list[RetiredRule] = []
        self._events: list[PolicyEvent] = []

    def active_rule_for(self, metric: str, window: timedelta) -> ActiveRule | None:
        return next((r for r in self.active_rules if r.watch == (metric, window)), None)

    def add_active_rule(self, rule: ActiveRule) -> None:
        self.active_rules.append(rule)
        self._events.append(RuleActivated(self.policy_id, rule))

    def retire_rule(self, rule_id: str, reason: str) -> None:
        rule = next(r for r in self.active_rules if r.rule_id == rule_id)
        self.active_rules.remove(rule)
        self.retired_rules.append(RetiredRule(rule, reason))
        self._events.append(RuleRetired(self.policy_id, rule_id, reason))

    def collect_events(self) -> list[PolicyEvent]:
        events, self._events = self._events, []
        return events


class RootRefused(DomainError):
    """The one error :class:`RefusingPolicy` raises."""


class RefusingPolicy(PermissivePolicy):
    """A root that refuses every rule: entry points handed it must refuse every rule too."""

    def add_active_rule(self, rule: ActiveRule) -> None:
        raise RootRefused(f"the root refuses {rule.describe()}")


class ServicePolicy:
    """One stored policy seen through the service: reads load it, commands go through entry points.

    ``root`` is the policy type the repository builds; ``None`` means the
    exercise's own ``MonitoringPolicy``.
    """

    def __init__(
        self, policy_id: str = POLICY_ID, root: Callable[[str], object] | None = None
    ) -> None:
        self.service = service()
        self.repository: Any = (
            self.service.RuleRepository() if root is None else self.service.RuleRepository(root)
        )
        self.policy_id = policy_id
        self._loaded: Any = None

    def _stored(self) -> Any:
        # Reads between two commands see the same stored data, so one load serves them all.
        if self._loaded is None:
            self._loaded = self.repository.load(self.policy_id)
        return self._loaded

    @property
    def active_rules(self) -> tuple[ActiveRule, ...]:
        return tuple(self._stored().active_rules)

    @property
    def retired_rules(self) -> tuple[RetiredRule, ...]:
        return tuple(self._stored().retired_rules)

    def state(self) -> tuple[tuple[ActiveRule, ...], tuple[RetiredRule, ...]]:
        return (self.active_rules, self.retired_rules)

    def active_rule_for(self, metric: str, window: timedelta) -> ActiveRule | None:
        found: ActiveRule | None = self._stored().active_rule_for(metric, window)
        return found

    def collect_events(self) -> list[PolicyEvent]:
        events: list[PolicyEvent] = self.repository.collect_published()
        return events

    # -- the entry points ------------------------------------------------------

    def activate_rule(self, rule: ActiveRule) -> None:
        self._loaded = None
        self.service.activate_rule(self.repository, self.policy_id, rule)

    def submit_rule_form(self, rule: ActiveRule) -> None:
        self._loaded = None
        self.service.submit_rule_form(self.repository, self.policy_id, form_for(rule))

    def import_rules(self, *rules: ActiveRule) -> None:
        self._loaded = None
        self.service.import_rules(self.repository, self.policy_id, list(rules))

    def submit_form(self, form: dict[str, str]) -> None:
        self._loaded = None
        self.service.submit_rule_form(self.repository, self.policy_id, form)

    def retire_rule(self, rule_id: str, reason: str) -> None:
        self._loaded = None
        self.service.retire_rule(self.repository, self.policy_id, rule_id, reason)

    # The application service is the default path for policy_machine's plain adds.
    add_active_rule = activate_rule


EntryPoint = Callable[[ServicePolicy, ActiveRule], None]
ENTRY_POINTS: dict[str, EntryPoint] = {
    "activate_rule": ServicePolicy.activate_rule,
    "submit_rule_form": ServicePolicy.submit_rule_form,
    "import_rules": ServicePolicy.import_rules,
}


@dataclass(frozen=True)
class Violation:
    """A rule that breaks an invariant of a policy holding r1(cpu, 5m), perhaps retired."""

    name: str
    retire_r1_first: bool
    rule: ActiveRule
    error: type[DomainError]

    def prepare(self, policy: ServicePolicy) -> list[str]:
        """Bring ``policy`` to the state the violation needs; return the steps taken."""
        policy.activate_rule(rule("r1"))
        steps = [f"add {rule('r1').describe()} via activate_rule"]
        if self.retire_r1_first:
            policy.retire_rule("r1", "replaced")
            steps.append("retire r1 ('replaced')")
        policy.collect_events()
        return steps


VIOLATIONS = [
    Violation("reused active id", False, rule("r1", "memory", ONE_HOUR), DuplicateRuleId),
    Violation("reused retired id", True, rule("r1", "memory", ONE_HOUR), DuplicateRuleId),
    Violation("watched metric and window", False, rule("r2"), DuplicateMetricWindow),
]

each_entry_point = pytest.mark.parametrize("entry", list(ENTRY_POINTS))
each_violation = pytest.mark.parametrize("violation", VIOLATIONS, ids=[v.name for v in VIOLATIONS])


def attempt(command: Callable[[], None]) -> Exception | None:
    """Run ``command``; return what it raised, or ``None`` if it was accepted."""
    try:
        command()
    except Exception as raised:  # any type: the tests say which one was due
        return raised
    return None


# -- deterministic cases -----------------------------------------------------------


@each_entry_point
def test_every_entry_point_activates_a_valid_rule(entry: str) -> None:
    policy = ServicePolicy()
    policy.activate_rule(rule("r1"))
    policy.collect_events()
    ENTRY_POINTS[entry](policy, rule("r2", "memory"))
    assert policy.active_rules == (rule("r1"), rule("r2", "memory")), (
        f"{entry} should store r2 next to r1, but the stored active rules are "
        f"{[r.describe() for r in policy.active_rules]}"
    )
    assert policy.collect_events() == [RuleActivated(POLICY_ID, rule("r2", "memory"))], (
        f"{entry} should publish exactly RuleActivated for r2: only the root records events"
    )


@each_entry_point
@each_violation
def test_every_entry_point_refuses_a_violation_with_the_roots_error(
    entry: str, violation: Violation
) -> None:
    policy = ServicePolicy()
    steps = violation.prepare(policy)
    before = policy.state()
    step = f"add {violation.rule.describe()} via {entry}"
    raised = attempt(lambda: ENTRY_POINTS[entry](policy, violation.rule))
    if raised is None:
        check_policy_invariants(policy, [*steps, step])  # names the invariant now broken
        pytest.fail(f"{step} should be refused with {violation.error.__name__} ({violation.name})")
    assert type(raised) is violation.error, (
        f"{step} was refused with {type(raised).__name__}: {raised} -- every entry point must "
        f"let the root's {violation.error.__name__} through unchanged ({violation.name})"
    )
    assert policy.state() == before, f"refused {step} changed the stored policy"
    assert policy.collect_events() == [], f"refused {step} published events"


@each_entry_point
@each_violation
def test_a_permissive_root_makes_every_entry_point_accept(entry: str, violation: Violation) -> None:
    policy = ServicePolicy(root=PermissivePolicy)
    violation.prepare(policy)
    raised = attempt(lambda: ENTRY_POINTS[entry](policy, violation.rule))
    assert raised is None, (
        f"{entry} refused {violation.rule.describe()} ({violation.name}) with "
        f"{type(raised).__name__}: {raised} -- but the root it was handed accepts every rule, "
        "so a check outside the root is still there"
    )
    assert violation.rule in policy.active_rules, (
        f"{entry} accepted {violation.rule.describe()}, but the repository did not store it"
    )


def test_a_permissive_root_lets_a_bulk_import_bring_clashing_rules() -> None:
    policy = ServicePolicy(root=PermissivePolicy)
    raised = attempt(lambda: policy.import_rules(rule("r1"), rule("r2"), rule("r1", "memory")))
    assert raised is None, (
        f"import_rules refused a batch with {type(raised).__name__}: {raised} -- but the root it "
        "was handed accepts every rule, so the import still checks the batch itself"
    )
    assert policy.active_rules == (rule("r1"), rule("r2"), rule("r1", "memory"))


@each_entry_point
def test_every_entry_point_asks_the_root(entry: str) -> None:
    policy = ServicePolicy(root=RefusingPolicy)
    raised = attempt(lambda: ENTRY_POINTS[entry](policy, rule("r1")))
    assert isinstance(raised, RootRefused), (
        f"{entry} was handed a root that refuses every rule, yet "
        + (
            "accepted r1(cpu, 5m): it does not go through the root"
            if raised is None
            else f"raised {type(raised).__name__}: {raised} instead of the root's error"
        )
    )
    assert policy.state() == ((), ()), f"{entry} stored a rule the root refused"


@pytest.mark.parametrize(
    ("batch", "error"),
    [
        ((rule("r2", "memory"), rule("r3")), DuplicateMetricWindow),
        (
            (rule("r2", "memory"), rule("r3", "latency_p99"), rule("r2", "cpu", ONE_HOUR)),
            DuplicateRuleId,
        ),
    ],
    ids=["clashes with a stored rule", "clashes within the batch"],
)
def test_a_bulk_import_stores_all_or_nothing(
    batch: tuple[ActiveRule, ...], error: type[DomainError]
) -> None:
    policy = ServicePolicy()
    policy.activate_rule(rule("r1"))
    policy.collect_events()
    raised = attempt(lambda: policy.import_rules(*batch))
    assert type(raised) is error, (
        f"import {', '.join(r.describe() for r in batch)} after r1(cpu, 5m) should be refused "
        f"with {error.__name__}, got {raised!r}"
    )
    assert policy.state() == ((rule("r1"),), ()), (
        f"a refused import stored part of its batch: {[r.describe() for r in policy.active_rules]}"
    )
    assert policy.collect_events() == [], "a refused import published events"


@pytest.mark.parametrize(
    "form",
    [
        {"rule_id": "r2", "metric": "memory", "window_minutes": "5", "threshold": "high"},
        {"rule_id": "r2", "metric": "memory", "window_minutes": "5m", "threshold": "0.9"},
        {"rule_id": "r2", "metric": "memory", "window_minutes": "0", "threshold": "0.9"},
        {"rule_id": "r2", "window_minutes": "5", "threshold": "0.9"},
    ],
    ids=["threshold not a number", "window not whole minutes", "window zero", "metric missing"],
)
def test_a_malformed_form_is_refused_and_changes_nothing(form: dict[str, str]) -> None:
    policy = ServicePolicy()
    policy.activate_rule(rule("r1"))
    policy.collect_events()
    with pytest.raises(InvalidRule):
        policy.submit_form(form)
    assert policy.state() == ((rule("r1"),), ())
    assert policy.collect_events() == []


# -- random sequences of calls -----------------------------------------------------

TestRandomCallsThroughEveryEntryPoint = policy_machine(
    ServicePolicy, policy_id=POLICY_ID, add_routes=ENTRY_POINTS
).TestCase
# Short programs: the untouched stub breaks the invariants in several ways at once, and
# shrinking long programs would keep a learner waiting.
TestRandomCallsThroughEveryEntryPoint.settings = settings(
    TestRandomCallsThroughEveryEntryPoint.settings, stateful_step_count=25
)


@given(stored=st.lists(active_rules(), max_size=4), batch=st.lists(active_rules(), max_size=4))
@example(stored=[rule("r1")], batch=[rule("r2", "memory"), rule("r3")])
@example(stored=[], batch=[rule("r1"), rule("r2")])
def test_a_bulk_import_stores_the_whole_batch_or_nothing(
    stored: Sequence[ActiveRule], batch: Sequence[ActiveRule]
) -> None:
    policy = ServicePolicy()
    model = PolicyModel()
    for candidate in stored:
        if model.refusal_for_add(candidate) is None:
            policy.activate_rule(candidate)
            model.add(candidate)
    policy.collect_events()
    before = policy.state()
    steps = [f"add {r.describe()} via activate_rule" for r in model.active]
    step = f"import {', '.join(r.describe() for r in batch) or 'nothing'}"
    # The batch is valid if the model accepts its rules one after another.
    expected: type[DomainError] | None = None
    for candidate in batch:
        expected = model.refusal_for_add(candidate)
        if expected is not None:
            break
        model.add(candidate)
    raised = attempt(lambda: policy.import_rules(*batch))
    if expected is None:
        assert raised is None, f"{step} was refused with {raised!r} -- after: {'; '.join(steps)}"
        assert list(policy.active_rules) == model.active
        assert policy.collect_events() == [RuleActivated(POLICY_ID, r) for r in batch]
        return
    if raised is None:
        check_policy_invariants(policy, [*steps, step])
        pytest.fail(f"{step} should be refused with {expected.__name__}")
    assert type(raised) is expected, f"{step} raised {raised!r}, expected {expected.__name__}"
    assert policy.state() == before, f"refused {step} stored part of its batch"
