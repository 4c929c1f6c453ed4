"""Decoy: stores the live policy object, so unsaved changes made after a save reach the store."""

from __future__ import annotations

from aggregates_course import ConcurrencyConflict, MonitoringPolicy, PolicyNotFound


class InMemoryPolicyRepository:
    def __init__(self) -> None:
        self._policies: dict[str, MonitoringPolicy] = {}

    def load(self, policy_id: str) -> MonitoringPolicy:
        policy = self._policies.get(policy_id)
        if policy is None:
            raise PolicyNotFound(policy_id)
        return MonitoringPolicy.from_snapshot(policy.snapshot())

    def save(self, policy: MonitoringPolicy) -> None:
        stored = self._policies.get(policy.policy_id)
        stored_version = 0 if stored is None else stored.version
        if stored_version != policy.version:
            raise ConcurrencyConflict(policy.policy_id, policy.version, stored_version)
        policy.mark_saved(stored_version + 1)
        self._policies[policy.policy_id] = policy
