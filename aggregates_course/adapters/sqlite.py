"""A repository that stores policies in a SQLite database file.

Open one with ``SqlitePolicyRepository("policies.db")``; nothing touches the
file until the first :meth:`~SqlitePolicyRepository.load` or
:meth:`~SqlitePolicyRepository.save`. The first save creates the file, with
its schema; a load never creates it, so a mistyped path is a
:class:`~aggregates_course.adapters.errors.StorageError`, not an empty store.
Every failure of the file or of SQLite is a ``StorageError`` naming the path.
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from enum import Enum
from os import PathLike
from pathlib import Path

from aggregates_course.adapters.closing import ClosedOnExit
from aggregates_course.adapters.errors import StorageError
from aggregates_course.adapters.repository import require_policy, require_policy_id
from aggregates_course.adapters.rows import (
    POLICY_COLUMNS,
    RULE_COLUMNS,
    create_table,
    policy_from_rows,
    rule_rows,
    stored_version,
)
from aggregates_course.domain.errors import ConcurrencyConflict, PolicyNotFound
from aggregates_course.domain.policy import MonitoringPolicy

SCHEMA_VERSION = 1
"""The layout this version writes, kept in the file's ``PRAGMA user_version``.

A file stamped with a higher number was written by a newer release, which may
store policies in ways this one would misread, so it is refused.
"""

IN_MEMORY = ":memory:"
"""The path that keeps the database in memory, private to one instance."""

_TYPES = {"text": "TEXT", "integer": "INTEGER", "big integer": "INTEGER", "reason": "TEXT"}


def _tables() -> tuple[str, ...]:
    """The statements that create the tables of :data:`SCHEMA_VERSION`.

    Their text is also how a file is recognised as ours (see :func:`_layout`), so
    changing it means a new :data:`SCHEMA_VERSION`.
    """
    return (
        create_table("policies", POLICY_COLUMNS, _TYPES),
        create_table("rules", RULE_COLUMNS, _TYPES, key="PRIMARY KEY (policy_id, rule_id)"),
    )


class _Schema(Enum):
    CURRENT = "current"
    EMPTY = "empty"
    # Our exact tables, written before the schema was versioned: adopted by stamping them.
    UNVERSIONED = "unversioned"


class SqlitePolicyRepository(ClosedOnExit):
    """A :class:`~aggregates_course.adapters.repository.PolicyRepository` on a SQLite file.

    **Saving.** Each :meth:`save` is one ``BEGIN IMMEDIATE`` transaction that
    compares the stored version with ``policy.version`` and writes version + 1
    with the whole rule set (compare-and-swap). Any exception during a save
    rolls the transaction back, leaving the file as it was and the instance
    usable. Each :meth:`load` reads the version and the rules in one
    transaction, so both come from the same commit.

    **Sharing.** One instance may be shared by any number of threads: it holds
    one connection, and every operation holds the instance's lock from its
    first statement to its last. A connection per thread would let reads
    overlap, but SQLite serialises writers anyway, a ``:memory:`` database
    would split into one database per thread, and :meth:`close` could not
    reach the other threads' connections. Several instances, in threads or
    processes, may also share one file: SQLite's file locks and the version
    check keep every update. One instance per process is the rule for
    processes: a connection must not cross a ``fork``.

    **The file.** ``path`` is resolved against the working directory when the
    instance is created; :data:`IN_MEMORY` keeps a private database in
    memory. Nothing touches the file until the first operation, which checks
    its schema version (``PRAGMA user_version``, see :data:`SCHEMA_VERSION`):
    an empty file gets the current schema; a file holding other tables, a
    newer schema or a schema changed outside this library is refused with
    :class:`~aggregates_course.adapters.errors.StorageError` and left
    untouched. A file that does not exist is created by :meth:`save`, never
    by :meth:`load`: loading from a mistyped path raises ``StorageError``
    saying the file does not exist. Foreign keys are enforced
    (``PRAGMA foreign_keys = ON``), so a rule row cannot outlive its policy.

    **Failures.** Every failure of the store raises ``StorageError`` with the
    path and the problem in plain words, the ``sqlite3`` exception chained as
    ``__cause__``: a file that cannot be opened (a missing folder, a folder
    as the path), is not a database, is damaged, stays locked past
    ``timeout`` seconds, is read-only, or holds a row that breaks the
    domain's rules. A bad policy id is refused, as by every repository,
    before the file is touched (see
    :func:`~aggregates_course.adapters.repository.require_policy_id`).
    """

    connection_class: type[sqlite3.Connection] = sqlite3.Connection
    """The connection type to open; a subclass may swap it to instrument SQL calls."""

    def __init__(self, path: str | PathLike[str], *, timeout: float = 30.0) -> None:
        # The same rule as PostgresPolicyRepository's lock_timeout: a negative or NaN wait
        # would make sqlite3 give up at once on a busy file, or never.
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise TypeError(f"timeout must be a number of seconds, not {type(timeout).__name__}")
        if not 0 <= timeout < math.inf:
            raise ValueError(
                f"timeout must be a finite number of seconds, at least 0, not {timeout}"
            )
        given = os.fspath(path)
        self._path = given if given == IN_MEMORY else os.path.abspath(given)
        self._timeout = float(timeout)
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> str:
        """The absolute path of the database file (or :data:`IN_MEMORY`), as errors name it."""
        return self._path

    # -- the PolicyRepository contract ------------------------------------------

    def load(self, policy_id: str) -> MonitoringPolicy:
        """Return a new policy read from the file, or raise :class:`PolicyNotFound`.

        Raises ``InvalidRule`` for an id no policy could have, and
        ``StorageError`` if the file does not exist or fails.
        """
        policy_id = require_policy_id(policy_id)
        with self._lock, self._failures_reported(creating=False):
            connection = self._connected(create=False)
            # One read transaction, so the version and the rules come from the same commit.
            with self._transaction(connection, "BEGIN"):
                row = connection.execute(
                    "SELECT version FROM policies WHERE policy_id = ?", (policy_id,)
                ).fetchone()
                if row is None:
                    raise PolicyNotFound(policy_id)
                rules = connection.execute(
                    "SELECT status, rule_id, metric, window_us, threshold, reason FROM rules"
                    " WHERE policy_id = ? ORDER BY status, position",
                    (policy_id,),
                ).fetchall()
        return policy_from_rows(self._path, policy_id, row[0], rules)

    def save(self, policy: MonitoringPolicy) -> None:
        """Write the whole policy at version + 1 in one transaction, or raise.

        Creates the file if it does not exist. Raises
        :class:`ConcurrencyConflict`, writing nothing, when the stored version
        differs from ``policy.version``, and ``StorageError``, writing
        nothing, when the file fails.
        """
        snapshot = require_policy(policy).snapshot()
        new_version = snapshot.version + 1
        rows = rule_rows(snapshot)
        with self._lock, self._failures_reported(creating=True):
            connection = self._connected(create=True)
            with self._transaction(connection, "BEGIN IMMEDIATE"):
                row = connection.execute(
                    "SELECT version FROM policies WHERE policy_id = ?", (snapshot.policy_id,)
                ).fetchone()
                found = 0 if row is None else stored_version(self._path, snapshot.policy_id, row[0])
                if found != snapshot.version:
                    raise ConcurrencyConflict(snapshot.policy_id, snapshot.version, found)
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
                    rows,
                )
            policy.mark_saved(new_version)

    # -- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        """Close the connection; the next call opens a new one."""
        with self._lock:
            self._discard()

    # -- the connection (every method below runs under self._lock) ----------------

    def _connected(self, *, create: bool) -> sqlite3.Connection:
        if self._connection is None:
            connection = self._open(create=create)
            try:
                # Per connection, and only outside a transaction.
                connection.execute("PRAGMA foreign_keys = ON")
                self._prepare_schema(connection)
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def _open(self, *, create: bool) -> sqlite3.Connection:
        target, uri = self._path, False
        if self._path != IN_MEMORY:
            # A URI lets SQLite itself refuse to create the file: no gap between check and open.
            target, uri = Path(self._path).as_uri() + ("?mode=rwc" if create else "?mode=rw"), True
        return sqlite3.connect(
            target,
            timeout=self._timeout,
            # We issue BEGIN and COMMIT ourselves, so every transaction is explicit.
            isolation_level=None,
            # Any thread may use the connection; self._lock lets only one at a time.
            check_same_thread=False,
            factory=self.connection_class,
            uri=uri,
        )

    def _prepare_schema(self, connection: sqlite3.Connection) -> None:
        with self._transaction(connection, "BEGIN"):
            found = self._schema_of(connection)
        if found is _Schema.CURRENT:
            return
        # Decided again under the write lock: another connection may have created it meanwhile.
        with self._transaction(connection, "BEGIN IMMEDIATE"):
            found = self._schema_of(connection)
            if found is _Schema.EMPTY:
                for table in _tables():
                    connection.execute(table)
            if found is not _Schema.CURRENT:
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _schema_of(self, connection: sqlite3.Connection) -> _Schema:
        """What the file holds, or ``StorageError`` if it is not ours to use."""
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        layout = _layout(connection)
        if layout == _expected_layout():
            if version == SCHEMA_VERSION:
                return _Schema.CURRENT
            if version == 0:
                return _Schema.UNVERSIONED
        if version == 0 and not layout:
            return _Schema.EMPTY
        if version > SCHEMA_VERSION:
            raise StorageError(
                self._path,
                f"was written by a newer aggregates-course (schema version {version}; this "
                f"version knows up to {SCHEMA_VERSION}): upgrade aggregates-course to use it",
            )
        names = ", ".join(name for kind, name, _ in layout if kind == "table") or "none"
        if version == 0:
            raise StorageError(
                self._path,
                f"holds tables aggregates-course did not create ({names}): it belongs to "
                "another program, so it was left untouched; give another path",
            )
        raise StorageError(
            self._path,
            f"has schema version {version}, but its tables ({names}) are not the ones "
            "aggregates-course writes for it: it was changed outside aggregates-course",
        )

    @contextmanager
    def _transaction(self, connection: sqlite3.Connection, begin: str) -> Iterator[None]:
        """Run a block inside ``begin`` ... COMMIT, rolling back on any exception."""
        connection.execute(begin)
        try:
            yield
            connection.execute("COMMIT")
        except BaseException:
            # COMMIT itself may fail (disk full, busy); the transaction is then still open.
            if connection.in_transaction:
                try:
                    connection.execute("ROLLBACK")
                except sqlite3.Error:
                    # Closing rolls back too; the next operation opens a fresh connection.
                    connection.close()
                    if connection is self._connection:
                        self._connection = None
            raise

    def _discard(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    @contextmanager
    def _failures_reported(self, *, creating: bool) -> Iterator[None]:
        """Turn every ``sqlite3`` failure inside the block into a ``StorageError``."""
        try:
            yield
        except sqlite3.Error as failure:
            raise StorageError(self._path, self._explain(failure, creating=creating)) from failure

    def _explain(self, failure: sqlite3.Error, *, creating: bool) -> str:
        code = getattr(failure, "sqlite_errorcode", None)
        # Extended codes (SQLITE_CANTOPEN_ISDIR, ...) carry the primary code in their low byte.
        primary = code & 0xFF if isinstance(code, int) else None
        if primary == sqlite3.SQLITE_CANTOPEN:
            return _why_unopenable(self._path, creating=creating)
        if primary == sqlite3.SQLITE_NOTADB:
            return "is not a SQLite database (is it another kind of file?); check the path"
        if primary == sqlite3.SQLITE_CORRUPT:
            return "the database file is damaged (malformed); restore it from a backup"
        if primary == sqlite3.SQLITE_BUSY:
            return (
                f"another connection kept the database locked for more than {self._timeout:g} s; "
                "try again, or give a longer timeout"
            )
        if primary == sqlite3.SQLITE_READONLY:
            return "is read-only: check the permissions of the file and of its folder"
        if primary == sqlite3.SQLITE_FULL:
            return "the disk is full"
        return f"SQLite failed: {failure}"


def _why_unopenable(path: str, *, creating: bool) -> str:
    """Why SQLite could not open ``path``, in the user's terms, found by looking at it."""
    if os.path.isdir(path):
        return "is a folder, not a database file; give the path of a file"
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        return f"the folder {folder} does not exist"
    if not creating and not os.path.exists(path):
        return (
            "does not exist, so no policy was ever saved there; check the path for a typo "
            "(the first save creates the file)"
        )
    return "cannot be opened; check the permissions of the file and of its folder"


def _layout(connection: sqlite3.Connection) -> tuple[tuple[str, str, str], ...]:
    """Every table, index, view and trigger in the file, SQLite's own objects left out."""
    rows = connection.execute(
        "SELECT type, name, sql FROM sqlite_master"
        " WHERE name NOT LIKE 'sqlite!_%' ESCAPE '!' AND sql IS NOT NULL ORDER BY type, name"
    ).fetchall()
    # SQLite keeps each CREATE statement's text; compare it with runs of whitespace collapsed.
    return tuple((kind, name, " ".join(sql.split())) for kind, name, sql in rows)


def _expected_layout() -> tuple[tuple[str, str, str], ...]:
    """The layout :func:`_tables` gives, read from a database built in memory."""
    with closing(sqlite3.connect(IN_MEMORY)) as connection:
        for table in _tables():
            connection.execute(table)
        return _layout(connection)
