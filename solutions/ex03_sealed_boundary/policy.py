"""Exercise 3, solved: a sealed boundary, so no child changes behind the root's back.

Four moves close every route around the root:

* the children are frozen, so nobody can change a rule or a retirement in place;
* every child the policy is handed, by the constructor or by ``add_active_rule``,
  is rebuilt as a ``Rule`` or ``RetiredRule`` of its own, so a subclass that
  unfroze itself, or a look-alike inside a retired rule, stays the caller's;
* the policy keeps private lists, fills them itself, and hands out tuples, so
  no outside list is ever shared with it;
* the collections are read-only properties, so they cannot be replaced.

Reading is unchanged: ``active_rules`` and ``retired_rules`` iterate, index and
``len()`` as before, and every method keeps its name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from aggregates_course import (
    DuplicateMetricWindow,
    DuplicateRuleId,
    InvalidReason,
    UnknownRule,
    format_window,
)


@dataclass(frozen=True, slots=True)
class Rule:
    """An alert rule: fire when ``metric`` over ``window`` crosses ``threshold``.

    Frozen: assigning to a field raises ``FrozenInstanceError``, so a rule a
    policy holds can be handed out freely without the policy losing control.
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


@dataclass(frozen=True, slots=True)
class RetiredRule:
    """A rule that no longer fires, with the reason it was retired (its audit trail).

    Frozen, so the reason cannot be blanked and the rule cannot be swapped afterwards.
    """

    rule: Rule
    reason: str

    @property
    def rule_id(self) -> str:
        """The id of the rule that was retired; never reusable in the same policy."""
        return self.rule.rule_id


class MonitoringPolicy:
    """The aggregate root: the only way to change a policy's rules.

    Invariants: rule ids are unique, retired ids included (``DuplicateRuleId``);
    no two active rules watch the same (metric, window)
    (``DuplicateMetricWindow``). Because the rules are frozen and the lists
    private, these hold no matter what a caller does with what it reads.
    """

    __slots__ = ("_active", "_policy_id", "_retired")

    def __init__(
        self,
        policy_id: str,
        active_rules: Iterable[Rule] = (),
        retired_rules: Iterable[RetiredRule] = (),
    ) -> None:
        self._policy_id = policy_id
        # Fresh lists, filled one checked rule at a time: the caller's lists stay
        # the caller's, so changing them later cannot reach this policy.
        self._active: list[Rule] = []
        self._retired: list[RetiredRule] = []
        for given in retired_rules:
            retired = _own_retired_rule(given)
            if any(r.rule_id == retired.rule_id for r in self._retired):
                raise DuplicateRuleId(self._policy_id, retired.rule_id, retired=True)
            self._retired.append(retired)
        for rule in active_rules:
            self.add_active_rule(rule)

    @property
    def policy_id(self) -> str:
        """The policy's identity; read-only."""
        return self._policy_id

    @property
    def active_rules(self) -> tuple[Rule, ...]:
        """Active rules in activation order: a tuple, so it cannot be changed or replaced."""
        return tuple(self._active)

    @property
    def retired_rules(self) -> tuple[RetiredRule, ...]:
        """Retired rules in retirement order: a tuple, so it cannot be changed or replaced."""
        return tuple(self._retired)

    def active_rule_for(self, metric: str, window: timedelta) -> Rule | None:
        """The active rule watching ``(metric, window)``, or ``None``."""
        return next((r for r in self._active if r.watch == (metric, window)), None)

    def add_active_rule(self, rule: Rule) -> None:
        """Activate ``rule``; raise DuplicateRuleId or DuplicateMetricWindow and change nothing.

        The policy keeps a copy of its own: ``TypeError`` for anything but a ``Rule``.
        """
        own = _own_rule(rule)
        self._check_can_activate(own)
        self._active.append(own)

    def retire_rule(self, rule_id: str, reason: str) -> None:
        """Retire active rule ``rule_id``; raise UnknownRule or InvalidReason, changing nothing."""
        rule = next((r for r in self._active if r.rule_id == rule_id), None)
        if rule is None:
            retired = any(r.rule_id == rule_id for r in self._retired)
            raise UnknownRule(self._policy_id, rule_id, retired=retired)
        if not reason.strip():
            raise InvalidReason(self._policy_id, rule_id)
        self._active.remove(rule)
        self._retired.append(RetiredRule(rule, reason))

    def _check_can_activate(self, rule: Rule) -> None:
        retired = any(r.rule_id == rule.rule_id for r in self._retired)
        if retired or any(r.rule_id == rule.rule_id for r in self._active):
            raise DuplicateRuleId(self._policy_id, rule.rule_id, retired=retired)
        existing = next((r for r in self._active if r.watch == rule.watch), None)
        if existing is not None:
            watch = f"({rule.metric}, {format_window(rule.window)})"
            raise DuplicateMetricWindow(self._policy_id, rule.rule_id, existing.rule_id, watch)


def _own_rule(rule: object) -> Rule:
    """A ``Rule`` of the policy's own with ``rule``'s values; ``TypeError`` if it is no ``Rule``.

    A copy even of a ``Rule``: a subclass may have made its fields assignable again.
    """
    if not isinstance(rule, Rule):
        raise TypeError(f"expected a Rule, not {type(rule).__name__}")
    return Rule(rule.rule_id, rule.metric, rule.window, rule.threshold)


def _own_retired_rule(retired: object) -> RetiredRule:
    """A ``RetiredRule`` of the policy's own, its rule copied too (see :func:`_own_rule`)."""
    if not isinstance(retired, RetiredRule):
        raise TypeError(f"expected a RetiredRule, not {type(retired).__name__}")
    return RetiredRule(_own_rule(retired.rule), retired.reason)
