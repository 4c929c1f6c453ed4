"""Lost updates, live: several processes save one policy, without and with the version check.

Run it from the project folder (docs/instructor/lost-updates.md walks through it)::

    uv run python docs/instructor/lost_updates.py
    uv run --group postgres python docs/instructor/lost_updates.py --postgres "host=... dbname=..."

Each of 4 processes plays a service instance. In each of 10 rounds every
process loads the same policy, adds a rule of its own, waits until all
have loaded (a barrier: every round is a real race), and saves. Then all
wait until every save of the round is done, and the next round starts.

* **Version-less saves** write the copy they are given over whatever is
  stored: in every round, all four copies start from the same state and
  each holds one new rule, so the last save of the round wins and three
  rules are lost. 40 rules added, 10 stored, every time.
* **Saves with the version check** (the course's repositories) refuse a
  copy loaded before someone else's save; the process reloads, adds its rule
  again and saves again. 40 rules added, 40 stored, every time; at least 30
  conflicts, because in each round three of the four saves are refused.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import sys
import tempfile
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from aggregates_course import (
    ActiveRule,
    ConcurrencyConflict,
    MonitoringPolicy,
    PolicyRepository,
    SqlitePolicyRepository,
)

if TYPE_CHECKING:
    from aggregates_course.adapters.postgres import PostgresPolicyRepository

PROCESSES = 4
ROUNDS = 10
MINUTE = timedelta(minutes=1)


class VersionlessSaves:
    """A repository that saves the way a naive one does: the last writer wins.

    It wraps a real repository and, before each save, sets the copy's version
    to whatever is stored, so the version check never refuses anything: the
    whole copy overwrites the stored policy, including rules it never saw.
    """

    def __init__(self, inner: PolicyRepository) -> None:
        self._inner = inner

    def load(self, policy_id: str) -> MonitoringPolicy:
        """Load through the wrapped repository."""
        return self._inner.load(policy_id)

    def save(self, policy: MonitoringPolicy) -> None:
        """Overwrite the stored policy with ``policy``, whatever was saved since it was loaded."""
        while True:
            stored_version = self._inner.load(policy.policy_id).version
            snapshot = dataclasses.replace(policy.snapshot(), version=stored_version)
            try:
                self._inner.save(MonitoringPolicy.from_snapshot(snapshot))
                return
            except ConcurrencyConflict:
                continue  # a save slipped in between: overwrite that one too


def open_store(store: str) -> SqlitePolicyRepository | PostgresPolicyRepository:
    """A repository on ``store``: a SQLite path, or a conninfo prefixed with ``postgres:``."""
    if store.startswith("postgres:"):
        from aggregates_course.adapters.postgres import PostgresPolicyRepository

        return PostgresPolicyRepository(store.removeprefix("postgres:"))
    return SqlitePolicyRepository(store)


def service(
    store: str,
    versioned: bool,
    policy_id: str,
    number: int,
    loaded: multiprocessing.synchronize.Barrier,
    saved: multiprocessing.synchronize.Barrier,
    results: multiprocessing.Queue[int],
) -> None:
    """One process, one repository: play the rounds, report the conflicts."""
    with open_store(store) as opened:
        repository = opened if versioned else VersionlessSaves(opened)
        results.put(rounds(repository, policy_id, number, loaded, saved))


def rounds(
    repository: PolicyRepository,
    policy_id: str,
    number: int,
    loaded: multiprocessing.synchronize.Barrier,
    saved: multiprocessing.synchronize.Barrier,
) -> int:
    """Play every round; return how many saves were refused as conflicts."""
    conflicts = 0
    for round_number in range(ROUNDS):
        rule = ActiveRule(f"p{number}-r{round_number}", f"m{number}-{round_number}", MINUTE, 0.5)
        policy = repository.load(policy_id)
        policy.add_active_rule(rule)
        loaded.wait()
        while True:
            try:
                repository.save(policy)
                break
            except ConcurrencyConflict:
                conflicts += 1
                policy = repository.load(policy_id)
                policy.add_active_rule(rule)
        saved.wait()
    return conflicts


def race(store: str, versioned: bool) -> tuple[int, int]:
    """Run the rounds on a new policy in ``store``; return (rules stored, conflicts seen)."""
    # A new id each time, so a database can host any number of races.
    policy_id = f"race-{uuid.uuid4().hex[:8]}"
    with open_store(store) as repository:
        repository.save(MonitoringPolicy(policy_id))
    context = multiprocessing.get_context()
    loaded, saved = context.Barrier(PROCESSES), context.Barrier(PROCESSES)
    results: multiprocessing.Queue[int] = context.Queue()
    processes = [
        context.Process(
            target=service, args=(store, versioned, policy_id, n, loaded, saved, results)
        )
        for n in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    conflicts = sum(results.get() for _ in processes)
    for process in processes:
        process.join()
    with open_store(store) as repository:
        return len(repository.load(policy_id).active_rules), conflicts


def main(argv: Sequence[str] | None = None) -> int:
    """Run both races and print what each stored."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--postgres", metavar="CONNINFO", help="race on this PostgreSQL database, not a SQLite file"
    )
    args = parser.parse_args(argv)
    added = PROCESSES * ROUNDS
    print(
        f"{PROCESSES} processes, {ROUNDS} rounds; in each round every process loads "
        "the same policy, adds its own rule, and saves."
    )
    with tempfile.TemporaryDirectory(prefix="lost-updates-") as folder:
        store = f"postgres:{args.postgres}" if args.postgres else str(Path(folder) / "policies.db")
        for versioned, label in ((False, "version-less saves:"), (True, "with the version check:")):
            stored, conflicts = race(store, versioned)
            line = f"{label:<24} {added} rules added, {stored} stored, {added - stored} lost"
            if versioned:
                line += f" ({conflicts} conflicts, each reloaded and retried)"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
