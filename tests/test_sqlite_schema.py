"""SqlitePolicyRepository and its schema: versioned, checked on first use, never guessed.

The file's ``PRAGMA user_version`` says which layout it holds. An empty file
gets the current one; a file holding our exact tables from before versions
existed is stamped; anything else (another program's tables, a newer
version, tables changed by hand) is refused with ``StorageError`` and left
byte for byte as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregates_course import (
    ActiveRule,
    DomainError,
    MonitoringPolicy,
    PolicyNotFound,
    SqlitePolicyRepository,
    StorageError,
)
from aggregates_course.adapters.sqlite import SCHEMA_VERSION
from tests.sqlite_support import Instrumented

# The schema as written before it had a version: files like this exist on learners' disks.
# A frozen copy on purpose: it must not follow later changes to the tables in sqlite.py.
UNVERSIONED_SCHEMA = """
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


def user_version(path: Path) -> int:
    with closing(sqlite3.connect(path)) as connection:
        version: int = connection.execute("PRAGMA user_version").fetchone()[0]
        return version


def tables(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return sorted(name for (name,) in rows)


def write_script(path: Path, script: str) -> None:
    """Run ``script`` on ``path`` outside the repository, as another program would."""
    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(script)


def one_rule_policy(policy_id: str = "checkout") -> MonitoringPolicy:
    policy = MonitoringPolicy(policy_id)
    policy.add_active_rule(ActiveRule("cpu-hot", "cpu", timedelta(minutes=5), 0.9))
    return policy


@pytest.fixture
def ours(tmp_path: Path) -> Path:
    """A file written by this version, holding ``checkout``."""
    path = tmp_path / "policies.db"
    with SqlitePolicyRepository(path) as repository:
        repository.save(one_rule_policy())
    return path


def refused_untouched(path: Path) -> StorageError:
    """The StorageError both a load and a save raise on ``path``, which neither may change."""
    before = path.read_bytes()
    failures: list[StorageError] = []
    uses: list[Callable[[SqlitePolicyRepository], object]] = [
        lambda repository: repository.load("checkout"),
        lambda repository: repository.save(one_rule_policy("payments")),
    ]
    for use in uses:
        with SqlitePolicyRepository(path) as repository, pytest.raises(StorageError) as failed:
            use(repository)
        failures.append(failed.value)
    assert path.read_bytes() == before
    assert failures[0].problem == failures[1].problem
    assert str(path) in str(failures[0])
    assert not isinstance(failures[0], DomainError)
    return failures[0]


# -- what a new or empty file gets ------------------------------------------------------


def test_a_new_file_is_stamped_with_the_current_schema_version(ours: Path) -> None:
    assert user_version(ours) == SCHEMA_VERSION == 1


def test_an_empty_file_gets_the_current_schema_on_first_load(tmp_path: Path) -> None:
    path = tmp_path / "policies.db"
    path.touch()
    with SqlitePolicyRepository(path) as repository, pytest.raises(PolicyNotFound):
        repository.load("checkout")
    assert (tables(path), user_version(path)) == (["policies", "rules"], SCHEMA_VERSION)


def test_a_file_from_before_schema_versions_is_stamped_and_keeps_its_policies(
    tmp_path: Path,
) -> None:
    path = tmp_path / "policies.db"
    write_script(path, UNVERSIONED_SCHEMA)
    write_script(
        path,
        "INSERT INTO policies VALUES ('checkout', 3);"
        "INSERT INTO rules VALUES ('checkout', 'cpu-hot', 'active', 0, 'cpu', 300000000,"
        " '0.9', NULL);",
    )
    with SqlitePolicyRepository(path) as repository:
        loaded = repository.load("checkout")
    assert (loaded.version, [r.rule_id for r in loaded.active_rules]) == (3, ["cpu-hot"])
    assert user_version(path) == SCHEMA_VERSION


def test_a_schema_created_meanwhile_by_another_instance_is_used_as_it_is(
    tmp_path: Path,
) -> None:
    path = tmp_path / "policies.db"
    path.touch()

    class OvertakenConnection(sqlite3.Connection):
        """Lets another instance create the schema just before this one takes the write lock."""

        overtaken = False

        def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
            if sql == "BEGIN IMMEDIATE" and not OvertakenConnection.overtaken:
                OvertakenConnection.overtaken = True
                with SqlitePolicyRepository(path) as other:
                    other.save(one_rule_policy("payments"))
            return super().execute(sql, parameters)

    class OvertakenRepository(SqlitePolicyRepository):
        connection_class = OvertakenConnection

    with OvertakenRepository(path) as repository:
        repository.save(one_rule_policy("checkout"))
        assert repository.load("payments").version == 1
    assert OvertakenConnection.overtaken
    assert (tables(path), user_version(path)) == (["policies", "rules"], SCHEMA_VERSION)


# -- files that are not ours to use -----------------------------------------------------


def test_another_programs_policies_table_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "policies.db"
    write_script(
        path,
        "CREATE TABLE policies (id INTEGER PRIMARY KEY, title TEXT);"
        "INSERT INTO policies (title) VALUES ('travel expenses');",
    )
    failure = refused_untouched(path)
    assert failure.problem.startswith(
        "holds tables aggregates-course did not create (policies): it belongs to another program"
    )


def test_another_programs_tables_of_other_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    write_script(path, "CREATE TABLE notes (body TEXT); CREATE TABLE tags (name TEXT);")
    failure = refused_untouched(path)
    assert "(notes, tags)" in failure.problem


def test_our_tables_beside_another_programs_table_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "policies.db"
    write_script(path, UNVERSIONED_SCHEMA + "CREATE TABLE notes (body TEXT);")
    failure = refused_untouched(path)
    assert "(notes, policies, rules)" in failure.problem


def test_a_newer_schema_version_is_refused_and_left_untouched(ours: Path) -> None:
    write_script(ours, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    failure = refused_untouched(ours)
    assert failure.problem == (
        "was written by a newer aggregates-course (schema version 2; this version knows up "
        "to 1): upgrade aggregates-course to use it"
    )


def test_a_newer_schema_version_with_other_tables_is_still_called_newer(tmp_path: Path) -> None:
    path = tmp_path / "policies.db"
    write_script(path, "CREATE TABLE policies_v2 (body TEXT); PRAGMA user_version = 7;")
    assert refused_untouched(path).problem.startswith("was written by a newer aggregates-course")


def test_our_version_with_tables_changed_by_hand_is_refused(ours: Path) -> None:
    write_script(ours, "ALTER TABLE rules ADD COLUMN note TEXT")
    failure = refused_untouched(ours)
    assert failure.problem == (
        "has schema version 1, but its tables (policies, rules) are not the ones "
        "aggregates-course writes for it: it was changed outside aggregates-course"
    )


def test_a_schema_version_never_written_is_refused(ours: Path) -> None:
    write_script(ours, "PRAGMA user_version = -1")
    assert refused_untouched(ours).problem.startswith("has schema version -1, but its tables")


def test_our_version_with_no_tables_left_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "policies.db"
    write_script(path, f"PRAGMA user_version = {SCHEMA_VERSION}")
    assert "its tables (none)" in refused_untouched(path).problem


# -- foreign keys -----------------------------------------------------------------------


def test_the_repositorys_connection_refuses_a_rule_of_no_policy(ours: Path) -> None:
    recorded = Instrumented(ours)
    with recorded.repository as repository:
        repository.load("checkout")
        (connection,) = recorded.connections
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            connection.execute(
                "INSERT INTO rules VALUES ('ghost', 'r1', 'active', 0, 'cpu', 1, '0.5', NULL)"
            )
