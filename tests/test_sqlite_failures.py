"""SqlitePolicyRepository under failure: a save is all or nothing, wherever it breaks.

The repository's ``connection_class`` seam lets a test swap in a connection
that fails on its Nth SQL call. A dry run counts the calls one save makes;
then the save is repeated with a failure injected at each of them in turn.
Every time, the save raises ``StorageError`` with SQLite's error as its cause,
the database file holds exactly what it held before (compared as a logical
dump), and the same repository instance then saves normally. The first use
of an empty file, which creates the schema, is tried the same way.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregates_course import (
    ActiveRule,
    MonitoringPolicy,
    PolicyNotFound,
    SqlitePolicyRepository,
    StorageError,
)

FIVE_MINUTES = timedelta(minutes=5)


class FaultPlan:
    """Counts the SQL calls of one save and raises at the call numbers armed.

    With ``interrupt_rows`` set, the next ``executemany`` instead gets rows that
    raise ``KeyboardInterrupt`` after the first one: a failure from Python, not SQLite.
    """

    def __init__(self) -> None:
        self.counting = False
        self.fail_at: set[int] = set()
        self.make_error: Callable[[str], BaseException] = lambda sql: sqlite3.OperationalError(
            f"disk I/O error (injected at {sql!r})"
        )
        self.calls: list[str] = []
        self.interrupt_rows = False

    def arm(self, *fail_at: int) -> None:
        """Start counting from zero; fail at each call number in ``fail_at`` (none: a dry run)."""
        self.counting, self.fail_at, self.calls = True, set(fail_at), []

    def disarm(self) -> None:
        """Stop counting and failing: the connection behaves normally again."""
        self.counting, self.fail_at = False, set()

    def tick(self, sql: str) -> None:
        if not self.counting:
            return
        self.calls.append(sql)
        if len(self.calls) in self.fail_at:
            raise self.make_error(sql)


def interrupted_after_first_row(rows: Iterable[Any]) -> Iterator[Any]:
    """Yield one rule row, then fail as a Ctrl-C would, from Python, mid-statement."""
    iterator = iter(rows)
    yield next(iterator)
    raise KeyboardInterrupt


def faulty_repository(
    path: Path, plan: FaultPlan, *, opened: bool = True
) -> SqlitePolicyRepository:
    """A real SqlitePolicyRepository whose connection reports every call to ``plan``.

    ``opened``: its file is opened and checked before it is returned, so that a
    plan armed afterwards counts the calls of one save alone.
    """

    class FaultyConnection(sqlite3.Connection):
        def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
            plan.tick(sql)
            return super().execute(sql, parameters)

        def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
            plan.tick(sql)
            if plan.interrupt_rows:
                plan.interrupt_rows = False
                parameters = interrupted_after_first_row(parameters)
            return super().executemany(sql, parameters)

        def commit(self) -> None:
            plan.tick("commit()")
            super().commit()

    class FaultyRepository(SqlitePolicyRepository):
        connection_class = FaultyConnection

    repository = FaultyRepository(path)
    if opened:
        with contextlib.suppress(PolicyNotFound):
            repository.load("checkout")
    return repository


def dump(path: Path) -> list[str]:
    """The whole database as SQL text: schema and every row."""
    with closing(sqlite3.connect(path)) as connection:
        return list(connection.iterdump())


def user_version(path: Path) -> int:
    """The schema version stamped in the file (a dump leaves it out)."""
    with closing(sqlite3.connect(path)) as connection:
        version: int = connection.execute("PRAGMA user_version").fetchone()[0]
        return version


def rule(rule_id: str, metric: str) -> ActiveRule:
    return ActiveRule(rule_id, metric, FIVE_MINUTES, 0.5)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file holding ``checkout`` at version 1 (cpu-hot active, mem-low retired) and ``payments``.

    Tests work on copies: copying is far cheaper than the fsyncs of building it again.
    """
    path = tmp_path_factory.mktemp("baseline") / "policies.db"
    with SqlitePolicyRepository(path) as repository:
        checkout = MonitoringPolicy("checkout")
        checkout.add_active_rule(rule("cpu-hot", "cpu"))
        checkout.add_active_rule(rule("mem-low", "memory"))
        checkout.retire_rule("mem-low", "replaced")
        repository.save(checkout)
        payments = MonitoringPolicy("payments")
        payments.add_active_rule(rule("p-cpu", "cpu"))
        repository.save(payments)
    return path


def copy_of(baseline: Path) -> Path:
    copies = baseline.parent / "copies"
    copies.mkdir(exist_ok=True)
    path = copies / f"policies-{len(list(copies.iterdir()))}.db"
    shutil.copyfile(baseline, path)
    return path


Edit = Callable[[SqlitePolicyRepository], MonitoringPolicy]


def edit_of_stored(repository: SqlitePolicyRepository) -> MonitoringPolicy:
    """A loaded copy of ``checkout`` with two rules added and one retired."""
    policy = repository.load("checkout")
    policy.add_active_rule(rule("disk-full", "disk"))
    policy.add_active_rule(rule("errors-up", "errors"))
    policy.retire_rule("cpu-hot", "too noisy")
    return policy


def new_policy(_: SqlitePolicyRepository) -> MonitoringPolicy:
    """A policy never stored, so its save takes the INSERT path."""
    policy = MonitoringPolicy("billing")
    policy.add_active_rule(rule("b-cpu", "cpu"))
    policy.add_active_rule(rule("b-mem", "memory"))
    return policy


SAVES: dict[str, Edit] = {
    "update of a stored policy": edit_of_stored,
    "insert of a new policy": new_policy,
}


def calls_of_one_save(baseline: Path, edit: Edit) -> list[str]:
    """The SQL calls one save makes, counted in a dry run on a copy of ``baseline``."""
    plan = FaultPlan()
    with faulty_repository(copy_of(baseline), plan) as repository:
        policy = edit(repository)
        plan.arm()
        repository.save(policy)
    return plan.calls


@pytest.mark.parametrize("edit", SAVES.values(), ids=SAVES.keys())
def test_the_dry_run_sees_a_whole_transaction(baseline: Path, edit: Edit) -> None:
    # Guards the injection tests below: a count that saw no writes would prove nothing.
    calls = calls_of_one_save(baseline, edit)
    assert calls[0] == "BEGIN IMMEDIATE"
    assert calls[-1] == "COMMIT"
    assert any(sql.startswith("INSERT INTO rules") for sql in calls)


@pytest.mark.parametrize("edit", SAVES.values(), ids=SAVES.keys())
def test_a_save_failing_at_any_sql_call_leaves_the_file_unchanged(
    baseline: Path, edit: Edit
) -> None:
    for fail_at, sql in enumerate(calls_of_one_save(baseline, edit), start=1):
        path = copy_of(baseline)
        before = dump(path)
        plan = FaultPlan()
        with faulty_repository(path, plan) as repository:
            policy = edit(repository)
            plan.arm(fail_at)
            with pytest.raises(StorageError, match="injected") as failed:
                repository.save(policy)
            assert isinstance(failed.value.__cause__, sqlite3.OperationalError)
        assert dump(path) == before, f"failure at call {fail_at} ({sql}) left a partial write"


@pytest.mark.parametrize("edit", SAVES.values(), ids=SAVES.keys())
def test_after_a_failed_save_the_same_instance_saves_normally(baseline: Path, edit: Edit) -> None:
    for fail_at, sql in enumerate(calls_of_one_save(baseline, edit), start=1):
        plan = FaultPlan()
        with faulty_repository(copy_of(baseline), plan) as repository:
            policy = edit(repository)
            plan.arm(fail_at)
            with pytest.raises(StorageError):
                repository.save(policy)
            plan.disarm()
            repository.save(policy)
            stored = repository.load(policy.policy_id)
        assert stored.snapshot() == policy.snapshot(), f"after failure at {fail_at} ({sql})"


@pytest.mark.parametrize("edit", SAVES.values(), ids=SAVES.keys())
def test_a_failed_commit_leaves_the_policy_at_its_loaded_version(
    baseline: Path, edit: Edit
) -> None:
    plan = FaultPlan()
    commit_at = calls_of_one_save(baseline, edit).index("COMMIT") + 1
    with faulty_repository(copy_of(baseline), plan) as repository:
        policy = edit(repository)
        version = policy.version
        plan.arm(commit_at)
        with pytest.raises(StorageError):
            repository.save(policy)
    assert policy.version == version


def test_an_interrupt_while_rows_are_written_leaves_the_file_unchanged(baseline: Path) -> None:
    path = copy_of(baseline)
    before = dump(path)
    plan = FaultPlan()
    plan.interrupt_rows = True
    with faulty_repository(path, plan) as repository:
        policy = edit_of_stored(repository)
        with pytest.raises(KeyboardInterrupt):
            repository.save(policy)
    assert dump(path) == before


def test_an_interrupt_while_rows_are_written_leaves_the_instance_usable(baseline: Path) -> None:
    plan = FaultPlan()
    with faulty_repository(copy_of(baseline), plan) as repository:
        policy = edit_of_stored(repository)
        plan.interrupt_rows = True
        with pytest.raises(KeyboardInterrupt):
            repository.save(policy)
        repository.save(policy)
        assert repository.load("checkout").snapshot() == policy.snapshot()


def test_a_rollback_that_fails_too_leaves_the_file_unchanged(baseline: Path) -> None:
    commit_at = calls_of_one_save(baseline, edit_of_stored).index("COMMIT") + 1
    path = copy_of(baseline)
    before = dump(path)
    plan = FaultPlan()
    with faulty_repository(path, plan) as repository:
        policy = edit_of_stored(repository)
        plan.arm(commit_at, commit_at + 1)
        with pytest.raises(StorageError, match="injected at 'COMMIT'"):
            repository.save(policy)
        assert plan.calls[-1] == "ROLLBACK"
    assert dump(path) == before


def test_after_a_failed_rollback_the_same_instance_saves_normally(baseline: Path) -> None:
    commit_at = calls_of_one_save(baseline, edit_of_stored).index("COMMIT") + 1
    plan = FaultPlan()
    with faulty_repository(copy_of(baseline), plan) as repository:
        policy = edit_of_stored(repository)
        plan.arm(commit_at, commit_at + 1)
        with pytest.raises(StorageError):
            repository.save(policy)
        plan.disarm()
        repository.save(policy)
        assert repository.load("checkout").snapshot() == policy.snapshot()


def calls_of_a_first_use(folder: Path) -> list[str]:
    """The SQL calls a first use of an empty file makes to create the schema, up to its COMMIT."""
    path = folder / "dry-run.db"
    path.touch()
    plan = FaultPlan()
    plan.arm()
    with faulty_repository(path, plan, opened=False) as repository:
        repository.save(MonitoringPolicy("checkout"))
    stamp = next(n for n, sql in enumerate(plan.calls) if sql.startswith("PRAGMA user_version ="))
    return plan.calls[: stamp + 2]


def test_the_first_use_dry_run_creates_the_schema(tmp_path: Path) -> None:
    calls = calls_of_a_first_use(tmp_path)
    assert [sql.split("(")[0].strip() for sql in calls if sql.startswith("CREATE")] == [
        "CREATE TABLE policies",
        "CREATE TABLE rules",
    ]
    assert calls[-1] == "COMMIT"


def test_a_first_use_failing_at_any_sql_call_leaves_the_file_empty_and_usable(
    tmp_path: Path,
) -> None:
    for fail_at, sql in enumerate(calls_of_a_first_use(tmp_path), start=1):
        path = tmp_path / f"empty-{fail_at}.db"
        path.touch()
        empty = dump(path)
        plan = FaultPlan()
        plan.arm(fail_at)
        with faulty_repository(path, plan, opened=False) as repository:
            with pytest.raises(StorageError, match="injected"):
                repository.save(MonitoringPolicy("checkout"))
            left = (dump(path), user_version(path))
            assert left == (empty, 0), f"failure at call {fail_at} ({sql}) left a partial schema"
            plan.disarm()
            repository.save(MonitoringPolicy("checkout"))
            assert repository.load("checkout").version == 1
