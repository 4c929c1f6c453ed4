"""aggregates-course: a reference aggregate for a monitoring service.

``MonitoringPolicy`` is the aggregate root: the one place where the
invariants spanning its rules are enforced. Repositories load it by id and
save it whole, with optimistic concurrency. Everything here is standard
library only; Hypothesis strategies live in :mod:`aggregates_course.testing`.
"""

from aggregates_course.adapters.errors import StorageError
from aggregates_course.adapters.memory import InMemoryPolicyRepository
from aggregates_course.adapters.repository import PolicyRepository
from aggregates_course.adapters.sqlite import SqlitePolicyRepository
from aggregates_course.domain.errors import (
    ConcurrencyConflict,
    DomainError,
    DuplicateMetricWindow,
    DuplicateRuleId,
    InvalidReason,
    InvalidRule,
    PolicyNotFound,
    UnknownRule,
)
from aggregates_course.domain.events import PolicyEvent, RuleActivated, RuleRetired
from aggregates_course.domain.policy import MonitoringPolicy, PolicySnapshot
from aggregates_course.domain.rules import ActiveRule, RetiredRule, format_window

__all__ = [
    "ActiveRule",
    "ConcurrencyConflict",
    "DomainError",
    "DuplicateMetricWindow",
    "DuplicateRuleId",
    "InMemoryPolicyRepository",
    "InvalidReason",
    "InvalidRule",
    "MonitoringPolicy",
    "PolicyEvent",
    "PolicyNotFound",
    "PolicyRepository",
    "PolicySnapshot",
    "RetiredRule",
    "RuleActivated",
    "RuleRetired",
    "SqlitePolicyRepository",
    "StorageError",
    "UnknownRule",
    "format_window",
]
