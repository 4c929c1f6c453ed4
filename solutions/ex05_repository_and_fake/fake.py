"""Exercise 5, solved: the fake repository that tests use instead of a database.

``InMemoryPolicyRepository`` keeps the same contract as
``SqlitePolicyRepository`` (see ``aggregates_course.PolicyRepository``):
copies in and out, ids checked as every repository checks them, a version
check before every write, made one step with the write by a lock so that
threads may share the fake, and the version moved by one on every
successful save.
"""

from __future__ import annotations

import dataclasses
import threading

from aggregates_course import (
    ConcurrencyConflict,
    MonitoringPolicy,
    PolicyNotFound,
    PolicySnapshot,
)
from aggregates_course.adapters.repository import require_policy_id


class InMemoryPolicyRepository:
    """A ``PolicyRepository`` held in a dict: the fake every fast test relies on.

    It keeps immutable snapshots, never live objects, so nothing a caller
    does to a policy reaches the store until ``save`` succeeds. Threads may
    share it: one lock makes each save's version check and write one step.
    """

    def __init__(self) -> None:
        # policy id -> the snapshot stored at the last successful save.
        self._snapshots: dict[str, PolicySnapshot] = {}
        # Held from reading the stored version until the write: no save slips in between.
        self._lock = threading.Lock()

    def load(self, policy_id: str) -> MonitoringPolicy:
        """Return a new policy rebuilt from the stored snapshot.

        Raises ``PolicyNotFound(policy_id)`` for an id that was never saved, and
        ``InvalidRule`` (field ``policy_id``) for an id no policy could have.
        """
        policy_id = require_policy_id(policy_id)
        with self._lock:
            snapshot = self._snapshots.get(policy_id)
        if snapshot is None:
            raise PolicyNotFound(policy_id)
        # A new object per call: two callers never share unsaved changes.
        return MonitoringPolicy.from_snapshot(snapshot)

    def save(self, policy: MonitoringPolicy) -> None:
        """Store a snapshot of ``policy`` at the next version, then move ``policy`` to it.

        Raises ``ConcurrencyConflict(policy_id, expected, actual)`` and stores
        nothing when the stored version (0 if none) is not ``policy.version``,
        behind it or ahead of it: ``expected`` is ``policy.version``, the version
        the copy was loaded at, and ``actual`` the stored version.
        """
        with self._lock:
            stored = self._snapshots.get(policy.policy_id)
            stored_version = 0 if stored is None else stored.version
            # Check before writing anything, so a refused save leaves the store as it was.
            if stored_version != policy.version:
                raise ConcurrencyConflict(policy.policy_id, policy.version, stored_version)
            new_version = stored_version + 1
            self._snapshots[policy.policy_id] = dataclasses.replace(
                policy.snapshot(), version=new_version
            )
            policy.mark_saved(new_version)
