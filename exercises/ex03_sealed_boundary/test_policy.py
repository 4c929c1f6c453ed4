"""Exercise 3 specification: no route around the root can change a policy.

Every way a caller can reach a policy's rules without calling the root is
tried here. A sealed policy either refuses the change (``AttributeError``,
``TypeError`` or ``FrozenInstanceError``) or is not affected by it; either
way, afterwards it must read exactly as before.

Run: uv run pytest exercises/ex03_sealed_boundary
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from operator import delitem, setitem
from types import ModuleType
from typing import Any, ClassVar

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from aggregates_course import (
    ActiveRule,
    DomainError,
    DuplicateMetricWindow,
    DuplicateRuleId,
    format_window,
)
from aggregates_course.course.target import load_target
from aggregates_course.testing import (
    INVARIANT_WORDS,
    METRICS,
    WINDOWS,
    AddRoute,
    PolicyMachine,
    active_rules,
    after_steps,
    check_policy_invariants,
    expect_equal,
    expect_refusal,
    metrics,
    reasons,
    refusal_details,
    rule_ids,
    rule_values,
    thresholds,
    windows,
)

SLUG = "ex03_sealed_boundary"
POLICY_ID = "policy-1"
FIVE_MINUTES = timedelta(minutes=5)
ONE_HOUR = timedelta(hours=1)

# What a sealed policy may raise: tuples raise these; FrozenInstanceError is an AttributeError.
REFUSALS = (AttributeError, TypeError)

Mutation = Callable[[], object]


def policy_module() -> ModuleType:
    return load_target(SLUG, "policy")


def new_policy(policy_id: str = POLICY_ID) -> Any:
    return policy_module().MonitoringPolicy(policy_id)


def make_rule(
    rule_id: str, metric: str = "cpu", window: timedelta = FIVE_MINUTES, threshold: float = 0.9
) -> Any:
    """The exercise's own ``Rule`` (not the reference package's)."""
    return policy_module().Rule(rule_id, metric, window, threshold)


def child(rule: ActiveRule) -> Any:
    """The exercise's ``Rule`` with the values of a generated rule."""
    return make_rule(rule.rule_id, rule.metric, rule.window, rule.threshold)


def retired(rule: Any, reason: str) -> Any:
    return policy_module().RetiredRule(rule, reason)


# -- what a reader sees, and the check every route must pass ---------------------------------


def show_rule(values: tuple[str, str, timedelta, float]) -> str:
    rule_id, metric, window, threshold = values
    return f"{rule_id}({metric}, {format_window(window)}, threshold={threshold!r})"


def show_value(value: object) -> str:
    if isinstance(value, timedelta):
        return f"timedelta(seconds={value.total_seconds():g})"
    return repr(value)


def seen(policy: Any) -> dict[str, list[str]]:
    """Everything a reader of ``policy`` can see, copied out as text (never the children)."""
    answers = []
    for metric in METRICS:
        for window in WINDOWS:
            found = policy.active_rule_for(metric, window)
            if found is not None:
                answers.append(
                    f"({metric}, {format_window(window)}) -> {show_rule(rule_values(found))}"
                )
    return {
        "policy ids": [repr(policy.policy_id)],
        "active rules": [show_rule(rule_values(r)) for r in policy.active_rules],
        "retired rules": [
            f"{show_rule(rule_values(r.rule))} for {r.reason!r}" for r in policy.retired_rules
        ],
        "active_rule_for answers": answers,
    }


def expect_refused_or_no_effect(
    policy: Any, route: str, mutate: Mutation, steps: Sequence[str]
) -> str:
    """Try one route around the root; fail unless it raised a refusal or changed nothing.

    Returns how the policy resisted: ``"refused"`` or ``"no effect"``.
    """
    after = after_steps([*steps, route])
    before = seen(policy)
    try:
        mutate()
    except REFUSALS:
        outcome = "refused"
    except Exception as other:
        raise AssertionError(
            f"{route} raised {type(other).__name__}: {other}; a sealed policy refuses with "
            f"AttributeError or TypeError (as tuples and frozen dataclasses do){after}"
        ) from other
    else:
        outcome = "no effect"
    now = seen(policy)
    for part, was in before.items():
        if now[part] != was:
            raise AssertionError(
                f"{route} changed the policy behind the root's back: {part} were "
                f"[{', '.join(was)}], now [{', '.join(now[part])}]; "
                f"a sealed policy must refuse the change or ignore it{after}"
            )
    return outcome


# -- explicit routes, one family per test ----------------------------------------------------


@dataclass
class Caller:
    """A caller that kept everything it ever handed to one policy."""

    policy: Any
    initial_active: list[Any]
    initial_retired: list[Any]
    added: Any
    steps: list[str]


def caller() -> Caller:
    """Policy with active r1(cpu, 5m), r2(memory, 1h), r3(latency_p99, 5m) and retired r0."""
    initial_active = [make_rule("r1"), make_rule("r2", "memory", ONE_HOUR)]
    initial_retired = [retired(make_rule("r0", "cpu", ONE_HOUR), "replaced by r1")]
    policy = policy_module().MonitoringPolicy(
        POLICY_ID, active_rules=initial_active, retired_rules=initial_retired
    )
    added = make_rule("r3", "latency_p99")
    policy.add_active_rule(added)
    steps = [
        "create policy-1 with active r1(cpu, 5m), r2(memory, 1h) and retired r0(cpu, 1h)",
        "add r3(latency_p99, 5m)",
    ]
    return Caller(policy, initial_active, initial_retired, added, steps)


def routes(*pairs: tuple[str, Callable[[Caller], object]]) -> list[Any]:
    return [pytest.param(route, mutate, id=route) for route, mutate in pairs]


def check_route(route: str, mutate: Callable[[Caller], object]) -> None:
    held = caller()
    outcome = expect_refused_or_no_effect(held.policy, route, lambda: mutate(held), held.steps)
    check_policy_invariants(held.policy, [*held.steps, f"{route} ({outcome})"])


def add_in_place(items: Any, more: list[Any]) -> Any:
    """``items += more``: a list changes in place, a tuple makes a new one (or refuses a list)."""
    items += more
    return items


def multiply_in_place(items: Any, times: int) -> Any:
    """``items *= times``: a list changes in place, a tuple makes a new one."""
    items *= times
    return items


def new_item(collection: str) -> Any:
    """A child that fits ``collection``: a new rule r4(cpu, 5m), or it retired for 'gone'."""
    if collection == "active_rules":
        return make_rule("r4")
    return retired(make_rule("r4"), "gone")


LIST_CHANGES: list[tuple[str, Callable[[Any, Any], object]]] = [
    (".append(new)", lambda items, new: items.append(new)),
    (".extend([new])", lambda items, new: items.extend([new])),
    (".insert(0, new)", lambda items, new: items.insert(0, new)),
    (".remove(first)", lambda items, new: items.remove(items[0])),
    (".pop()", lambda items, new: items.pop()),
    (".pop(0)", lambda items, new: items.pop(0)),
    (".clear()", lambda items, new: items.clear()),
    (".sort(reverse=True)", lambda items, new: items.sort(key=rule_order, reverse=True)),
    (".reverse()", lambda items, new: items.reverse()),
    ("[0] = new", lambda items, new: setitem(items, 0, new)),
    ("[0:1] = [new, new]", lambda items, new: setitem(items, slice(0, 1), [new, new])),
    ("[::-1] = items[::-1]", lambda items, new: setitem(items, slice(None, None, -1), items[::-1])),
    ("[0:0] = [] (then del items[0])", lambda items, new: delitem(items, 0)),
    ("[:] = [] (by del items[:])", lambda items, new: delitem(items, slice(None))),
    (" += [new]", lambda items, new: add_in_place(items, [new])),
    (" *= 2", lambda items, new: multiply_in_place(items, 2)),
    (" *= 0", lambda items, new: multiply_in_place(items, 0)),
]
"""Every way to change a list in place: ``items`` is what the policy handed out, ``new`` a child."""


def rule_order(item: Any) -> str:
    return str(getattr(item, "rule_id", ""))


@pytest.mark.parametrize("collection", ["active_rules", "retired_rules"])
@pytest.mark.parametrize(("change", "how"), LIST_CHANGES, ids=[c for c, _ in LIST_CHANGES])
def test_the_exposed_collections_cannot_be_changed_in_place(
    collection: str, change: str, how: Callable[[Any, Any], object]
) -> None:
    check_route(
        f"items = policy.{collection}; items{change}",
        lambda c: how(getattr(c.policy, collection), new_item(collection)),
    )


@pytest.mark.parametrize("collection", ["active_rules", "retired_rules"])
@pytest.mark.parametrize(
    ("change", "how"),
    [
        (
            " += [new]",
            lambda policy, name, new: setattr(
                policy, name, add_in_place(getattr(policy, name), [new])
            ),
        ),
        (
            " *= 2",
            lambda policy, name, new: setattr(
                policy, name, multiply_in_place(getattr(policy, name), 2)
            ),
        ),
    ],
    ids=["+=", "*="],
)
def test_augmented_assignment_to_an_exposed_collection_cannot_change_the_policy(
    collection: str, change: str, how: Callable[[Any, str, Any], object]
) -> None:
    # `policy.active_rules += [x]` changes a list in place, then assigns it back.
    check_route(
        f"policy.{collection}{change}",
        lambda c: how(c.policy, collection, new_item(collection)),
    )


@pytest.mark.parametrize(
    ("route", "mutate"),
    routes(
        (
            "policy.active_rules[0].metric = 'memory'",
            lambda c: setattr(c.policy.active_rules[0], "metric", "memory"),
        ),
        (
            "policy.active_rules[0].rule_id = 'r2'",
            lambda c: setattr(c.policy.active_rules[0], "rule_id", "r2"),
        ),
        (
            "policy.active_rules[1].threshold = 0.5",
            lambda c: setattr(c.policy.active_rules[1], "threshold", 0.5),
        ),
        (
            "policy.retired_rules[0].reason = ''",
            lambda c: setattr(c.policy.retired_rules[0], "reason", ""),
        ),
        (
            "policy.retired_rules[0].rule.rule_id = 'r1'",
            lambda c: setattr(c.policy.retired_rules[0].rule, "rule_id", "r1"),
        ),
    ),
)
def test_a_childs_fields_cannot_be_assigned_from_outside(
    route: str, mutate: Callable[[Caller], object]
) -> None:
    check_route(route, mutate)


@pytest.mark.parametrize(
    ("route", "mutate"),
    routes(
        ("policy.active_rules = []", lambda c: setattr(c.policy, "active_rules", [])),
        (
            "policy.active_rules = [r1(cpu, 5m), r2(cpu, 5m)]",
            lambda c: setattr(c.policy, "active_rules", [make_rule("r1"), make_rule("r2")]),
        ),
        ("policy.retired_rules = []", lambda c: setattr(c.policy, "retired_rules", [])),
        ("policy.policy_id = 'other'", lambda c: setattr(c.policy, "policy_id", "other")),
    ),
)
def test_the_collections_and_the_policy_id_cannot_be_replaced(
    route: str, mutate: Callable[[Caller], object]
) -> None:
    check_route(route, mutate)


@pytest.mark.parametrize(
    ("route", "mutate"),
    routes(
        ("initial_active.append(r4(cpu, 5m))", lambda c: c.initial_active.append(make_rule("r4"))),
        (
            "initial_active[0] = r2(memory, 1h)",
            lambda c: setitem(c.initial_active, 0, make_rule("r2", "memory", ONE_HOUR)),
        ),
        ("initial_active.clear()", lambda c: c.initial_active.clear()),
        (
            "initial_active[0].window = timedelta(hours=1)",
            lambda c: setattr(c.initial_active[0], "window", ONE_HOUR),
        ),
        (
            "initial_active[0].rule_id = 'r2'",
            lambda c: setattr(c.initial_active[0], "rule_id", "r2"),
        ),
        (
            "initial_active[0].metric = 'memory'",
            lambda c: setattr(c.initial_active[0], "metric", "memory"),
        ),
        (
            "initial_active[1].threshold = -1.0",
            lambda c: setattr(c.initial_active[1], "threshold", -1.0),
        ),
        ("initial_retired.clear()", lambda c: c.initial_retired.clear()),
        (
            "initial_retired.append(RetiredRule(r4(cpu, 5m), 'gone'))",
            lambda c: c.initial_retired.append(retired(make_rule("r4"), "gone")),
        ),
        ("initial_retired[0].reason = ' '", lambda c: setattr(c.initial_retired[0], "reason", " ")),
        (
            "initial_retired[0].rule = r1(cpu, 5m)",
            lambda c: setattr(c.initial_retired[0], "rule", make_rule("r1")),
        ),
        (
            "initial_retired[0].rule.rule_id = 'r1' (the rule inside a retired rule)",
            lambda c: setattr(c.initial_retired[0].rule, "rule_id", "r1"),
        ),
        (
            "initial_retired[0].rule.metric = 'memory'",
            lambda c: setattr(c.initial_retired[0].rule, "metric", "memory"),
        ),
        (
            "initial_retired[0].rule.window = 5m",
            lambda c: setattr(c.initial_retired[0].rule, "window", FIVE_MINUTES),
        ),
        (
            "initial_retired[0].rule.threshold = -1.0",
            lambda c: setattr(c.initial_retired[0].rule, "threshold", -1.0),
        ),
        (
            "added.metric = 'memory' (the rule given to add_active_rule)",
            lambda c: setattr(c.added, "metric", "memory"),
        ),
        (
            "added.rule_id = 'r1' (the rule given to add_active_rule)",
            lambda c: setattr(c.added, "rule_id", "r1"),
        ),
        (
            "added.window = 1h (the rule given to add_active_rule)",
            lambda c: setattr(c.added, "window", ONE_HOUR),
        ),
        (
            "added.threshold = -1.0 (the rule given to add_active_rule)",
            lambda c: setattr(c.added, "threshold", -1.0),
        ),
    ),
)
def test_what_the_caller_handed_in_stays_the_callers(
    route: str, mutate: Callable[[Caller], object]
) -> None:
    check_route(route, mutate)


@pytest.mark.parametrize(
    ("route", "mutate"),
    routes(
        (
            "policy.active_rule_for('cpu', 5m).window = timedelta(hours=1)",
            lambda c: setattr(c.policy.active_rule_for("cpu", FIVE_MINUTES), "window", ONE_HOUR),
        ),
        (
            "policy.active_rule_for('memory', 1h).threshold = 0.0",
            lambda c: setattr(c.policy.active_rule_for("memory", ONE_HOUR), "threshold", 0.0),
        ),
    ),
)
def test_what_a_query_returned_cannot_change_the_policy(
    route: str, mutate: Callable[[Caller], object]
) -> None:
    check_route(route, mutate)


def test_reading_stays_the_same() -> None:
    held = caller()
    policy, steps = held.policy, held.steps
    active, retired_rules = policy.active_rules, policy.retired_rules
    expect_equal("len(policy.active_rules)", 3, len(active), steps)
    expect_equal("the active rule ids, in order", ["r1", "r2", "r3"], [r.rule_id for r in active])
    expect_equal("policy.active_rules[0]", make_rule("r1"), active[0], steps)
    expect_equal("policy.active_rules[-1]", make_rule("r3", "latency_p99"), active[-1], steps)
    expect_equal(
        "r2(memory, 1h) in policy.active_rules",
        True,
        make_rule("r2", "memory", ONE_HOUR) in active,
        steps,
    )
    expect_equal(
        "policy.retired_rules",
        [retired(make_rule("r0", "cpu", ONE_HOUR), "replaced by r1")],
        list(retired_rules),
        steps,
    )
    expect_equal("policy.retired_rules[0].rule_id", "r0", retired_rules[0].rule_id, steps)
    expect_equal(
        "active_rule_for(cpu, 5m)", make_rule("r1"), policy.active_rule_for("cpu", FIVE_MINUTES)
    )
    expect_equal("policy.policy_id", POLICY_ID, policy.policy_id, steps)
    expect_equal("r1.describe()", "r1(cpu, 5m)", make_rule("r1").describe())
    expect_equal("r1.watch", ("cpu", FIVE_MINUTES), make_rule("r1").watch)


def test_the_root_commands_still_guard_the_invariants() -> None:
    held = caller()
    steps = ["create policy-1 with active r1(cpu, 5m), r2, r3 and retired r0(cpu, 1h)"]
    fields, mentions = refusal_details(DuplicateRuleId, POLICY_ID, "r0", retired_ids={"r0"})
    expect_refusal(
        DuplicateRuleId,
        "add r0(memory, 5m)",
        lambda: held.policy.add_active_rule(make_rule("r0", "memory", FIVE_MINUTES)),
        steps,
        INVARIANT_WORDS[DuplicateRuleId],
        fields=fields,
    )
    fields, mentions = refusal_details(
        DuplicateMetricWindow,
        POLICY_ID,
        "r4",
        watched_by=ActiveRule("r1", "cpu", FIVE_MINUTES, 0.9),
    )
    expect_refusal(
        DuplicateMetricWindow,
        "add r4(cpu, 5m)",
        lambda: held.policy.add_active_rule(make_rule("r4")),
        steps,
        INVARIANT_WORDS[DuplicateMetricWindow],
        fields=fields,
        mentions=mentions,
    )
    held.policy.retire_rule("r1", "too noisy")
    held.policy.add_active_rule(make_rule("r4"))
    steps += ["retire r1 ('too noisy')", "add r4(cpu, 5m)"]
    expect_equal(
        "the active rule ids",
        ["r2", "r3", "r4"],
        [r.rule_id for r in held.policy.active_rules],
        steps,
    )
    expect_equal(
        "the retired rule ids", ["r0", "r1"], [r.rule_id for r in held.policy.retired_rules], steps
    )


@pytest.mark.parametrize(
    ("active", "retired_ids", "error", "refused_id"),
    [
        ([("r1", "cpu"), ("r2", "cpu")], [], DuplicateMetricWindow, "r2"),
        ([("r1", "cpu"), ("r1", "memory")], [], DuplicateRuleId, "r1"),
        ([("r1", "cpu")], ["r1"], DuplicateRuleId, "r1"),
        ([], ["r1", "r1"], DuplicateRuleId, "r1"),
    ],
    ids=["two rules watch (cpu, 5m)", "r1 twice", "r1 active and retired", "r1 retired twice"],
)
def test_the_constructor_checks_the_initial_rules(
    active: list[tuple[str, str]], retired_ids: list[str], error: type[DomainError], refused_id: str
) -> None:
    fields, mentions = refusal_details(
        error,
        POLICY_ID,
        refused_id,
        retired_ids=retired_ids if refused_id in retired_ids else (),
        watched_by=ActiveRule("r1", "cpu", FIVE_MINUTES, 0.9),
    )
    expect_refusal(
        error,
        f"create policy-1 with active {[i for i, _ in active]} and retired {retired_ids}",
        lambda: policy_module().MonitoringPolicy(
            POLICY_ID,
            active_rules=[make_rule(rule_id, metric) for rule_id, metric in active],
            retired_rules=[retired(make_rule(i, "memory", ONE_HOUR), "old") for i in retired_ids],
        ),
        invariant=INVARIANT_WORDS[error],
        fields=fields,
        mentions=mentions,
    )


class LookalikeRule:
    """Not the exercise's ``Rule``, only shaped like one, and mutable: a caller's own class."""

    def __init__(self, rule_id: str, metric: str, window: timedelta, threshold: float) -> None:
        self.rule_id, self.metric, self.window, self.threshold = rule_id, metric, window, threshold

    @property
    def watch(self) -> tuple[str, timedelta]:
        return (self.metric, self.window)

    def describe(self) -> str:
        return f"{self.rule_id}({self.metric}, {format_window(self.window)})"


class LookalikeRetiredRule:
    """Not the exercise's ``RetiredRule``, only shaped like one, and mutable."""

    def __init__(self, rule: Any, reason: str) -> None:
        self.rule, self.reason = rule, reason

    @property
    def rule_id(self) -> str:
        return str(self.rule.rule_id)


def unfrozen(base: Any) -> Any:
    """A subclass of ``base`` whose fields can be assigned again, or ``None`` if ``base`` refuses.

    ``isinstance`` accepts its objects as ``base`` objects, yet ``frozen`` no longer
    protects them: its ``__setattr__`` is ``object.__setattr__``. A class that refuses
    to be subclassed (a ``TypeError`` from ``__init_subclass__``) closes this route.
    """
    try:
        return type(
            f"Unfrozen{base.__name__}",
            (base,),
            {"__slots__": (), "__setattr__": object.__setattr__, "__delattr__": object.__delattr__},
        )
    except TypeError:
        return None


MUTABLE_KINDS = {
    "LookalikeRule": "a LookalikeRule (shaped like a Rule, and mutable)",
    "UnfrozenRule": "an UnfrozenRule (a subclass of Rule whose fields can be assigned)",
    "LookalikeRetiredRule": "a LookalikeRetiredRule (shaped like a RetiredRule, and mutable)",
    "UnfrozenRetiredRule": (
        "an UnfrozenRetiredRule (a subclass of RetiredRule whose fields can be assigned)"
    ),
}


def mutable_rule_class(kind: str) -> Any:
    """``LookalikeRule``, or ``UnfrozenRule``: the exercise's ``Rule`` made assignable again."""
    return LookalikeRule if kind == "LookalikeRule" else unfrozen(policy_module().Rule)


def mutable_retired_rule_class(kind: str) -> Any:
    """``LookalikeRetiredRule``, or ``UnfrozenRetiredRule`` from the exercise's ``RetiredRule``."""
    if kind == "LookalikeRetiredRule":
        return LookalikeRetiredRule
    return unfrozen(policy_module().RetiredRule)


def hand_in_a_lookalike(
    give: Callable[[], object],
    kind: str,
    step: str,
    changes: Sequence[tuple[str, Mutation]],
) -> None:
    """Hand a mutable lookalike to the policy, then change it: refused, or no effect.

    A refusal is a ``TypeError`` that names the lookalike's class, so the caller learns
    what it passed; accepting it is fine only if the policy keeps a copy of its own.
    ``step`` says how it was handed in. Each of ``changes`` is then tried in turn, and
    must be refused or change nothing.
    """
    steps = [f"lookalike = {MUTABLE_KINDS[kind]}"]
    try:
        policy: Any = give()
    except TypeError as refused:
        if kind not in str(refused):
            raise AssertionError(
                f"{step} was refused with TypeError, as it may be, but the message "
                f"{str(refused)!r} does not name {kind}, the class it refused"
                f"{after_steps([*steps, step])}"
            ) from refused
        return
    done = [*steps, f"{step} (accepted)"]
    for change, mutate in changes:
        outcome = expect_refused_or_no_effect(policy, change, mutate, done)
        done.append(f"{change} ({outcome})")
    check_policy_invariants(policy, done)


def rule_changes(name: str, target: Any, where: str) -> list[tuple[str, Mutation]]:
    """Assign every field of ``target`` (called ``name``), each to a value that would clash.

    The policy holds active r1(cpu, 5m), so r1 and (cpu, 5m) break an invariant if the
    change reaches it.
    """
    values: list[tuple[str, object]] = [
        ("rule_id", "r1"),
        ("metric", "cpu"),
        ("window", FIVE_MINUTES),
        ("threshold", -1.0),
    ]
    return [
        (f"{name}.{field} = {show_value(value)} ({where})", assign(target, field, value))
        for field, value in values
    ]


def assign(target: Any, field: str, value: object) -> Mutation:
    """The mutation ``target.<field> = value``, to try later."""
    return lambda: setattr(target, field, value)


RULE_WAYS = {
    "add_active_rule": (
        "create policy-1 with active r1(cpu, 5m), then add_active_rule(lookalike r4(memory, 2h))",
        "the r4 handed to add_active_rule",
    ),
    "active_rules": (
        "create policy-1 with active_rules=[r1(cpu, 5m), lookalike r4(memory, 2h)]",
        "the r4 in the constructor's active_rules",
    ),
    "inside a RetiredRule": (
        "create policy-1 with active r1(cpu, 5m) and "
        "retired_rules=[RetiredRule(lookalike r4(memory, 2h), 'old')]",
        "the r4 inside a RetiredRule in the constructor's retired_rules",
    ),
}
"""The ways a rule reaches a policy: the step that hands it in, and how the rule then reads."""


@pytest.mark.parametrize("way", list(RULE_WAYS))
@pytest.mark.parametrize("kind", ["LookalikeRule", "UnfrozenRule"])
def test_a_mutable_lookalike_rule_cannot_become_a_child(kind: str, way: str) -> None:
    # Whatever way a mutable rule comes in, the policy refuses it or keeps a copy of its own:
    # a rule the caller can still change must never be a child.
    rule_class = mutable_rule_class(kind)
    if rule_class is None:
        return  # Rule refuses to be subclassed: no unfrozen rule can exist
    lookalike = rule_class("r4", "memory", ONE_HOUR * 2, 0.9)
    first = make_rule("r1")

    def give() -> Any:
        if way == "add_active_rule":
            policy = policy_module().MonitoringPolicy(POLICY_ID, active_rules=[first])
            policy.add_active_rule(lookalike)
            return policy
        if way == "active_rules":
            return policy_module().MonitoringPolicy(POLICY_ID, active_rules=[first, lookalike])
        return policy_module().MonitoringPolicy(
            POLICY_ID, active_rules=[first], retired_rules=[retired(lookalike, "old")]
        )

    step, where = RULE_WAYS[way]
    hand_in_a_lookalike(give, kind, step, rule_changes("lookalike", lookalike, where))


@pytest.mark.parametrize("kind", ["LookalikeRetiredRule", "UnfrozenRetiredRule"])
def test_a_mutable_lookalike_retired_rule_cannot_become_a_child(kind: str) -> None:
    retired_class = mutable_retired_rule_class(kind)
    if retired_class is None:
        return  # RetiredRule refuses to be subclassed: no unfrozen one can exist
    lookalike = retired_class(make_rule("r0", "cpu", ONE_HOUR), "replaced by r1")
    where = "the r0 handed to the constructor"
    hand_in_a_lookalike(
        lambda: policy_module().MonitoringPolicy(
            POLICY_ID, active_rules=[make_rule("r1")], retired_rules=[lookalike]
        ),
        kind,
        "create policy-1 with active r1(cpu, 5m) and "
        "retired_rules=[lookalike r0(cpu, 1h) for 'replaced by r1']",
        [
            (f"lookalike.reason = '' ({where})", lambda: setattr(lookalike, "reason", "")),
            (
                f"lookalike.rule = r1(cpu, 5m) ({where})",
                lambda: setattr(lookalike, "rule", make_rule("r1")),
            ),
        ],
    )


# -- every route, mixed with root commands ---------------------------------------------------


def add_as_child(policy: Any, rule: ActiveRule) -> None:
    policy.add_active_rule(child(rule))


def list_route(
    name: str, items: Any, operation: str, new: Any, shown: str, data: st.DataObject
) -> tuple[str, Mutation]:
    """One in-place change to the list ``items`` (called ``name`` in messages)."""
    if operation == "clear":
        return f"{name}.clear()", lambda: items.clear()
    if operation == "append" or len(items) == 0:
        return f"{name}.append({shown})", lambda: items.append(new)
    index = data.draw(st.integers(min_value=0, max_value=len(items) - 1), label="index")
    if operation == "insert":
        return f"{name}.insert({index}, {shown})", lambda: items.insert(index, new)
    if operation == "assign":
        return f"{name}[{index}] = {shown}", lambda: setitem(items, index, new)
    return f"del {name}[{index}]", lambda: delitem(items, index)


def field_route(name: str, target: Callable[[], Any], data: st.DataObject) -> tuple[str, Mutation]:
    """Assign a drawn value to one field of the rule ``target()`` returns."""
    values = {
        "rule_id": rule_ids(),
        "metric": metrics(),
        "window": windows(),
        "threshold": thresholds(),
    }
    field = data.draw(st.sampled_from(sorted(values)), label="field")
    value = data.draw(values[field], label="value")
    return f"{name}.{field} = {show_value(value)}", lambda: setattr(target(), field, value)


def pick(items: Sequence[Any], data: st.DataObject) -> int:
    return data.draw(st.integers(min_value=0, max_value=len(items) - 1), label="index")


COLLECTIONS = st.sampled_from(["active_rules", "retired_rules"])
LIST_OPERATIONS = st.sampled_from(["append", "insert", "assign", "delete"])


class SealedPolicyMachine(PolicyMachine[Any]):
    """The shared policy machine, plus every route around the root after every root command."""

    add_routes: ClassVar[Mapping[str, AddRoute]] = {"": add_as_child}
    records_events = False

    def make_policy(self, policy_id: str) -> Any:
        return new_policy(policy_id)

    initial_active: list[Any]
    initial_retired: list[Any]

    def attempt(self, route: str, mutate: Mutation) -> None:
        outcome = expect_refused_or_no_effect(self.policy, route, mutate, self.steps)
        self.steps.append(f"{route} ({outcome})")

    @initialize(
        active=st.lists(active_rules(), max_size=4),
        retirements=st.lists(st.tuples(active_rules(), reasons()), max_size=3),
    )
    def create_with_initial_rules(
        self, active: list[ActiveRule], retirements: list[tuple[ActiveRule, str]]
    ) -> None:
        # Keep only what the invariants allow, so the constructor accepts it.
        for candidate, reason in retirements:
            if self.model.refusal_for_add(candidate) is None:
                self.model.retired.append((candidate, reason))
        for candidate in active:
            if self.model.refusal_for_add(candidate) is None:
                self.model.add(candidate)
        self.initial_active = [child(r) for r in self.model.active]
        self.initial_retired = [retired(child(r), why) for r, why in self.model.retired]
        self.policy = policy_module().MonitoringPolicy(
            POLICY_ID, active_rules=self.initial_active, retired_rules=self.initial_retired
        )
        shown_active = ", ".join(r.describe() for r in self.model.active) or "none"
        shown_retired = ", ".join(r.describe() for r, _ in self.model.retired) or "none"
        self.steps.append(
            f"create {POLICY_ID} with initial_active [{shown_active}] "
            f"and initial_retired [{shown_retired}]"
        )

    @rule(
        collection=COLLECTIONS,
        operation=LIST_OPERATIONS,
        new=active_rules(),
        data=st.data(),
    )
    def change_an_exposed_collection(
        self, collection: str, operation: str, new: ActiveRule, data: st.DataObject
    ) -> None:
        items = getattr(self.policy, collection)
        if collection == "active_rules":
            item, shown = child(new), new.describe()
        else:
            item, shown = retired(child(new), "gone"), f"RetiredRule({new.describe()}, 'gone')"
        self.attempt(*list_route(f"policy.{collection}", items, operation, item, shown, data))

    @precondition(lambda self: bool(self.model.active or self.model.retired))
    @rule(data=st.data())
    def assign_to_a_childs_field(self, data: st.DataObject) -> None:
        if self.model.active and (not self.model.retired or data.draw(st.booleans())):
            index = pick(self.model.active, data)
            name = f"policy.active_rules[{index}]"
            self.attempt(*field_route(name, lambda: self.policy.active_rules[index], data))
            return
        index = pick(self.model.retired, data)
        if data.draw(st.booleans(), label="change the reason"):
            reason = data.draw(st.sampled_from(["changed", ""]), label="reason")
            route = f"policy.retired_rules[{index}].reason = {reason!r}"
            self.attempt(route, lambda: setattr(self.policy.retired_rules[index], "reason", reason))
            return
        name = f"policy.retired_rules[{index}].rule"
        self.attempt(*field_route(name, lambda: self.policy.retired_rules[index].rule, data))

    @rule(collection=COLLECTIONS, replacement=st.lists(active_rules(), max_size=3))
    def replace_a_collection(self, collection: str, replacement: list[ActiveRule]) -> None:
        if collection == "active_rules":
            items = [child(r) for r in replacement]
        else:
            items = [retired(child(r), "replaced") for r in replacement]
        route = f"policy.{collection} = [{', '.join(r.describe() for r in replacement)}]"
        self.attempt(route, lambda: setattr(self.policy, collection, items))

    @rule(
        which=st.sampled_from(["initial_active", "initial_retired"]),
        operation=st.one_of(LIST_OPERATIONS, st.just("clear")),
        new=active_rules(),
        data=st.data(),
    )
    def change_a_list_given_to_the_constructor(
        self, which: str, operation: str, new: ActiveRule, data: st.DataObject
    ) -> None:
        items = getattr(self, which)
        if which == "initial_active":
            item, shown = child(new), new.describe()
        else:
            item, shown = retired(child(new), "gone"), f"RetiredRule({new.describe()}, 'gone')"
        self.attempt(*list_route(which, items, operation, item, shown, data))

    @precondition(lambda self: bool(self.initial_active))
    @rule(data=st.data())
    def change_a_rule_given_to_the_constructor(self, data: st.DataObject) -> None:
        index = pick(self.initial_active, data)
        target = self.initial_active[index]
        self.attempt(*field_route(f"initial_active[{index}]", lambda: target, data))

    @precondition(lambda self: bool(self.model.active))
    @rule(data=st.data())
    def change_what_a_query_returned(self, data: st.DataObject) -> None:
        metric, window = data.draw(st.sampled_from([r.watch for r in self.model.active]))
        name = f"policy.active_rule_for({metric!r}, {format_window(window)})"
        self.attempt(*field_route(name, lambda: self.policy.active_rule_for(metric, window), data))


TestEveryRouteMixedWithRootCommands = SealedPolicyMachine.TestCase
