"""Exercise 7 specification, part 1: evaluating a policy against its metrics.

A rule's window **breaches** when the samples of its metric with a timestamp
in ``(now - window, now]`` exist and their mean is strictly above the
rule's threshold. Only active rules are evaluated; retired rules never fire.

Run: uv run pytest exercises/ex07_capstone_monitoring_service
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregates_course import (
    ActiveRule,
    InMemoryPolicyRepository,
    MonitoringPolicy,
    PolicyNotFound,
    SqlitePolicyRepository,
)
from aggregates_course.course.target import load_target
from aggregates_course.testing import METRICS, expect_equal, expect_refusal, metrics, policies

SLUG = "ex07_capstone_monitoring_service"
POLICY_ID = "policy-1"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
FIVE_MINUTES = timedelta(minutes=5)

# Seconds before (negative) or after NOW, with every window edge of the shared pools
# (1m, 5m, 1h) and one second either side of it.
EDGE_OFFSETS = (-3601, -3600, -3599, -301, -300, -299, -61, -60, -59, -1, 0, 1, 30)

# Whole sample values and half-step thresholds keep every mean an exact, small fraction,
# so a correct float mean and the exact oracle below never disagree by rounding.
HALF_STEP_THRESHOLDS = st.integers(min_value=-10, max_value=10).map(lambda n: n / 2)

SampleSpec = tuple[str, int, float]
"""(metric, seconds from NOW, value): a sample before the exercise's classes are loaded."""


def application() -> ModuleType:
    return load_target(SLUG, "application")


def sample(metric: str, seconds: int, value: float) -> Any:
    return load_target(SLUG, "metrics").MetricSample(
        metric, NOW + timedelta(seconds=seconds), value
    )


def rule(
    rule_id: str, metric: str = "cpu", window: timedelta = FIVE_MINUTES, threshold: float = 2.0
) -> ActiveRule:
    return ActiveRule(rule_id, metric, window, threshold)


def clock(moment: datetime) -> str:
    return moment.strftime("%H:%M:%S")


@dataclass(frozen=True)
class Verdict:
    """The oracle's answer for one rule, worked out in exact fractions."""

    rule: ActiveRule
    in_window: tuple[Any, ...]
    outside: tuple[Any, ...]
    mean: Fraction | None

    @property
    def breaches(self) -> bool:
        return self.mean is not None and self.mean > Fraction(self.rule.threshold)

    def explain(self) -> str:
        window = f"({clock(NOW - self.rule.window)}, {clock(NOW)}]"
        ignored = f"; outside it: {readings(self.outside)}" if self.outside else ""
        if self.mean is None:
            return f"{self.rule.describe()} has no {self.rule.metric} sample in {window}{ignored}"
        relation = "strictly above" if self.breaches else "not strictly above"
        return (
            f"{self.rule.describe()}: its samples in {window} are {readings(self.in_window)}"
            f"{ignored}; the mean inside is {float(self.mean)!r}, {relation} the threshold "
            f"{self.rule.threshold!r}"
        )


def readings(samples: Sequence[Any]) -> str:
    return ", ".join(f"{s.value!r} at {clock(s.timestamp)}" for s in samples)


def judge(rule: ActiveRule, samples: Sequence[Any]) -> Verdict:
    """Independent oracle: does ``rule``'s window breach at NOW?"""
    own = [s for s in samples if s.metric == rule.metric]
    in_window = tuple(s for s in own if NOW - rule.window < s.timestamp <= NOW)
    outside = tuple(s for s in own if s not in in_window)
    if not in_window:
        return Verdict(rule, (), outside, None)
    mean = sum((Fraction(s.value) for s in in_window), Fraction(0)) / len(in_window)
    return Verdict(rule, in_window, outside, mean)


def evaluate(policy: MonitoringPolicy, samples: Sequence[Any]) -> tuple[tuple[Any, ...], Any]:
    """Store a copy of ``policy``, evaluate it at NOW; return the alerts and the sink."""
    store = InMemoryPolicyRepository()
    store.save(MonitoringPolicy.from_snapshot(policy.snapshot()))
    sink = load_target(SLUG, "alerts").InMemoryAlertSink()
    source = load_target(SLUG, "metrics").InMemoryMetricSource(samples)
    alerts: tuple[Any, ...] = application().evaluate_policy(
        store, policy.policy_id, source=source, sink=sink, now=NOW
    )
    return alerts, sink


def check_alerts(policy: MonitoringPolicy, samples: Sequence[Any], alerts: Sequence[Any]) -> None:
    """Assert ``alerts`` are exactly the breaches the oracle finds, in active-rule order."""
    fired = [alert.rule.rule_id for alert in alerts]
    for retired in policy.retired_rules:
        assert retired.rule_id not in fired, (
            f"retired rule {retired.rule.describe()} fired; a retired rule never fires, "
            "however its metric reads"
        )
    verdicts = [judge(active, samples) for active in policy.active_rules]
    for verdict in verdicts:
        if verdict.breaches and verdict.rule.rule_id not in fired:
            raise AssertionError(f"no alert, but one was due -- {verdict.explain()}")
        if not verdict.breaches and verdict.rule.rule_id in fired:
            raise AssertionError(f"an alert fired, but none was due -- {verdict.explain()}")
    due = [verdict for verdict in verdicts if verdict.breaches]
    assert fired == [verdict.rule.rule_id for verdict in due], (
        f"alerts came as {fired}; they must come once each, in the policy's active-rule order"
    )
    for alert, verdict in zip(alerts, due, strict=True):
        assert verdict.mean is not None
        assert (alert.policy_id, alert.rule, alert.at) == (policy.policy_id, verdict.rule, NOW), (
            f"alert {alert} must name policy {policy.policy_id!r}, the rule, and now ({NOW})"
        )
        assert alert.observed == pytest.approx(float(verdict.mean)), (
            f"the alert reports a mean of {alert.observed!r}, but -- {verdict.explain()}"
        )


def policy_with(*rules: ActiveRule, retired: Sequence[str] = ()) -> MonitoringPolicy:
    policy = MonitoringPolicy(POLICY_ID)
    for active in rules:
        policy.add_active_rule(active)
    for rule_id in retired:
        policy.retire_rule(rule_id, "replaced")
    return policy


def check(policy: MonitoringPolicy, specs: Sequence[SampleSpec]) -> tuple[Any, ...]:
    samples = [sample(*spec) for spec in specs]
    alerts, sink = evaluate(policy, samples)
    check_alerts(policy, samples, alerts)
    expect_equal(
        "the alerts emitted to the sink",
        tuple(alerts),
        sink.alerts,
        [f"evaluate {policy.policy_id} at {clock(NOW)}"],
        "every alert returned is emitted too, once",
    )
    return alerts


def fired(alerts: Sequence[Any]) -> list[str]:
    """The ids of the rules that fired, in order."""
    return [alert.rule.rule_id for alert in alerts]


# -- explicit cases: one behaviour each ---------------------------------------------------


def test_a_window_mean_above_the_threshold_fires() -> None:
    specs: list[SampleSpec] = [("cpu", -120, 2.0), ("cpu", -60, 3.0)]
    alerts = check(policy_with(rule("r1")), specs)
    expect_equal("the rules that fired", ["r1"], fired(alerts), [f"samples {specs}"])
    expect_equal("the mean the alert reports", 2.5, alerts[0].observed, [f"samples {specs}"])


def test_a_mean_equal_to_the_threshold_does_not_fire() -> None:
    specs: list[SampleSpec] = [("cpu", -120, 1.0), ("cpu", -60, 3.0)]
    expect_equal("the alerts", (), check(policy_with(rule("r1")), specs), [f"samples {specs}"])


def test_a_sample_exactly_one_window_old_is_outside_the_window() -> None:
    # Counted, the 9.0 would lift the mean above 2.0; the window is open at its start.
    specs: list[SampleSpec] = [("cpu", -300, 9.0), ("cpu", -60, 1.0)]
    expect_equal("the alerts", (), check(policy_with(rule("r1")), specs), [f"samples {specs}"])


def test_a_sample_taken_at_now_is_inside_the_window() -> None:
    specs: list[SampleSpec] = [("cpu", 0, 3.0)]
    alerts = check(policy_with(rule("r1")), specs)
    expect_equal("the rules that fired", ["r1"], fired(alerts), [f"samples {specs}"])


def test_samples_after_now_are_ignored() -> None:
    specs: list[SampleSpec] = [("cpu", 1, 9.0), ("cpu", -10, 1.0)]
    expect_equal("the alerts", (), check(policy_with(rule("r1")), specs), [f"samples {specs}"])


def test_no_sample_in_the_window_means_no_alert() -> None:
    specs: list[SampleSpec] = [("cpu", -900, 5.0)]
    alerts = check(policy_with(rule("r1", threshold=-1.0)), specs)
    expect_equal("the alerts", (), alerts, [f"samples {specs}"])


def test_only_the_rules_own_metric_counts() -> None:
    specs: list[SampleSpec] = [("memory", -60, 9.0), ("cpu", -60, 1.0)]
    expect_equal("the alerts", (), check(policy_with(rule("r1")), specs), [f"samples {specs}"])


def test_a_retired_rule_never_fires() -> None:
    policy = policy_with(rule("r1"), rule("r2", metric="memory"), retired=["r1"])
    specs: list[SampleSpec] = [("cpu", -60, 9.0), ("memory", -60, 9.0)]
    alerts = check(policy, specs)
    expect_equal("the rules that fired", ["r2"], fired(alerts), ["retire r1", f"samples {specs}"])


def test_alerts_come_in_active_rule_order() -> None:
    policy = policy_with(rule("r2", metric="memory"), rule("r1"), rule("r3", window=timedelta(1)))
    specs: list[SampleSpec] = [("cpu", -60, 9.0), ("memory", -60, 9.0)]
    alerts = check(policy, specs)
    expect_equal("the rules that fired", ["r2", "r1", "r3"], fired(alerts), [f"samples {specs}"])


def test_an_unknown_policy_raises_policy_not_found_and_emits_nothing() -> None:
    sink = load_target(SLUG, "alerts").InMemoryAlertSink()
    source = load_target(SLUG, "metrics").InMemoryMetricSource([sample("cpu", 0, 9.0)])
    expect_refusal(
        PolicyNotFound,
        "evaluate no-such-policy",
        lambda: application().evaluate_policy(
            InMemoryPolicyRepository(), "no-such-policy", source=source, sink=sink, now=NOW
        ),
        ["an empty store"],
        fields={"policy_id": "no-such-policy"},
    )
    expect_equal("the alerts emitted to the sink", (), sink.alerts)


def test_a_naive_now_is_refused() -> None:
    metrics_module = load_target(SLUG, "metrics")
    store = InMemoryPolicyRepository()
    store.save(policy_with(rule("r1")))
    expect_refusal(
        metrics_module.InvalidSample,
        "evaluate at a now without a timezone",
        lambda: application().evaluate_policy(
            store,
            POLICY_ID,
            source=metrics_module.InMemoryMetricSource(),
            sink=load_target(SLUG, "alerts").InMemoryAlertSink(),
            now=NOW.replace(tzinfo=None),
        ),
        fields={"field": "now"},
        mentions=["timezone"],
    )


# -- properties ---------------------------------------------------------------------------


def sample_specs() -> st.SearchStrategy[SampleSpec]:
    return st.tuples(
        metrics(),
        st.one_of(st.sampled_from(EDGE_OFFSETS), st.integers(min_value=-4000, max_value=120)),
        st.integers(min_value=-5, max_value=5).map(float),
    )


@given(
    policy=policies(POLICY_ID, threshold=HALF_STEP_THRESHOLDS),
    specs=st.lists(sample_specs(), max_size=12),
)
def test_an_alert_fires_exactly_when_the_window_breaches_the_threshold(
    policy: MonitoringPolicy, specs: list[SampleSpec]
) -> None:
    check(policy, specs)


@given(
    policy=policies(POLICY_ID),
    readings=st.lists(
        st.floats(allow_nan=False, allow_infinity=False),
        min_size=len(METRICS),
        max_size=len(METRICS),
    ),
)
def test_retired_rules_never_fire_whatever_their_metric_reads(
    policy: MonitoringPolicy, readings: list[float]
) -> None:
    # One sample per metric, taken at now: inside every window, and its own mean.
    check(policy, [(metric, 0, value) for metric, value in zip(METRICS, readings, strict=False)])


# -- end to end: CSV metrics, SQLite policies, operator commands, evaluation ---------------

METRICS_CSV = """\
timestamp,metric,value
2026-01-01T11:54:00+00:00,cpu,0.99
2026-01-01T11:56:00+00:00,cpu,0.91
2026-01-01T11:59:30+00:00,cpu,0.95
2026-01-01T11:59:00Z,latency_p99_ms,700
2026-01-01T11:59:45Z,latency_p99_ms,900
2026-01-01T11:58:00+00:00,error_rate,0.01
2026-01-01T11:59:00+00:00,error_rate,0.02
2026-01-01T11:30:00+00:00,disk_used,0.97
"""


def test_end_to_end_from_a_csv_file_and_a_sqlite_store(tmp_path: Path) -> None:
    app = application()
    csv_path = tmp_path / "metrics.csv"
    csv_path.write_text(METRICS_CSV, encoding="utf-8")
    source = load_target(SLUG, "metrics").CsvMetricSource(csv_path)
    sink = load_target(SLUG, "alerts").InMemoryAlertSink()
    with SqlitePolicyRepository(tmp_path / "policies.db") as store:
        store.save(MonitoringPolicy("checkout"))
        versions = [
            app.activate_rule(store, "checkout", ActiveRule("cpu-hot", "cpu", FIVE_MINUTES, 0.9)),
            app.activate_rule(
                store,
                "checkout",
                ActiveRule("slow-p99", "latency_p99_ms", timedelta(minutes=1), 750),
            ),
            app.activate_rule(
                store, "checkout", ActiveRule("errors-up", "error_rate", FIVE_MINUTES, 0.02)
            ),
            app.activate_rule(
                store, "checkout", ActiveRule("disk-full", "disk_used", timedelta(hours=1), 0.95)
            ),
            app.retire_rule(store, "checkout", "disk-full", "the disk was replaced"),
        ]
        steps = ["activate four rules", "retire disk-full"]
        expect_equal(
            "the versions the commands returned",
            [2, 3, 4, 5, 6],
            versions,
            steps,
            "each command saves once, at the next version",
        )
        alerts = app.evaluate_policy(store, "checkout", source=source, sink=sink, now=NOW)
    # cpu: 0.99 is 6 minutes old, so the mean is (0.91 + 0.95) / 2. latency: 11:59:00 is
    # exactly one window old, so only 900 counts. error_rate: mean 0.015. disk-full: retired.
    steps.append(f"evaluate at {clock(NOW)}")
    expect_equal("the rules that fired", ["cpu-hot", "slow-p99"], fired(alerts), steps)
    expect_equal(
        "the means they report", [0.93, 900.0], [round(a.observed, 9) for a in alerts], steps
    )
    expect_equal("the alerts emitted to the sink", alerts, sink.alerts, steps)


def test_the_csv_source_reads_every_row_of_a_metric(tmp_path: Path) -> None:
    csv_path = tmp_path / "metrics.csv"
    csv_path.write_text(METRICS_CSV, encoding="utf-8")
    source = load_target(SLUG, "metrics").CsvMetricSource(csv_path)
    expect_equal(
        "the latency_p99_ms samples read",
        [("11:59:00", 700.0), ("11:59:45", 900.0)],
        [(clock(s.timestamp), s.value) for s in source.samples("latency_p99_ms")],
    )
    expect_equal("the samples of a metric never measured", (), source.samples("never-measured"))


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("2026-01-01T11:59:00,cpu,0.5", "timezone"),
        ("yesterday,cpu,0.5", "ISO 8601"),
        ("2026-01-01T11:59:00Z,cpu,lots", "not a number"),
        ("2026-01-01T11:59:00Z,cpu,nan", "finite"),
        ("2026-01-01T11:59:00Z, ,0.5", "metric"),
        ("2026-01-01T11:59:00Z,cpu", "3 fields"),
    ],
)
def test_a_bad_csv_row_is_refused_naming_its_line(tmp_path: Path, row: str, problem: str) -> None:
    csv_path = tmp_path / "metrics.csv"
    csv_path.write_text(f"timestamp,metric,value\n2026-01-01T11:58:00Z,cpu,0.4\n{row}\n")
    metrics_module = load_target(SLUG, "metrics")
    with pytest.raises(metrics_module.MetricDataError, match=f"line 3: .*{problem}"):
        metrics_module.CsvMetricSource(csv_path)
