"""An in-memory repository: the fake that tests use instead of a database."""

from __future__ import annotations

import dataclasses
import threading

from aggregates_course.adapters.repository import require_policy, require_policy_id
from aggregates_course.domain.errors import ConcurrencyConflict, PolicyNotFound
from aggregates_course.domain.policy import MonitoringPolicy, PolicySnapshot


class InMemoryPolicyRepository:
    """A :class:`~aggregates_course.adapters.repository.PolicyRepository` held in a dict.

    It stores immutable snapshots, never the live object, so a caller's
    unsaved changes stay invisible to the store, just as with a database.
    One lock makes the version check and the write a single step, so it is
    safe to share between threads. It checks ids exactly as every other
    repository does, and has no storage to fail, so it never raises
    :class:`~aggregates_course.adapters.errors.StorageError`.
    """

    def __init__(self) -> None:
        self._snapshots: dict[str, PolicySnapshot] = {}
        self._lock = threading.Lock()

    def load(self, policy_id: str) -> MonitoringPolicy:
        """Return a new policy rebuilt from the stored snapshot.

        Raises :class:`PolicyNotFound` for an id never saved, and
        :class:`~aggregates_course.domain.errors.InvalidRule` for an id no
        policy could have.
        """
        policy_id = require_policy_id(policy_id)
        with self._lock:
            snapshot = self._snapshots.get(policy_id)
        if snapshot is None:
            raise PolicyNotFound(policy_id)
        return MonitoringPolicy.from_snapshot(snapshot)

    def save(self, policy: MonitoringPolicy) -> None:
        """Store a snapshot of ``policy`` at version + 1, then bump ``policy.version``.

        Raises :class:`ConcurrencyConflict`, storing nothing, when the stored
        version is not the one ``policy`` was loaded at; ``TypeError`` for
        anything but a policy.
        """
        # The snapshot is the one source of what is stored, the id included, as in every
        # repository: a subclass overriding `policy_id` cannot file a policy under one id
        # that is rebuilt under another.
        snapshot = require_policy(policy).snapshot()
        with self._lock:
            stored = self._snapshots.get(snapshot.policy_id)
            stored_version = stored.version if stored is not None else 0
            if stored_version != snapshot.version:
                raise ConcurrencyConflict(snapshot.policy_id, snapshot.version, stored_version)
            new_version = stored_version + 1
            self._snapshots[snapshot.policy_id] = dataclasses.replace(snapshot, version=new_version)
            policy.mark_saved(new_version)
