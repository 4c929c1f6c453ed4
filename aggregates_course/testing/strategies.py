"""Hypothesis strategies for the monitoring domain: small pools, so that values collide.

The strategies draw from deliberately small pools of ids, metrics and windows,
so random programs collide often: duplicates are where invariants break.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta

from hypothesis import strategies as st

from aggregates_course.domain.policy import MonitoringPolicy
from aggregates_course.domain.rules import ActiveRule

RULE_IDS = ("r1", "r2", "r3", "r4", "r5", "r6")
METRICS = ("cpu", "memory", "latency_p99", "错误率")
WINDOWS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(hours=1))


def rule_ids(pool: Sequence[str] = RULE_IDS) -> st.SearchStrategy[str]:
    """Valid rule ids drawn from a small pool, so that duplicates are common."""
    return st.sampled_from(pool)


def metrics(pool: Sequence[str] = METRICS) -> st.SearchStrategy[str]:
    """Metric names from a small pool (one of them non-ASCII)."""
    return st.sampled_from(pool)


def windows(pool: Sequence[timedelta] = WINDOWS) -> st.SearchStrategy[timedelta]:
    """Positive windows from a small pool, so that (metric, window) pairs collide."""
    return st.sampled_from(pool)


def thresholds() -> st.SearchStrategy[float]:
    """Finite floats, including awkward ones such as -0.0 and subnormals."""
    return st.floats(allow_nan=False, allow_infinity=False)


def reasons() -> st.SearchStrategy[str]:
    """Retirement reasons: non-blank text, quotes and newlines included."""
    return st.text(min_size=1, max_size=40).filter(lambda text: bool(text.strip()))


def blank_reasons() -> st.SearchStrategy[str]:
    """Reasons a policy must refuse: empty or whitespace only."""
    return st.sampled_from(["", " ", "\t", "\n", "   \n"])


def active_rules(
    ids: st.SearchStrategy[str] | None = None,
    metric: st.SearchStrategy[str] | None = None,
    window: st.SearchStrategy[timedelta] | None = None,
    threshold: st.SearchStrategy[float] | None = None,
) -> st.SearchStrategy[ActiveRule]:
    """Valid :class:`ActiveRule` values from the small pools (or the strategies given)."""
    return st.builds(
        ActiveRule,
        rule_id=ids if ids is not None else rule_ids(),
        metric=metric if metric is not None else metrics(),
        window=window if window is not None else windows(),
        threshold=threshold if threshold is not None else thresholds(),
    )


@st.composite
def policies(
    draw: st.DrawFn,
    policy_id: str = "policy-1",
    threshold: st.SearchStrategy[float] | None = None,
) -> MonitoringPolicy:
    """Policies built through their root by a random run of valid commands.

    Every rule id is fresh, so each add and retire succeeds; events are
    collected, so the policy looks freshly loaded. ``threshold`` narrows the
    rules' thresholds (default: any finite float).
    """
    policy = MonitoringPolicy(policy_id)
    # One strategy for every draw, renamed afterwards: building a strategy per rule is slow.
    candidates = active_rules(ids=st.just("rule-0"), threshold=threshold)
    count = draw(st.integers(min_value=0, max_value=8))
    for number in range(count):
        candidate = dataclasses.replace(draw(candidates), rule_id=f"rule-{number}")
        if policy.active_rule_for(candidate.metric, candidate.window) is None:
            policy.add_active_rule(candidate)
            if draw(st.booleans()):
                policy.retire_rule(candidate.rule_id, draw(reasons()))
    policy.collect_events()
    return policy
