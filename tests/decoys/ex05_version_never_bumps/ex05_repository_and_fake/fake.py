"""Decoy: checks the version but never bumps it, so stale copies never conflict."""

from __future__ import annotations

from aggregates_course import (
    ConcurrencyConflict,
    MonitoringPolicy,
    PolicyNotFound,
    PolicySnapshot,
)


class InMemoryPolicyRepository:
    def __init__(self) -> None:
        self._snapshots: dict[str, PolicySnapshot] = {}

    def load(self, policy_id: str) -> MonitoringPolicy:
        snapshot = self._snapshots.get(policy_id)
        if snapshot is None:
            raise PolicyNotFound(policy_id)
        return MonitoringPolicy.from_snapshot(snapshot)

    def save(self, policy: MonitoringPolicy) -> None:
        stored = self._snapshots.get(policy.policy_id)
        stored_version = 0 if stored is None else stored.version
        if stored_version != policy.version:
            raise ConcurrencyConflict(policy.policy_id, policy.version, stored_version)
        self._snapshots[policy.policy_id] = policy.snapshot()
