"""Many processes, one policy, no lost update: SQLite and PostgreSQL.

Eight processes each run 25 load-change-save cycles on the same policy,
retrying on ``ConcurrencyConflict``; each cycle adds a rule only that cycle
adds. A multiprocessing barrier lines every process up after its first load
of a cycle, so every cycle is a real race: all eight hold the same version,
one save wins, seven conflict and retry. At the end every one of the 200
rules is stored, the version counts 200 saves, and at least 7 x 25 conflicts
were seen (fewer would mean the race did not happen, or a conflict was missed).
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from datetime import timedelta
from pathlib import Path
from queue import Empty
from typing import TYPE_CHECKING

import pytest

from aggregates_course import (
    ActiveRule,
    ConcurrencyConflict,
    MonitoringPolicy,
    SqlitePolicyRepository,
)

if TYPE_CHECKING:
    from aggregates_course.adapters.postgres import PostgresPolicyRepository

PROCESSES = 8
CYCLES = 25
POLICY_ID = "checkout"
FIVE_MINUTES = timedelta(minutes=5)
# A safety net for a crashed process, not a timing: every wait ends as soon as its event occurs.
PATIENCE_SECONDS = 120.0


def open_repository(kind: str, location: str) -> SqlitePolicyRepository | PostgresPolicyRepository:
    """A new repository of ``kind`` on ``location`` (a file path, or a conninfo)."""
    if kind == "sqlite":
        return SqlitePolicyRepository(location)
    from aggregates_course.adapters.postgres import PostgresPolicyRepository

    return PostgresPolicyRepository(location)


def cycle_rule(writer: int, cycle: int) -> ActiveRule:
    """The rule that ``writer`` adds in ``cycle``: its own id, on its own watch."""
    return ActiveRule(f"w{writer}-c{cycle}", f"metric-{writer}-{cycle}", FIVE_MINUTES, 0.5)


def add_rule_with_retry(
    repository: SqlitePolicyRepository | PostgresPolicyRepository,
    rule: ActiveRule,
    lined_up: multiprocessing.synchronize.Barrier,
) -> int:
    """One cycle: load, add ``rule``, wait for everyone once, save; retry until stored.

    Returns how many saves conflicted on the way.
    """
    conflicts = 0
    while True:
        policy = repository.load(POLICY_ID)
        policy.add_active_rule(rule)
        if conflicts == 0:
            lined_up.wait(PATIENCE_SECONDS)
        try:
            repository.save(policy)
            return conflicts
        except ConcurrencyConflict:
            conflicts += 1


def writer(
    kind: str,
    location: str,
    number: int,
    lined_up: multiprocessing.synchronize.Barrier,
    results: multiprocessing.Queue[tuple[int, int, str | None]],
) -> None:
    """Run CYCLES cycles in a process of its own; report the conflicts it retried."""
    conflicts = 0
    try:
        with open_repository(kind, location) as repository:
            for cycle in range(CYCLES):
                conflicts += add_rule_with_retry(repository, cycle_rule(number, cycle), lined_up)
        results.put((number, conflicts, None))
    except BaseException as error:  # reported to the test; the barrier must not wait for us
        lined_up.abort()
        results.put((number, conflicts, repr(error)))


@pytest.fixture(params=["sqlite", "postgres"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(kind, location) of a store holding the policy at version 1, with no rules."""
    kind: str = request.param
    location = (
        str(tmp_path / "policies.db")
        if kind == "sqlite"
        else str(request.getfixturevalue("postgres_database"))
    )
    with open_repository(kind, location) as repository:
        repository.save(MonitoringPolicy(POLICY_ID))
    return kind, location


def test_many_processes_that_retry_on_conflict_lose_no_update(
    shared_store: tuple[str, str],
) -> None:
    kind, location = shared_store
    context = multiprocessing.get_context()
    lined_up = context.Barrier(PROCESSES)
    results: multiprocessing.Queue[tuple[int, int, str | None]] = context.Queue()
    processes = [
        context.Process(target=writer, args=(kind, location, number, lined_up, results))
        for number in range(PROCESSES)
    ]
    started = time.perf_counter()
    for process in processes:
        process.start()
    reports = []
    try:
        for _ in processes:
            reports.append(results.get(timeout=PATIENCE_SECONDS))
    except Empty:
        pytest.fail(f"only {len(reports)} of {PROCESSES} processes reported: {reports}")
    finally:
        for process in processes:
            process.join(PATIENCE_SECONDS)
    elapsed = time.perf_counter() - started

    assert [error for _, _, error in reports if error is not None] == []
    with open_repository(kind, location) as repository:
        final = repository.load(POLICY_ID)
    expected = {cycle_rule(n, c).rule_id for n in range(PROCESSES) for c in range(CYCLES)}
    assert {rule.rule_id for rule in final.active_rules} == expected
    assert final.version == 1 + PROCESSES * CYCLES
    conflicts = sum(conflicts for _, conflicts, _ in reports)
    assert conflicts >= (PROCESSES - 1) * CYCLES
    sys.stderr.write(
        f"\n{kind}: {PROCESSES} processes x {CYCLES} cycles, {PROCESSES * CYCLES} saves stored, "
        f"{conflicts} conflicts retried, {elapsed:.1f} s\n"
    )
