"""A repository that stores policies in a SQLite database file.

Open one with ``SqlitePolicyRepository("policies.db")``: the file is created,
with its schema, on first use, at the path you give (relative paths resolve
against the working directory). Several instances, in threads or processes,
may share one file; each instance must be used by one thread at a time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from os import PathLike
from types import TracebackType

from aggregates_course.domain.errors import ConcurrencyConflict, PolicyNotFound
from aggregates_course.domain.policy import MonitoringPolicy, PolicySnapshot
from aggregates_course.domain.rules import ActiveRule, RetiredRule

_SCHEMA = """
CREATE TABLE IF NOT EXISTS policies (
    policy_id TEXT PRIMARY KEY,
    version   INTEGER NOT NULL CHECK (version > 0)
);
CREATE TABLE IF NOT EXISTS rules (
    policy_id    TEXT    NOT NULL REFERENCES policies (policy_id),
    rule_id      TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('active', 'retired')),
    position     INTEGER NOT NULL,
    metric       TEXT    NOT NULL,
    window_us    INTEGER NOT NULL,
    threshold    TEXT    NOT NULL,
    reason       TEXT,
    PRIMARY KEY (policy_id, rule_id)
);
"""

_MICROSECOND = timedelta(microseconds=1)

_RuleRow = tuple[str, str, str, int, str, int, str, str | None]


class SqlitePolicyRepository:
    """A :class:`~aggregates_course.adapters.repository.PolicyRepository` on a SQLite file.

    Each :meth:`save` is one ``BEGIN IMMEDIATE`` transaction that compares
    the stored version with ``policy.version`` and writes version + 1 with
    the whole rule set (compare-and-swap). Any exception during a save rolls
    the transaction back, leaving the file as it was and the instance usable.
    """

    connection_class: type[sqlite3.Connection] = sqlite3.Connection
    """The connection type to open; a subclass may swap it to instrument SQL calls."""

    def __init__(self, path: str | PathLike[str], *, timeout: float = 30.0) -> None:
        self._path = path
        self._timeout = timeout
        self._connection: sqlite3.Connection | None = None

    # -- the PolicyRepository contract ------------------------------------------

    def load(self, policy_id: str) -> MonitoringPolicy:
        """Return a new policy read from the file, or raise :class:`PolicyNotFound`."""
        connection = self._connect()
        # One read transaction, so the version and the rules come from the same commit.
        with _transaction(connection, "BEGIN"):
            row = connection.execute(
                "SELECT version FROM policies WHERE policy_id = ?", (policy_id,)
            ).fetchone()
            if row is None:
                raise PolicyNotFound(policy_id)
            rows: list[tuple[str, str, str, int, str, str | None]] = connection.execute(
                "SELECT status, rule_id, metric, window_us, threshold, reason FROM rules"
                " WHERE policy_id = ? ORDER BY status, position",
                (policy_id,),
            ).fetchall()
        active: list[ActiveRule] = []
        retired: list[RetiredRule] = []
        for status, rule_id, metric, window_us, threshold, reason in rows:
            rule = ActiveRule(rule_id, metric, window_us * _MICROSECOND, float(threshold))
            if status == "active":
                active.append(rule)
            else:
                retired.append(RetiredRule(rule, reason or ""))
        return MonitoringPolicy.from_snapshot(
            PolicySnapshot(policy_id, int(row[0]), tuple(active), tuple(retired))
        )

    def save(self, policy: MonitoringPolicy) -> None:
        """Write the whole policy at version + 1 in one transaction, or raise.

        Raises :class:`ConcurrencyConflict`, writing nothing, when the stored
        version differs from ``policy.version``.
        """
        snapshot = policy.snapshot()
        new_version = snapshot.version + 1
        connection = self._connect()
        with _transaction(connection, "BEGIN IMMEDIATE"):
            row = connection.execute(
                "SELECT version FROM policies WHERE policy_id = ?", (snapshot.policy_id,)
            ).fetchone()
            stored_version = 0 if row is None else int(row[0])
            if stored_version != snapshot.version:
                raise ConcurrencyConflict(snapshot.policy_id, snapshot.version, stored_version)
            if row is None:
                connection.execute(
                    "INSERT INTO policies (policy_id, version) VALUES (?, ?)",
                    (snapshot.policy_id, new_version),
                )
            else:
                connection.execute(
                    "UPDATE policies SET version = ? WHERE policy_id = ? AND version = ?",
                    (new_version, snapshot.policy_id, snapshot.version),
                )
            connection.execute("DELETE FROM rules WHERE policy_id = ?", (snapshot.policy_id,))
            connection.executemany(
                "INSERT INTO rules (policy_id, rule_id, status, position, metric, window_us,"
                " threshold, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                _rule_rows(snapshot),
            )
        policy.mark_saved(new_version)

    # -- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        """Close the connection; the next call opens a new one."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> SqlitePolicyRepository:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(
                self._path,
                timeout=self._timeout,
                # We issue BEGIN and COMMIT ourselves, so every transaction is explicit.
                isolation_level=None,
                # Documented rule: one thread at a time, not necessarily the creating one.
                check_same_thread=False,
                factory=self.connection_class,
            )
            try:
                connection.executescript(_SCHEMA)
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection


@contextmanager
def _transaction(connection: sqlite3.Connection, begin: str) -> Iterator[None]:
    """Run a block inside ``begin`` ... COMMIT, rolling back on any exception."""
    connection.execute(begin)
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        # COMMIT itself may fail (disk full, busy); the transaction is then still open.
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _rule_rows(snapshot: PolicySnapshot) -> list[_RuleRow]:
    rows: list[_RuleRow] = []
    for position, rule in enumerate(snapshot.active_rules):
        rows.append(_rule_row(snapshot.policy_id, rule, "active", position, None))
    for position, retired in enumerate(snapshot.retired_rules):
        rows.append(
            _rule_row(snapshot.policy_id, retired.rule, "retired", position, retired.reason)
        )
    return rows


def _rule_row(
    policy_id: str, rule: ActiveRule, status: str, position: int, reason: str | None
) -> _RuleRow:
    # repr() of a float round-trips exactly (sign of zero included), unlike a REAL column.
    return (
        policy_id,
        rule.rule_id,
        status,
        position,
        rule.metric,
        rule.window // _MICROSECOND,
        repr(rule.threshold),
        reason,
    )
