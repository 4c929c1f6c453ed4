"""Exercise 7, solved: the monitoring service's application layer.

Three use cases, each a short story told with the domain's objects:

* :func:`evaluate_policy` loads a policy and, for each *active* rule, checks
  whether its window breaches its threshold, emitting one alert per breach.
  A window **breaches** when the samples of the rule's metric with a
  timestamp in ``(now - rule.window, now]`` exist and their mean is strictly
  above ``rule.threshold``. No samples in the window: no alert. Times are
  compared as instants, in UTC, so offsets and daylight-saving changes do not
  move the window.
* :func:`activate_rule` and :func:`retire_rule` are operator commands: load
  the policy, run the command on its root, save it. When the save meets a
  :class:`ConcurrencyConflict` (someone saved first) they load a fresh copy
  and repeat the command, at most ``attempts`` times in all, so no
  operator's edit is lost and none is written over a stale copy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from aggregates_course import ActiveRule, ConcurrencyConflict, MonitoringPolicy, PolicyRepository

from .alerts import Alert, AlertSink
from .metrics import MetricSample, MetricSource, require_aware

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
    policy = policies.load(policy_id)
    alerts: list[Alert] = []
    for rule in policy.active_rules:
        mean = _window_mean(source.samples(rule.metric), now, rule.window)
        if mean is not None and mean > rule.threshold:
            alerts.append(Alert(policy.policy_id, rule, mean, now))
    # Emit only once every rule was checked, so a failing source emits nothing at all.
    for alert in alerts:
        sink.emit(alert)
    return tuple(alerts)


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
    return _edit(policies, policy_id, lambda policy: policy.add_active_rule(rule), attempts)


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
    return _edit(policies, policy_id, lambda policy: policy.retire_rule(rule_id, reason), attempts)


def _edit(
    policies: PolicyRepository,
    policy_id: str,
    command: Callable[[MonitoringPolicy], None],
    attempts: int,
) -> int:
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ValueError(f"attempts must be a positive int, got {attempts!r}")
    attempt = 1
    while True:
        # A fresh copy each time: the command must be decided against what is stored now.
        policy = policies.load(policy_id)
        command(policy)
        try:
            policies.save(policy)
        except ConcurrencyConflict:
            if attempt == attempts:
                raise
            attempt += 1
        else:
            return policy.version


def _window_mean(samples: Sequence[MetricSample], now: datetime, window: timedelta) -> float | None:
    # In UTC: two datetimes of one time zone subtract and compare by their clock readings,
    # which a daylight-saving change puts an hour off the instants they name.
    end = now.astimezone(UTC)
    start = end - window
    values = [sample.value for sample in samples if start < sample.timestamp.astimezone(UTC) <= end]
    if not values:
        return None
    return sum(values) / len(values)
