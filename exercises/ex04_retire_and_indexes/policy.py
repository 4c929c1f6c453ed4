"""Exercise 4: retire a rule and keep both indexes and the projection in step.

A policy keeps its rules in two collections (active, retired), two indexes
(every rule by id; active rules by (metric, window)) and one projection (how
many active rules watch each metric). ``add_active_rule`` already keeps all
five in step. Write ``retire_rule`` so that it does too:

* an unknown id, an already retired id or a blank reason is refused, with
  nothing changed and no event recorded;
* a retired rule leaves the active collection, the watch index and the
  projection, joins the retired collection and stays in the id index as retired;
* it records ``RuleRetired``, so a projection rebuilt from the events matches.
"""

from __future__ import annotations

from datetime import timedelta

from aggregates_course import (
    ActiveRule,
    DuplicateMetricWindow,
    DuplicateRuleId,
    InvalidReason,  # noqa: F401 -- you will raise these
    PolicyEvent,
    RetiredRule,
    RuleActivated,
    RuleRetired,  # noqa: F401
    UnknownRule,  # noqa: F401
    format_window,
)


class MonitoringPolicy:
    """Aggregate root whose indexes and projection always agree with its rule collections.

    Invariants: rule ids are unique forever (``DuplicateRuleId``); no two
    active rules watch the same (metric, window) (``DuplicateMetricWindow``);
    ``find_rule``, ``active_rule_for`` and ``active_count_by_metric`` answer
    exactly what scanning ``active_rules`` and ``retired_rules`` would.
    """

    __slots__ = (
        "_active",
        "_active_per_metric",
        "_by_id",
        "_by_watch",
        "_events",
        "_retired",
        "policy_id",
    )

    def __init__(self, policy_id: str) -> None:
        self.policy_id = policy_id
        # The two collections, in activation and retirement order.
        self._active: list[ActiveRule] = []
        self._retired: list[RetiredRule] = []
        # Index 1: every rule the policy ever held, by id. Retired rules stay here,
        # because their ids may never be reused.
        self._by_id: dict[str, ActiveRule | RetiredRule] = {}
        # Index 2: the active rule watching each (metric, window).
        self._by_watch: dict[tuple[str, timedelta], ActiveRule] = {}
        # The projection: active rules per metric; a metric with none has no entry.
        self._active_per_metric: dict[str, int] = {}
        self._events: list[PolicyEvent] = []

    # -- reading ---------------------------------------------------------------

    @property
    def active_rules(self) -> tuple[ActiveRule, ...]:
        """Active rules in activation order."""
        return tuple(self._active)

    @property
    def retired_rules(self) -> tuple[RetiredRule, ...]:
        """Retired rules in retirement order."""
        return tuple(self._retired)

    def find_rule(self, rule_id: str) -> ActiveRule | RetiredRule | None:
        """The rule with this id, active or retired, or ``None``. O(1) through the id index."""
        return self._by_id.get(rule_id)

    def active_rule_for(self, metric: str, window: timedelta) -> ActiveRule | None:
        """The active rule watching ``(metric, window)``, or ``None``. O(1) through the index."""
        return self._by_watch.get((metric, window))

    def active_count_by_metric(self) -> dict[str, int]:
        """The projection: how many active rules watch each metric (a copy; no zero entries)."""
        return dict(self._active_per_metric)

    # -- commands --------------------------------------------------------------

    def add_active_rule(self, rule: ActiveRule) -> None:
        """Activate ``rule``; raise DuplicateRuleId or DuplicateMetricWindow and change nothing."""
        existing_id = self._by_id.get(rule.rule_id)
        if existing_id is not None:
            raise DuplicateRuleId(
                self.policy_id, rule.rule_id, retired=isinstance(existing_id, RetiredRule)
            )
        existing_watch = self._by_watch.get(rule.watch)
        if existing_watch is not None:
            watch = f"({rule.metric}, {format_window(rule.window)})"
            raise DuplicateMetricWindow(self.policy_id, rule.rule_id, existing_watch.rule_id, watch)
        self._active.append(rule)
        self._by_id[rule.rule_id] = rule
        self._by_watch[rule.watch] = rule
        self._active_per_metric[rule.metric] = self._active_per_metric.get(rule.metric, 0) + 1
        self._events.append(RuleActivated(self.policy_id, rule))

    def retire_rule(self, rule_id: str, reason: str) -> None:
        """Retire the active rule ``rule_id`` for ``reason``.

        Refuse, before the first write, by raising:

        * ``UnknownRule(policy_id, rule_id, *, retired)`` when no active rule
          has that id; ``retired`` says whether a retired rule has it;
        * ``InvalidReason(policy_id, rule_id)`` when the reason is blank
          (empty or whitespace only).

        A refused retire changes nothing and records no event. On success the
        rule leaves the active collection, the watch index and the projection,
        joins the retired collection, is re-indexed by id as retired, and
        ``RuleRetired(self.policy_id, rule_id, reason)`` is recorded.
        """
        raise NotImplementedError(
            "retire_rule: refuse an id that is not active (UnknownRule) and a blank reason "
            "(InvalidReason) before changing anything, then update the two collections, both "
            "indexes and the per-metric count together and record RuleRetired"
        )

    def collect_events(self) -> list[PolicyEvent]:
        """Return the events recorded since the last call, and forget them."""
        events, self._events = self._events, []
        return events
