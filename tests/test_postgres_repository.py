"""What a server makes testable, beyond the shared contract (tests/test_repository_contract.py).

Schema versioning, every failure of the server as ``StorageError`` naming it,
and saves interrupted in the middle: a connection killed with
``pg_terminate_backend``, a lock held by another transaction. A save is
brought to "the middle" deterministically: another session holds a lock the
save must wait for, and the test polls ``pg_stat_activity`` until the save's
backend is waiting on it; only then does it strike.
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
            row = session.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = 'aggregates-course' AND wait_event_type = 'Lock'"
                " AND query LIKE %s",
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
    with pytest.raises(StorageError, match="another program") as refused:
        repository.load("checkout")
    assert refused.value.store == repository.store
    assert session.execute("SELECT name FROM policies").fetchall() == [("theirs",)]
    assert session.execute("SELECT to_regclass('rules')").fetchone() == (None,)


def test_a_newer_schema_is_refused(
    open_repository: Opener,
    session: Session,
) -> None:
    with pytest.raises(PolicyNotFound):
        open_repository().load("checkout")
    session.execute("UPDATE aggregates_course_schema SET version = 2")
    with pytest.raises(StorageError, match="schema version 2, newer"):
        open_repository().save(MonitoringPolicy("checkout"))


def test_a_stored_row_that_breaks_a_rule_is_a_storage_error(
    open_repository: Opener,
    session: Session,
) -> None:
    repository = open_repository()
    saved(repository)
    session.execute("UPDATE rules SET window_us = -1 WHERE rule_id = 'cpu-hot'")
    with pytest.raises(
        StorageError, match="the stored policy 'checkout' breaks the rules of a policy"
    ):
        repository.load("checkout")


# -- failures name the server, never the password ----------------------------------------


def test_no_server_at_the_address_is_a_storage_error_naming_it(tmp_path: Path) -> None:
    ensure_group("postgres", "psycopg")
    import psycopg

    from aggregates_course.adapters.postgres import PostgresPolicyRepository

    nowhere = f"host={tmp_path} port=5999 dbname=alerts user=service"
    with pytest.raises(StorageError, match="cannot connect") as failed:
        PostgresPolicyRepository(nowhere).load("checkout")
    assert f"{tmp_path}:5999, database 'alerts'" in str(failed.value)
    assert isinstance(failed.value.__cause__, psycopg.OperationalError)


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

    with pytest.raises(ValueError, match="not a PostgreSQL conninfo") as refused:
        PostgresPolicyRepository(f"host=db password={SECRET} oops")
    assert SECRET not in "".join(traceback.format_exception(refused.value))


@pytest.mark.parametrize("lock_timeout", [0, -1.0, float("nan"), float("inf")])
def test_a_lock_timeout_that_is_not_a_positive_number_of_seconds_is_refused(
    lock_timeout: float,
) -> None:
    ensure_group("postgres", "psycopg")
    from aggregates_course.adapters.postgres import PostgresPolicyRepository

    with pytest.raises(ValueError, match="lock_timeout must be a positive number of seconds"):
        PostgresPolicyRepository("dbname=alerts", lock_timeout=lock_timeout)


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
    assert "nothing was written" in str(killed)
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
    with pytest.raises(StorageError, match="load failed"):
        repository.load("checkout")
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
