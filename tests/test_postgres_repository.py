"""What a server makes testable, beyond the shared contract (tests/test_repository_contract.py).

Schema versioning, every failure of the server as ``StorageError`` naming it,
and saves interrupted in the middle: a connection killed with
``pg_terminate_backend``, a lock held by another transaction. A save is
brought to "the middle" deterministically: another session holds a lock the
save must wait for, and the test polls ``pg_stat_activity`` until the save's
backend is waiting on it; only then does it strike. To stop a save inside its
``COMMIT``, a test adds a deferred trigger that takes a lock at commit time.

Messages are compared whole, so that a word dropped or garbled in one fails a
test; the driver's part of a message is its first line, as the repository
quotes it. What a repository's own session is set to (its lock timeout, its
connect timeout) is read from that session, through the ``connection_class``
seam (:class:`Watched`).
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading
import time
import tomllib
import traceback
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from aggregates_course import (
    ActiveRule,
    ConcurrencyConflict,
    MonitoringPolicy,
    PolicyNotFound,
    PolicySnapshot,
    StorageError,
)
from tests.tooling import ROOT, ensure_group

if TYPE_CHECKING:
    from typing import TypeAlias

    import psycopg

    from aggregates_course.adapters.postgres import PostgresPolicyRepository

    Session: TypeAlias = psycopg.Connection[tuple[Any, ...]]
    Opener: TypeAlias = Callable[..., PostgresPolicyRepository]

FIVE_MINUTES = timedelta(minutes=5)
SECRET = "s3cret-never-shown"
# Long enough for a loaded machine; the polls end as soon as their condition holds.
PATIENCE_SECONDS = 30.0


@pytest.fixture(autouse=True)
def no_libpq_defaults_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests find the repository's sessions by their default name; the developer's
    ``PGAPPNAME`` or ``PGCONNECT_TIMEOUT`` must not change it."""
    for variable in ("PGAPPNAME", "PGCONNECT_TIMEOUT"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def database(postgres_database: str) -> str:
    return postgres_database


@pytest.fixture
def open_repository(database: str) -> Iterator[Opener]:
    """Open repositories on the test's database; each is closed after the test."""
    from aggregates_course.adapters.postgres import PostgresPolicyRepository

    opened: list[PostgresPolicyRepository] = []

    def open_one(**options: Any) -> PostgresPolicyRepository:
        repository = PostgresPolicyRepository(database, **options)
        opened.append(repository)
        return repository

    yield open_one
    for repository in opened:
        repository.close()


@pytest.fixture
def session(database: str) -> Iterator[Session]:
    """Another session on the test's database: autocommit, so every query sees the latest."""
    import psycopg

    with psycopg.connect(database, autocommit=True) as connection:
        yield connection


@pytest.fixture
def blocker(database: str) -> Iterator[Session]:
    """A session whose transaction holds locks until the test commits or rolls it back."""
    import psycopg

    with psycopg.connect(database) as connection:
        yield connection
        connection.rollback()


class Watched:
    """A real repository on ``conninfo`` that keeps every session it opens, oldest first.

    Its ``connection_class`` is a psycopg connection that records itself, so a
    test can ask a session what the server set it to, or see that it closed.
    """

    def __init__(self, conninfo: str, **options: Any) -> None:
        import psycopg

        from aggregates_course.adapters.postgres import PostgresPolicyRepository

        self.sessions: list[Session] = []
        sessions = self.sessions

        class RecordingConnection(psycopg.Connection[tuple[Any, ...]]):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                sessions.append(self)

        class RecordingRepository(PostgresPolicyRepository):
            connection_class = RecordingConnection

        self.repository: PostgresPolicyRepository = RecordingRepository(conninfo, **options)

    def setting(self, name: str) -> str:
        """What the server has ``name`` set to in the repository's latest session."""
        row = self.sessions[-1].execute("SELECT current_setting(%s)", (name,)).fetchone()
        assert row is not None
        return str(row[0])

    def parameter(self, name: str) -> str | None:
        """The libpq connection parameter ``name`` of the latest session, if it was given."""
        return self.sessions[-1].info.get_parameters().get(name)


@pytest.fixture
def watch(database: str) -> Iterator[Callable[..., Watched]]:
    """Open :class:`Watched` repositories on the test's database; each is closed after."""
    opened: list[Watched] = []

    def watch_one(conninfo: str = database, **options: Any) -> Watched:
        watched = Watched(conninfo, **options)
        opened.append(watched)
        return watched

    yield watch_one
    for watched in opened:
        watched.repository.close()


def first_line(error: BaseException | None) -> str:
    """The part of the driver's message a StorageError quotes."""
    lines = str(error).strip().splitlines()
    assert lines, f"{error!r} says nothing"
    return lines[0]


def rule(rule_id: str, metric: str = "cpu") -> ActiveRule:
    return ActiveRule(rule_id, metric, FIVE_MINUTES, 0.9)


def saved(repository: PostgresPolicyRepository) -> PolicySnapshot:
    """Store 'checkout' at version 1 (one active, one retired rule); return what is stored."""
    policy = MonitoringPolicy("checkout")
    policy.add_active_rule(rule("cpu-hot"))
    policy.add_active_rule(rule("mem-low", "memory"))
    policy.retire_rule("mem-low", "replaced")
    repository.save(policy)
    return repository.load("checkout").snapshot()


def a_change_to_save(
    repository: PostgresPolicyRepository,
) -> tuple[PolicySnapshot, MonitoringPolicy]:
    """What is stored after :func:`saved`, and a loaded copy that adds the rule 'disk-full'."""
    before = saved(repository)
    changed = repository.load("checkout")
    changed.add_active_rule(rule("disk-full", "disk"))
    return before, changed


class Saving:
    """A save running in its own thread, so the test can act while it is blocked."""

    def __init__(self, repository: PostgresPolicyRepository, policy: MonitoringPolicy) -> None:
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(repository, policy))
        self._thread.start()

    def _run(self, repository: PostgresPolicyRepository, policy: MonitoringPolicy) -> None:
        try:
            repository.save(policy)
        except BaseException as error:  # handed to the test, which asserts on it
            self.error = error

    def wait_until_blocked(self, session: Session, statement: str) -> int:
        """Poll until the save waits on a lock inside ``statement``; return its backend pid."""
        deadline = time.monotonic() + PATIENCE_SECONDS
        while time.monotonic() < deadline:
            # ILIKE: the server ignores the case of SQL keywords, and so does the test.
            row = session.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = 'aggregates-course' AND wait_event_type = 'Lock'"
                " AND query ILIKE %s",
                (statement + "%",),
            ).fetchone()
            if row is not None:
                return int(row[0])
            # The pause between polls is a join: it ends early if the save did not block.
            self._thread.join(0.005)
            if not self._thread.is_alive():
                pytest.fail(f"the save finished without blocking: {self.error!r}")
        pytest.fail(f"the save did not block in {statement!r} within {PATIENCE_SECONDS} s")

    def outcome(self) -> BaseException | None:
        """Wait for the save to end; its exception, or None if it succeeded."""
        self._thread.join(PATIENCE_SECONDS)
        assert not self._thread.is_alive(), "the save never ended"
        return self.error


def hold_insert_of(blocker: Session, policy_id: str, rule_id: str) -> None:
    """Insert a rule row and keep the transaction open: a save inserting that rule must wait."""
    blocker.execute(
        "INSERT INTO rules (policy_id, rule_id, status, position, metric, window_us, threshold)"
        " VALUES (%s, %s, 'active', 99, 'blocking', 1, '0.0')",
        (policy_id, rule_id),
    )


# -- the schema -------------------------------------------------------------------------


def test_first_use_creates_the_schema_at_version_one(
    open_repository: Opener,
    session: Session,
) -> None:
    with pytest.raises(PolicyNotFound):
        open_repository().load("checkout")
    assert session.execute("SELECT version FROM aggregates_course_schema").fetchall() == [(1,)]


def test_processes_meeting_an_empty_database_create_the_schema_once(
    open_repository: Opener,
    session: Session,
) -> None:
    repositories = [open_repository() for _ in range(4)]
    lined_up = threading.Barrier(len(repositories))
    outcomes: list[BaseException] = []

    def first_use(repository: PostgresPolicyRepository) -> None:
        lined_up.wait()
        try:
            repository.load("checkout")
        except BaseException as outcome:
            outcomes.append(outcome)

    threads = [threading.Thread(target=first_use, args=(r,)) for r in repositories]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [type(outcome) for outcome in outcomes] == [PolicyNotFound] * len(repositories), outcomes
    assert session.execute("SELECT version FROM aggregates_course_schema").fetchall() == [(1,)]


def test_another_programs_policies_table_is_refused_and_left_alone(
    open_repository: Opener,
    session: Session,
) -> None:
    session.execute("CREATE TABLE policies (name text PRIMARY KEY, body jsonb)")
    session.execute("INSERT INTO policies VALUES ('theirs', '{}')")
    repository = open_repository()
    with pytest.raises(StorageError) as refused:
        repository.load("checkout")
    assert refused.value.store == repository.store
    assert refused.value.problem == (
        "holds a 'policies' or 'rules' table that another program made (there is no "
        "aggregates_course_schema table); refusing to touch it, use another database or schema"
    )
    assert session.execute("SELECT name FROM policies").fetchall() == [("theirs",)]
    assert session.execute("SELECT to_regclass('rules')").fetchone() == (None,)


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (
            "UPDATE aggregates_course_schema SET version = 2",
            "holds schema version 2, newer than this version of aggregates-course knows (1);"
            " upgrade it",
        ),
        (
            "UPDATE aggregates_course_schema SET version = 0",
            "holds schema version 0, which is not one this version of aggregates-course knows (1)",
        ),
        (
            "INSERT INTO aggregates_course_schema (version) VALUES (2)",
            "holds schema version [1, 2], which is not one this version of aggregates-course"
            " knows (1)",
        ),
        ("DROP TABLE rules", "records our schema but lacks the 'policies' or 'rules' table"),
    ],
    ids=["newer: upgrade", "unknown, not newer", "two versions", "a table missing"],
)
def test_a_schema_this_version_cannot_use_is_refused_saying_why_and_left_alone(
    open_repository: Opener,
    session: Session,
    damage: str,
    problem: str,
) -> None:
    saved(open_repository())
    session.execute(damage)
    left = session.execute("SELECT * FROM policies").fetchall()
    repository = open_repository()
    with pytest.raises(StorageError) as refused:
        repository.save(MonitoringPolicy("payments"))
    assert (refused.value.store, refused.value.problem) == (repository.store, problem)
    assert session.execute("SELECT * FROM policies").fetchall() == left


def test_a_stored_row_that_breaks_a_rule_is_a_storage_error(
    open_repository: Opener,
    session: Session,
) -> None:
    repository = open_repository()
    saved(repository)
    session.execute("UPDATE rules SET window_us = -1 WHERE rule_id = 'cpu-hot'")
    with pytest.raises(StorageError) as broken:
        repository.load("checkout")
    assert broken.value.store == repository.store
    assert broken.value.problem.startswith(
        "the stored policy 'checkout' breaks the rules of a policy ("
    )


def test_a_stored_reason_that_is_not_utf8_is_a_storage_error(
    open_repository: Opener,
    session: Session,
) -> None:
    repository = open_repository()
    saved(repository)
    session.execute("UPDATE rules SET reason = '\\xff'::bytea WHERE status = 'retired'")
    with pytest.raises(StorageError) as broken:
        repository.load("checkout")
    assert broken.value.store == repository.store
    assert broken.value.problem.startswith("the stored policy 'checkout' breaks the rules")


def test_saving_over_a_damaged_stored_version_is_a_storage_error_that_writes_nothing(
    open_repository: Opener,
    session: Session,
) -> None:
    repository = open_repository()
    before, changed = a_change_to_save(repository)
    # Someone dropped the CHECK that keeps versions positive, then broke the row.
    session.execute("ALTER TABLE policies DROP CONSTRAINT policies_version_check")
    session.execute("UPDATE policies SET version = -1")
    with pytest.raises(StorageError) as broken:
        repository.save(changed)
    assert broken.value.store == repository.store
    assert broken.value.problem.startswith(
        "the stored policy 'checkout' breaks the rules of a policy (version must be at least 1"
    )
    assert changed.version == 1
    session.execute("UPDATE policies SET version = 1")
    assert repository.load("checkout").snapshot() == before


# -- failures name the server, never the password ----------------------------------------


def test_no_server_at_the_address_is_a_storage_error_naming_it(tmp_path: Path) -> None:
    ensure_group("postgres", "psycopg")
    import psycopg

    from aggregates_course.adapters.postgres import PostgresPolicyRepository

    nowhere = f"host={tmp_path} port=5999 dbname=alerts user=service"
    with pytest.raises(StorageError) as failed:
        PostgresPolicyRepository(nowhere).load("checkout")
    assert failed.value.store == f"PostgreSQL at {tmp_path}:5999, database 'alerts'"
    assert isinstance(failed.value.__cause__, psycopg.OperationalError)
    assert failed.value.problem == f"cannot connect: {first_line(failed.value.__cause__)}"


def test_a_refused_login_is_a_storage_error_that_never_shows_the_password(
    database: str,
) -> None:
    import psycopg
    from psycopg.conninfo import make_conninfo

    from aggregates_course.adapters.postgres import PostgresPolicyRepository

    stranger = make_conninfo(database, user="no_such_role", password=SECRET)
    repository = PostgresPolicyRepository(stranger)
    with pytest.raises(StorageError, match="cannot connect") as refused:
        repository.save(MonitoringPolicy("checkout"))
    assert isinstance(refused.value.__cause__, psycopg.OperationalError)
    everything_shown = "".join(traceback.format_exception(refused.value)) + repr(repository)
    assert SECRET not in everything_shown
    assert "no_such_role" in everything_shown


PG_VARIABLES = ("PGHOST", "PGPORT", "PGDATABASE")


@pytest.mark.parametrize(
    ("conninfo", "variables", "named"),
    [
        (
            "host=db.internal port=6432 dbname=alerts",
            {"PGHOST": "ignored", "PGPORT": "1", "PGDATABASE": "ignored"},
            "PostgreSQL at db.internal:6432, database 'alerts'",
        ),
        (
            "user=service",
            {"PGHOST": "from-env", "PGPORT": "6543", "PGDATABASE": "env_db"},
            "PostgreSQL at from-env:6543, database 'env_db'",
        ),
        (
            "user=service",
            {},
            "PostgreSQL at the default host:5432, database 'the default database'",
        ),
    ],
    ids=["from the conninfo", "from PG variables", "libpq's defaults"],
)
def test_a_repository_names_its_server_as_libpq_would_find_it(
    monkeypatch: pytest.MonkeyPatch, conninfo: str, variables: dict[str, str], named: str
) -> None:
    # What the conninfo leaves out, libpq takes from the environment; the name says the same.
    ensure_group("postgres", "psycopg")
    from aggregates_course.adapters.postgres import PostgresPolicyRepository, describe_server

    for variable in PG_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    for variable, value in variables.items():
        monkeypatch.setenv(variable, value)
    assert describe_server(conninfo) == named
    assert PostgresPolicyRepository(conninfo).store == named
    assert repr(PostgresPolicyRepository(conninfo)) == f"<PostgresPolicyRepository {named}>"


def test_a_conninfo_that_does_not_parse_is_refused_without_repeating_it() -> None:
    ensure_group("postgres", "psycopg")
    from aggregates_course.adapters.postgres import PostgresPolicyRepository

    with pytest.raises(ValueError, match=r"^not a PostgreSQL conninfo") as refused:
        PostgresPolicyRepository(f"host=db password={SECRET} oops")
    assert str(refused.value) == (
        "not a PostgreSQL conninfo: expected 'key=value' pairs or a postgresql:// URI"
    )
    assert SECRET not in "".join(traceback.format_exception(refused.value))


@pytest.mark.parametrize("lock_timeout", [0, -1.0, float("nan"), float("inf")])
def test_a_lock_timeout_that_is_not_a_positive_number_of_seconds_is_refused(
    lock_timeout: float,
) -> None:
    ensure_group("postgres", "psycopg")
    from aggregates_course.adapters.postgres import PostgresPolicyRepository

    with pytest.raises(ValueError, match="lock_timeout must be a positive number of seconds"):
        PostgresPolicyRepository("dbname=alerts", lock_timeout=lock_timeout)


@pytest.mark.parametrize(("lock_timeout", "named"), [("30", "str"), (True, "bool")])
def test_a_lock_timeout_that_is_not_a_number_is_refused_naming_its_type(
    lock_timeout: object, named: str
) -> None:
    ensure_group("postgres", "psycopg")
    from aggregates_course.adapters.postgres import PostgresPolicyRepository

    with pytest.raises(TypeError) as refused:
        PostgresPolicyRepository("dbname=alerts", lock_timeout=lock_timeout)  # type: ignore[arg-type]
    assert str(refused.value) == f"lock_timeout must be a number of seconds or None, not {named}"


def test_a_driver_error_without_a_message_is_named_by_its_type() -> None:
    # StorageError quotes the first line of the driver's message; an empty one says nothing.
    ensure_group("postgres", "psycopg")
    import psycopg

    from aggregates_course.adapters.postgres import _first_line

    assert _first_line(psycopg.OperationalError("  \n")) == "OperationalError"
    assert _first_line(psycopg.OperationalError("lost\nDETAIL: x")) == "lost"


# -- the repository's session ------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "shown"),
    [({}, "30s"), ({"lock_timeout": 0.25}, "250ms"), ({"lock_timeout": 0.0001}, "1ms")],
    ids=["30 s by default", "in milliseconds", "never rounded down to no limit"],
)
def test_the_lock_timeout_reaches_the_session_in_milliseconds(
    watch: Callable[..., Watched], options: dict[str, Any], shown: str
) -> None:
    watched = watch(**options)
    saved(watched.repository)
    assert watched.setting("lock_timeout") == shown


def test_no_lock_timeout_lets_the_session_wait_as_long_as_it_takes(
    watch: Callable[..., Watched],
) -> None:
    watched = watch(lock_timeout=None)
    saved(watched.repository)
    assert watched.setting("lock_timeout") == "0"  # PostgreSQL's "no limit"


def test_by_default_a_session_waits_ten_seconds_for_the_server(
    watch: Callable[..., Watched],
) -> None:
    watched = watch()
    saved(watched.repository)
    assert watched.parameter("connect_timeout") == "10"


def test_the_conninfos_connect_timeout_is_kept(
    watch: Callable[..., Watched], database: str
) -> None:
    from psycopg.conninfo import make_conninfo

    watched = watch(make_conninfo(database, connect_timeout=3))
    saved(watched.repository)
    assert watched.parameter("connect_timeout") == "3"


def test_pgconnect_timeout_in_the_environment_is_kept(
    watch: Callable[..., Watched], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "4")
    watched = watch()
    saved(watched.repository)
    assert watched.parameter("connect_timeout") == "4"


def application_names(session: Session) -> list[str]:
    """The names of the sessions on this database, other than ``session`` itself."""
    rows = session.execute(
        "SELECT application_name FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    ).fetchall()
    return [str(name) for (name,) in rows]


def test_by_default_the_session_is_named_aggregates_course_for_operators(
    open_repository: Opener, session: Session
) -> None:
    saved(open_repository())
    assert application_names(session) == ["aggregates-course"]


def test_the_conninfos_application_name_is_kept(session: Session, database: str) -> None:
    from psycopg.conninfo import make_conninfo

    from aggregates_course.adapters.postgres import PostgresPolicyRepository

    with PostgresPolicyRepository(make_conninfo(database, application_name="billing")) as named:
        saved(named)
        assert application_names(session) == ["billing"]


def test_pgappname_in_the_environment_is_kept(
    session: Session, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aggregates_course.adapters.postgres import PostgresPolicyRepository

    monkeypatch.setenv("PGAPPNAME", "billing-worker")
    with PostgresPolicyRepository(database) as named:
        saved(named)
        assert application_names(session) == ["billing-worker"]


def test_close_ends_the_session_and_the_next_call_opens_another(
    watch: Callable[..., Watched],
) -> None:
    watched = watch()
    saved(watched.repository)
    watched.repository.close()
    assert watched.sessions[0].closed
    assert watched.repository.load("checkout").version == 1
    assert [session.closed for session in watched.sessions] == [True, False]


def test_closing_twice_is_harmless(watch: Callable[..., Watched]) -> None:
    watched = watch()
    saved(watched.repository)
    watched.repository.close()
    watched.repository.close()
    assert watched.repository.load("checkout").version == 1


def test_a_refused_save_keeps_the_session_for_the_next_call(
    watch: Callable[..., Watched],
) -> None:
    watched = watch()
    _, late = a_change_to_save(watched.repository)
    watched.repository.save(watched.repository.load("checkout"))
    with pytest.raises(ConcurrencyConflict):
        watched.repository.save(late)
    assert watched.repository.load("checkout").version == 2
    assert len(watched.sessions) == 1  # rolled back, not thrown away


def test_a_session_closed_under_the_repository_is_replaced_even_after_a_refused_attempt(
    watch: Callable[..., Watched], session: Session
) -> None:
    watched = watch()
    saved(watched.repository)
    watched.sessions[0].close()
    session.execute("UPDATE aggregates_course_schema SET version = 2")
    with pytest.raises(StorageError, match="schema version 2"):
        watched.repository.load("checkout")
    session.execute("UPDATE aggregates_course_schema SET version = 1")
    assert watched.repository.load("checkout").version == 1


# -- interrupted saves ---------------------------------------------------------------------


def test_a_connection_killed_mid_save_leaves_the_stored_policy_as_it_was(
    open_repository: Opener,
    session: Session,
    blocker: Session,
) -> None:
    import psycopg

    repository = open_repository()
    before, changed = a_change_to_save(repository)
    changed.retire_rule("cpu-hot", "too noisy")
    hold_insert_of(blocker, "checkout", "disk-full")
    saving = Saving(repository, changed)
    # Waiting in the rule inserts: the version is bumped and the old rules deleted, uncommitted.
    backend = saving.wait_until_blocked(session, "INSERT INTO rules")
    assert session.execute("SELECT pg_terminate_backend(%s)", (backend,)).fetchone() == (True,)

    killed = saving.outcome()
    assert isinstance(killed, StorageError)
    assert isinstance(killed.__cause__, psycopg.OperationalError)
    assert killed.problem == f"save failed, nothing was written: {first_line(killed.__cause__)}"
    blocker.rollback()
    assert open_repository().load("checkout").snapshot() == before


def test_the_repository_reconnects_after_its_connection_was_killed(
    open_repository: Opener,
    session: Session,
) -> None:
    repository = open_repository()
    saved(repository)
    session.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name = 'aggregates-course'"
    )
    with pytest.raises(StorageError) as lost:
        repository.load("checkout")
    assert lost.value.problem == f"load failed: {first_line(lost.value.__cause__)}"
    again = repository.load("checkout")
    repository.save(again)
    assert again.version == 2


def test_a_save_blocked_by_a_writer_that_commits_waits_then_conflicts(
    open_repository: Opener,
    session: Session,
    blocker: Session,
) -> None:
    repository = open_repository()
    _, late = a_change_to_save(repository)
    # Another writer: it moved the policy to version 2 and has not committed yet.
    blocker.execute("UPDATE policies SET version = 2 WHERE policy_id = 'checkout'")
    winner = open_repository().load("checkout").snapshot()
    saving = Saving(repository, late)
    saving.wait_until_blocked(session, "UPDATE policies")
    blocker.commit()

    conflict = saving.outcome()
    assert isinstance(conflict, ConcurrencyConflict)
    assert (conflict.expected, conflict.actual) == (1, 2)
    stored = open_repository().load("checkout").snapshot()
    assert (stored.version, stored.active_rules) == (2, winner.active_rules)


def test_a_save_blocked_by_a_transaction_that_rolls_back_waits_then_succeeds(
    open_repository: Opener,
    session: Session,
    blocker: Session,
) -> None:
    repository = open_repository()
    _, changed = a_change_to_save(repository)
    blocker.execute("SELECT version FROM policies WHERE policy_id = 'checkout' FOR UPDATE")
    saving = Saving(repository, changed)
    saving.wait_until_blocked(session, "UPDATE policies")
    blocker.rollback()

    assert saving.outcome() is None
    assert open_repository().load("checkout").snapshot() == changed.snapshot()


def test_a_save_that_waits_past_the_lock_timeout_fails_and_writes_nothing(
    open_repository: Opener,
    blocker: Session,
) -> None:
    # The lock is held until after the save gave up, so the timeout always fires.
    impatient = open_repository(lock_timeout=0.05)
    before, changed = a_change_to_save(impatient)
    hold_insert_of(blocker, "checkout", "disk-full")
    with pytest.raises(StorageError, match=r"nothing was written: .*lock timeout"):
        impatient.save(changed)
    assert changed.version == 1
    blocker.rollback()
    assert impatient.load("checkout").snapshot() == before
    impatient.save(changed)
    assert open_repository().load("checkout").snapshot() == changed.snapshot()


def test_a_policy_deleted_since_it_was_loaded_conflicts_with_version_zero(
    open_repository: Opener,
    session: Session,
) -> None:
    repository = open_repository()
    _, changed = a_change_to_save(repository)
    session.execute("DELETE FROM rules")
    session.execute("DELETE FROM policies")
    with pytest.raises(ConcurrencyConflict) as conflict:
        repository.save(changed)
    assert (conflict.value.expected, conflict.value.actual) == (1, 0)
    with pytest.raises(PolicyNotFound):
        repository.load("checkout")


# A deferred trigger runs inside COMMIT: the test makes one that waits on an advisory lock
# (so a save can be caught in its COMMIT) or that fails (so the server refuses the COMMIT).
_AT_COMMIT_TRIGGER = (
    "CREATE CONSTRAINT TRIGGER at_commit AFTER INSERT OR UPDATE ON policies"
    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION at_commit()"
)
COMMIT_LOCK = 4242
_WAIT_AT_COMMIT = (
    "CREATE FUNCTION at_commit() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NULL; END $$"
)
_FAIL_AT_COMMIT = (
    "CREATE FUNCTION at_commit() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$"
)


def test_a_connection_lost_while_committing_says_the_outcome_is_unknown(
    open_repository: Opener,
    session: Session,
    blocker: Session,
) -> None:
    import psycopg

    repository = open_repository()
    _, changed = a_change_to_save(repository)
    session.execute(_WAIT_AT_COMMIT)
    session.execute(_AT_COMMIT_TRIGGER)
    blocker.execute("SELECT pg_advisory_xact_lock(%s)", (COMMIT_LOCK,))
    saving = Saving(repository, changed)
    backend = saving.wait_until_blocked(session, "COMMIT")
    session.execute("SELECT pg_terminate_backend(%s)", (backend,))

    lost = saving.outcome()
    assert isinstance(lost, StorageError)
    assert isinstance(lost.__cause__, psycopg.OperationalError)
    assert lost.store == repository.store
    assert lost.problem == (
        "the connection was lost while committing, so the save may or may not be stored; "
        f"load the policy again to see: {first_line(lost.__cause__)}"
    )
    assert changed.version == 1  # not marked saved: nobody knows it was
    blocker.rollback()
    assert repository.load("checkout").version == 1  # on a new connection


def test_a_commit_the_server_refuses_writes_nothing(
    open_repository: Opener,
    session: Session,
) -> None:
    import psycopg

    repository = open_repository()
    before, changed = a_change_to_save(repository)
    session.execute(_FAIL_AT_COMMIT)
    session.execute(_AT_COMMIT_TRIGGER)
    with pytest.raises(StorageError) as refused:
        repository.save(changed)
    assert isinstance(refused.value.__cause__, psycopg.errors.RaiseException)
    assert refused.value.problem == "save failed, nothing was written: refused at commit"
    assert changed.version == 1
    assert repository.load("checkout").snapshot() == before


# -- processes ---------------------------------------------------------------------------------


def _save_in_child(repository: PostgresPolicyRepository, policy_id: str) -> None:
    repository.save(MonitoringPolicy(policy_id))


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method"
)
def test_an_instance_carried_across_fork_opens_its_own_connection_in_the_child(
    open_repository: Opener,
) -> None:
    repository = open_repository()
    saved(repository)  # the parent's connection is open when the child is forked
    child = multiprocessing.get_context("fork").Process(
        target=_save_in_child, args=(repository, "payments")
    )
    child.start()
    child.join(PATIENCE_SECONDS)
    assert child.exitcode == 0
    assert repository.load("payments").version == 1  # the parent's session still works


def _close_in_child(repository: PostgresPolicyRepository) -> None:
    repository.close()


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method"
)
def test_closing_an_instance_in_a_forked_child_leaves_the_parents_session_alone(
    watch: Callable[..., Watched],
) -> None:
    watched = watch()
    saved(watched.repository)
    child = multiprocessing.get_context("fork").Process(
        target=_close_in_child, args=(watched.repository,)
    )
    child.start()
    child.join(PATIENCE_SECONDS)
    assert child.exitcode == 0
    assert watched.repository.load("checkout").version == 1
    assert len(watched.sessions) == 1  # the same session as before the fork


# -- packaging ---------------------------------------------------------------------------------


def test_importing_the_module_without_psycopg_names_the_extra() -> None:
    hide_psycopg = (
        "import sys; sys.modules['psycopg'] = None\n"
        "try:\n    import aggregates_course.adapters.postgres\n"
        "except ImportError as missing:\n    print(missing)\n"
    )
    probe = subprocess.run(
        [sys.executable, "-c", hide_psycopg], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert "pip install 'aggregates-course[postgres]'" in probe.stdout


def test_the_postgres_group_installs_what_the_extra_does() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extra = project["project"]["optional-dependencies"]["postgres"]
    assert project["dependency-groups"]["postgres"] == extra
