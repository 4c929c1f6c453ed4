"""How MonitoringPolicy scales from 10k to 100k rules, next to a naive list-scanning policy.

Run with ``uv run python benchmarks/bench_policy.py``. It prints figures and
records them, with the date, the machine, the load and the command, in
``benchmarks/results/policy.md``, the one place the docs and
``benchmarks/README.md`` take them from. It is not a test and asserts nothing
about speed unless ``--strict`` is given.

The work at each size N:

* adds: ``add_active_rule`` N times on a fresh policy, every rule watching its
  own (metric, window), so every add passes both invariant checks;
* retires: ``retire_rule`` on half of them, in shuffled order;
* lookups: ``active_rule_for`` N/2 times, half on active watches (a hit) and
  half on watches their retired rule freed (must answer ``None``).

Rules are built before the clock starts: validating an ``ActiveRule`` is the
value object's cost, not the aggregate's. Each figure is the best of several
repeats, timed with ``time.perf_counter`` on a fresh policy. The cyclic garbage
collector stays on, as in a running service (``--no-gc`` switches it off, as
``timeit`` does); at 100k rules it is a large share of the add time.

The naive policy checks its invariants by scanning lists, so each command costs
O(rules) and a whole run O(N^2). Running it fully at 100k would take minutes,
so it is timed on a sample of commands at the mean size the real run passes
through, and the per-command cost is multiplied out to the full count. Those
figures are marked as extrapolated.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from recording import record_results  # benchmarks/ is on the path when run as a script

from aggregates_course import (
    ActiveRule,
    DuplicateMetricWindow,
    DuplicateRuleId,
    InvalidReason,
    MonitoringPolicy,
    RetiredRule,
    UnknownRule,
    format_window,
)
from aggregates_course.testing import PolicyLike, PolicyModel, check_policy_invariants

SIZES = (10_000, 100_000)
TARGET_SIZE = 100_000
TARGET_SECONDS = 0.5
TARGET_RATIO = 20.0
SEED = 20_240_601
REASON = "superseded by a tighter rule"


class NaivePolicy:
    """The contrast: same commands and errors as MonitoringPolicy, on plain lists.

    Decisions come from :class:`aggregates_course.testing.PolicyModel`, the
    obviously-correct model the state machine trusts, so the two policies
    agree on every outcome and differ only in how they find things: every
    add, retire and lookup scans the lists.
    """

    def __init__(self, policy_id: str) -> None:
        self.policy_id = policy_id
        self._model = PolicyModel()

    @property
    def active_rules(self) -> tuple[ActiveRule, ...]:
        """Active rules in activation order."""
        return tuple(self._model.active)

    @property
    def retired_rules(self) -> tuple[RetiredRule, ...]:
        """Retired rules in retirement order."""
        return tuple(RetiredRule(rule, reason) for rule, reason in self._model.retired)

    def active_rule_for(self, metric: str, window: timedelta) -> ActiveRule | None:
        """The active rule watching ``(metric, window)``, found by scanning."""
        return next((r for r in self._model.active if r.watch == (metric, window)), None)

    def add_active_rule(self, rule: ActiveRule) -> None:
        """Activate ``rule``; refuse it as MonitoringPolicy would."""
        refusal = self._model.refusal_for_add(rule)
        if refusal is DuplicateRuleId:
            retired = any(r.rule_id == rule.rule_id for r, _ in self._model.retired)
            raise DuplicateRuleId(self.policy_id, rule.rule_id, retired=retired)
        if refusal is DuplicateMetricWindow:
            existing = self.active_rule_for(rule.metric, rule.window)
            assert existing is not None
            watch = f"({rule.metric}, {format_window(rule.window)})"
            raise DuplicateMetricWindow(self.policy_id, rule.rule_id, existing.rule_id, watch)
        self._model.add(rule)

    def retire_rule(self, rule_id: str, reason: str) -> None:
        """Retire the active rule ``rule_id``; refuse it as MonitoringPolicy would."""
        refusal = self._model.refusal_for_retire(rule_id, reason)
        if refusal is UnknownRule:
            retired = any(r.rule_id == rule_id for r, _ in self._model.retired)
            raise UnknownRule(self.policy_id, rule_id, retired=retired)
        if refusal is InvalidReason:
            raise InvalidReason(self.policy_id, rule_id)
        self._model.retire(rule_id, reason)

    def collect_events(self) -> list[object]:
        """The naive policy records no events; it exists only to be slow."""
        return []


@dataclass(frozen=True)
class Workload:
    """The commands of one run at size N, built before any clock starts."""

    rules: tuple[ActiveRule, ...]
    retire_ids: tuple[str, ...]
    lookups: tuple[tuple[str, timedelta], ...]
    expected_hits: int


def make_workload(size: int, seed: int = SEED) -> Workload:
    """N rules on distinct watches, half of them to retire, N/2 lookups (half hits)."""
    rng = random.Random(seed)
    # 1000 metrics x N/1000 windows: every (metric, window) pair is distinct.
    rules = tuple(
        ActiveRule(
            f"rule-{number}",
            f"metric-{number % 1000}",
            timedelta(minutes=1 + number // 1000),
            float(number),
        )
        for number in range(size)
    )
    retiring = rng.sample(rules, size // 2)
    retired_ids = {rule.rule_id for rule in retiring}
    still_active = [rule for rule in rules if rule.rule_id not in retired_ids]
    half = size // 4
    lookups = [r.watch for r in rng.sample(still_active, half)]
    lookups += [r.watch for r in rng.sample(retiring, size // 2 - half)]
    rng.shuffle(lookups)
    return Workload(rules, tuple(r.rule_id for r in retiring), tuple(lookups), half)


@dataclass(frozen=True)
class Timing:
    """Seconds for each phase of one run; ``sampled`` marks extrapolated figures."""

    adds: float
    retires: float
    lookups: float
    sampled: bool = False

    @property
    def total(self) -> float:
        """All three phases together."""
        return self.adds + self.retires + self.lookups

    def best_with(self, other: Timing) -> Timing:
        """The faster figure of the two for each phase."""
        return Timing(
            min(self.adds, other.adds),
            min(self.retires, other.retires),
            min(self.lookups, other.lookups),
            self.sampled or other.sampled,
        )


def _time_adds(policy: PolicyLike, rules: Sequence[ActiveRule]) -> float:
    add = policy.add_active_rule
    gc.collect()
    start = time.perf_counter()
    for rule in rules:
        add(rule)
    return time.perf_counter() - start


def _time_retires(policy: PolicyLike, rule_ids: Sequence[str]) -> float:
    retire = policy.retire_rule
    gc.collect()
    start = time.perf_counter()
    for rule_id in rule_ids:
        retire(rule_id, REASON)
    return time.perf_counter() - start


def _time_lookups(
    policy: PolicyLike, watches: Sequence[tuple[str, timedelta]]
) -> tuple[float, list[ActiveRule | None]]:
    find = policy.active_rule_for
    gc.collect()
    start = time.perf_counter()
    found = [find(metric, window) for metric, window in watches]
    return time.perf_counter() - start, found


def time_policy(workload: Workload, repeats: int) -> Timing:
    """Best-of-``repeats`` seconds for each phase of the full workload on MonitoringPolicy."""
    best = Timing(float("inf"), float("inf"), float("inf"))
    for _ in range(repeats):
        policy = MonitoringPolicy("bench")
        adds = _time_adds(policy, workload.rules)
        retires = _time_retires(policy, workload.retire_ids)
        lookups, found = _time_lookups(policy, workload.lookups)
        _check_outcome(policy, workload, found)
        best = best.best_with(Timing(adds, retires, lookups))
    return best


def _check_outcome(
    policy: PolicyLike, workload: Workload, found: Sequence[ActiveRule | None]
) -> None:
    # A fast wrong answer is worth nothing: confirm the run did what it claims.
    assert len(policy.active_rules) == len(workload.rules) - len(workload.retire_ids)
    assert sum(rule is not None for rule in found) == workload.expected_hits
    check_policy_invariants(policy)


def time_naive(workload: Workload, sample: int, repeats: int) -> Timing:
    """Extrapolated seconds for the full workload on NaivePolicy.

    Each phase is timed on ``sample`` commands against a policy already at the
    mean size the full run passes through (N/2 rules while adding, 3N/4 while
    retiring, N/2 during lookups), then scaled to the full command count.
    """
    size = len(workload.rules)
    retiring = len(workload.retire_ids)
    sample = min(sample, size // 4)
    best = Timing(float("inf"), float("inf"), float("inf"), sampled=True)
    for _ in range(repeats):
        # Adds: fill to N/2 untimed, then time `sample` more adds.
        policy = _naive_with(workload.rules[: size // 2], ())
        per_add = _time_adds(policy, workload.rules[size // 2 : size // 2 + sample]) / sample
        # Retires: all N added and N/4 retired untimed (3N/4 active), then time the next ones.
        policy = _naive_with(workload.rules, workload.retire_ids[: retiring // 2])
        batch = workload.retire_ids[retiring // 2 : retiring // 2 + sample]
        per_retire = _time_retires(policy, batch) / sample
        # Lookups: the finished state (N/2 active), `sample` of the real lookups.
        policy = _naive_with(workload.rules, workload.retire_ids)
        per_lookup = _time_lookups(policy, workload.lookups[:sample])[0] / sample
        extrapolated = Timing(
            per_add * size,
            per_retire * retiring,
            per_lookup * len(workload.lookups),
            sampled=True,
        )
        best = best.best_with(extrapolated)
    return best


def check_agreement(size: int) -> None:
    """Run the full workload on both policies at a small size; they must end identical."""
    workload = make_workload(size)
    policies: list[PolicyLike] = [
        MonitoringPolicy("bench"),
        NaivePolicy("bench"),
    ]
    answers = []
    for policy in policies:
        for rule in workload.rules:
            policy.add_active_rule(rule)
        for rule_id in workload.retire_ids:
            policy.retire_rule(rule_id, REASON)
        found = [policy.active_rule_for(metric, window) for metric, window in workload.lookups]
        _check_outcome(policy, workload, found)
        answers.append((policy.active_rules, policy.retired_rules, found))
    assert answers[0] == answers[1], "NaivePolicy and MonitoringPolicy disagree"


def _naive_with(rules: Sequence[ActiveRule], retired_ids: Sequence[str]) -> NaivePolicy:
    # Untimed set-up, written straight into the model: the rules are distinct by
    # construction, and going through the commands would cost O(N^2) before timing starts.
    policy = NaivePolicy("bench")
    by_id = {rule.rule_id: rule for rule in rules}
    gone = set(retired_ids)
    policy._model.active.extend(rule for rule in rules if rule.rule_id not in gone)
    policy._model.retired.extend((by_id[rule_id], REASON) for rule_id in retired_ids)
    return policy


# (printed label, Markdown label, Timing attribute)
_PHASES = (
    ("adds (N add_active_rule)", "adds: N calls of `add_active_rule`", "adds"),
    ("retires (N/2 retire_rule)", "retires: N/2 calls of `retire_rule`", "retires"),
    ("lookups (N/2 active_rule_for)", "lookups: N/2 calls of `active_rule_for`", "lookups"),
    ("total", "**total**", "total"),
)


def _ratio(small: float, large: float) -> float:
    return large / small if small > 0 else float("inf")


def text_table(title: str, small: Timing, large: Timing) -> list[str]:
    """One block of the printed table: each phase at both sizes and the 100k/10k ratio."""
    mark = "*" if small.sampled else " "
    lines = ["", title, f"{'':<34}{'10k (s)':>13}{'100k (s)':>14}{'100k/10k':>11}"]
    for label, _, phase in _PHASES:
        low, high = getattr(small, phase), getattr(large, phase)
        lines.append(f"{label:<34}{low:>12.3f}{mark}{high:>13.3f}{mark}{_ratio(low, high):>10.1f}x")
    return lines


def markdown_table(title: str, small: Timing, large: Timing) -> list[str]:
    """The same block as a Markdown table, for benchmarks/results/policy.md."""
    mark = "\\*" if small.sampled else ""
    lines = [
        f"### {title}",
        "",
        "| Phase | 10k (s) | 100k (s) | 100k / 10k |",
        "| --- | ---: | ---: | ---: |",
    ]
    for _, label, phase in _PHASES:
        low, high = getattr(small, phase), getattr(large, phase)
        cells = f"{low:.3f}{mark} | {high:.3f}{mark} | {_ratio(low, high):.1f}x"
        lines.append(f"| {label} | {cells} |")
    return [*lines, ""]


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, or why there are none (Windows has no such figure)."""
    if not hasattr(os, "getloadavg"):
        return "not available on this platform"
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table and the target check, and record them in benchmarks/results/policy.md.

    With ``--strict``, return 1 if a target is missed.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=5, help="best of this many runs")
    parser.add_argument(
        "--naive-sample", type=int, default=200, help="commands timed per phase, naive policy"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument(
        "--no-gc", action="store_true", help="switch the cyclic GC off while timing, as timeit does"
    )
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(arguments)
    if args.no_gc:
        # gc.collect() before each phase still runs; only automatic collections stop.
        gc.disable()

    # Measured before the work starts: the benchmark's own load would hide the machine's.
    load = load_average()
    gc_state = "off" if args.no_gc else "on"
    how = f"best of {args.repeats} runs, time.perf_counter, cyclic GC {gc_state}"
    print(f"Python {sys.version.split()[0]}, {how}; load average {load}")
    check_agreement(2_000)
    workloads = {size: make_workload(size) for size in SIZES}
    real = {size: time_policy(workloads[size], args.repeats) for size in SIZES}
    naive = {
        size: time_naive(workloads[size], args.naive_sample, max(1, args.repeats // 2))
        for size in SIZES
    }
    small, large = SIZES
    indexed_title = "MonitoringPolicy (dict indexes), measured in full"
    naive_title = (
        f"NaivePolicy (list scans), {{mark}} = extrapolated from {args.naive_sample} commands "
        "per phase at the run's mean size"
    )

    total = real[TARGET_SIZE].total
    ratio = real[large].total / real[small].total
    naive_ratio = naive[large].total / naive[small].total
    time_ok = total < TARGET_SECONDS
    ratio_ok = ratio <= TARGET_RATIO
    checks = [
        f"100k adds + 50k retires + 50k lookups: {total:.3f} s "
        f"(target < {TARGET_SECONDS} s) -> {'PASS' if time_ok else 'MISS'}",
        f"total time 100k / 10k: {ratio:.1f}x (target <= ~{TARGET_RATIO:.0f}x; "
        f"linear is 10x) -> {'PASS' if ratio_ok else 'MISS'}",
        f"for contrast, NaivePolicy 100k / 10k: {naive_ratio:.0f}x (quadratic is 100x)",
    ]
    printed = [
        *text_table(f"{indexed_title}:", real[small], real[large]),
        *text_table(naive_title.format(mark="*") + ":", naive[small], naive[large]),
        "",
        "Target check (MonitoringPolicy):",
        *(f"  {check}" for check in checks),
    ]
    print("\n".join(printed))

    markdown = [
        "# MonitoringPolicy from 10k to 100k rules",
        "",
        f"{how[:1].upper()}{how[1:]}; load average before the run (1, 5, 15 minutes): {load}.",
        "",
        *markdown_table(indexed_title, real[small], real[large]),
        *markdown_table(naive_title.format(mark="\\*"), naive[small], naive[large]),
        "### Target check (MonitoringPolicy)",
        "",
        *(f"- {check}" for check in checks),
    ]
    command = " ".join(["uv run python benchmarks/bench_policy.py", *arguments])
    written = record_results("policy", command=command, markdown="\n".join(markdown))
    print(f"\nrecorded in {written}")
    return 0 if (time_ok and ratio_ok) or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
