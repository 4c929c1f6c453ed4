"""Exercise 1, solved: MonitoringPolicy as the aggregate root.

``add_active_rule`` checks every invariant before it changes anything:

* rule ids are unique within the policy, retired ids included;
* no two active rules watch the same (metric, window);
* a rejected command changes nothing: no rule, no index entry, no event.
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
    """The aggregate root: the only way to change a policy's rules."""

    __slots__ = ("_active", "_by_watch", "_events", "_retired", "policy_id")

    def __init__(self, policy_id: str) -> None:
        self.policy_id = policy_id
        self._active: dict[str, ActiveRule] = {}
        self._retired: dict[str, RetiredRule] = {}
        # The (metric, window) index: which active rule watches each pair.
        self._by_watch: dict[tuple[str, timedelta], ActiveRule] = {}
        self._events: list[PolicyEvent] = []

    @property
    def active_rules(self) -> tuple[ActiveRule, ...]:
        return tuple(self._active.values())

    @property
    def retired_rules(self) -> tuple[RetiredRule, ...]:
        return tuple(self._retired.values())

    def active_rule_for(self, metric: str, window: timedelta) -> ActiveRule | None:
        return self._by_watch.get((metric, window))

    def add_active_rule(self, rule: ActiveRule) -> None:
        """Activate ``rule``, or refuse it and change nothing.

        Refuse, before the first write, by raising:

        * ``DuplicateRuleId(policy_id, rule_id, *, retired)`` when an active or a
          retired rule already has ``rule.rule_id``; ``retired`` says which;
        * ``DuplicateMetricWindow(policy_id, rule_id, existing_rule_id, watch)``
          when the active rule ``existing_rule_id`` already watches the pair;
          ``watch`` is the pair as text, e.g. ``"(cpu, 5m)"``:
          ``f"({rule.metric}, {format_window(rule.window)})"``.

        On success, store the rule in ``_active`` and ``_by_watch`` and record
        ``RuleActivated(self.policy_id, rule)`` in ``_events``.
        """
        if rule.rule_id in self._active or rule.rule_id in self._retired:
            raise DuplicateRuleId(
                self.policy_id, rule.rule_id, retired=rule.rule_id in self._retired
            )
        existing = self._by_watch.get(rule.watch)
        if existing is not None:
            watch = f"({rule.metric}, {format_window(rule.window)})"
            raise DuplicateMetricWindow(self.policy_id, rule.rule_id, existing.rule_id, watch)
        # Every check passed: only now may state change.
        self._active[rule.rule_id] = rule
        self._by_watch[rule.watch] = rule
        self._events.append(RuleActivated(self.policy_id, rule))

    def retire_rule(self, rule_id: str, reason: str) -> None:
        rule = self._active.get(rule_id)
        if rule is None:
            raise UnknownRule(self.policy_id, rule_id, retired=rule_id in self._retired)
        if not reason.strip():
            raise InvalidReason(self.policy_id, rule_id)
        del self._active[rule_id]
        del self._by_watch[rule.watch]
        self._retired[rule_id] = RetiredRule(rule, reason)
        self._events.append(RuleRetired(self.policy_id, rule_id, reason))

    def collect_events(self) -> list[PolicyEvent]:
        events, self._events = self._events, []
        return events
