"""SqlitePolicyRepository on a broken file: a StorageError that says where and what.

Each failure of the file, or of SQLite, must reach the caller as one
``StorageError`` whose message names the path and the problem in plain
words, with SQLite's own exception chained as ``__cause__``; never a raw
``sqlite3`` error, never a ``DomainError`` (nothing was refused), and never a
change to the file the repository refused to use.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from aggregates_course import (
    ActiveRule,
    DomainError,
    InvalidRule,
    MonitoringPolicy,
    PolicyNotFound,
    SqlitePolicyRepository,
    StorageError,
)
from tests.sqlite_support import Instrumented

FIVE_MINUTES = timedelta(minutes=5)

Use = Callable[[SqlitePolicyRepository], object]


def load_checkout(repository: SqlitePolicyRepository) -> object:
    return repository.load("checkout")


def save_new_policy(repository: SqlitePolicyRepository) -> object:
    policy = MonitoringPolicy("payments")
    policy.add_active_rule(ActiveRule("p-cpu", "cpu", FIVE_MINUTES, 0.5))
    repository.save(policy)
    return policy


USES: dict[str, Use] = {"load": load_checkout, "save": save_new_policy}
each_use = pytest.mark.parametrize("use", USES.values(), ids=USES.keys())


def storage_error(path: Path, use: Use, **options: float) -> StorageError:
    """The StorageError ``use`` raises on ``path``, checked for what every one must carry."""
    with SqlitePolicyRepository(path, **options) as repository, pytest.raises(StorageError) as err:
        use(repository)
    failure = err.value
    assert str(path) in str(failure)
    assert failure.store == str(path)
    assert not isinstance(failure, DomainError)
    return failure


def write_sql(path: Path, *statements: str) -> None:
    """Run ``statements`` on ``path`` outside the repository, as another program would."""
    with closing(sqlite3.connect(path)) as connection, connection:
        for statement in statements:
            connection.execute(statement)


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    """A file holding ``checkout``: cpu-hot active, mem-low retired."""
    path = tmp_path / "policies.db"
    policy = MonitoringPolicy("checkout")
    policy.add_active_rule(ActiveRule("cpu-hot", "cpu", FIVE_MINUTES, 0.9))
    policy.add_active_rule(ActiveRule("mem-low", "memory", FIVE_MINUTES, 0.1))
    policy.retire_rule("mem-low", "replaced")
    with SqlitePolicyRepository(path) as repository:
        repository.save(policy)
    return path


# -- the file cannot be opened ------------------------------------------------------------


@each_use
def test_a_missing_folder_is_a_storage_error_naming_the_folder(tmp_path: Path, use: Use) -> None:
    folder = tmp_path / "no-such-folder"
    failure = storage_error(folder / "policies.db", use)
    assert failure.problem == f"the folder {folder} does not exist"
    assert isinstance(failure.__cause__, sqlite3.OperationalError)
    assert not folder.exists()


@each_use
def test_a_folder_as_the_path_is_a_storage_error(tmp_path: Path, use: Use) -> None:
    failure = storage_error(tmp_path, use)
    assert failure.problem.startswith("is a folder, not a database file")
    assert isinstance(failure.__cause__, sqlite3.OperationalError)


def test_a_path_under_a_file_is_a_storage_error_naming_that_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a folder", encoding="utf-8")
    failure = storage_error(tmp_path / "notes.txt" / "policies.db", save_new_policy)
    assert failure.problem == f"the folder {tmp_path / 'notes.txt'} does not exist"


def test_loading_from_a_file_that_does_not_exist_says_so_and_creates_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "polices.db"  # a typo for policies.db
    failure = storage_error(path, load_checkout)
    assert failure.problem == (
        "does not exist, so no policy was ever saved there; check the path for a typo "
        "(the first save creates the file)"
    )
    assert isinstance(failure.__cause__, sqlite3.OperationalError)
    assert not path.exists()


def test_the_same_instance_works_once_the_folder_exists(tmp_path: Path) -> None:
    folder = tmp_path / "later"
    with SqlitePolicyRepository(folder / "policies.db") as repository:
        with pytest.raises(StorageError):
            save_new_policy(repository)
        folder.mkdir()
        save_new_policy(repository)
        assert repository.load("payments").version == 1


def test_an_unopenable_file_for_another_reason_points_at_permissions(tmp_path: Path) -> None:
    # A link into a missing folder: the path is no folder and its own folder exists, so the
    # explanation falls back to what is left to check, permissions.
    path = tmp_path / "policies.db"
    try:
        path.symlink_to(tmp_path / "gone" / "target.db")
    except OSError as refused:  # Windows without the symlink privilege
        pytest.skip(f"cannot create a symlink here: {refused}")
    failure = storage_error(path, save_new_policy)
    assert failure.problem.startswith("cannot be opened; check the permissions")


# -- the file is not a database, or is damaged ------------------------------------------


@each_use
def test_random_bytes_as_the_file_are_a_storage_error_and_stay_as_they_were(
    tmp_path: Path, use: Use
) -> None:
    path = tmp_path / "policies.db"
    junk = os.urandom(4096)
    path.write_bytes(junk)
    failure = storage_error(path, use)
    assert failure.problem.startswith("is not a SQLite database")
    assert isinstance(failure.__cause__, sqlite3.DatabaseError)
    assert path.read_bytes() == junk


@pytest.mark.parametrize("keep", [100, 4096, 8192], ids=lambda keep: f"first {keep} bytes")
@each_use
def test_a_truncated_file_is_a_storage_error_saying_it_is_damaged(
    stored: Path, use: Use, keep: int
) -> None:
    os.truncate(stored, keep)
    failure = storage_error(stored, use)
    assert failure.problem.startswith("the database file is damaged")
    assert isinstance(failure.__cause__, sqlite3.DatabaseError)


# -- the file is busy, read-only or full ------------------------------------------------


@each_use
def test_a_file_locked_past_the_timeout_is_a_storage_error(stored: Path, use: Use) -> None:
    with closing(sqlite3.connect(stored, isolation_level=None)) as other_program:
        other_program.execute("BEGIN EXCLUSIVE")
        failure = storage_error(stored, use, timeout=0.01)
    assert failure.problem == (
        "another connection kept the database locked for more than 0.01 s; "
        "try again, or give a longer timeout"
    )
    assert isinstance(failure.__cause__, sqlite3.OperationalError)


def test_a_read_only_database_is_a_storage_error_on_save(stored: Path) -> None:
    read_only = Instrumented(
        stored, lambda connection: connection.execute("PRAGMA query_only = ON")
    )
    with read_only.repository as repository:
        assert repository.load("checkout").version == 1  # reading still works
        with pytest.raises(StorageError) as failed:
            save_new_policy(repository)
    assert failed.value.problem.startswith("is read-only")
    assert str(stored) in str(failed.value)


def test_a_full_disk_is_a_storage_error_that_writes_nothing(stored: Path) -> None:
    def no_room_to_grow(connection: sqlite3.Connection) -> None:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {pages}")

    full = Instrumented(stored, no_room_to_grow)
    policy = MonitoringPolicy("payments")
    for number in range(200):
        policy.add_active_rule(ActiveRule(f"r{number}", f"metric-{number}", FIVE_MINUTES, 0.5))
    with full.repository as repository, pytest.raises(StorageError) as failed:
        repository.save(policy)
    assert failed.value.problem == "the disk is full"
    with SqlitePolicyRepository(stored) as reader, pytest.raises(PolicyNotFound):
        reader.load("payments")


# -- a row breaks the domain's rules ----------------------------------------------------

# (case id, SQL run on the stored file by another program, the problem the error reports)
BROKEN_ROWS = [
    (
        "retired rule without a reason",
        "UPDATE rules SET reason = NULL WHERE status = 'retired'",
        "invalid reason: must be a string, not NoneType",
    ),
    (
        "active rule with a reason",
        "UPDATE rules SET reason = 'why' WHERE status = 'active'",
        "rule 'cpu-hot' has status 'active' and reason 'why'",
    ),
    (
        "threshold that is not a number",
        "UPDATE rules SET threshold = 'high' WHERE rule_id = 'cpu-hot'",
        "could not convert string to float: 'high'",
    ),
    (
        "threshold that is not finite",
        "UPDATE rules SET threshold = 'nan' WHERE rule_id = 'cpu-hot'",
        "invalid threshold: must be finite, got nan",
    ),
    (
        "threshold stored as a blob",
        "UPDATE rules SET threshold = x'30' WHERE rule_id = 'cpu-hot'",
        "threshold must be text, not b'0'",
    ),
    (
        "window that is not a whole number",
        "UPDATE rules SET window_us = 1.5 WHERE rule_id = 'cpu-hot'",
        "window_us must be a whole number, not 1.5",
    ),
    (
        "window of zero",
        "UPDATE rules SET window_us = 0 WHERE rule_id = 'cpu-hot'",
        "invalid window: must be positive, got 0:00:00",
    ),
    (
        "blank rule id",
        "UPDATE rules SET rule_id = ' ' WHERE rule_id = 'cpu-hot'",
        "invalid rule_id: must not be empty or only whitespace",
    ),
    (
        "two active rules on one watch",
        "UPDATE rules SET status = 'active', reason = NULL, metric = 'cpu', position = 1"
        " WHERE rule_id = 'mem-low'",
        "active rule 'cpu-hot' already watches (cpu, 5m)",
    ),
    (
        "version that is not a whole number",
        "UPDATE policies SET version = 'one'",
        "version must be a whole number, not 'one'",
    ),
]


@pytest.mark.parametrize(
    ("edit", "problem"),
    [case[1:] for case in BROKEN_ROWS],
    ids=[case[0] for case in BROKEN_ROWS],
)
def test_a_row_that_breaks_the_rules_is_a_storage_error_on_load(
    stored: Path, edit: str, problem: str
) -> None:
    write_sql(stored, edit)
    failure = storage_error(stored, load_checkout)
    assert failure.problem.startswith("the stored policy 'checkout' breaks the rules of a policy")
    assert problem in failure.problem
    assert isinstance(failure.__cause__, DomainError | ValueError | TypeError)


def test_a_row_with_an_unknown_status_is_a_storage_error_on_load(stored: Path) -> None:
    # The table's CHECK keeps such a row out; another program may have switched checks off.
    write_sql(
        stored,
        "PRAGMA ignore_check_constraints = ON",
        "UPDATE rules SET status = 'paused' WHERE rule_id = 'cpu-hot'",
    )
    failure = storage_error(stored, load_checkout)
    assert "rule 'cpu-hot' has status 'paused'" in failure.problem


# case id: (SQL that damages the stored version, what the StorageError's cause says)
DAMAGED_VERSIONS = {
    "text": ("UPDATE policies SET version = 'one'", "version must be a whole number, not 'one'"),
    "zero": ("UPDATE policies SET version = 0", "version must be at least 1, got 0"),
    "negative": ("UPDATE policies SET version = -3", "version must be at least 1, got -3"),
    "fraction": ("UPDATE policies SET version = 2.5", "version must be a whole number, not 2.5"),
}


@pytest.mark.parametrize(
    ("damage", "problem"), DAMAGED_VERSIONS.values(), ids=DAMAGED_VERSIONS.keys()
)
def test_saving_over_a_damaged_version_is_a_storage_error_that_writes_nothing(
    stored: Path, damage: str, problem: str
) -> None:
    write_sql(stored, "PRAGMA ignore_check_constraints = ON", damage)
    with SqlitePolicyRepository(stored) as repository:
        copy = MonitoringPolicy("checkout")
        with pytest.raises(StorageError, match="the stored policy 'checkout' breaks") as failed:
            repository.save(copy)
    assert str(stored) in str(failed.value)
    assert str(failed.value.__cause__) == problem
    with closing(sqlite3.connect(stored)) as connection:
        assert connection.execute("SELECT count(*) FROM rules").fetchone() == (2,)


def test_a_junk_id_is_refused_before_the_file_is_even_opened(tmp_path: Path) -> None:
    path = tmp_path / "no-such-folder" / "policies.db"
    with SqlitePolicyRepository(path) as repository, pytest.raises(InvalidRule):
        repository.load(5)  # type: ignore[arg-type]
