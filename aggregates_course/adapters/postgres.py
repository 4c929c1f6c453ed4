"""A repository that stores policies in a PostgreSQL database, through psycopg 3.

Install the driver with the ``postgres`` extra:
``pip install 'aggregates-course[postgres]'``. This module is not imported by
``aggregates_course`` itself, so the package stays standard-library only;
import it by name::

    from aggregates_course.adapters.postgres import PostgresPolicyRepository

    repository = PostgresPolicyRepository("host=db.internal dbname=alerts user=service")

The tables are created on first use, with a schema version; see
:class:`PostgresPolicyRepository` for how a save checks the version and what
it raises when the server fails.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

try:
    import psycopg
    from psycopg import pq
    from psycopg.conninfo import conninfo_to_dict
except ImportError as missing:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "aggregates_course.adapters.postgres needs psycopg 3, which the 'postgres' extra "
        "installs: pip install 'aggregates-course[postgres]'",
        name=missing.name,
    ) from missing

from aggregates_course.adapters.closing import ClosedOnExit
from aggregates_course.adapters.errors import StorageError
from aggregates_course.adapters.repository import require_policy, require_policy_id
from aggregates_course.adapters.rows import (
    POLICY_COLUMNS,
    RULE_COLUMNS,
    RuleRow,
    create_table,
    policy_from_rows,
    rule_rows,
    stored_version,
)
from aggregates_course.domain.errors import ConcurrencyConflict, PolicyNotFound
from aggregates_course.domain.policy import MonitoringPolicy, PolicySnapshot

SCHEMA_VERSION = 1
"""The schema this module writes and reads; a database holding a newer one is refused."""

SCHEMA_TABLE = "aggregates_course_schema"
"""The one-row table that records :data:`SCHEMA_VERSION` in the database."""

# The layout of aggregates_course.adapters.rows, but for the reason: UTF-8 in a bytea,
# because a reason may hold NUL, which a text column cannot.
_TYPES = {"text": "text", "integer": "integer", "big integer": "bigint", "reason": "bytea"}


def _create_schema() -> tuple[str, ...]:
    """The statements that create the tables of :data:`SCHEMA_VERSION` and record it."""
    return (
        "CREATE TABLE aggregates_course_schema (version integer NOT NULL)",
        "INSERT INTO aggregates_course_schema (version) VALUES (1)",
        create_table("policies", POLICY_COLUMNS, _TYPES),
        create_table("rules", RULE_COLUMNS, _TYPES, key="PRIMARY KEY (policy_id, rule_id)"),
    )


# Which of our tables exist, resolved through the connection's search_path.
_PROBE_SCHEMA = (
    "SELECT to_regclass('aggregates_course_schema') IS NOT NULL,"
    " to_regclass('policies') IS NOT NULL, to_regclass('rules') IS NOT NULL"
)
# Any constant works; it only has to be the same in every process creating the schema.
_SCHEMA_LOCK_KEY = 0x61676772_65676174

# One statement is one snapshot, so the version and the rules come from the same commit.
_LOAD = """
    SELECT p.version, r.status, r.rule_id, r.metric, r.window_us, r.threshold, r.reason
    FROM policies AS p LEFT JOIN rules AS r ON r.policy_id = p.policy_id
    WHERE p.policy_id = %s
    ORDER BY r.status, r.position
"""
_INSERT_NEW = (
    "INSERT INTO policies (policy_id, version) VALUES (%s, 1) ON CONFLICT (policy_id) DO NOTHING"
)
# The version check: it matches a row only if nobody saved since this copy was loaded.
_UPDATE_IF_UNCHANGED = "UPDATE policies SET version = %s WHERE policy_id = %s AND version = %s"
_STORED_VERSION = "SELECT version FROM policies WHERE policy_id = %s"
_DELETE_RULES = "DELETE FROM rules WHERE policy_id = %s"
_INSERT_RULE = (
    "INSERT INTO rules (policy_id, rule_id, status, position, metric, window_us, threshold,"
    " reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)

# What a repository's sessions use unless the conninfo or libpq's environment variable sets
# it: a bounded wait for the server, and a name that tells an operator which sessions in
# pg_stat_activity are ours.
_SESSION_DEFAULTS: tuple[tuple[str, str, object], ...] = (
    ("connect_timeout", "PGCONNECT_TIMEOUT", 10),
    ("application_name", "PGAPPNAME", "aggregates-course"),
)


def describe_server(conninfo: str) -> str:
    """Name the server and database ``conninfo`` points at, never its password.

    Parts the conninfo leaves out come from the ``PGHOST``, ``PGPORT`` and
    ``PGDATABASE`` variables, as libpq takes them. Raises ``ValueError`` for a
    conninfo that does not parse, without repeating it (it may hold a password).
    """
    params = _parse(conninfo)
    host = params.get("host") or os.environ.get("PGHOST") or "the default host"
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    database = params.get("dbname") or os.environ.get("PGDATABASE") or "the default database"
    return f"PostgreSQL at {host}:{port}, database {str(database)!r}"


def _parse(conninfo: str) -> dict[str, Any]:
    try:
        return conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        raise ValueError(
            "not a PostgreSQL conninfo: expected 'key=value' pairs or a postgresql:// URI"
        ) from None


class PostgresPolicyRepository(ClosedOnExit):
    """A :class:`~aggregates_course.adapters.repository.PolicyRepository` on PostgreSQL.

    ``conninfo`` is a libpq connection string (``"host=... dbname=..."`` or a
    ``postgresql://`` URI). The connection is opened on first use; the
    tables are created then if the database has none, recorded as schema
    version :data:`SCHEMA_VERSION`. Its session is named ``aggregates-course``
    (``application_name``, as ``pg_stat_activity`` shows it) and waits at
    most 10 seconds for the server (``connect_timeout``), unless the conninfo
    or libpq's ``PGAPPNAME`` and ``PGCONNECT_TIMEOUT`` say otherwise.

    **Load** is one ``SELECT`` (one snapshot): the version and the rules
    always come from the same commit. **Save** is one ``READ COMMITTED``
    transaction: ``UPDATE policies SET version = v + 1 ... WHERE version = v``
    (for a new policy, an ``INSERT ... ON CONFLICT DO NOTHING``), then the
    whole rule set is rewritten. If that statement changed no row, someone
    saved first: the transaction is rolled back and
    :class:`~aggregates_course.domain.errors.ConcurrencyConflict` is raised
    with the version this copy was loaded at and the one stored. The updated
    row stays locked until commit, so a second writer waits, then re-checks
    its ``WHERE`` against the committed row and conflicts: no lost update,
    and no serialization failure to retry.

    **Failures** of the server raise
    :class:`~aggregates_course.adapters.errors.StorageError` naming host,
    port and database (never the password), with psycopg's exception as
    ``__cause__``: cannot connect, authentication refused, connection lost,
    a lock waited on longer than ``lock_timeout`` seconds (``None``: wait as
    long as it takes), tables of another program or of a newer schema, a
    stored row that breaks the domain's rules. A failed save leaves the
    database as it was; only a connection lost while committing leaves the
    outcome unknown, and the message says to reload. The next call after a
    lost connection opens a new one.

    **Threads** may share one instance: it holds one connection, and each
    load or save holds the instance's lock, so threads take turns.
    **Processes** each open their own instance (or carry one across ``fork``:
    a child never uses the parent's connection, it opens its own); the
    database, not the instance, keeps them consistent. No connection pool
    (``psycopg_pool``) is used: one connection per instance is what a
    repository per process needs, and a pool would add a dependency to save
    a connect that happens once.
    """

    connection_class: type[psycopg.Connection[tuple[Any, ...]]] = psycopg.Connection
    """The connection type to open; a subclass may swap it to watch the sessions it opens."""

    def __init__(self, conninfo: str, *, lock_timeout: float | None = 30.0) -> None:
        # The same rule as SqlitePolicyRepository's timeout: True is not a number of seconds.
        if isinstance(lock_timeout, bool) or not isinstance(lock_timeout, int | float | None):
            raise TypeError(
                "lock_timeout must be a number of seconds or None, "
                f"not {type(lock_timeout).__name__}"
            )
        if lock_timeout is not None and not (0 < lock_timeout < math.inf):
            raise ValueError(
                f"lock_timeout must be a positive number of seconds or None, not {lock_timeout!r}"
            )
        self._store = describe_server(conninfo)
        params = _parse(conninfo)
        self._conninfo = conninfo
        # Passed to connect() only where neither the conninfo nor the environment has a say:
        # an explicit option would outrank the environment variable libpq reads.
        self._connect_options: dict[str, Any] = {
            option: default
            for option, variable, default in _SESSION_DEFAULTS
            if option not in params and not os.environ.get(variable)
        }
        # PostgreSQL counts lock_timeout in milliseconds, and 0 means no limit.
        self._lock_timeout_ms = 0 if lock_timeout is None else max(1, round(lock_timeout * 1000))
        self._lock = threading.Lock()
        self._connection: psycopg.Connection[tuple[Any, ...]] | None = None
        self._connected_in = 0  # the pid that opened _connection

    @property
    def store(self) -> str:
        """The server and database this repository uses, as error messages name it."""
        return self._store

    # -- the PolicyRepository contract ------------------------------------------

    def load(self, policy_id: str) -> MonitoringPolicy:
        """Return a new policy read from the database, or raise :class:`PolicyNotFound`.

        Raises :class:`StorageError` when the server fails or the stored rows
        break the domain's rules.
        """
        policy_id = require_policy_id(policy_id)
        with self._lock, self._failures("load failed"):
            rows = self._connect().execute(_LOAD, (policy_id,)).fetchall()
        if not rows:
            raise PolicyNotFound(policy_id)
        # The LEFT JOIN gives a policy without rules one row whose rule columns are NULL.
        rules = [
            (status, rule_id, metric, window_us, threshold, _decoded(reason))
            for _, status, rule_id, metric, window_us, threshold, reason in rows
            if status is not None
        ]
        return policy_from_rows(self._store, policy_id, rows[0][0], rules)

    def save(self, policy: MonitoringPolicy) -> None:
        """Write the whole policy at version + 1 in one transaction, or raise.

        Raises :class:`ConcurrencyConflict`, writing nothing, when the stored
        version differs from ``policy.version``; :class:`StorageError` when
        the server fails (nothing written, unless the message says the
        connection was lost while committing).
        """
        snapshot = require_policy(policy).snapshot()
        new_version = snapshot.version + 1
        with self._lock, self._failures("save failed, nothing was written"):
            connection = self._connect()
            connection.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            try:
                self._write(connection, snapshot, new_version)
            except BaseException:
                self._roll_back(connection)
                raise
            try:
                connection.execute("COMMIT")
            except psycopg.Error as error:
                if not connection.broken:
                    raise  # the server refused the commit and rolled back
                self._connection = None
                raise StorageError(
                    self._store,
                    "the connection was lost while committing, so the save may or may not "
                    f"be stored; load the policy again to see: {_first_line(error)}",
                ) from error
        policy.mark_saved(new_version)

    # -- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        """Close the connection; the next call opens a new one."""
        with self._lock:
            connection, self._connection = self._connection, None
            # A connection inherited across fork belongs to the parent: leave it alone.
            if connection is not None and self._connected_in == os.getpid():
                connection.close()

    def __repr__(self) -> str:
        return f"<PostgresPolicyRepository {self._store}>"

    # -- internals ---------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        connection = self._connection
        if connection is not None and self._connected_in == os.getpid() and not connection.closed:
            return connection
        # Dropped without close(): after fork the socket is the parent's, and psycopg
        # itself never closes a connection in a process that did not open it.
        self._connection = None
        try:
            connection = self.connection_class.connect(
                self._conninfo, autocommit=True, **self._connect_options
            )
        except psycopg.Error as error:
            raise StorageError(self._store, f"cannot connect: {_first_line(error)}") from error
        try:
            connection.execute(
                "SELECT set_config('lock_timeout', %s, false)", (str(self._lock_timeout_ms),)
            )
            _ensure_schema(connection, self._store)
        except BaseException:
            connection.close()
            raise
        self._connection, self._connected_in = connection, os.getpid()
        return connection

    @contextmanager
    def _failures(self, problem: str) -> Iterator[None]:
        """Turn psycopg's errors into :class:`StorageError`; forget a broken connection."""
        try:
            yield
        except psycopg.Error as error:
            connection = self._connection
            if connection is not None and (connection.broken or connection.closed):
                self._connection = None
            raise StorageError(self._store, f"{problem}: {_first_line(error)}") from error

    def _roll_back(self, connection: psycopg.Connection[tuple[Any, ...]]) -> None:
        # The connection may be gone already; then the server rolled back for us.
        if connection.info.transaction_status == pq.TransactionStatus.IDLE:
            return
        try:
            connection.execute("ROLLBACK")
        except psycopg.Error:
            connection.close()

    def _write(
        self,
        connection: psycopg.Connection[tuple[Any, ...]],
        snapshot: PolicySnapshot,
        new_version: int,
    ) -> None:
        policy_id = snapshot.policy_id
        if snapshot.version == 0:
            claimed = connection.execute(_INSERT_NEW, (policy_id,))
        else:
            claimed = connection.execute(
                _UPDATE_IF_UNCHANGED, (new_version, policy_id, snapshot.version)
            )
        if claimed.rowcount != 1:
            row = connection.execute(_STORED_VERSION, (policy_id,)).fetchone()
            found = 0 if row is None else stored_version(self._store, policy_id, row[0])
            raise ConcurrencyConflict(policy_id, snapshot.version, found)
        connection.execute(_DELETE_RULES, (policy_id,))
        with connection.cursor() as cursor:
            cursor.executemany(_INSERT_RULE, [_encoded(row) for row in rule_rows(snapshot)])


def _ensure_schema(connection: psycopg.Connection[tuple[Any, ...]], store: str) -> None:
    """Check the tables are ours at a version we know; create them in an empty database."""
    ours, *others = _probe(connection)
    if not ours:
        # Two processes may meet an empty database at once: one creates, the other waits.
        # A session lock, taken outside the transaction: a transaction that started
        # before the other process committed could still see the tables as missing.
        connection.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK_KEY,))
        try:
            with connection.transaction():
                ours, *others = _probe(connection)
                if not ours and not any(others):
                    for statement in _create_schema():
                        connection.execute(statement)
                    return
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK_KEY,))
    if not ours:
        raise StorageError(
            store,
            "holds a 'policies' or 'rules' table that another program made (there is no "
            f"{SCHEMA_TABLE} table); refusing to touch it, use another database or schema",
        )
    versions = [
        row[0] for row in connection.execute("SELECT version FROM aggregates_course_schema")
    ]
    if versions != [SCHEMA_VERSION]:
        found = versions[0] if len(versions) == 1 else versions
        newer = isinstance(found, int) and found > SCHEMA_VERSION
        raise StorageError(
            store,
            f"holds schema version {found}, "
            + (
                f"newer than this version of aggregates-course knows ({SCHEMA_VERSION}); upgrade it"
                if newer
                else f"which is not one this version of aggregates-course knows ({SCHEMA_VERSION})"
            ),
        )
    if not all(others):
        raise StorageError(store, "records our schema but lacks the 'policies' or 'rules' table")


def _probe(connection: psycopg.Connection[tuple[Any, ...]]) -> tuple[bool, bool, bool]:
    row = connection.execute(_PROBE_SCHEMA).fetchone()
    assert row is not None  # a SELECT without FROM always returns its one row
    return bool(row[0]), bool(row[1]), bool(row[2])


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _encoded(row: RuleRow) -> tuple[object, ...]:
    """A row of :func:`rule_rows` as this schema stores it: the reason as UTF-8 bytes."""
    *columns, reason = row
    return (*columns, None if reason is None else reason.encode("utf-8"))


def _decoded(reason: object) -> object:
    """A stored reason back as text; anything else is left for the row checks to refuse."""
    if isinstance(reason, bytes | bytearray | memoryview):
        # Bytes that are not UTF-8 stay bytes, which RetiredRule refuses as a reason.
        with suppress(UnicodeDecodeError):
            return bytes(reason).decode("utf-8")
    return reason
