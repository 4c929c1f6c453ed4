"""Exercise 6 specification: operators and the evaluator stop colliding after the split.

The first test documents the starting point (``oversized.py``): one
aggregate for rules and alerts turns unrelated writes into conflicts. The
rest drive your ``alerts.py``: the policy is the reference
``MonitoringPolicy`` in its own repository; the alert history is yours.

Run: uv run pytest exercises/ex06_small_aggregates
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from aggregates_course import (
    ActiveRule,
    ConcurrencyConflict,
    InMemoryPolicyRepository,
    InvalidRule,
    MonitoringPolicy,
    PolicyNotFound,
    PolicySnapshot,
    UnknownRule,
)
from aggregates_course.course.target import load_target
from aggregates_course.testing import (
    after_steps,
    check_policy_invariants,
    expect_equal,
    expect_refusal,
    metrics,
    windows,
)

SLUG = "ex06_small_aggregates"
FIVE_MINUTES = timedelta(minutes=5)


def alerts() -> ModuleType:
    return load_target(SLUG, "alerts")


def rule_named(rule_id: str, metric: str = "cpu") -> ActiveRule:
    return ActiveRule(rule_id, metric, FIVE_MINUTES, 0.9)


class Service:
    """Both sides of the split: the policy repository and the alert history side under test."""

    def __init__(self, *rules: ActiveRule) -> None:
        self.policies = InMemoryPolicyRepository()
        self.histories: Any = alerts().InMemoryAlertHistoryRepository()
        self.evaluator: Any = alerts().Evaluator(self.policies, self.histories)
        policy = MonitoringPolicy("checkout")
        for active in rules:
            policy.add_active_rule(active)
        self.policies.save(policy)

    def operator_saves(self, policy: MonitoringPolicy, step: str) -> None:
        try:
            self.policies.save(policy)
        except ConcurrencyConflict as conflict:
            raise AssertionError(
                f"false conflict: the operator's save was refused ({conflict}) although the "
                f"evaluator only recorded alerts{after_steps([step])}"
            ) from conflict

    def evaluator_saves(self, history: Any, step: str) -> None:
        try:
            self.evaluator.save(history)
        except ConcurrencyConflict as conflict:
            raise AssertionError(
                f"false conflict: the evaluator's save was refused ({conflict}) although the "
                f"operator only edited rules{after_steps([step])}"
            ) from conflict


def snapshot_of(*rules: ActiveRule, retire: tuple[str, ...] = (), version: int = 1) -> Any:
    """A policy snapshot with ``rules`` active, then ``retire`` retired, at ``version``."""
    policy = MonitoringPolicy("checkout")
    for active in rules:
        policy.add_active_rule(active)
    for rule_id in retire:
        policy.retire_rule(rule_id, "replaced")
    snapshot = policy.snapshot()
    return PolicySnapshot(
        snapshot.policy_id, version, snapshot.active_rules, snapshot.retired_rules
    )


def is_policy(value: object) -> bool:
    return isinstance(value, MonitoringPolicy) or type(value).__name__ == "OversizedPolicy"


def reachable(root: object, depth: int = 3) -> list[object]:
    """Every value ``root`` holds in its attributes and containers, ``depth`` levels down."""
    found: list[object] = []
    layer = [root]
    for _ in range(depth):
        held: list[object] = []
        for value in layer:
            if isinstance(value, dict):
                held += [*value.keys(), *value.values()]
            elif isinstance(value, list | tuple | set | frozenset):
                held += list(value)
            else:
                names = list(getattr(value, "__dict__", {}))
                for klass in type(value).__mro__:
                    names += list(getattr(klass, "__slots__", ()))
                held += [getattr(value, name) for name in names if hasattr(value, name)]
        found += held
        layer = held
    return found


# -- before the split ------------------------------------------------------------------


def test_the_oversized_policy_turns_an_alert_into_a_conflict_for_the_operator() -> None:
    oversized = load_target(SLUG, "oversized")
    store = oversized.InMemoryOversizedPolicyRepository()
    policy = oversized.OversizedPolicy("checkout")
    policy.add_active_rule(rule_named("r1"))
    store.save(policy)
    operator, evaluator = store.load("checkout"), store.load("checkout")
    evaluator.record_alert("r1", 0.95)
    store.save(evaluator)
    operator.add_active_rule(rule_named("r2", metric="memory"))
    # Nothing the operator changed was touched, yet the shared version refuses the save.
    expect_refusal(
        ConcurrencyConflict,
        "the operator saves r2",
        lambda: store.save(operator),
        ["operator and evaluator load", "the evaluator records r1 and saves", "operator adds r2"],
        "one version guards rules and alerts alike: the false conflict this exercise removes",
    )


# -- after the split: no false conflicts ---------------------------------------------------


def test_an_alert_saved_first_does_not_refuse_the_operators_edit() -> None:
    service = Service(rule_named("r1"))
    operator = service.policies.load("checkout")
    history = service.evaluator.open("checkout")
    history.record_alert("r1", 0.95)
    service.evaluator_saves(history, "operator load; evaluator open; record r1")
    operator.add_active_rule(rule_named("r2", metric="memory"))
    steps = "operator load; evaluator open; record r1; evaluator save; add r2"
    service.operator_saves(operator, steps)
    expect_equal(
        "the stored active rules",
        ["r1", "r2"],
        [r.rule_id for r in service.policies.load("checkout").active_rules],
        [steps, "operator save"],
    )


def test_an_edit_saved_first_does_not_refuse_the_evaluators_alert() -> None:
    service = Service(rule_named("r1"))
    history = service.evaluator.open("checkout")
    operator = service.policies.load("checkout")
    operator.add_active_rule(rule_named("r2", metric="memory"))
    service.operator_saves(operator, "evaluator open; operator load; add r2")
    history.record_alert("r1", 0.95)
    steps = "evaluator open; operator load; add r2; operator save; record r1"
    service.evaluator_saves(history, steps)
    expect_equal(
        "the stored alerts",
        ["r1"],
        [a.rule.rule_id for a in service.histories.load("checkout").alerts],
        [steps, "evaluator save"],
    )


def test_recording_an_alert_leaves_the_policy_untouched() -> None:
    service = Service(rule_named("r1"))
    history = service.evaluator.open("checkout")
    history.record_alert("r1", 0.95)
    service.evaluator.save(history)
    steps = ["evaluator open", "record r1", "evaluator save"]
    expect_equal(
        "the stored policy's version",
        1,
        service.policies.load("checkout").version,
        steps,
        "saving the alert history must not save the policy too",
    )
    expect_equal(
        "the alert history's version", 1, history.version, steps, "it has a version of its own"
    )
    expect_equal(
        "the history's snapshot",
        alerts().AlertHistorySnapshot("checkout", 1, history.alerts),
        history.snapshot(),
        steps,
    )


def test_an_alert_history_holds_no_policy() -> None:
    service = Service(rule_named("r1"))
    history = service.evaluator.open("checkout")
    history.record_alert("r1", 0.95)
    held = [type(value).__name__ for value in reachable(history) if is_policy(value)]
    expect_equal(
        "the policies an alert history holds",
        [],
        held,
        ["evaluator open", "record r1"],
        "a history refers to its policy by id and keeps only a snapshot of its rules",
    )
    expect_equal("history.policy_id", "checkout", history.policy_id)


def test_an_alert_keeps_the_rules_snapshot_and_the_policy_version() -> None:
    service = Service(rule_named("r1"))
    operator = service.policies.load("checkout")
    operator.add_active_rule(rule_named("r2", metric="memory"))
    service.policies.save(operator)
    history = service.evaluator.open("checkout")
    alert = history.record_alert("r2", 0.95)
    steps = ["operator adds r2 and saves (v2)", "evaluator open", "record r2 at 0.95"]
    expect_equal(
        "the alert",
        alerts().Alert(1, rule_named("r2", metric="memory"), 0.95, 2),
        alert,
        steps,
        "an alert keeps the rule as read, the value, and the policy version it followed",
    )
    expect_equal("history.alerts", (alert,), history.alerts, steps)
    expect_equal("history.followed_version", 2, history.followed_version, steps)


def test_alerts_are_numbered_in_order_across_saves() -> None:
    service = Service(rule_named("r1"), rule_named("r2", metric="memory"))
    history = service.evaluator.open("checkout")
    history.record_alert("r1", 0.95)
    history.record_alert("r2", 0.91)
    service.evaluator.save(history)
    reopened = service.evaluator.open("checkout")
    reopened.record_alert("r1", 0.97)
    expect_equal(
        "the alert numbers",
        [1, 2, 3],
        [a.sequence for a in reopened.alerts],
        ["open", "record r1", "record r2", "save", "open again", "record r1"],
    )


# -- the cross-aggregate rule, through the rules' snapshot -----------------------------------


ONLY_ACTIVE_RULES_ALERT = "an alert is recorded only for a rule active in the followed snapshot"


def refused_alert(history: Any, rule_id: str, steps: list[str], *, retired: bool) -> None:
    """Recording ``rule_id`` must raise UnknownRule naming it, and record nothing."""
    before = history.alerts
    expect_refusal(
        UnknownRule,
        f"record {rule_id}",
        lambda: history.record_alert(rule_id, 0.95),
        steps,
        ONLY_ACTIVE_RULES_ALERT,
        fields={"policy_id": "checkout", "rule_id": rule_id, "retired": retired},
    )
    expect_equal("history.alerts", before, history.alerts, [*steps, f"record {rule_id} (refused)"])


def test_an_alert_for_a_retired_rule_is_refused() -> None:
    service = Service(rule_named("r1"))
    operator = service.policies.load("checkout")
    operator.retire_rule("r1", "too noisy")
    service.policies.save(operator)
    history = service.evaluator.open("checkout")
    refused_alert(history, "r1", ["operator retires r1 and saves", "evaluator open"], retired=True)


def test_an_alert_for_an_unknown_rule_is_refused() -> None:
    service = Service(rule_named("r1"))
    history = service.evaluator.open("checkout")
    refused_alert(history, "r9", ["evaluator open"], retired=False)


def test_a_history_that_follows_no_rules_yet_refuses_every_alert() -> None:
    history = alerts().AlertHistory("checkout")
    expect_equal("followed_version of a new history", 0, history.followed_version)
    refused_alert(history, "r1", ["a new history, before any follow"], retired=False)


def test_following_a_newer_snapshot_forgets_rules_retired_since() -> None:
    history = alerts().AlertHistory("checkout")
    history.follow(snapshot_of(rule_named("r1"), version=1))
    history.follow(snapshot_of(rule_named("r1"), retire=("r1",), version=2))
    steps = ["follow v1 with r1 active", "follow v2 with r1 retired"]
    refused_alert(history, "r1", steps, retired=True)
    expect_equal("history.followed_version", 2, history.followed_version, steps)


def test_following_a_newer_snapshot_picks_up_new_rules() -> None:
    history = alerts().AlertHistory("checkout")
    history.follow(snapshot_of(rule_named("r1"), version=1))
    history.follow(snapshot_of(rule_named("r1"), rule_named("r2", "memory"), version=2))
    alert = history.record_alert("r2", 0.9)
    expect_equal(
        "the alert",
        alerts().Alert(1, rule_named("r2", "memory"), 0.9, 2),
        alert,
        ["follow v1 with r1", "follow v2 with r1, r2", "record r2"],
    )


def test_following_another_policys_rules_is_refused() -> None:
    history = alerts().AlertHistory("search")
    expect_refusal(
        ValueError,
        "the history of search follows the rules of checkout",
        lambda: history.follow(snapshot_of(rule_named("r1"))),
        mentions=["search", "checkout"],
    )


def test_opening_the_history_of_an_unknown_policy_raises_policy_not_found() -> None:
    service = Service()
    expect_refusal(
        PolicyNotFound,
        "evaluator open nobody",
        lambda: service.evaluator.open("nobody"),
        fields={"policy_id": "nobody"},
    )


def test_an_alert_history_needs_a_usable_policy_id() -> None:
    expect_refusal(
        InvalidRule,
        "create the alert history of ' checkout'",
        lambda: alerts().AlertHistory(" checkout"),
        fields={"field": "policy_id"},
    )


# -- the alert history's own repository ------------------------------------------------------


def test_two_evaluators_on_one_history_do_conflict() -> None:
    service = Service(rule_named("r1"))
    first, second = service.evaluator.open("checkout"), service.evaluator.open("checkout")
    first.record_alert("r1", 0.95)
    second.record_alert("r1", 0.99)
    service.evaluator.save(first)
    steps = ["two evaluators open", "each records r1", "first evaluator saves"]
    expect_refusal(
        ConcurrencyConflict,
        "second evaluator saves",
        lambda: service.evaluator.save(second),
        steps,
        "a history's save must start from the version in the store",
        fields={"policy_id": "checkout", "expected": 0, "actual": 1},
    )
    steps.append("second evaluator saves (refused)")
    expect_equal(
        "the stored alert values",
        [0.95],
        [a.value for a in service.histories.load("checkout").alerts],
        steps,
        "a refused save changes nothing in the store",
    )
    expect_equal("the refused history's version", 0, second.version, steps)


@pytest.mark.parametrize(
    ("stored", "claimed"), [(0, 1), (0, 5), (1, 3)], ids=["new, v1", "new, v5", "v1, v3"]
)
def test_a_history_ahead_of_the_store_is_refused(stored: int, claimed: int) -> None:
    # Only a copy of exactly the stored version may be saved: a history "from the future"
    # was never loaded from this store, and saving it would skip versions.
    service = Service(rule_named("r1"))
    for _ in range(stored):
        service.evaluator.save(service.evaluator.open("checkout"))
    before = service.histories.load("checkout").snapshot()
    ahead = alerts().AlertHistory.from_snapshot(
        alerts().AlertHistorySnapshot("checkout", claimed, ())
    )
    where = f"stored at v{stored}" if stored else "not stored yet (v0)"
    steps = [f"the history of checkout {where}", f"a copy claims v{claimed}"]
    expect_refusal(
        ConcurrencyConflict,
        f"save the copy at v{claimed}",
        lambda: service.histories.save(ahead),
        steps,
        "a history's save must start from the version in the store",
        fields={"policy_id": "checkout", "expected": claimed, "actual": stored},
    )
    steps.append(f"save the copy at v{claimed} (refused)")
    expect_equal("the stored history", before, service.histories.load("checkout").snapshot(), steps)
    expect_equal("the refused copy's version", claimed, ahead.version, steps)


def test_unsaved_alerts_stay_out_of_the_store() -> None:
    service = Service(rule_named("r1"))
    history = service.evaluator.open("checkout")
    history.record_alert("r1", 0.95)
    expect_equal(
        "the stored alerts", (), service.histories.load("checkout").alerts, ["open", "record r1"]
    )
    assert service.histories.load("checkout") is not service.histories.load("checkout"), (
        "two loads of a history returned the same object: callers would share unsaved alerts"
    )


def test_alerts_recorded_after_a_save_stay_out_of_the_store_until_saved() -> None:
    service = Service(rule_named("r1"))
    history = service.evaluator.open("checkout")
    history.record_alert("r1", 0.95)
    service.evaluator.save(history)
    history.record_alert("r1", 0.96)
    steps = ["open", "record 0.95", "save", "record 0.96 on the saved history (not saved)"]

    def stored_values() -> list[float]:
        return [a.value for a in service.histories.load("checkout").alerts]

    expect_equal("the stored alert values", [0.95], stored_values(), steps)
    reloaded = service.evaluator.open("checkout")
    reloaded.record_alert("r1", 0.97)
    steps.append("open again, record 0.97 (not saved)")
    expect_equal("the stored alert values", [0.95], stored_values(), steps)
    service.evaluator.save(reloaded)
    steps.append("save the reopened history")
    expect_equal("the stored alert values", [0.95, 0.97], stored_values(), steps)


def test_a_history_version_only_moves_forward() -> None:
    history = alerts().AlertHistory("checkout")
    history.mark_saved(1)
    expect_refusal(
        ValueError,
        "mark the history saved at v1 again",
        lambda: history.mark_saved(1),
        ["mark saved at v1"],
        mentions=["1"],
    )


def test_stored_alerts_out_of_order_are_refused_on_load() -> None:
    alert = alerts().Alert(2, rule_named("r1"), 0.95, 1)
    damaged = alerts().AlertHistorySnapshot("checkout", 1, (alert,))
    expect_refusal(
        ValueError,
        "rebuild a history whose only alert is #2",
        lambda: alerts().AlertHistory.from_snapshot(damaged),
        mentions=["[2]"],
    )


# -- both kinds of writer, interleaved -----------------------------------------------------


class OperatorAndEvaluator(RuleBasedStateMachine):
    """One operator and one evaluator, their loads and saves interleaved in random order.

    Every step runs in this one thread, so a schedule replays exactly. No
    save may be refused, and after every step the policy keeps its three
    invariants and the alert history keeps its own: alerts numbered 1, 2, 3,
    ..., each for a rule active in the policy version it names.
    """

    def __init__(self) -> None:
        super().__init__()
        self.service = Service(rule_named("rule-0"))
        self.fresh_ids = (f"rule-{number}" for number in itertools.count(1))
        # Model: every policy version ever saved, and the alerts saved so far.
        self.policy_versions: dict[int, PolicySnapshot] = {
            1: self.service.policies.load("checkout").snapshot()
        }
        self.saved_alerts: list[tuple[str, int]] = []
        self.operator: MonitoringPolicy | None = None
        self.history: Any = None
        self.history_view: PolicySnapshot | None = None
        self.pending: list[tuple[str, int]] = []
        self.steps: list[str] = []

    def after(self) -> str:
        return "; ".join(self.steps)

    @precondition(lambda self: self.operator is None)
    @rule()
    def operator_load(self) -> None:
        self.operator = self.service.policies.load("checkout")
        self.steps.append(f"operator load (v{self.operator.version})")

    @precondition(lambda self: self.operator is not None)
    @rule(data=st.data(), metric=metrics(), window=windows(), retire=st.booleans())
    def operator_save(
        self, data: st.DataObject, metric: str, window: timedelta, retire: bool
    ) -> None:
        operator = self.operator
        assert operator is not None
        active = [r.rule_id for r in operator.active_rules]
        if active and retire:
            rule_id = data.draw(st.sampled_from(active), label="rule to retire")
            operator.retire_rule(rule_id, "replaced")
            self.steps.append(f"operator retires {rule_id}")
        elif operator.active_rule_for(metric, window) is None:
            new = ActiveRule(next(self.fresh_ids), metric, window, 0.5)
            operator.add_active_rule(new)
            self.steps.append(f"operator adds {new.describe()}")
        self.service.operator_saves(operator, self.after() + "; operator save")
        self.policy_versions[operator.version] = operator.snapshot()
        self.steps.append(f"operator save (v{operator.version})")
        self.operator = None

    @precondition(lambda self: self.history is None)
    @rule()
    def evaluator_open(self) -> None:
        self.history = self.service.evaluator.open("checkout")
        # One thread: the policy the evaluator just read is the one stored now.
        self.history_view = self.service.policies.load("checkout").snapshot()
        self.pending = []
        self.steps.append(f"evaluator open (rules of v{self.history_view.version})")

    @precondition(lambda self: self.history is not None)
    @rule(data=st.data())
    def evaluator_save(self, data: st.DataObject) -> None:
        view = self.history_view
        assert view is not None
        known = [r.rule_id for r in view.active_rules] + [r.rule_id for r in view.retired_rules]
        for rule_id in data.draw(st.lists(st.sampled_from(known), max_size=3), label="fired"):
            if any(r.rule_id == rule_id for r in view.active_rules):
                self.history.record_alert(rule_id, 0.99)
                self.pending.append((rule_id, view.version))
                self.steps.append(f"evaluator records {rule_id}")
                continue
            try:
                self.history.record_alert(rule_id, 0.99)
            except UnknownRule:
                self.steps.append(f"evaluator records {rule_id} (refused: retired)")
            else:
                raise AssertionError(
                    f"an alert was recorded for {rule_id}, retired at policy v{view.version}"
                    f" -- after: {self.after()}; evaluator records {rule_id}"
                )
        self.service.evaluator_saves(self.history, self.after() + "; evaluator save")
        self.saved_alerts.extend(self.pending)
        self.steps.append("evaluator save")
        self.history = None

    @invariant()
    def policy_keeps_its_invariants(self) -> None:
        check_policy_invariants(self.service.policies.load("checkout"), self.steps)

    @invariant()
    def alert_history_keeps_its_invariants(self) -> None:
        stored = self.service.histories.load("checkout").alerts
        numbers = [alert.sequence for alert in stored]
        assert numbers == list(range(1, len(stored) + 1)), (
            f"stored alerts are numbered {numbers}, expected 1, 2, 3, ... -- after: {self.after()}"
        )
        found = [(alert.rule.rule_id, alert.policy_version) for alert in stored]
        assert found == self.saved_alerts, (
            f"the stored alerts {found} differ from the saved ones {self.saved_alerts}"
            f" -- after: {self.after()}"
        )
        for alert in stored:
            policy = self.policy_versions[alert.policy_version]
            assert alert.rule in policy.active_rules, (
                f"{alert.describe()}: that rule was not active at policy "
                f"v{alert.policy_version} -- after: {self.after()}"
            )


# A handful of interleaved loads and saves already covers every order of the two writers.
TestOperatorAndEvaluatorInterleaved = settings(stateful_step_count=20)(
    OperatorAndEvaluator
).TestCase
