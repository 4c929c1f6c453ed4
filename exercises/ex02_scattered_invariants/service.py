"""Exercise 2, the entry points: four places where a rule reaches a policy.

This is the service as you found it. Each place checks the invariants its
author worried about, and no two agree:

* ``activate_rule`` (the application service) checks the (metric, window);
* ``submit_rule_form`` (the form handler) checks retired ids and the
  (metric, window), and refuses with its own ``RuleFormError``;
* ``RuleRepository.save`` checks that active ids are unique;
* ``import_rules`` (the bulk import) checks nothing: it writes straight into
  the store through ``RuleRepository.append_rules``.

Your job, once ``policy.py`` checks both invariants in ``add_active_rule``:

1. delete the (metric, window) check in ``activate_rule``;
2. delete both checks in ``submit_rule_form`` and the ``RuleFormError`` class,
   so the form's caller sees the root's own ``DomainError``;
3. route ``import_rules`` through the root: load the policy once, add every
   rule with ``add_active_rule``, save once; then delete ``append_rules``;
4. delete the id check in ``RuleRepository.save``.

Keep the signatures: the tests hand ``RuleRepository`` other roots (one that
accepts everything, one that refuses everything) and expect every entry point
to do exactly what that root decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from aggregates_course import (
    ActiveRule,
    DuplicateMetricWindow,
    DuplicateRuleId,
    InvalidRule,
    PolicyEvent,
    RetiredRule,
    format_window,
)

from .policy import MonitoringPolicy

FORM_FIELDS = ("rule_id", "metric", "window_minutes", "threshold")
"""The fields of the "new alert rule" form, all submitted as text."""


class PolicyRoot(Protocol):
    """What the service needs from a policy's aggregate root.

    The root alone decides whether a command is allowed; everything in this
    module only loads it, calls it and saves it.
    """

    @property
    def policy_id(self) -> str: ...

    @property
    def active_rules(self) -> Sequence[ActiveRule]: ...

    @property
    def retired_rules(self) -> Sequence[RetiredRule]: ...

    def active_rule_for(self, metric: str, window: timedelta) -> ActiveRule | None: ...

    def add_active_rule(self, rule: ActiveRule) -> None: ...

    def retire_rule(self, rule_id: str, reason: str) -> None: ...

    def collect_events(self) -> Sequence[PolicyEvent]: ...


PolicyFactory = Callable[[str], PolicyRoot]
"""Builds an empty root for a policy id; ``MonitoringPolicy`` itself is one."""


class RuleFormError(ValueError):
    """The form handler's private refusal (to be deleted: callers should see the domain's)."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}")


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    """One policy as the store keeps it: plain, immutable data."""

    active: tuple[ActiveRule, ...]
    retired: tuple[RetiredRule, ...]


class RuleRepository:
    """Loads a whole policy by id and saves it whole, in memory, for one caller at a time.

    It keeps data, never live roots, and rebuilds a policy by replaying the
    stored rules through a root made by ``policy_factory``, so stored data
    passes the same checks as a new command. Events the root recorded are
    published only once the save that made them has succeeded.
    """

    def __init__(self, policy_factory: PolicyFactory = MonitoringPolicy) -> None:
        self._policy_factory = policy_factory
        self._stored: dict[str, StoredPolicy] = {}
        self._published: list[PolicyEvent] = []

    def load(self, policy_id: str) -> PolicyRoot:
        """Rebuild the stored policy, or an empty one if nothing is stored under that id."""
        policy = self._policy_factory(policy_id)
        stored = self._stored.get(policy_id)
        if stored is not None:
            # Retired rules first, each retired at once, so they never hold a watch.
            for retired in stored.retired:
                policy.add_active_rule(retired.rule)
                policy.retire_rule(retired.rule_id, retired.reason)
            for rule in stored.active:
                policy.add_active_rule(rule)
            policy.collect_events()  # replayed history, not news
        return policy

    def save(self, policy: PolicyRoot) -> None:
        """Store the whole policy, then publish the events it recorded."""
        # Scattered check 4 of 4: the "unique constraint" on active rule ids.
        active_ids = [rule.rule_id for rule in policy.active_rules]
        for rule_id in active_ids:
            if active_ids.count(rule_id) > 1:
                raise DuplicateRuleId(policy.policy_id, rule_id, retired=False)
        self._stored[policy.policy_id] = StoredPolicy(
            tuple(policy.active_rules), tuple(policy.retired_rules)
        )
        self._published.extend(policy.collect_events())

    def append_rules(self, policy_id: str, rules: Sequence[ActiveRule]) -> None:
        """Fast path for the bulk import: append rules to the stored data, skipping the root."""
        stored = self._stored.get(policy_id, StoredPolicy((), ()))
        self._stored[policy_id] = StoredPolicy(stored.active + tuple(rules), stored.retired)

    def collect_published(self) -> list[PolicyEvent]:
        """Events of every successful save since the last call, in order; then forget them."""
        events, self._published = self._published, []
        return events


def parse_rule_form(form: Mapping[str, str]) -> ActiveRule:
    """Build the rule a submitted form describes, or raise :class:`InvalidRule` naming the field.

    Surrounding whitespace in a field is ignored. The window is a whole,
    positive number of minutes; the threshold any finite number.
    """
    missing = [name for name in FORM_FIELDS if name not in form]
    if missing:
        raise InvalidRule(missing[0], "is missing from the form")
    window_text = form["window_minutes"].strip()
    try:
        minutes = int(window_text)
    except ValueError:
        raise InvalidRule("window", f"{window_text!r} is not a whole number of minutes") from None
    threshold_text = form["threshold"].strip()
    try:
        threshold = float(threshold_text)
    except ValueError:
        raise InvalidRule("threshold", f"{threshold_text!r} is not a number") from None
    return ActiveRule(
        rule_id=form["rule_id"].strip(),
        metric=form["metric"].strip(),
        window=timedelta(minutes=minutes),
        threshold=threshold,
    )


def activate_rule(repository: RuleRepository, policy_id: str, rule: ActiveRule) -> None:
    """Application service: activate ``rule`` in policy ``policy_id``."""
    policy = repository.load(policy_id)
    # Scattered check 1 of 4: the application service guards the (metric, window).
    for existing in policy.active_rules:
        if existing.watch == rule.watch:
            watch = f"({rule.metric}, {format_window(rule.window)})"
            raise DuplicateMetricWindow(policy_id, rule.rule_id, existing.rule_id, watch)
    policy.add_active_rule(rule)
    repository.save(policy)


def retire_rule(repository: RuleRepository, policy_id: str, rule_id: str, reason: str) -> None:
    """Application service: retire rule ``rule_id`` of policy ``policy_id`` for ``reason``.

    The root refuses an unknown rule and a blank reason. (Already complete.)
    """
    policy = repository.load(policy_id)
    policy.retire_rule(rule_id, reason)
    repository.save(policy)


def submit_rule_form(
    repository: RuleRepository, policy_id: str, form: Mapping[str, str]
) -> ActiveRule:
    """Form handler: activate the rule a submitted form describes, and return it.

    A malformed form raises :class:`InvalidRule` before anything is loaded.
    """
    rule = parse_rule_form(form)
    policy = repository.load(policy_id)
    # Scattered check 2 of 4: the form guards retired ids and the (metric, window).
    if any(retired.rule_id == rule.rule_id for retired in policy.retired_rules):
        raise RuleFormError("rule_id", f"{rule.rule_id!r} belonged to a retired rule")
    if policy.active_rule_for(rule.metric, rule.window) is not None:
        raise RuleFormError("window_minutes", "another rule already watches this metric")
    policy.add_active_rule(rule)
    repository.save(policy)
    return rule


def import_rules(repository: RuleRepository, policy_id: str, rules: Iterable[ActiveRule]) -> int:
    """Bulk import: activate every rule of ``rules``, in order; return how many."""
    batch = list(rules)
    # Scattered check 3 of 4 is missing: this path checks nothing at all.
    repository.append_rules(policy_id, batch)
    return len(batch)
