"""Domain events: facts a policy records when a command succeeds.

Events are frozen, so a handler can keep them without copying. A rejected
command records none.
"""

from __future__ import annotations

from dataclasses import dataclass

from aggregates_course.domain.rules import ActiveRule


@dataclass(frozen=True, slots=True)
class RuleActivated:
    """``rule`` became active in policy ``policy_id``."""

    policy_id: str
    rule: ActiveRule


@dataclass(frozen=True, slots=True)
class RuleRetired:
    """Rule ``rule_id`` of policy ``policy_id`` was retired for ``reason``."""

    policy_id: str
    rule_id: str
    reason: str


PolicyEvent = RuleActivated | RuleRetired
"""Any event a :class:`~aggregates_course.domain.policy.MonitoringPolicy` records."""
