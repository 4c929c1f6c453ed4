"""Exercise 2 specification: every entry point goes through the root, and only the root checks.

Run: uv run pytest exercises/ex02_scattered_invariants

The entry points are the application service (``activate_rule``), the form
handler (``submit_rule_form``) and the bulk import (``import_rules``); the
repository saves what they hand it. The tests prove four things:

* the root itself refuses a broken rule, and a refusal leaves it as it was;
* every entry point refuses a broken rule with the root's own domain error;
* no entry point, and not the repository, keeps a check of its own: handed a
  root that accepts everything, each accepts everything, and handed a root
  that refuses everything, each refuses;
* the invariants hold whatever sequence of calls runs, on the root alone and
  through every entry point.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
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
    InvalidReason,
    InvalidRule,
    PolicyEvent,
    RetiredRule,
    RuleActivated,
    RuleRetired,
    UnknownRule,
)
from aggregates_course.course.target import load_target
from aggregates_course.testing import (
    PolicyLike,
    PolicyModel,
    PolicySession,
    active_rules,
    after_steps,
    check_policy_invariants,
    expect_equal,
    expect_refusal,
    policy_machine,
    policy_state,
)

SLUG = "ex02_scattered_invariants"
POLICY_ID = "policy-1"
FIVE_MINUTES = timedelta(minutes=5)
ONE_HOUR = timedelta(hours=1)


def service() -> ModuleType:
    return load_target(SLUG, "service")


def new_root(policy_id: str = POLICY_ID) -> PolicyLike:
    """The exercise's own ``MonitoringPolicy``, driven directly, with no service around it."""
    root: PolicyLike = load_target(SLUG, "policy").MonitoringPolicy(policy_id)
    return root


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

    def state(self) -> tuple[object, ...]:
        return policy_state(self)

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


# -- the root on its own ----------------------------------------------------------------


@each_violation
def test_the_root_itself_refuses_a_violation_and_changes_nothing(violation: Violation) -> None:
    # The service never saves a refused policy, so only the root on its own shows a refusal
    # that left a rule, an index entry or an event behind.
    session = PolicySession(new_root())
    session.add(rule("r1"))
    if violation.retire_r1_first:
        session.retire("r1", "replaced")
    session.refuses_add(violation.rule, violation.error)
    session.check()


def test_the_root_activates_valid_rules_in_order_and_records_each() -> None:
    session = PolicySession(new_root("checkout"))
    session.add(rule("r1"))
    session.add(rule("r2", "memory"))
    session.retire("r1", "replaced")
    session.add(rule("r3"))
    session.expect(
        "active_rules", (rule("r2", "memory"), rule("r3")), tuple(session.policy.active_rules)
    )
    session.expect(
        "active_rule_for(cpu, 5m)", rule("r3"), session.policy.active_rule_for("cpu", FIVE_MINUTES)
    )
    session.expect(
        "the recorded events",
        [
            RuleActivated("checkout", rule("r1")),
            RuleActivated("checkout", rule("r2", "memory")),
            RuleRetired("checkout", "r1", "replaced"),
            RuleActivated("checkout", rule("r3")),
        ],
        session.history,
    )


def test_the_root_refuses_to_retire_an_unknown_or_retired_rule_or_a_blank_reason() -> None:
    session = PolicySession(new_root())
    session.add(rule("r1"))
    session.add(rule("r2", "memory"))
    session.retire("r2", "replaced")
    session.refuses_retire("r9", "cleanup", UnknownRule)
    session.refuses_retire("r2", "cleanup", UnknownRule)
    session.refuses_retire("r1", " ", InvalidReason)
    session.check()


TestRandomProgramsOnTheRootAlone = policy_machine(new_root, policy_id=POLICY_ID).TestCase
# Ten steps reach every way a root can mishandle a refusal (the longest needs four: add,
# retire, add again, refused add); the machine through the service below does the rest.
TestRandomProgramsOnTheRootAlone.settings = settings(
    TestRandomProgramsOnTheRootAlone.settings, stateful_step_count=10
)


# -- every entry point, with the exercise's root -------------------------------------------


@each_entry_point
def test_every_entry_point_activates_a_valid_rule(entry: str) -> None:
    policy = ServicePolicy()
    policy.activate_rule(rule("r1"))
    policy.collect_events()
    ENTRY_POINTS[entry](policy, rule("r2", "memory"))
    steps = ["add r1(cpu, 5m) via activate_rule", f"add r2(memory, 5m) via {entry}"]
    expect_equal(
        "the stored active rules", (rule("r1"), rule("r2", "memory")), policy.active_rules, steps
    )
    expect_equal(
        "the published events",
        [RuleActivated(POLICY_ID, rule("r2", "memory"))],
        policy.collect_events(),
        steps,
        "only the root records events, and the repository publishes them once saved",
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
    refused = [*steps, f"{step} (refused)"]
    expect_equal("the stored policy", before, policy.state(), refused)
    expect_equal("the published events", [], policy.collect_events(), refused)


def test_the_form_handler_returns_the_rule_it_activated() -> None:
    policy = ServicePolicy()
    form = {"rule_id": " r1 ", "metric": " cpu", "window_minutes": " 5 ", "threshold": "0.9 "}
    returned = policy.service.submit_rule_form(policy.repository, POLICY_ID, form)
    steps = [f"submit the form {form}"]
    expect_equal("the rule submit_rule_form returned", rule("r1"), returned, steps)
    expect_equal("the stored active rules", (rule("r1"),), policy.active_rules, steps)


@pytest.mark.parametrize("size", [0, 1, 3])
def test_a_bulk_import_returns_how_many_rules_it_activated(size: int) -> None:
    policy = ServicePolicy()
    policy.activate_rule(rule("r0", "memory", ONE_HOUR))
    batch = [rule(f"r{n}", "cpu", timedelta(minutes=n)) for n in range(1, size + 1)]
    count = policy.service.import_rules(policy.repository, POLICY_ID, batch)
    steps = ["add r0(memory, 1h)", f"import {', '.join(r.describe() for r in batch) or 'nothing'}"]
    expect_equal("the count import_rules returned", size, count, steps)
    expect_equal(
        "the stored active rules",
        (rule("r0", "memory", ONE_HOUR), *batch),
        policy.active_rules,
        steps,
    )


class ReadOnce:
    """A batch of rules that can be read only once, as a generator or a stream of rows can.

    A second read finds nothing; ``reads`` counts how many times the batch was iterated.
    """

    def __init__(self, rules: Sequence[ActiveRule]) -> None:
        self._rules = list(rules)
        self.reads = 0

    def __iter__(self) -> Iterator[ActiveRule]:
        self.reads += 1
        return iter(self._rules if self.reads == 1 else [])


@pytest.mark.parametrize("size", [1, 3])
def test_a_bulk_import_reads_its_batch_only_once(size: int) -> None:
    # import_rules takes any iterable: a second pass over a generator finds it empty.
    policy = ServicePolicy()
    batch = [rule(f"r{n}", "cpu", timedelta(minutes=n)) for n in range(1, size + 1)]
    once = ReadOnce(batch)
    steps = [f"import {', '.join(r.describe() for r in batch)} from a batch that reads once"]
    count: object = None

    def run() -> None:
        nonlocal count
        count = policy.service.import_rules(policy.repository, POLICY_ID, once)

    raised = attempt(run)
    assert raised is None, (
        f"import_rules raised {type(raised).__name__}: {raised} on a batch that is not a list; "
        f"it takes any iterable of rules, a generator included{after_steps(steps[:1])}"
    )
    expect_equal(
        "how many times import_rules read its batch",
        1,
        once.reads,
        steps,
        "a generator can be read once; a second pass finds nothing",
    )
    expect_equal("the count import_rules returned", size, count, steps)
    expect_equal("the stored active rules", tuple(batch), policy.active_rules, steps)


@pytest.mark.parametrize(
    ("batch", "error"),
    [
        ((rule("r2", "memory"), rule("r3")), DuplicateMetricWindow),
        (
            (rule("r2", "memory"), rule("r3", "latency_p99"), rule("r2", "cpu", ONE_HOUR)),
            DuplicateRuleId,
        ),
        ((rule("r2", "memory"), rule("r1")), DuplicateRuleId),
    ],
    ids=["clashes with a stored rule", "clashes within the batch", "repeats a stored rule"],
)
def test_a_bulk_import_stores_all_or_nothing(
    batch: tuple[ActiveRule, ...], error: type[DomainError]
) -> None:
    policy = ServicePolicy()
    policy.activate_rule(rule("r1"))
    policy.collect_events()
    step = f"import {', '.join(r.describe() for r in batch)}"
    expect_refusal(error, step, lambda: policy.import_rules(*batch), ["add r1(cpu, 5m)"])
    steps = ["add r1(cpu, 5m)", f"{step} (refused)"]
    expect_equal(
        "the stored policy",
        ((rule("r1"),), (), (rule("r1"),)),
        policy.state(),
        steps,
        "a refused import stores no rule of its batch",
    )
    expect_equal("the published events", [], policy.collect_events(), steps)


GOOD_FORM = {"rule_id": "r2", "metric": "memory", "window_minutes": "5", "threshold": "0.9"}


@pytest.mark.parametrize(
    ("changes", "field", "named"),
    [
        ({"threshold": "high"}, "threshold", "'high' is not a number"),
        ({"window_minutes": "5m"}, "window", "'5m' is not a whole number of minutes"),
        ({"window_minutes": "0"}, "window", "must be positive"),
        ({"metric": None}, "metric", "invalid metric: is missing from the form"),
        ({"threshold": None}, "threshold", "invalid threshold: is missing from the form"),
    ],
    ids=[
        "threshold not a number",
        "window not whole minutes",
        "window zero",
        "metric missing",
        "threshold missing",
    ],
)
def test_a_malformed_form_is_refused_naming_the_field_and_changes_nothing(
    changes: dict[str, str | None], field: str, named: str
) -> None:
    policy = ServicePolicy()
    policy.activate_rule(rule("r1"))
    policy.collect_events()
    form = {k: v for k, v in {**GOOD_FORM, **changes}.items() if v is not None}
    steps = ["add r1(cpu, 5m)"]
    expect_refusal(
        InvalidRule,
        f"submit the form {form}",
        lambda: policy.submit_form(form),
        steps,
        "a form is checked field by field before anything is loaded",
        fields={"field": field},
        mentions=[named],
    )
    expect_equal("the stored policy", ((rule("r1"),), (), (rule("r1"),)), policy.state(), steps)
    expect_equal("the published events", [], policy.collect_events(), steps)


# -- no entry point checks anything itself --------------------------------------------------


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
    batch = (rule("r1"), rule("r2"), rule("r1", "memory"))
    raised = attempt(lambda: policy.import_rules(*batch))
    assert raised is None, (
        f"import_rules refused a batch with {type(raised).__name__}: {raised} -- but the root it "
        "was handed accepts every rule, so the import still checks the batch itself"
    )
    expect_equal(
        "the stored active rules",
        batch,
        policy.active_rules,
        ["import r1(cpu, 5m), r2(cpu, 5m), r1(memory, 5m) through a root that accepts all"],
    )


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
    expect_equal(
        "the stored policy",
        ((), (), ()),
        policy.state(),
        [f"add r1(cpu, 5m) via {entry} to a root that refuses every rule"],
    )


# -- random sequences of calls -----------------------------------------------------

TestRandomCallsThroughEveryEntryPoint = policy_machine(
    ServicePolicy, policy_id=POLICY_ID, add_routes=ENTRY_POINTS
).TestCase
# Short programs: the untouched stub breaks the invariants in several ways at once,
# shrinking long programs would keep a learner waiting, and every step replays the whole
# stored policy through a new root. Fifteen steps still hold a retired id reused through
# each entry point.
TestRandomCallsThroughEveryEntryPoint.settings = settings(
    TestRandomCallsThroughEveryEntryPoint.settings, stateful_step_count=15
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
    if expected is None:
        raised = attempt(lambda: policy.import_rules(*batch))
        assert raised is None, f"{step} was refused with {raised!r}{after_steps(steps)}"
        steps.append(step)
        expect_equal("the stored active rules", tuple(model.active), policy.active_rules, steps)
        expect_equal(
            "the published events",
            [RuleActivated(POLICY_ID, r) for r in batch],
            policy.collect_events(),
            steps,
        )
        return
    raised = attempt(lambda: policy.import_rules(*batch))
    if raised is None:
        check_policy_invariants(policy, [*steps, step])
        pytest.fail(f"{step} should be refused with {expected.__name__}")
    assert type(raised) is expected, f"{step} raised {raised!r}, expected {expected.__name__}"
    expect_equal(
        "the stored policy",
        before,
        policy.state(),
        [*steps, f"{step} (refused)"],
        "a refused import stores no rule of its batch",
    )
