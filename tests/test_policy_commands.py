"""MonitoringPolicy commands: what the root accepts, what it refuses, and what it hands out.

A refused command raises a :class:`DomainError` (or ``TypeError`` for a value
that is not a rule at all) and changes nothing: not the rules, not the
(metric, window) index, not the pending events, not the version.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from aggregates_course import (
    ActiveRule,
    DomainError,
    DuplicateMetricWindow,
    DuplicateRuleId,
    InvalidReason,
    InvalidRule,
    MonitoringPolicy,
    PolicySnapshot,
    RetiredRule,
    RuleActivated,
    RuleRetired,
    UnknownRule,
)
from aggregates_course.testing import check_policy_invariants
from tests.test_rules import BAD_VALUES

ONE_MINUTE = timedelta(minutes=1)
FIVE_MINUTES = timedelta(minutes=5)
ONE_HOUR = timedelta(hours=1)

CPU_HOT = ActiveRule("cpu-hot", "cpu", FIVE_MINUTES, 0.9)
SLOW_P99 = ActiveRule("slow-p99", "latency_p99", ONE_MINUTE, 750.0)
MEMORY_LOW = ActiveRule("memory-low", "memory", ONE_HOUR, 0.1)

WATCHES = [
    (metric, window)
    for metric in ("cpu", "latency_p99", "memory", "disk")
    for window in (
        ONE_MINUTE,
        FIVE_MINUTES,
        ONE_HOUR,
    )
]


def saved_policy_with_history() -> MonitoringPolicy:
    """checkout at version 3: cpu-hot and slow-p99 active, memory-low retired, 4 events pending."""
    policy = MonitoringPolicy("checkout")
    policy.add_active_rule(CPU_HOT)
    policy.add_active_rule(MEMORY_LOW)
    policy.add_active_rule(SLOW_P99)
    policy.retire_rule("memory-low", "replaced by a per-host rule")
    policy.mark_saved(3)
    return policy


def everything_observable(policy: MonitoringPolicy) -> tuple[object, ...]:
    """Rules, version and the whole (metric, window) index, without consuming events."""
    index = tuple(policy.active_rule_for(metric, window) for metric, window in WATCHES)
    return (policy.snapshot(), policy.version, index)


Command = Callable[[MonitoringPolicy], None]

# (case id, command, error it must raise)
REFUSED_COMMANDS: list[tuple[str, Command, type[Exception]]] = [
    (
        "add an active id again, on a free watch",
        lambda p: p.add_active_rule(ActiveRule("cpu-hot", "disk", ONE_HOUR, 1.0)),
        DuplicateRuleId,
    ),
    ("add the very same rule again", lambda p: p.add_active_rule(CPU_HOT), DuplicateRuleId),
    (
        "add a retired id, on a free watch",
        lambda p: p.add_active_rule(ActiveRule("memory-low", "disk", ONE_HOUR, 1.0)),
        DuplicateRuleId,
    ),
    (
        "add a retired id, on its old watch",
        lambda p: p.add_active_rule(MEMORY_LOW),
        DuplicateRuleId,
    ),
    (
        "add a new id on a watched (metric, window)",
        lambda p: p.add_active_rule(ActiveRule("cpu-again", "cpu", FIVE_MINUTES, 0.5)),
        DuplicateMetricWindow,
    ),
    ("add a dict instead of a rule", lambda p: p.add_active_rule({"rule_id": "x"}), TypeError),  # type: ignore[arg-type]
    ("add None", lambda p: p.add_active_rule(None), TypeError),  # type: ignore[arg-type]
    (
        "add a retired rule",
        lambda p: p.add_active_rule(RetiredRule(CPU_HOT, "why")),  # type: ignore[arg-type]
        TypeError,
    ),
    ("retire an unknown id", lambda p: p.retire_rule("no-such-rule", "gone"), UnknownRule),
    ("retire a retired id", lambda p: p.retire_rule("memory-low", "again"), UnknownRule),
    ("retire an id of the wrong type", lambda p: p.retire_rule(42, "gone"), UnknownRule),  # type: ignore[arg-type]
    ("retire an unhashable id", lambda p: p.retire_rule(["cpu-hot"], "gone"), UnknownRule),  # type: ignore[arg-type]
    ("retire an unknown id with a blank reason", lambda p: p.retire_rule("nope", ""), UnknownRule),
    ("retire with an empty reason", lambda p: p.retire_rule("cpu-hot", ""), InvalidReason),
    ("retire with a whitespace reason", lambda p: p.retire_rule("cpu-hot", " \n\t"), InvalidReason),
    ("retire with no reason", lambda p: p.retire_rule("cpu-hot", None), InvalidReason),  # type: ignore[arg-type]
    (
        "retire with a reason no store can encode",
        lambda p: p.retire_rule("cpu-hot", "bad byte \udcff"),
        InvalidReason,
    ),
]


@pytest.mark.parametrize(
    ("command", "error"),
    [(command, error) for _, command, error in REFUSED_COMMANDS],
    ids=[case for case, _, _ in REFUSED_COMMANDS],
)
def test_a_refused_command_raises_its_error(command: Command, error: type[Exception]) -> None:
    with pytest.raises(error):
        command(saved_policy_with_history())


@pytest.mark.parametrize(
    "command",
    [command for _, command, _ in REFUSED_COMMANDS],
    ids=[case for case, _, _ in REFUSED_COMMANDS],
)
def test_a_refused_command_changes_nothing(command: Command) -> None:
    policy = saved_policy_with_history()
    before = everything_observable(policy)
    with pytest.raises((DomainError, TypeError)):
        command(policy)
    assert everything_observable(policy) == before
    assert len(policy.collect_events()) == 4, "the pending events must be exactly the old ones"


# -- add_active_rule ------------------------------------------------------------------


def test_an_added_rule_is_active_and_indexed_by_its_watch() -> None:
    policy = MonitoringPolicy("checkout")
    policy.add_active_rule(CPU_HOT)
    assert policy.active_rules == (CPU_HOT,)
    assert policy.active_rule_for("cpu", FIVE_MINUTES) == CPU_HOT


def test_adding_a_rule_records_rule_activated() -> None:
    policy = MonitoringPolicy("checkout")
    policy.add_active_rule(CPU_HOT)
    assert policy.collect_events() == [RuleActivated("checkout", CPU_HOT)]


def test_the_same_metric_on_another_window_is_a_different_watch() -> None:
    policy = MonitoringPolicy("checkout")
    policy.add_active_rule(CPU_HOT)
    other_window = ActiveRule("cpu-hourly", "cpu", ONE_HOUR, 0.7)
    policy.add_active_rule(other_window)
    assert policy.active_rule_for("cpu", ONE_HOUR) == other_window


def test_a_duplicate_active_id_names_policy_rule_and_invariant() -> None:
    policy = saved_policy_with_history()
    with pytest.raises(DuplicateRuleId) as refused:
        policy.add_active_rule(ActiveRule("cpu-hot", "disk", ONE_HOUR, 1.0))
    assert not refused.value.retired
    message = str(refused.value)
    assert "'checkout'" in message
    assert "'cpu-hot'" in message
    assert "unique within a policy" in message


def test_a_reused_retired_id_says_the_id_belongs_to_a_retired_rule() -> None:
    policy = saved_policy_with_history()
    with pytest.raises(DuplicateRuleId, match="retired rule") as refused:
        policy.add_active_rule(ActiveRule("memory-low", "disk", ONE_HOUR, 1.0))
    assert refused.value.retired


def test_a_duplicate_watch_names_policy_both_rules_the_watch_and_invariant() -> None:
    policy = saved_policy_with_history()
    with pytest.raises(DuplicateMetricWindow) as refused:
        policy.add_active_rule(ActiveRule("cpu-again", "cpu", FIVE_MINUTES, 0.5))
    assert (refused.value.rule_id, refused.value.existing_rule_id) == ("cpu-again", "cpu-hot")
    message = str(refused.value)
    assert "'checkout'" in message
    assert "(cpu, 5m)" in message
    assert "no two active rules may watch the same (metric, window)" in message


# -- retire_rule ----------------------------------------------------------------------


def test_a_retired_rule_leaves_the_active_rules_and_keeps_its_reason() -> None:
    policy = saved_policy_with_history()
    policy.retire_rule("cpu-hot", "noisy at night")
    assert CPU_HOT not in policy.active_rules
    assert policy.retired_rules[-1] == RetiredRule(CPU_HOT, "noisy at night")


def test_retiring_frees_the_watch_in_the_index() -> None:
    policy = saved_policy_with_history()
    policy.retire_rule("cpu-hot", "noisy at night")
    assert policy.active_rule_for("cpu", FIVE_MINUTES) is None


def test_a_freed_watch_accepts_a_new_rule() -> None:
    policy = saved_policy_with_history()
    policy.retire_rule("cpu-hot", "noisy at night")
    successor = ActiveRule("cpu-hot-v2", "cpu", FIVE_MINUTES, 0.95)
    policy.add_active_rule(successor)
    assert policy.active_rule_for("cpu", FIVE_MINUTES) == successor
    check_policy_invariants(policy)


def test_retiring_records_rule_retired_with_the_reason() -> None:
    policy = saved_policy_with_history()
    policy.collect_events()
    policy.retire_rule("cpu-hot", "noisy at night")
    assert policy.collect_events() == [RuleRetired("checkout", "cpu-hot", "noisy at night")]


def test_retiring_an_unknown_rule_names_policy_and_rule() -> None:
    with pytest.raises(UnknownRule) as refused:
        saved_policy_with_history().retire_rule("no-such-rule", "gone")
    assert not refused.value.retired
    assert "'checkout'" in str(refused.value)
    assert "'no-such-rule'" in str(refused.value)


def test_retiring_twice_says_the_rule_is_already_retired() -> None:
    with pytest.raises(UnknownRule, match="already retired") as refused:
        saved_policy_with_history().retire_rule("memory-low", "again")
    assert refused.value.retired


def test_a_blank_reason_is_a_domain_error_and_a_value_error() -> None:
    with pytest.raises(DomainError) as refused:
        saved_policy_with_history().retire_rule("cpu-hot", "  ")
    assert isinstance(refused.value, ValueError)


def test_a_blank_reason_names_policy_rule_and_why_a_reason_is_needed() -> None:
    with pytest.raises(InvalidReason) as refused:
        saved_policy_with_history().retire_rule("cpu-hot", "")
    message = str(refused.value)
    assert "'checkout'" in message
    assert "'cpu-hot'" in message
    assert "must not be blank" in message


# -- reading ----------------------------------------------------------------------------


def test_active_rule_for_an_unwatched_pair_is_none() -> None:
    assert saved_policy_with_history().active_rule_for("disk", ONE_MINUTE) is None


def test_active_rules_keep_activation_order() -> None:
    policy = saved_policy_with_history()
    assert [r.rule_id for r in policy.active_rules] == ["cpu-hot", "slow-p99"]


def test_retired_rules_keep_retirement_order() -> None:
    policy = saved_policy_with_history()
    policy.retire_rule("slow-p99", "second")
    policy.retire_rule("cpu-hot", "third")
    assert [r.rule_id for r in policy.retired_rules] == ["memory-low", "slow-p99", "cpu-hot"]


@pytest.mark.parametrize("collection", ["active_rules", "retired_rules"])
def test_collections_are_handed_out_as_tuples(collection: str) -> None:
    assert type(getattr(saved_policy_with_history(), collection)) is tuple


def test_a_collection_handed_out_earlier_does_not_follow_later_commands() -> None:
    policy = saved_policy_with_history()
    earlier = policy.active_rules
    policy.retire_rule("cpu-hot", "noisy")
    assert earlier == (CPU_HOT, SLOW_P99)


# -- events -----------------------------------------------------------------------------


def test_collect_events_returns_the_events_in_order() -> None:
    policy = MonitoringPolicy("checkout")
    policy.add_active_rule(CPU_HOT)
    policy.retire_rule("cpu-hot", "noisy")
    assert policy.collect_events() == [
        RuleActivated("checkout", CPU_HOT),
        RuleRetired("checkout", "cpu-hot", "noisy"),
    ]


def test_collect_events_clears_them() -> None:
    policy = saved_policy_with_history()
    policy.collect_events()
    assert policy.collect_events() == []


def test_changing_the_collected_list_does_not_touch_the_policy() -> None:
    policy = MonitoringPolicy("checkout")
    policy.add_active_rule(CPU_HOT)
    collected = policy.collect_events()
    collected.append(RuleRetired("checkout", "cpu-hot", "forged"))
    policy.add_active_rule(SLOW_P99)
    assert policy.collect_events() == [RuleActivated("checkout", SLOW_P99)]


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (RuleActivated("checkout", CPU_HOT), "rule"),
        (RuleRetired("checkout", "cpu-hot", "noisy"), "reason"),
    ],
)
def test_events_are_frozen(event: object, field: str) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(event, field, None)


def test_a_new_policy_has_no_events() -> None:
    assert MonitoringPolicy("checkout").collect_events() == []


def test_a_policy_rebuilt_from_a_snapshot_has_no_events() -> None:
    rebuilt = MonitoringPolicy.from_snapshot(saved_policy_with_history().snapshot())
    assert rebuilt.collect_events() == []


# -- version ----------------------------------------------------------------------------


def test_an_unsaved_policy_is_at_version_zero() -> None:
    assert MonitoringPolicy("checkout").version == 0


def test_commands_do_not_change_the_version() -> None:
    policy = MonitoringPolicy("checkout")
    policy.add_active_rule(CPU_HOT)
    policy.retire_rule("cpu-hot", "noisy")
    assert policy.version == 0


def test_marking_a_save_moves_the_version() -> None:
    policy = MonitoringPolicy("checkout")
    policy.mark_saved(1)
    assert policy.version == 1


@pytest.mark.parametrize("version", [3, 2, 0])
def test_a_save_never_moves_the_version_backwards(version: int) -> None:
    policy = saved_policy_with_history()
    with pytest.raises(ValueError, match="greater than 3"):
        policy.mark_saved(version)
    assert policy.version == 3


# -- sealed boundary --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("policy_id", "other"),
        ("version", 99),
        ("active_rules", ()),
        ("retired_rules", ()),
    ],
)
def test_public_attributes_cannot_be_assigned(attribute: str, value: object) -> None:
    policy = saved_policy_with_history()
    with pytest.raises(AttributeError):
        setattr(policy, attribute, value)


def test_a_policy_has_no_room_for_new_attributes() -> None:
    policy = saved_policy_with_history()
    with pytest.raises(AttributeError):
        policy.rules = []  # type: ignore[attr-defined]


def test_a_handed_out_rule_cannot_be_changed_behind_the_roots_back() -> None:
    rule = saved_policy_with_history().active_rules[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.metric = "memory"  # type: ignore[misc]


def test_a_snapshot_cannot_be_changed() -> None:
    snapshot = saved_policy_with_history().snapshot()
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.active_rules = ()  # type: ignore[misc]


# -- policy id --------------------------------------------------------------------------

BAD_IDS = [
    (case, override["rule_id"]) for case, field, override in BAD_VALUES if field == "rule_id"
]


@pytest.mark.parametrize("policy_id", [value for _, value in BAD_IDS], ids=[c for c, _ in BAD_IDS])
def test_a_policy_id_is_validated_like_a_rule_id(policy_id: Any) -> None:
    with pytest.raises(InvalidRule) as refused:
        MonitoringPolicy(policy_id)
    assert refused.value.field == "policy_id"


# -- snapshots --------------------------------------------------------------------------


def test_a_snapshot_rebuilds_an_equal_policy() -> None:
    snapshot = saved_policy_with_history().snapshot()
    assert MonitoringPolicy.from_snapshot(snapshot).snapshot() == snapshot


def _snapshot(
    active: tuple[ActiveRule, ...], retired: tuple[RetiredRule, ...] = (), version: Any = 1
) -> PolicySnapshot:
    return PolicySnapshot("checkout", version, active, retired)


@pytest.mark.parametrize(
    ("snapshot", "error"),
    [
        (_snapshot((CPU_HOT,), (RetiredRule(CPU_HOT, "old"),)), DuplicateRuleId),
        (_snapshot((), (RetiredRule(CPU_HOT, "a"), RetiredRule(CPU_HOT, "b"))), DuplicateRuleId),
        (_snapshot((CPU_HOT, dataclasses.replace(CPU_HOT, rule_id="twin"))), DuplicateMetricWindow),
        (_snapshot((CPU_HOT,), version=-1), InvalidRule),
        (_snapshot((CPU_HOT,), version=True), InvalidRule),
    ],
    ids=[
        "id both active and retired",
        "id retired twice",
        "two active rules on one watch",
        "negative version",
        "bool version",
    ],
)
def test_a_corrupt_snapshot_is_refused(snapshot: PolicySnapshot, error: type[DomainError]) -> None:
    with pytest.raises(error):
        MonitoringPolicy.from_snapshot(snapshot)
