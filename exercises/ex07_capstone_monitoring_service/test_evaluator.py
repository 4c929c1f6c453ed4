"""Exercise 7 specification, part 1: evaluating a policy against its metrics.

A rule's window **breaches** when the samples of its metric with a timestamp
in ``(now - window, now]`` exist and their mean is strictly above the
rule's threshold. Only active rules are evaluated; retired rules never fire.
Times are instants: ``now`` and the timestamps may be written with any UTC
offset, or in one time zone across a daylight-saving change.

Run: uv run pytest exercises/ex07_capstone_monitoring_service
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
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
"""(metric, seconds from now, value): a sample before the exercise's classes are loaded.

Seconds of real time: -60 is the instant one minute before now, however the clock reads.
"""

CET = timedelta(hours=1)
CEST = timedelta(hours=2)


def _last_sunday(year: int, month: int) -> datetime:
    last = date(year, month + 1, 1) - timedelta(days=1)
    sunday = last - timedelta(days=(last.weekday() + 1) % 7)
    return datetime(sunday.year, sunday.month, sunday.day)


class CentralEuropeanTime(tzinfo):
    """Europe/Berlin's clock: CET (UTC+1), and CEST (UTC+2) from 01:00 UTC on the last Sunday
    of March to 01:00 UTC on the last Sunday of October, the rule since 1996.

    Written out here because Windows has no time zone database for ``zoneinfo`` unless the
    tzdata package is installed; it reads like ``ZoneInfo("Europe/Berlin")``. As PEP 495
    has it, a clock reading in the hour skipped in spring or repeated in autumn takes the
    offset from before the change when ``fold=0``, from after it when ``fold=1``.
    """

    def _changes(self, year: int) -> tuple[datetime, datetime]:
        """The two instants (naive UTC) at which the clock changes in ``year``."""
        return _last_sunday(year, 3) + CET, _last_sunday(year, 10) + CET

    def utcoffset(self, moment: datetime | None) -> timedelta:
        if moment is None:
            return CET
        spring, autumn = self._changes(moment.year)
        wall = moment.replace(tzinfo=None, fold=0)
        if spring + CET <= wall < spring + CEST:  # 02:00 to 03:00 never shows in spring
            return CEST if moment.fold else CET
        if autumn + CET <= wall < autumn + CEST:  # 02:00 to 03:00 shows twice in autumn
            return CET if moment.fold else CEST
        return CEST if spring + CEST <= wall < autumn + CET else CET

    def dst(self, moment: datetime | None) -> timedelta:
        return self.utcoffset(moment) - CET

    def tzname(self, moment: datetime | None) -> str:
        return "CEST" if self.utcoffset(moment) == CEST else "CET"

    def fromutc(self, moment: datetime) -> datetime:
        spring, autumn = self._changes(moment.year)
        utc = moment.replace(tzinfo=None)
        local = utc + (CEST if spring <= utc < autumn else CET)
        return local.replace(tzinfo=self, fold=int(autumn <= utc < autumn + CET))


BERLIN = CentralEuropeanTime()
SPRING_FORWARD = datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)
"""01:30 UTC: half an hour after Berlin's clocks jumped from 02:00 to 03:00."""
FALL_BACK = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN)
"""01:30 UTC: the second time Berlin's clocks read 02:30, after they fell back from 03:00."""


def application() -> ModuleType:
    return load_target(SLUG, "application")


def moment(seconds: int, now: datetime = NOW, zone: tzinfo = UTC) -> datetime:
    """The instant ``seconds`` of real time after ``now``, as a clock in ``zone`` reads it."""
    return (now.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(zone)


def sample(metric: str, seconds: int, value: float, now: datetime = NOW, zone: tzinfo = UTC) -> Any:
    return load_target(SLUG, "metrics").MetricSample(metric, moment(seconds, now, zone), value)


def rule(
    rule_id: str, metric: str = "cpu", window: timedelta = FIVE_MINUTES, threshold: float = 2.0
) -> ActiveRule:
    return ActiveRule(rule_id, metric, window, threshold)


def clock(at: datetime) -> str:
    """``12:00:00`` in UTC, ``13:58:00+02:00`` with any other offset."""
    return at.strftime("%H:%M:%S") if not at.utcoffset() else at.isoformat(timespec="seconds")[11:]


@dataclass(frozen=True)
class Verdict:
    """The oracle's answer for one rule, worked out in exact fractions."""

    rule: ActiveRule
    now: datetime
    in_window: tuple[Any, ...]
    outside: tuple[Any, ...]
    mean: Fraction | None

    @property
    def breaches(self) -> bool:
        return self.mean is not None and self.mean > Fraction(self.rule.threshold)

    def explain(self) -> str:
        start = (self.now.astimezone(UTC) - self.rule.window).astimezone(self.now.tzinfo)
        window = f"({clock(start)}, {clock(self.now)}]"
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


def judge(rule: ActiveRule, samples: Sequence[Any], now: datetime = NOW) -> Verdict:
    """Independent oracle: does ``rule``'s window breach at ``now``?

    It compares instants, in UTC: two datetimes of one ``tzinfo`` subtract and compare
    by their clock readings, which an hour off across a daylight-saving change.
    """
    end = now.astimezone(UTC)
    own = [s for s in samples if s.metric == rule.metric]
    in_window = tuple(s for s in own if end - rule.window < s.timestamp.astimezone(UTC) <= end)
    outside = tuple(s for s in own if s not in in_window)
    if not in_window:
        return Verdict(rule, now, (), outside, None)
    mean = sum((Fraction(s.value) for s in in_window), Fraction(0)) / len(in_window)
    return Verdict(rule, now, in_window, outside, mean)


def evaluate(
    policy: MonitoringPolicy, samples: Sequence[Any], now: datetime = NOW
) -> tuple[tuple[Any, ...], Any]:
    """Store a copy of ``policy``, evaluate it at ``now``; return the alerts and the sink."""
    store = InMemoryPolicyRepository()
    store.save(MonitoringPolicy.from_snapshot(policy.snapshot()))
    sink = load_target(SLUG, "alerts").InMemoryAlertSink()
    source = load_target(SLUG, "metrics").InMemoryMetricSource(samples)
    alerts: tuple[Any, ...] = application().evaluate_policy(
        store, policy.policy_id, source=source, sink=sink, now=now
    )
    return alerts, sink


def check_alerts(
    policy: MonitoringPolicy, samples: Sequence[Any], alerts: Sequence[Any], now: datetime = NOW
) -> None:
    """Assert ``alerts`` are exactly the breaches the oracle finds, in active-rule order."""
    fired = [alert.rule.rule_id for alert in alerts]
    for retired in policy.retired_rules:
        assert retired.rule_id not in fired, (
            f"retired rule {retired.rule.describe()} fired; a retired rule never fires, "
            "however its metric reads"
        )
    verdicts = [judge(active, samples, now) for active in policy.active_rules]
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
        assert (alert.policy_id, alert.rule, alert.at) == (policy.policy_id, verdict.rule, now), (
            f"alert {alert} must name policy {policy.policy_id!r}, the rule, and now ({now})"
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


def check(
    policy: MonitoringPolicy,
    specs: Sequence[SampleSpec],
    now: datetime = NOW,
    zone: tzinfo = UTC,
) -> tuple[Any, ...]:
    """Evaluate ``policy`` at ``now`` on samples written in ``zone``; check every alert."""
    samples = [sample(*spec, now=now, zone=zone) for spec in specs]
    alerts, sink = evaluate(policy, samples, now)
    check_alerts(policy, samples, alerts, now)
    expect_equal(
        "the alerts emitted to the sink",
        tuple(alerts),
        sink.alerts,
        [f"evaluate {policy.policy_id} at {clock(now)}"],
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


@pytest.mark.parametrize(
    "specs",
    [
        [("cpu", -240, 3.0), ("cpu", -120, 3.0), ("cpu", -60, 0.0)],
        [("cpu", -120, 3.0), ("cpu", -120, 3.0), ("cpu", -60, 0.0)],
        [("cpu", -120, 3.0), ("cpu", -120, 0.0), ("cpu", -60, 3.0)],
    ],
    ids=["equal values", "one reading reported twice", "two readings at one instant"],
)
def test_every_sample_in_the_window_counts_equal_ones_included(specs: list[SampleSpec]) -> None:
    # The mean is the sum of the samples over their count: equal values, a repeated reading
    # and two readings at one instant all count, so the mean here is 6 / 3 = 2.0.
    alerts = check(policy_with(rule("r1", threshold=1.5)), specs)
    expect_equal("the rules that fired", ["r1"], fired(alerts), [f"samples {specs}"])
    expect_equal("the mean the alert reports", 2.0, alerts[0].observed, [f"samples {specs}"])


PLUS_TWO, MINUS_FIVE = timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))


@pytest.mark.parametrize(
    ("now", "zone", "specs", "due"),
    [
        (NOW, PLUS_TWO, [("cpu", -120, 3.0)], ["r1"]),
        (NOW, MINUS_FIVE, [("cpu", 4 * 3600 + 58 * 60, 9.0), ("cpu", -60, 1.0)], []),
        (NOW.astimezone(timezone(timedelta(hours=9))), UTC, [("cpu", -120, 3.0)], ["r1"]),
    ],
    ids=["samples at UTC+02:00", "samples at UTC-05:00", "now at UTC+09:00"],
)
def test_now_and_the_samples_compare_as_instants_whatever_their_offsets(
    now: datetime, zone: tzinfo, specs: list[SampleSpec], due: list[str]
) -> None:
    # 13:58+02:00 is two minutes before 12:00 UTC, and 11:58-05:00 is five hours after it:
    # a window holds the instants it spans, whatever offset a clock reading carries.
    written = [f"{metric} {value} at {clock(moment(s, now, zone))}" for metric, s, value in specs]
    alerts = check(policy_with(rule("r1")), specs, now, zone)
    expect_equal("the rules that fired", due, fired(alerts), [f"samples {written}"])


@pytest.mark.parametrize(
    ("now", "specs"),
    [
        (SPRING_FORWARD, [("cpu", -45 * 60, 3.0), ("cpu", -75 * 60, 9.0)]),
        (FALL_BACK, [("cpu", -45 * 60, 3.0), ("cpu", -105 * 60, 9.0)]),
    ],
    ids=["spring forward", "fall back"],
)
def test_a_window_across_a_daylight_saving_change_spans_real_time(
    now: datetime, specs: list[SampleSpec]
) -> None:
    # A one-hour window ending at now holds the sample taken 45 minutes earlier, not the one
    # taken 75 or 105 minutes earlier, though the clock jumped or fell back an hour between:
    # now - window on two datetimes of one time zone is clock arithmetic, an hour off here.
    written = [f"{metric} {value} at {clock(moment(s, now, BERLIN))}" for metric, s, value in specs]
    alerts = check(policy_with(rule("r1", window=timedelta(hours=1))), specs, now, BERLIN)
    steps = [f"samples {written}", f"evaluate at {clock(now)} in Berlin"]
    expect_equal("the rules that fired", ["r1"], fired(alerts), steps)
    expect_equal("the mean the alert reports", 3.0, alerts[0].observed, steps)


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
    now=st.sampled_from([NOW, SPRING_FORWARD, FALL_BACK]),
    zone=st.sampled_from([UTC, PLUS_TWO, MINUS_FIVE, BERLIN]),
)
def test_an_alert_fires_exactly_when_the_window_breaches_the_threshold(
    policy: MonitoringPolicy, specs: list[SampleSpec], now: datetime, zone: tzinfo
) -> None:
    # Samples are drawn around now in real time, their timestamps written in one zone.
    check(policy, specs, now, zone)


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
