"""Exercise 3: seal the boundary, so no child changes behind the root's back.

This is the leaky shape: a slots dataclass with public lists of mutable rules.
``add_active_rule`` and ``retire_rule`` check every invariant correctly, and
still a caller can break them without ever calling the root:

* append, insert or assign into ``policy.active_rules`` or ``policy.retired_rules``;
* assign to a rule's fields, e.g. ``policy.active_rules[0].metric = "cpu"``;
* replace a whole collection: ``policy.active_rules = [...]``;
* keep anything handed in and change it later: a list given to the constructor,
  a rule in it or inside a retired rule in it, a rule given to ``add_active_rule``
  (a look-alike class, or a subclass of ``Rule`` that unfroze itself, included);
* change the rule that ``active_rule_for`` returned.

Seal it. Every one of those routes must either raise (``AttributeError``,
``TypeError``, ``FrozenInstanceError``) or leave the policy exactly as it was.
Reading stays the same: ``active_rules`` and ``retired_rules`` still iterate,
index and ``len()`` as before, and the method names do not change.

What raises: you need not raise these yourself. A frozen dataclass raises
``dataclasses.FrozenInstanceError`` on assignment, a tuple has no ``append``
(``AttributeError``) and refuses item assignment (``TypeError``), a property
without a setter raises ``AttributeError``. If you refuse a value that only
looks like a ``Rule`` or ``RetiredRule``, raise ``TypeError`` naming its class,
e.g. ``TypeError(f"expected a Rule, not {type(rule).__name__}")``. The
commands' refusals stay as they are: ``DuplicateRuleId(policy_id, rule_id, *,
retired)``, ``DuplicateMetricWindow(policy_id, rule_id, existing_rule_id,
watch)``, ``UnknownRule(policy_id, rule_id, *, retired)`` and
``InvalidReason(policy_id, rule_id)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from aggregates_course import (
    DuplicateMetricWindow,
    DuplicateRuleId,
    InvalidReason,
    UnknownRule,
    format_window,
)


@dataclass(slots=True)
class Rule:
    """An alert rule: fire when ``metric`` over ``window`` crosses ``threshold``.

    Nothing stops a holder of a rule from changing its fields, which changes
    the policy that holds the same object, unchecked.
    """

    rule_id: str
    metric: str
    window: timedelta
    threshold: float

    @property
    def watch(self) -> tuple[str, timedelta]:
        """The (metric, window) pair this rule watches; unique among active rules."""
        return (self.metric, self.window)

    def describe(self) -> str:
        """Short domain wording, e.g. ``r1(cpu, 5m)``, used in messages."""
        return f"{self.rule_id}({self.metric}, {format_window(self.window)})"


@dataclass(slots=True)
class RetiredRule:
    """A rule that no longer fires, with the reason it was retired (its audit trail)."""

    rule: Rule
    reason: str

    @property
    def rule_id(self) -> str:
        """The id of the rule that was retired; never reusable in the same policy."""
        return self.rule.rule_id


@dataclass(slots=True)
class MonitoringPolicy:
    """The aggregate root, in name only: its lists and their rules are open to everyone.

    Invariants its commands keep: rule ids are unique, retired ids included
    (``DuplicateRuleId``); no two active rules watch the same (metric, window)
    (``DuplicateMetricWindow``).
    """

    policy_id: str
    active_rules: list[Rule] = field(default_factory=list)
    retired_rules: list[RetiredRule] = field(default_factory=list)

    def __post_init__(self) -> None:
        # The constructor's rules must pass the same checks as rules added later.
        for position, retired in enumerate(self.retired_rules):
            if any(r.rule_id == retired.rule_id for r in self.retired_rules[:position]):
                raise DuplicateRuleId(self.policy_id, retired.rule_id, retired=True)
        for position, rule in enumerate(self.active_rules):
            self._check_can_activate(rule, self.active_rules[:position])

    def active_rule_for(self, metric: str, window: timedelta) -> Rule | None:
        """The active rule watching ``(metric, window)``, or ``None``."""
        return next((r for r in self.active_rules if r.watch == (metric, window)), None)

    def add_active_rule(self, rule: Rule) -> None:
        """Activate ``rule``; raise DuplicateRuleId or DuplicateMetricWindow and change nothing."""
        self._check_can_activate(rule, self.active_rules)
        self.active_rules.append(rule)

    def retire_rule(self, rule_id: str, reason: str) -> None:
        """Retire active rule ``rule_id``; raise UnknownRule or InvalidReason, changing nothing."""
        rule = next((r for r in self.active_rules if r.rule_id == rule_id), None)
        if rule is None:
            retired = any(r.rule_id == rule_id for r in self.retired_rules)
            raise UnknownRule(self.policy_id, rule_id, retired=retired)
        if not reason.strip():
            raise InvalidReason(self.policy_id, rule_id)
        self.active_rules.remove(rule)
        self.retired_rules.append(RetiredRule(rule, reason))

    def _check_can_activate(self, rule: Rule, active: Sequence[Rule]) -> None:
        retired = any(r.rule_id == rule.rule_id for r in self.retired_rules)
        if retired or any(r.rule_id == rule.rule_id for r in active):
            raise DuplicateRuleId(self.policy_id, rule.rule_id, retired=retired)
        existing = next((r for r in active if r.watch == rule.watch), None)
        if existing is not None:
            watch = f"({rule.metric}, {format_window(rule.window)})"
            raise DuplicateMetricWindow(self.policy_id, rule.rule_id, existing.rule_id, watch)
