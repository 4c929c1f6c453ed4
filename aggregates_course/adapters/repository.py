"""The repository port every storage adapter implements, and the checks they all share."""

from __future__ import annotations

from typing import Protocol

from aggregates_course.domain.policy import MonitoringPolicy
from aggregates_course.domain.rules import validate_identifier


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
    * A bad policy id is refused before the store is touched, the same way
      everywhere (see :func:`require_policy_id` and :func:`require_policy`).
    * A failure of the store itself raises ``StorageError``; the in-memory
      fake has no store to fail.
    * One instance may be shared by several threads.
    """

    def load(self, policy_id: str) -> MonitoringPolicy:
        """Return a fresh copy of the stored policy, or raise ``PolicyNotFound``."""
        ...

    def save(self, policy: MonitoringPolicy) -> None:
        """Store the whole policy if nobody saved since it was loaded, else raise."""
        ...


def require_policy_id(policy_id: object) -> str:
    """Return ``policy_id`` if the aggregate would accept it as its id, else raise.

    Every repository calls this first in ``load``, so a junk id (not a
    string, blank, padded, with control characters, too long) gets the same
    :class:`~aggregates_course.domain.errors.InvalidRule` (field
    ``policy_id``) from every store, before any store is touched.
    """
    return validate_identifier(policy_id, "policy_id")


def require_policy(policy: object) -> MonitoringPolicy:
    """Return ``policy`` if it is a policy a repository may store, else raise.

    Every repository calls this first in ``save``: anything but a
    :class:`~aggregates_course.domain.policy.MonitoringPolicy` raises
    ``TypeError``; a policy whose id breaks the rules (only a subclass that
    overrides ``policy_id`` can have one) raises ``InvalidRule`` like
    :func:`require_policy_id`.
    """
    if not isinstance(policy, MonitoringPolicy):
        raise TypeError(f"a repository saves a MonitoringPolicy, not {type(policy).__name__}")
    require_policy_id(policy.policy_id)
    return policy
