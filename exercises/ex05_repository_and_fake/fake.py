"""Exercise 5: write the fake repository that tests use instead of a database.

``InMemoryPolicyRepository`` must keep the same contract as
``SqlitePolicyRepository`` (see ``aggregates_course.PolicyRepository``):

* ``load`` returns a new, independent policy rebuilt from what was stored,
  or raises ``PolicyNotFound``; an id no policy could have is refused first,
  as every repository refuses it (``require_policy_id``);
* ``save`` stores a copy of the whole policy, never the live object;
* ``save`` succeeds only if the stored version equals ``policy.version``
  (0 meaning "not stored yet"); it then stores version + 1 and moves the
  policy to it with ``mark_saved``. Otherwise it raises ``ConcurrencyConflict``
  and changes nothing, neither the store nor the policy;
* threads may share the fake: ``save`` holds ``self._lock`` from reading the
  stored version until the write is done, so two saves of one version never
  both succeed.
"""

from __future__ import annotations

import dataclasses  # noqa: F401 -- dataclasses.replace() gives a snapshot a new version
import threading

from aggregates_course import (
    ConcurrencyConflict,  # noqa: F401 -- you will raise these
    MonitoringPolicy,
    PolicyNotFound,  # noqa: F401
    PolicySnapshot,
)
from aggregates_course.adapters.repository import require_policy_id  # noqa: F401 -- checks ids


class InMemoryPolicyRepository:
    """A ``PolicyRepository`` held in a dict: the fake every fast test relies on.

    It keeps immutable snapshots, never live objects, so nothing a caller
    does to a policy reaches the store until ``save`` succeeds.
    """

    def __init__(self) -> None:
        # policy id -> the snapshot stored at the last successful save.
        self._snapshots: dict[str, PolicySnapshot] = {}
        # Hold it from reading the stored version until the write: no save slips in between.
        self._lock = threading.Lock()

    def load(self, policy_id: str) -> MonitoringPolicy:
        """Return a new policy rebuilt from the stored snapshot.

        Raises ``PolicyNotFound(policy_id)`` for an id that was never saved, and
        ``InvalidRule`` (field ``policy_id``) for an id no policy could have.
        """
        raise NotImplementedError(
            "load: check the id with require_policy_id(policy_id), look the snapshot up, "
            "raise PolicyNotFound if there is none, "
            "and return MonitoringPolicy.from_snapshot(snapshot), a new object every call"
        )

    def save(self, policy: MonitoringPolicy) -> None:
        """Store a snapshot of ``policy`` at the next version, then move ``policy`` to it.

        Raises ``ConcurrencyConflict(policy_id, expected, actual)`` and stores
        nothing when the stored version (0 if none) is not ``policy.version``,
        behind it or ahead of it: ``expected`` is ``policy.version``, the version
        the copy was loaded at, and ``actual`` the stored version.
        """
        raise NotImplementedError(
            "save: holding self._lock, compare the stored version (0 if none) with "
            "policy.version and raise ConcurrencyConflict(policy_id, policy.version, "
            "stored_version) if they differ; otherwise store policy.snapshot() at version + 1 "
            "in self._snapshots and call policy.mark_saved()"
        )
