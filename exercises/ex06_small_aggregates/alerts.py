"""Exercise 6: split the alert history out of the policy into an aggregate of its own.

``oversized.py`` shows the starting point: one aggregate for rules and
alerts, one version, and false conflicts between operators and the
evaluator. Here the alert history stands alone:

* ``AlertHistory`` references its policy by id and never holds a
  ``MonitoringPolicy``; it checks alerts against a *snapshot* of the rules;
* ``InMemoryAlertHistoryRepository`` gives it a version of its own;
* ``Evaluator`` reads the policy in one step and saves only the history.

Write the methods that raise ``NotImplementedError``.
"""

from __future__ import annotations

import dataclasses  # noqa: F401 -- dataclasses.replace() gives a snapshot a new version
from dataclasses import dataclass

from aggregates_course import (
    ActiveRule,
    ConcurrencyConflict,  # noqa: F401 -- you will raise these
    PolicyRepository,
    PolicySnapshot,
    UnknownRule,  # noqa: F401
)
from aggregates_course.domain.rules import validate_identifier

from .alert import Alert


@dataclass(frozen=True, slots=True)
class AlertHistorySnapshot:
    """The whole state of one alert history as immutable data: what its repository stores."""

    policy_id: str
    version: int
    alerts: tuple[Alert, ...]


class AlertHistory:
    """Aggregate root for the alerts raised under one policy, referenced by id only.

    Invariants: alerts are numbered 1, 2, 3, ... in the order recorded; an
    alert is recorded only for a rule active in the policy snapshot the
    history follows (``UnknownRule`` otherwise). Its version is its own:
    only saving a history moves it, never saving the policy.
    """

    __slots__ = ("_alerts", "_followed_version", "_policy_id", "_retired_ids", "_rules", "_version")

    def __init__(self, policy_id: str) -> None:
        self._policy_id = validate_identifier(policy_id, "policy_id")
        self._alerts: list[Alert] = []
        self._version = 0
        # The rules as last read from the policy: a snapshot, never the live aggregate.
        self._rules: dict[str, ActiveRule] = {}
        self._retired_ids: frozenset[str] = frozenset()
        self._followed_version = 0

    @property
    def policy_id(self) -> str:
        """The id of the policy these alerts belong to."""
        return self._policy_id

    @property
    def version(self) -> int:
        """0 if never saved, else the stored version this copy was loaded or saved at."""
        return self._version

    @property
    def alerts(self) -> tuple[Alert, ...]:
        """Every alert recorded, oldest first."""
        return tuple(self._alerts)

    @property
    def followed_version(self) -> int:
        """The policy version whose active rules alerts may fire for (0: none followed yet)."""
        return self._followed_version

    def follow(self, policy: PolicySnapshot) -> None:
        """Fire alerts only for the active rules of ``policy`` from now on.

        Rules retired in ``policy`` are forgotten, even if an earlier snapshot
        had them active. Raises ``ValueError`` for another policy's snapshot,
        its message naming both policy ids.
        """
        raise NotImplementedError(
            "follow: refuse another policy's snapshot with ValueError, then keep this "
            "snapshot's active rules by id, its retired ids and its version"
        )

    def record_alert(self, rule_id: str, value: float) -> Alert:
        """Record that ``rule_id`` fired on ``value``, and return the new alert.

        Raises ``UnknownRule(policy_id, rule_id, *, retired)`` if ``rule_id`` is
        not active in the followed snapshot, ``retired`` saying whether the
        snapshot has it retired; ``Alert`` itself raises ``InvalidRule`` for a
        value that is not a finite number. A refused alert changes nothing.
        """
        raise NotImplementedError(
            "record_alert: raise UnknownRule unless rule_id is active in the followed "
            "snapshot, then append Alert(next sequence, rule, value, followed version)"
        )

    def snapshot(self) -> AlertHistorySnapshot:
        """The whole history as immutable data, at the current version."""
        return AlertHistorySnapshot(self._policy_id, self._version, self.alerts)

    @classmethod
    def from_snapshot(cls, snapshot: AlertHistorySnapshot) -> AlertHistory:
        """Rebuild a history from stored state; it follows no rules until ``follow``.

        Raises ``ValueError`` if the stored alerts are not numbered 1, 2, 3, ...
        """
        history = cls(snapshot.policy_id)
        numbers = [alert.sequence for alert in snapshot.alerts]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"stored alerts of {snapshot.policy_id!r} are numbered {numbers}")
        history._alerts = list(snapshot.alerts)
        history._version = snapshot.version
        return history

    def mark_saved(self, version: int) -> None:
        """Record that a repository stored this history at ``version``; for repositories only."""
        if version <= self._version:
            raise ValueError(f"saved version {version} must be greater than {self._version}")
        self._version = version


class InMemoryAlertHistoryRepository:
    """Loads and saves alert histories whole, with optimistic concurrency of their own.

    ``load`` of a policy with no stored history returns an empty one at
    version 0. ``save`` raises ``ConcurrencyConflict``, storing nothing, when
    the stored version is not ``history.version``.
    """

    def __init__(self) -> None:
        self._snapshots: dict[str, AlertHistorySnapshot] = {}

    def load(self, policy_id: str) -> AlertHistory:
        """A new copy of the stored history of ``policy_id`` (empty if none yet)."""
        raise NotImplementedError(
            "load: return AlertHistory.from_snapshot(stored snapshot), a new object every "
            "call, or a new empty AlertHistory(policy_id) if nothing is stored"
        )

    def save(self, history: AlertHistory) -> None:
        """Store a snapshot of ``history`` at the next version, then move ``history`` to it.

        Raises ``ConcurrencyConflict(policy_id, expected, actual)`` and stores
        nothing when the stored version (0 if none) is not ``history.version``:
        ``expected`` is ``history.version``, ``actual`` the stored version.
        """
        raise NotImplementedError(
            "save: as in exercise 5, raise ConcurrencyConflict unless the stored version "
            "(0 if none) is history.version, then store the snapshot at version + 1"
        )


class Evaluator:
    """The evaluator's unit of work: read the policy's rules, then write the alert history only.

    Reading the policy and saving the history are separate steps; the policy
    is never saved here, so an operator's edit and an alert never share a
    version check.
    """

    def __init__(
        self, policies: PolicyRepository, histories: InMemoryAlertHistoryRepository
    ) -> None:
        self._policies = policies
        self._histories = histories

    def open(self, policy_id: str) -> AlertHistory:
        """Load the alert history of ``policy_id``, following a snapshot of the policy's rules.

        The policy repository's ``PolicyNotFound`` reaches the caller unchanged
        when no such policy is stored.
        """
        raise NotImplementedError(
            "open: read a snapshot of the policy, load the history, and have the history "
            "follow that snapshot"
        )

    def save(self, history: AlertHistory) -> None:
        """Save the history, and nothing else; ``ConcurrencyConflict`` if another evaluator won."""
        raise NotImplementedError("save: save the alert history, and only the alert history")
