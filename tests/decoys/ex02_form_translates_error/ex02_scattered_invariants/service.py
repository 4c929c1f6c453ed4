"""Decoy: the form handler goes through the root but turns its DomainError into a RuleFormError."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from aggregates_course import ActiveRule, DomainError, InvalidRule, PolicyEvent, RetiredRule

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
    """The form's own refusal, naming the field to highlight."""

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
        """Store the whole policy, then publish the events it recorded.

        No checks here: whatever the root allowed is, by definition, valid.
        """
        self._stored[policy.policy_id] = StoredPolicy(
            tuple(policy.active_rules), tuple(policy.retired_rules)
        )
        self._published.extend(policy.collect_events())

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
    """Application service: activate ``rule`` in policy ``policy_id``.

    The root's refusal (``DuplicateRuleId``, ``DuplicateMetricWindow``)
    reaches the caller unchanged, and nothing is saved.
    """
    policy = repository.load(policy_id)
    policy.add_active_rule(rule)
    repository.save(policy)


def retire_rule(repository: RuleRepository, policy_id: str, rule_id: str, reason: str) -> None:
    """Application service: retire rule ``rule_id`` of policy ``policy_id`` for ``reason``.

    The root refuses an unknown rule and a blank reason; nothing is saved then.
    """
    policy = repository.load(policy_id)
    policy.retire_rule(rule_id, reason)
    repository.save(policy)


def submit_rule_form(
    repository: RuleRepository, policy_id: str, form: Mapping[str, str]
) -> ActiveRule:
    """Form handler: activate the rule a submitted form describes, and return it.

    A malformed form raises :class:`InvalidRule` before anything is loaded;
    the root's refusal reaches the caller unchanged, and nothing is saved.
    """
    rule = parse_rule_form(form)
    policy = repository.load(policy_id)
    try:
        policy.add_active_rule(rule)
    except DomainError as refused:
        # The page shows errors per field, so the handler speaks in fields.
        raise RuleFormError("rule_id", str(refused)) from refused
    repository.save(policy)
    return rule


def import_rules(repository: RuleRepository, policy_id: str, rules: Iterable[ActiveRule]) -> int:
    """Bulk import: activate every rule of ``rules``, in order; return how many.

    All or nothing: the whole batch goes through the root, rule by rule, and
    is saved once. The first refused rule's error reaches the caller and no
    rule of the batch is stored.
    """
    policy = repository.load(policy_id)
    count = 0
    for rule in rules:
        policy.add_active_rule(rule)
        count += 1
    repository.save(policy)
    return count
