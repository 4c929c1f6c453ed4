"""The policy-shaped aggregate: its shape, its model, its invariants, and what a reader sees.

Everything here is plain Python over the domain types: the model a state
machine compares an aggregate against, the invariant check every test runs,
and :func:`policy_state`, the one definition of what a reader can see of a
policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from aggregates_course.domain.errors import (
    DomainError,
    DuplicateMetricWindow,
    DuplicateRuleId,
    InvalidReason,
    UnknownRule,
)
from aggregates_course.domain.rules import ActiveRule, RetiredRule
from aggregates_course.testing.words import after_steps, describe_watch


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
    after = after_steps(steps)
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


def policy_state(policy: PolicyLike) -> tuple[object, ...]:
    """Everything a reader can see of ``policy``: ``(active, retired, active_rule_for answers)``.

    The answers are ``active_rule_for`` asked for the watch of every rule the
    policy holds, active or retired, so a stale index shows up as a change. A
    refused command must leave this exactly as it was; sessions, machines and
    the exercises compare it, and never rebuild it.
    """
    rules = [*policy.active_rules, *(r.rule for r in policy.retired_rules)]
    return (
        tuple(policy.active_rules),
        tuple(policy.retired_rules),
        tuple(policy.active_rule_for(*r.watch) for r in rules),
    )


def rule_values(rule: Any) -> tuple[str, str, timedelta, float]:
    """``(rule_id, metric, window, threshold)``: what a rule says, whatever class carries it.

    Comparing values rather than objects lets the model check an aggregate
    with its own child class, and a value copy cannot change behind the
    comparison's back the way a shared mutable child can.
    """
    return (rule.rule_id, rule.metric, rule.window, rule.threshold)
