"""The aggregate root. Every invariant of a monitoring policy lives in this file.

Invariants of :class:`MonitoringPolicy`:

1. Rule ids are unique within a policy, retired ids included.
2. No two active rules watch the same (metric, window).
3. Retiring a rule keeps every index consistent: the rule leaves the active
   collection and the (metric, window) index, and joins the retired collection.

Every command checks first and changes state only after every check passed,
so a rejected command leaves the policy exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from aggregates_course.domain.errors import (
    DuplicateMetricWindow,
    DuplicateRuleId,
    InvalidReason,
    InvalidRule,
    UnknownRule,
)
from aggregates_course.domain.events import PolicyEvent, RuleActivated, RuleRetired
from aggregates_course.domain.rules import (
    ActiveRule,
    RetiredRule,
    format_window,
    validate_identifier,
)


@dataclass(frozen=True, slots=True)
class PolicySnapshot:
    """The whole state of one policy as immutable data: what a repository stores.

    Rebuild a live policy with :meth:`MonitoringPolicy.from_snapshot`, which
    checks every invariant again, so a corrupt store cannot smuggle in a
    broken policy.
    """

    policy_id: str
    version: int
    active_rules: tuple[ActiveRule, ...]
    retired_rules: tuple[RetiredRule, ...]


class MonitoringPolicy:
    """Aggregate root owning a policy's active and retired alert rules.

    The only way to change the rules is through :meth:`add_active_rule` and
    :meth:`retire_rule`. Collections are handed out as tuples of frozen rules,
    so no caller can change a child without the root knowing.
    """

    __slots__ = ("_active", "_by_watch", "_events", "_policy_id", "_retired", "_version")

    def __init__(self, policy_id: str) -> None:
        self._policy_id = validate_identifier(policy_id, "policy_id")
        # Dicts keep insertion order, so they serve as ordered collection and id index at once.
        self._active: dict[str, ActiveRule] = {}
        self._retired: dict[str, RetiredRule] = {}
        self._by_watch: dict[tuple[str, timedelta], ActiveRule] = {}
        self._events: list[PolicyEvent] = []
        self._version = 0

    # -- reading ---------------------------------------------------------------

    @property
    def policy_id(self) -> str:
        """The policy's identity; validated like a rule id and never changed."""
        return self._policy_id

    @property
    def version(self) -> int:
        """0 if never saved, else the stored version this copy was loaded or saved at."""
        return self._version

    @property
    def active_rules(self) -> tuple[ActiveRule, ...]:
        """Active rules in activation order (a fresh tuple: O(n) per call)."""
        return tuple(self._active.values())

    @property
    def retired_rules(self) -> tuple[RetiredRule, ...]:
        """Retired rules in retirement order (a fresh tuple: O(n) per call)."""
        return tuple(self._retired.values())

    def active_rule_for(self, metric: str, window: timedelta) -> ActiveRule | None:
        """The active rule watching ``(metric, window)``, or ``None``. O(1)."""
        return self._by_watch.get((metric, window))

    def __repr__(self) -> str:
        return (
            f"MonitoringPolicy({self._policy_id!r}, version={self._version}, "
            f"active={len(self._active)}, retired={len(self._retired)})"
        )

    # -- commands --------------------------------------------------------------

    def add_active_rule(self, rule: ActiveRule) -> None:
        """Activate ``rule``.

        Raises :class:`DuplicateRuleId` if any active or retired rule has its
        id, and :class:`DuplicateMetricWindow` if an active rule already
        watches its (metric, window). Records :class:`RuleActivated`.
        """
        if not isinstance(rule, ActiveRule):
            raise TypeError(f"expected an ActiveRule, not {type(rule).__name__}")
        self._check_can_activate(rule)
        self._active[rule.rule_id] = rule
        self._by_watch[rule.watch] = rule
        self._events.append(RuleActivated(self._policy_id, rule))

    def retire_rule(self, rule_id: str, reason: str) -> None:
        """Retire the active rule ``rule_id``, freeing its (metric, window).

        Raises :class:`UnknownRule` if no active rule has that id (a rule
        already retired included), and :class:`InvalidReason` if ``reason``
        is blank or cannot be stored. Records :class:`RuleRetired`.
        """
        # Only a string can be a rule's id; anything else (a list, too) is an unknown rule.
        known = isinstance(rule_id, str)
        rule = self._active.get(rule_id) if known else None
        if rule is None:
            already_retired = known and rule_id in self._retired
            raise UnknownRule(self._policy_id, str(rule_id), retired=already_retired)
        try:
            # Built before anything changes: a bad reason must leave the policy untouched.
            retired = RetiredRule(rule, reason)
        except InvalidRule as invalid:
            raise InvalidReason(self._policy_id, rule_id, invalid.problem) from None
        del self._active[rule_id]
        del self._by_watch[rule.watch]
        self._retired[rule_id] = retired
        self._events.append(RuleRetired(self._policy_id, rule_id, reason))

    def collect_events(self) -> list[PolicyEvent]:
        """Return the events recorded since the last call, and forget them."""
        events, self._events = self._events, []
        return events

    # -- persistence -----------------------------------------------------------

    def snapshot(self) -> PolicySnapshot:
        """The whole aggregate as immutable data, at the current version."""
        return PolicySnapshot(self._policy_id, self._version, self.active_rules, self.retired_rules)

    @classmethod
    def from_snapshot(cls, snapshot: PolicySnapshot) -> MonitoringPolicy:
        """Rebuild a policy from stored state, with no pending events.

        Every invariant is checked again on the way in; stored data that
        breaks one raises the same :class:`DomainError` a command would.
        """
        policy = cls(snapshot.policy_id)
        policy._restore(snapshot.retired_rules, snapshot.active_rules)
        policy._version = _validate_version(snapshot.version)
        return policy

    def mark_saved(self, version: int) -> None:
        """Record that a repository stored this policy at ``version``.

        For repositories only: a save is the one thing that moves the version.
        The new version must be greater than the current one.
        """
        if _validate_version(version) <= self._version:
            raise ValueError(
                f"policy {self._policy_id!r}: saved version {version} "
                f"must be greater than {self._version}"
            )
        self._version = version

    # -- internals -------------------------------------------------------------

    def _check_can_activate(self, rule: ActiveRule) -> None:
        if rule.rule_id in self._active or rule.rule_id in self._retired:
            raise DuplicateRuleId(
                self._policy_id, rule.rule_id, retired=rule.rule_id in self._retired
            )
        existing = self._by_watch.get(rule.watch)
        if existing is not None:
            watch = f"({rule.metric}, {format_window(rule.window)})"
            raise DuplicateMetricWindow(self._policy_id, rule.rule_id, existing.rule_id, watch)

    def _restore(
        self, retired_rules: Iterable[RetiredRule], active_rules: Iterable[ActiveRule]
    ) -> None:
        for retired in retired_rules:
            if retired.rule_id in self._retired:
                raise DuplicateRuleId(self._policy_id, retired.rule_id, retired=True)
            self._retired[retired.rule_id] = retired
        for rule in active_rules:
            self.add_active_rule(rule)
        self._events.clear()


def _validate_version(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise InvalidRule("version", f"must be a non-negative int, got {version!r}")
    return version
