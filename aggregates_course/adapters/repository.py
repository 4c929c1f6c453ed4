"""The repository port every storage adapter implements."""

from __future__ import annotations

from typing import Protocol

from aggregates_course.domain.policy import MonitoringPolicy


class PolicyRepository(Protocol):
    """Loads a whole policy by id and saves it whole, with optimistic concurrency.

    Every implementation keeps the same contract:

    * :meth:`load` of an unknown id raises ``PolicyNotFound``; each call
      returns a new, independent object.
    * :meth:`save` is atomic: the whole aggregate is written, or nothing is.
    * :meth:`save` succeeds only if the stored version equals
      ``policy.version`` (0 meaning "not stored yet"); it then stores
      version + 1 and sets ``policy.version`` to it. Otherwise it raises
      ``ConcurrencyConflict`` and leaves the store untouched.
    """

    def load(self, policy_id: str) -> MonitoringPolicy:
        """Return a fresh copy of the stored policy, or raise ``PolicyNotFound``."""
        ...

    def save(self, policy: MonitoringPolicy) -> None:
        """Store the whole policy if nobody saved since it was loaded, else raise."""
        ...
