"""Exercise 4 specification: retire_rule keeps both indexes and the projection in step.

Run: uv run pytest exercises/ex04_retire_and_indexes
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import pytest
from hypothesis.stateful import invariant

from aggregates_course import (
    ActiveRule,
    DomainError,
    DuplicateRuleId,
    InvalidReason,
    RetiredRule,
    RuleActivated,
    RuleRetired,
    UnknownRule,
)
from aggregates_course.course.target import load_target
from aggregates_course.testing import (
    RULE_IDS,
    PolicyMachine,
    PolicySession,
    after_steps,
    policy_state,
)

SLUG = "ex04_retire_and_indexes"
FIVE_MINUTES = timedelta(minutes=5)
ONE_HOUR = timedelta(hours=1)


def new_policy(policy_id: str = "policy-1") -> Any:
    return load_target(SLUG, "policy").MonitoringPolicy(policy_id)


def rule(rule_id: str, metric: str = "cpu", window: timedelta = FIVE_MINUTES) -> ActiveRule:
    return ActiveRule(rule_id=rule_id, metric=metric, window=window, threshold=0.9)


def replay_active_counts(events: Iterable[object]) -> dict[str, int]:
    """The per-metric projection rebuilt from events alone, as a read model would build it.

    ``RuleRetired`` carries only the id, so the replay remembers each rule's
    metric from its ``RuleActivated``.
    """
    metric_of: dict[str, str] = {}
    counts: Counter[str] = Counter()
    for event in events:
        if isinstance(event, RuleActivated):
            metric_of[event.rule.rule_id] = event.rule.metric
            counts[event.rule.metric] += 1
        elif isinstance(event, RuleRetired):
            if event.rule_id not in metric_of:
                raise AssertionError(
                    f"RuleRetired for {event.rule_id!r}, but no RuleActivated introduced it"
                )
            counts[metric_of[event.rule_id]] -= 1
    return {metric: count for metric, count in counts.items() if count}


def check_indexes_and_projection(
    policy: Any, history: Sequence[object], steps: Sequence[str] = ()
) -> None:
    """Assert the id index and the projection agree with the collections and with the events.

    The (metric, window) index is checked by ``check_policy_invariants``.
    """
    after = after_steps(steps)
    active = {r.rule_id: r for r in policy.active_rules}
    retired = {r.rule_id: r for r in policy.retired_rules}
    for rule_id in sorted({*RULE_IDS, *active, *retired}):
        expected = active.get(rule_id) or retired.get(rule_id)
        found = policy.find_rule(rule_id)
        if found != expected:
            if rule_id in retired:
                why = f"{rule_id} was retired ({retired[rule_id].reason!r})"
            elif rule_id in active:
                why = f"{active[rule_id].describe()} is active"
            else:
                why = f"the policy holds no rule {rule_id}"
            raise AssertionError(
                f"the id index is stale: find_rule({rule_id!r}) returned {found!r}, "
                f"but {why}{after}"
            )
    live = policy.active_count_by_metric()
    counted = dict(Counter(r.metric for r in active.values()))
    if live != counted:
        raise AssertionError(
            f"the projection says {live} active rules per metric, "
            f"but the active rules give {counted}{after}"
        )
    rebuilt = replay_active_counts(history)
    if rebuilt != live:
        raise AssertionError(
            f"the projection rebuilt from the events is {rebuilt}, but the live one is {live}; "
            f"every change must be recorded as an event{after}"
        )


def seen(policy: Any) -> tuple[object, ...]:
    """Everything a reader can see: the shared policy state, the id index and the projection."""
    return (
        *policy_state(policy),
        tuple(policy.find_rule(rule_id) for rule_id in RULE_IDS),
        policy.active_count_by_metric(),
    )


class Session(PolicySession[Any]):
    """The shared policy session, plus this policy's id index and projection."""

    def __init__(self, *rules: ActiveRule) -> None:
        super().__init__(new_policy())
        for active in rules:
            self.add(active)

    def check(self) -> None:
        super().check()
        check_indexes_and_projection(self.policy, self.history, self.steps)

    def state(self) -> tuple[object, ...]:
        return seen(self.policy)


def test_a_retired_rule_moves_from_active_to_retired() -> None:
    session = Session(rule("r1"), rule("r2", "memory", ONE_HOUR))
    session.retire("r1", "replaced by r2")
    session.expect(
        "active_rules", (rule("r2", "memory", ONE_HOUR),), tuple(session.policy.active_rules)
    )
    session.expect(
        "retired_rules",
        (RetiredRule(rule("r1"), "replaced by r2"),),
        tuple(session.policy.retired_rules),
    )
    session.check()


def test_retiring_frees_the_metric_and_window() -> None:
    session = Session(rule("r1"))
    session.retire("r1", "too noisy")
    session.expect(
        "active_rule_for(cpu, 5m)", None, session.policy.active_rule_for("cpu", FIVE_MINUTES)
    )
    session.check()
    session.add(rule("r2"))
    session.expect(
        "active_rule_for(cpu, 5m)", rule("r2"), session.policy.active_rule_for("cpu", FIVE_MINUTES)
    )


def test_a_retired_rule_stays_in_the_id_index_as_retired() -> None:
    session = Session(rule("r1"))
    session.retire("r1", "too noisy")
    session.expect(
        "find_rule('r1')", RetiredRule(rule("r1"), "too noisy"), session.policy.find_rule("r1")
    )
    session.check()
    session.refuses_add(rule("r1", "memory", ONE_HOUR), DuplicateRuleId)


def test_retiring_decrements_the_count_of_the_retired_rules_metric() -> None:
    session = Session(rule("r1"), rule("r2", "memory", ONE_HOUR), rule("r3", "memory"))
    session.retire("r2", "replaced")
    session.expect(
        "active_count_by_metric()", {"cpu": 1, "memory": 1}, session.policy.active_count_by_metric()
    )
    session.retire("r1", "replaced")
    session.expect(
        "active_count_by_metric()",
        {"memory": 1},
        session.policy.active_count_by_metric(),
        "a metric no active rule watches has no entry, as in a count rebuilt from events",
    )
    session.check()


def test_retiring_records_rule_retired() -> None:
    session = Session(rule("r1"))
    session.retire("r1", "replaced")
    session.expect(
        "the recorded events",
        [RuleActivated("policy-1", rule("r1")), RuleRetired("policy-1", "r1", "replaced")],
        session.history,
    )


def test_a_projection_rebuilt_from_the_events_equals_the_live_one() -> None:
    session = Session(rule("r1"), rule("r2", "cpu", ONE_HOUR), rule("r3", "memory", ONE_HOUR))
    session.retire("r2", "duplicate of r1")
    session.add(rule("r4", "cpu", ONE_HOUR))
    session.retire("r3", "metric removed")
    session.check()
    session.expect(
        "the count rebuilt from the events", {"cpu": 2}, replay_active_counts(session.history)
    )


@pytest.mark.parametrize(
    "reason",
    [" too noisy ", "Replaced By r2", "line one\nline two", "\tmuted for 😴\u3000"],
    ids=["padded", "mixed case", "two lines", "tab, emoji, ideographic space"],
)
def test_the_reason_is_kept_exactly_as_given(reason: str) -> None:
    # The reason is the audit trail: stored, indexed and recorded as written, never tidied.
    session = Session(rule("r1"))
    session.retire("r1", reason)
    session.expect(
        "retired_rules", (RetiredRule(rule("r1"), reason),), tuple(session.policy.retired_rules)
    )
    session.expect(
        "find_rule('r1')", RetiredRule(rule("r1"), reason), session.policy.find_rule("r1")
    )
    session.expect(
        "the RuleRetired event", RuleRetired("policy-1", "r1", reason), session.history[-1]
    )
    session.check()


@pytest.mark.parametrize(
    ("rule_id", "reason", "error"),
    [
        ("r9", "cleanup", UnknownRule),
        ("r2", "cleanup", UnknownRule),
        ("r1", "", InvalidReason),
        ("r1", " \n\t", InvalidReason),
        ("r1", "\t", InvalidReason),
        ("r1", "\u3000", InvalidReason),
        ("r9", " ", UnknownRule),
        ("r2", "", UnknownRule),
    ],
    ids=[
        "unknown id",
        "already retired",
        "empty reason",
        "whitespace reason",
        "tab reason",
        "ideographic space reason",
        "unknown id and a blank reason",
        "already retired and a blank reason",
    ],
)
def test_a_refused_retire_changes_nothing_and_records_nothing(
    rule_id: str, reason: str, error: type[DomainError]
) -> None:
    # refuses_retire also checks that the error names the policy and the rule, and that an
    # UnknownRule says whether the id belongs to a retired rule.
    session = Session(rule("r1"), rule("r2", "memory", ONE_HOUR))
    session.retire("r2", "replaced")
    session.refuses_retire(rule_id, reason, error)
    session.check()


class IndexedPolicyMachine(PolicyMachine[Any]):
    """The shared policy machine, plus the id index, projection and replay checks."""

    def make_policy(self, policy_id: str) -> Any:
        return new_policy(policy_id)

    def observe(self, root: Any) -> tuple[object, ...]:
        return seen(root)

    @invariant()
    def indexes_and_projection_agree(self) -> None:
        check_indexes_and_projection(self.policy, self.history, self.steps)


TestRandomProgramsOfCommands = IndexedPolicyMachine.TestCase
