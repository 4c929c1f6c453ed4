"""Decoy: checks the version only for loaded copies, so a new policy overwrites a taken id."""

from __future__ import annotations

import dataclasses

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
        if policy.version == 0:
            # "A new policy has nothing to conflict with."
            self._snapshots[policy.policy_id] = dataclasses.replace(policy.snapshot(), version=1)
            policy.mark_saved(1)
            return
        stored_version = 0 if stored is None else stored.version
        if stored_version != policy.version:
            raise ConcurrencyConflict(policy.policy_id, policy.version, stored_version)
        new_version = stored_version + 1
        self._snapshots[policy.policy_id] = dataclasses.replace(
            policy.snapshot(), version=new_version
        )
        policy.mark_saved(new_version)
