"""A policy as rows of a relational store, and back: shared by the SQL repositories.

The layout is two tables. ``policies`` holds one row per policy: its id and
stored version. ``rules`` holds one row per rule, active or retired, with its
position among the rules of that status, its window as whole microseconds and
its threshold as the text of ``repr(float)``, which round-trips every float
exactly (``-0.0`` and subnormals included), unlike a floating-point column.

Reading back goes through :meth:`MonitoringPolicy.from_snapshot
<aggregates_course.domain.policy.MonitoringPolicy.from_snapshot>`, so every
invariant is checked again: a row written or damaged outside this library
raises :class:`~aggregates_course.adapters.errors.StorageError`, never a
policy that breaks the rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from aggregates_course.adapters.errors import StorageError
from aggregates_course.domain.errors import DomainError
from aggregates_course.domain.policy import MonitoringPolicy, PolicySnapshot
from aggregates_course.domain.rules import ActiveRule, RetiredRule

MICROSECOND = timedelta(microseconds=1)
"""The unit of the stored window: a window is stored as a whole number of these."""

Column = tuple[str, str, str]
"""One column: its name, its kind of value (``"text"``, ``"integer"``, ``"big integer"``,
``"reason"``), and its constraint (empty for none)."""

POLICY_COLUMNS: tuple[Column, ...] = (
    ("policy_id", "text", "PRIMARY KEY"),
    ("version", "big integer", "NOT NULL CHECK (version > 0)"),
)
"""The ``policies`` table, one row per policy: its id and stored version."""

RULE_COLUMNS: tuple[Column, ...] = (
    ("policy_id", "text", "NOT NULL REFERENCES policies (policy_id)"),
    ("rule_id", "text", "NOT NULL"),
    ("status", "text", "NOT NULL CHECK (status IN ('active', 'retired'))"),
    ("position", "integer", "NOT NULL"),
    ("metric", "text", "NOT NULL"),
    ("window_us", "big integer", "NOT NULL"),
    ("threshold", "text", "NOT NULL"),
    ("reason", "reason", ""),
)
"""The ``rules`` table, one row per rule, in the order of :data:`RuleRow`; keyed by
(policy_id, rule_id), so a rule id is unique within its policy in the store too."""


def create_table(
    name: str, columns: Sequence[Column], types: Mapping[str, str], *, key: str = ""
) -> str:
    """The ``CREATE TABLE`` statement for ``columns`` in one database's dialect.

    ``types`` names the database's type for each kind of value; ``key`` is a
    table constraint (the primary key over several columns).
    """
    lines = [
        " ".join(part for part in (column, types[kind], constraint) if part)
        for column, kind, constraint in columns
    ]
    if key:
        lines.append(key)
    return f"CREATE TABLE {name} (\n    " + ",\n    ".join(lines) + "\n)"


RuleRow = tuple[str, str, str, int, str, int, str, str | None]
"""One rule as inserted: policy_id, rule_id, status, position, metric, window_us, threshold,
reason."""


def rule_rows(snapshot: PolicySnapshot) -> list[RuleRow]:
    """Every rule of ``snapshot`` as a row to insert, active rules first, each in its order."""
    rows: list[RuleRow] = []
    for position, rule in enumerate(snapshot.active_rules):
        rows.append(_rule_row(snapshot.policy_id, rule, "active", position, None))
    for position, retired in enumerate(snapshot.retired_rules):
        rows.append(
            _rule_row(snapshot.policy_id, retired.rule, "retired", position, retired.reason)
        )
    return rows


def policy_from_rows(
    store: str, policy_id: str, version: object, rules: Iterable[Sequence[Any]]
) -> MonitoringPolicy:
    """Rebuild the stored policy from its version and its rule rows.

    Each row of ``rules`` holds status, rule_id, metric, window_us, threshold
    and reason, in that order; rows of one status come in their position order.

    Raises :class:`StorageError` naming ``store`` and the policy when a value
    has the wrong type or breaks a rule of the domain (a blank reason, two
    active rules on one watch, ...); the domain's error is its ``__cause__``.
    """
    with _broken_rows_reported(store, policy_id):
        active: list[ActiveRule] = []
        retired: list[RetiredRule] = []
        for status, rule_id, metric, window_us, threshold, reason in rules:
            # Values come as the store holds them; the domain's constructors check each one.
            window = _whole_number(window_us, "window_us") * MICROSECOND
            if not isinstance(threshold, str):
                raise TypeError(f"threshold must be text, not {threshold!r}")
            rule = ActiveRule(rule_id, metric, window, float(threshold))
            if status == "active" and reason is None:
                active.append(rule)
            elif status == "retired":
                retired.append(RetiredRule(rule, reason))
            else:
                raise ValueError(f"rule {rule_id!r} has status {status!r} and reason {reason!r}")
        return MonitoringPolicy.from_snapshot(
            PolicySnapshot(policy_id, _version(version), tuple(active), tuple(retired))
        )


def stored_version(store: str, policy_id: str, version: object) -> int:
    """The version a store holds for ``policy_id``: a whole number from 1 up.

    Raises :class:`StorageError` naming ``store`` for anything else, so a
    save never compares against, or builds on, a damaged version.
    """
    with _broken_rows_reported(store, policy_id):
        return _version(version)


@contextmanager
def _broken_rows_reported(store: str, policy_id: str) -> Iterator[None]:
    try:
        yield
    except (DomainError, ValueError, TypeError, ArithmeticError) as broken:
        raise StorageError(
            store,
            f"the stored policy {policy_id!r} breaks the rules of a policy ({broken}); "
            "it was written or damaged outside aggregates-course: restore it from a backup",
        ) from broken


def _version(value: object) -> int:
    version = _whole_number(value, "version")
    if version < 1:
        raise ValueError(f"version must be at least 1, got {version}")
    return version


def _whole_number(value: object, column: str) -> int:
    # bool is an int subclass, and a float would be silently rounded: both mean a damaged row.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{column} must be a whole number, not {value!r}")
    return value


def _rule_row(
    policy_id: str, rule: ActiveRule, status: str, position: int, reason: str | None
) -> RuleRow:
    return (
        policy_id,
        rule.rule_id,
        status,
        position,
        rule.metric,
        rule.window // MICROSECOND,
        repr(rule.threshold),
        reason,
    )
