"""Exercise 2, the root: MonitoringPolicy as the service found it.

Today this root checks nothing when a rule is added: the checks live in four
other places in ``service.py``, each guarding a different part of the rules.
Your job starts here. Make ``add_active_rule`` refuse, before it changes
anything:

* a rule id already used in this policy, by an active or a retired rule, with
  ``DuplicateRuleId(policy_id, rule_id, *, retired)``, ``retired`` saying which;
* a (metric, window) an active rule already watches, with
  ``DuplicateMetricWindow(policy_id, rule_id, existing_rule_id, watch)``, where
  ``existing_rule_id`` is the rule watching it and ``watch`` the pair as text,
  e.g. ``"(cpu, 5m)"``: ``f"({rule.metric}, {format_window(rule.window)})"``.

Then go to ``service.py`` and delete the scattered checks (its docstring says where).
"""

from __future__ import annotations

from datetime import timedelta

from aggregates_course import (
    ActiveRule,
    DuplicateMetricWindow,  # noqa: F401 -- the root raises these once you move the checks here
    DuplicateRuleId,  # noqa: F401
    InvalidReason,
    PolicyEvent,
    RetiredRule,
    RuleActivated,
    RuleRetired,
    UnknownRule,
    format_window,  # noqa: F401 -- for the (metric, window) in DuplicateMetricWindow's message
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

        TO DO: this is where every check on a new rule belongs. Refuse a reused
        id (active or retired) with ``DuplicateRuleId(policy_id, rule_id, *,
        retired)`` and a watched (metric, window) with
        ``DuplicateMetricWindow(policy_id, rule_id, existing_rule_id, watch)``,
        before the first write.
        """
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
