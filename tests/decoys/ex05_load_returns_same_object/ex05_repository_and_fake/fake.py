"""Decoy: load caches the rebuilt policy and hands the same object to every caller."""

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
        self._loaded: dict[str, MonitoringPolicy] = {}

    def load(self, policy_id: str) -> MonitoringPolicy:
        snapshot = self._snapshots.get(policy_id)
        if snapshot is None:
            raise PolicyNotFound(policy_id)
        cached = self._loaded.get(policy_id)
        if cached is None or cached.version != snapshot.version:
            cached = self._loaded[policy_id] = MonitoringPolicy.from_snapshot(snapshot)
        return cached

    def save(self, policy: MonitoringPolicy) -> None:
        stored = self._snapshots.get(policy.policy_id)
        stored_version = 0 if stored is None else stored.version
        if stored_version != policy.version:
            raise ConcurrencyConflict(policy.policy_id, policy.version, stored_version)
        new_version = stored_version + 1
        self._snapshots[policy.policy_id] = dataclasses.replace(
            policy.snapshot(), version=new_version
        )
        policy.mark_saved(new_version)
