"""A short, real walkthrough of the reference implementation, printed step by step."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from aggregates_course.adapters.sqlite import SqlitePolicyRepository
from aggregates_course.domain.errors import ConcurrencyConflict, DomainError
from aggregates_course.domain.policy import MonitoringPolicy
from aggregates_course.domain.rules import ActiveRule


def run_demo(out: Callable[[str], None] = print) -> None:
    """Walk through the aggregate: commands, a refused invariant, persistence, a race."""
    step = _Steps(out)

    step("Create a policy and activate two rules through its root")
    policy = MonitoringPolicy("checkout-service")
    policy.add_active_rule(ActiveRule("cpu-hot", "cpu", timedelta(minutes=5), 0.9))
    policy.add_active_rule(ActiveRule("slow-p99", "latency_p99_ms", timedelta(minutes=1), 750))
    for rule in policy.active_rules:
        out(f"    active: {rule.describe()} threshold={rule.threshold}")

    step("Ask for a second rule on (cpu, 5m): the root refuses it")
    try:
        policy.add_active_rule(ActiveRule("cpu-dup", "cpu", timedelta(minutes=5), 0.8))
    except DomainError as error:
        out(f"    {type(error).__name__}: {error}")
    out(f"    still {len(policy.active_rules)} active rules; nothing changed")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "policies.db"
        step(f"Retire cpu-hot, save to {path.name} in a temporary folder, and reload")
        policy.retire_rule("cpu-hot", "replaced by a per-core rule")
        with SqlitePolicyRepository(path) as repository:
            repository.save(policy)
            reloaded = repository.load("checkout-service")
        out(f"    saved at version {policy.version}; reloaded at version {reloaded.version}")
        out(f"    reloaded active:  {[r.describe() for r in reloaded.active_rules]}")
        out(f"    reloaded retired: {[(r.rule_id, r.reason) for r in reloaded.retired_rules]}")
        out(f"    (cpu, 5m) is free again: {reloaded.active_rule_for('cpu', timedelta(minutes=5))}")

        step("Two operators load the same version and both edit it")
        with SqlitePolicyRepository(path) as alice, SqlitePolicyRepository(path) as bob:
            alice_copy = alice.load("checkout-service")
            bob_copy = bob.load("checkout-service")
            alice_copy.add_active_rule(
                ActiveRule("disk-full", "disk_used", timedelta(hours=1), 0.95)
            )
            bob_copy.add_active_rule(
                ActiveRule("errors-up", "error_rate", timedelta(minutes=5), 0.02)
            )
            alice.save(alice_copy)
            out(f"    alice saved first: version {alice_copy.version}")
            try:
                bob.save(bob_copy)
            except ConcurrencyConflict as conflict:
                out(f"    bob is refused -> ConcurrencyConflict: {conflict}")

            step("Bob reloads, repeats his command, and saves: nothing is lost")
            bob_copy = bob.load("checkout-service")
            bob_copy.add_active_rule(
                ActiveRule("errors-up", "error_rate", timedelta(minutes=5), 0.02)
            )
            bob.save(bob_copy)
            final = alice.load("checkout-service")
        out(f"    version {final.version}, active: {[r.rule_id for r in final.active_rules]}")


class _Steps:
    def __init__(self, out: Callable[[str], None]) -> None:
        self._out = out
        self._number = 0

    def __call__(self, title: str) -> None:
        self._number += 1
        self._out(f"\n{self._number}. {title}")
