"""Exercise 7: write the monitoring service's application layer.

The domain (``MonitoringPolicy`` and its rules) and the infrastructure
(repositories, metric sources, alert sinks) are ready. Write the three use
cases that connect them:

* :func:`evaluate_policy` loads a policy and, for each *active* rule, checks
  whether its window breaches its threshold, emitting one alert per breach.
  A window **breaches** when the samples of the rule's metric with a
  timestamp in ``(now - rule.window, now]`` exist and their mean is strictly
  above ``rule.threshold``. No samples in the window: no alert. The times are
  instants: compare and subtract them in UTC (``.astimezone(UTC)``), since
  Python does arithmetic on two datetimes of one time zone by their clock
  readings, an hour off across a daylight-saving change.
* :func:`activate_rule` and :func:`retire_rule` are operator commands: load
  the policy, run the command on its root, save it. When the save meets a
  :class:`ConcurrencyConflict` (someone saved first) they load a fresh copy
  and repeat the command, at most ``attempts`` times in all, so no
  operator's edit is lost and none is written over a stale copy.

What raises: you raise one error yourself, ``ValueError(...)`` naming
``attempts`` when it is not a whole number of at least 1 (``True`` is not one).
Everything else passes through: the policy repository's ``PolicyNotFound``,
the root's ``DuplicateRuleId``, ``DuplicateMetricWindow``, ``UnknownRule`` and
``InvalidReason`` (raised at once, nothing saved), the last
``ConcurrencyConflict`` once the attempts run out, and ``InvalidSample`` from
``require_aware(now, "now")`` for a ``now`` without a timezone.
"""

from __future__ import annotations

from datetime import UTC, datetime  # noqa: F401 -- UTC: compare instants, not clock readings

from aggregates_course import (
    ActiveRule,
    ConcurrencyConflict,  # noqa: F401 -- the one error a command retries
    MonitoringPolicy,  # noqa: F401 -- what policies.load returns
    PolicyRepository,
)

from .alerts import Alert, AlertSink
from .metrics import MetricSample, MetricSource, require_aware  # noqa: F401

MAX_ATTEMPTS = 3
"""How many times an operator command tries load-change-save before giving up."""


def evaluate_policy(
    policies: PolicyRepository,
    policy_id: str,
    *,
    source: MetricSource,
    sink: AlertSink,
    now: datetime,
) -> tuple[Alert, ...]:
    """Emit an alert to ``sink`` for every active rule of the policy whose window breaches.

    A window breaches when the rule's metric has samples with a timestamp in
    ``(now - rule.window, now]`` and their mean is strictly above the
    threshold; retired rules never fire. Returns the alerts, in the policy's
    active-rule order. Raises ``PolicyNotFound`` for an unknown policy and
    ``InvalidSample`` for a naive ``now``, emitting nothing. Saves nothing.
    """
    require_aware(now, "now")
    raise NotImplementedError(
        "evaluate_policy: load the policy, and for each active rule take the mean of "
        "source.samples(rule.metric) with timestamp in (now - rule.window, now], compared "
        "as instants in UTC; when there are samples and the mean is strictly above "
        "rule.threshold, emit Alert(policy_id, rule, mean, now) to the sink; return the alerts"
    )


def activate_rule(
    policies: PolicyRepository,
    policy_id: str,
    rule: ActiveRule,
    *,
    attempts: int = MAX_ATTEMPTS,
) -> int:
    """Activate ``rule`` in the stored policy; return the version it was saved at.

    The policy's root enforces its invariants (``DuplicateRuleId``,
    ``DuplicateMetricWindow``); such a refusal is raised at once and saves
    nothing. A ``ConcurrencyConflict`` is retried on a freshly loaded copy,
    and the last one is raised after ``attempts`` conflicting tries. The
    version returned is the one this command's own save stored, even if
    someone saved again since. ``attempts`` that is not a whole number of at
    least 1 raises ``ValueError`` naming ``attempts``.
    """
    raise NotImplementedError(
        "activate_rule: load the policy, call add_active_rule, save it and return its version; "
        "on ConcurrencyConflict load a fresh copy and repeat, at most `attempts` times in all"
    )


def retire_rule(
    policies: PolicyRepository,
    policy_id: str,
    rule_id: str,
    reason: str,
    *,
    attempts: int = MAX_ATTEMPTS,
) -> int:
    """Retire rule ``rule_id`` of the stored policy; return the version it was saved at.

    The policy's root refuses an unknown or already retired rule
    (``UnknownRule``) and a blank reason (``InvalidReason``); such a refusal
    is raised at once and saves nothing. A ``ConcurrencyConflict`` is retried
    on a freshly loaded copy, and the last one is raised after ``attempts``
    conflicting tries. The version returned is the one this command's own
    save stored. ``attempts`` that is not a whole number of at least 1 raises
    ``ValueError`` naming ``attempts``.
    """
    raise NotImplementedError(
        "retire_rule: load the policy, call retire_rule on it, save it and return its version; "
        "on ConcurrencyConflict load a fresh copy and repeat, at most `attempts` times in all"
    )
