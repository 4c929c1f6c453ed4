"""Decoy: root checks added, but the bulk import still refuses batches that clash inside.

This file is the solution's; the mistake is in service.py.
"""

from __future__ import annotations

from datetime import timedelta

from aggregates_course import (
    ActiveRule,
    DuplicateMetricWindow,
    DuplicateRuleId,
    InvalidReason,
    PolicyEvent,
    RetiredRule,
    RuleActivated,
    RuleRetired,
    UnknownRule,
    format_window,
)


class MonitoringPolicy:
    """The aggregate root of one policy: the only object that changes its rules.

    Rules live in plain lists, in activation and retirement order; the
    policy is small, so a scan is cheaper than keeping an index right.
    """

    __slots__ = ("_active", "_events", "_retired", "policy_id")

    def __init__(self, policy_id: str) -> None:
        self.policy_id = policy_id
        self._active: list[ActiveRule] = []
        self._retired: list[RetiredRule] = []
        self._events: list[PolicyEvent] = []

    @property
    def active_rules(self) -> tuple[ActiveRule, ...]:
        """Active rules in activation order."""
        return tuple(self._active)

    @property
    def retired_rules(self) -> tuple[RetiredRule, ...]:
        """Retired rules in retirement order."""
        return tuple(self._retired)

    def active_rule_for(self, metric: str, window: timedelta) -> ActiveRule | None:
        """The active rule watching ``(metric, window)``, or ``None``."""
        return next((r for r in self._active if r.watch == (metric, window)), None)

    def add_active_rule(self, rule: ActiveRule) -> None:
        """Activate ``rule`` and record :class:`RuleActivated`.

        Raises :class:`DuplicateRuleId` if an active or retired rule has its
        id, and :class:`DuplicateMetricWindow` if an active rule already
        watches its (metric, window). A refused rule changes nothing.
        """
        self._check_can_activate(rule)
        self._active.append(rule)
        self._events.append(RuleActivated(self.policy_id, rule))

    def retire_rule(self, rule_id: str, reason: str) -> None:
        """Retire the active rule ``rule_id`` and record :class:`RuleRetired`.

        Raises :class:`UnknownRule` if no active rule has that id and
        :class:`InvalidReason` if ``reason`` is blank. (Already complete.)
        """
        rule = next((r for r in self._active if r.rule_id == rule_id), None)
        if rule is None:
            retired = any(r.rule_id == rule_id for r in self._retired)
            raise UnknownRule(self.policy_id, rule_id, retired=retired)
        if not reason.strip():
            raise InvalidReason(self.policy_id, rule_id)
        self._active.remove(rule)
        self._retired.append(RetiredRule(rule, reason))
        self._events.append(RuleRetired(self.policy_id, rule_id, reason))

    def collect_events(self) -> list[PolicyEvent]:
        """Return the events recorded since the last call, and forget them."""
        events, self._events = self._events, []
        return events

    def _check_can_activate(self, rule: ActiveRule) -> None:
        # Ids first: a reused id is refused as such even when its watch also clashes.
        if any(r.rule_id == rule.rule_id for r in self._active):
            raise DuplicateRuleId(self.policy_id, rule.rule_id, retired=False)
        if any(r.rule_id == rule.rule_id for r in self._retired):
            raise DuplicateRuleId(self.policy_id, rule.rule_id, retired=True)
        existing = self.active_rule_for(rule.metric, rule.window)
        if existing is not None:
            watch = f"({rule.metric}, {format_window(rule.window)})"
            raise DuplicateMetricWindow(self.policy_id, rule.rule_id, existing.rule_id, watch)
