"""SqlitePolicyRepository beyond the shared contract: its file, its schema, its SQL.

The behaviour every repository shares lives in test_repository_contract.py;
atomicity under injected failures lives in test_sqlite_failures.py; the
schema version in test_sqlite_schema.py; every StorageError a broken file
gives in test_sqlite_storage_errors.py.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from aggregates_course import ActiveRule, MonitoringPolicy, PolicyNotFound, SqlitePolicyRepository

INJECTION = "'); DROP TABLE rules; --"


def tables(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


def one_rule_policy(policy_id: str = "checkout", rule_id: str = "cpu-hot") -> MonitoringPolicy:
    policy = MonitoringPolicy(policy_id)
    policy.add_active_rule(ActiveRule(rule_id, "cpu", timedelta(minutes=5), 0.9))
    return policy


def test_opening_a_repository_does_not_touch_the_file(tmp_path: Path) -> None:
    path = tmp_path / "policies.db"
    SqlitePolicyRepository(path)
    assert not path.exists()


def test_the_first_save_creates_the_file_with_its_schema(tmp_path: Path) -> None:
    path = tmp_path / "policies.db"
    with SqlitePolicyRepository(path) as repository:
        repository.save(one_rule_policy())
    assert tables(path) == {"policies", "rules"}


def test_an_existing_schema_is_reused_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "policies.db"
    with SqlitePolicyRepository(path) as first:
        first.save(one_rule_policy())
    with SqlitePolicyRepository(path) as second:
        assert second.load("checkout").version == 1


def test_an_instance_sees_saves_made_by_another_instance_on_the_same_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "policies.db"
    with SqlitePolicyRepository(path) as alice, SqlitePolicyRepository(path) as bob:
        alice.save(one_rule_policy("payments"))
        with pytest.raises(PolicyNotFound):
            bob.load("checkout")  # bob's connection is open before alice writes checkout
        alice.save(one_rule_policy())
        copy = bob.load("checkout")
        copy.retire_rule("cpu-hot", "noisy")
        bob.save(copy)
        assert alice.load("checkout").snapshot() == copy.snapshot()


def test_a_closed_instance_reopens_on_next_use(tmp_path: Path) -> None:
    repository = SqlitePolicyRepository(tmp_path / "policies.db")
    repository.save(one_rule_policy())
    repository.close()
    assert repository.load("checkout").version == 1
    repository.close()


def test_a_relative_path_resolves_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with SqlitePolicyRepository("policies.db") as repository:
        repository.save(one_rule_policy())
    assert (tmp_path / "policies.db").is_file()


def test_sql_in_a_rule_id_is_stored_as_text(tmp_path: Path) -> None:
    path = tmp_path / "policies.db"
    with SqlitePolicyRepository(path) as repository:
        repository.save(one_rule_policy(rule_id=INJECTION))
        assert repository.load("checkout").active_rules[0].rule_id == INJECTION
    assert tables(path) == {"policies", "rules"}


def test_sql_in_a_policy_id_is_stored_as_text(tmp_path: Path) -> None:
    path = tmp_path / "policies.db"
    with SqlitePolicyRepository(path) as repository:
        repository.save(one_rule_policy(policy_id=INJECTION))
        assert repository.load(INJECTION).policy_id == INJECTION
    assert tables(path) == {"policies", "rules"}


def test_sql_in_a_reason_is_stored_as_text(tmp_path: Path) -> None:
    path = tmp_path / "policies.db"
    policy = one_rule_policy()
    policy.retire_rule("cpu-hot", INJECTION)
    with SqlitePolicyRepository(path) as repository:
        repository.save(policy)
        assert repository.load("checkout").retired_rules[0].reason == INJECTION
    assert tables(path) == {"policies", "rules"}


def test_sql_in_a_loaded_id_finds_nothing(tmp_path: Path) -> None:
    with SqlitePolicyRepository(tmp_path / "policies.db") as repository:
        repository.save(one_rule_policy())
        with pytest.raises(PolicyNotFound):
            repository.load("x' OR '1'='1")


def test_an_in_memory_store_keeps_policies_and_writes_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with SqlitePolicyRepository(":memory:") as repository:
        repository.save(one_rule_policy())
        assert repository.load("checkout").version == 1
        assert repository.path == ":memory:"
    assert list(tmp_path.iterdir()) == []


def test_two_in_memory_stores_are_separate(tmp_path: Path) -> None:
    with SqlitePolicyRepository(":memory:") as first, SqlitePolicyRepository(":memory:") as second:
        first.save(one_rule_policy())
        with pytest.raises(PolicyNotFound):
            second.load("checkout")


def test_the_path_is_made_absolute_when_the_instance_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    repository = SqlitePolicyRepository("policies.db")
    monkeypatch.chdir(tmp_path.parent)
    with repository:
        repository.save(one_rule_policy())
    assert repository.path == str(tmp_path / "policies.db")
    assert (tmp_path / "policies.db").is_file()


@pytest.mark.parametrize("timeout", [-1, -0.5, float("nan"), float("inf")])
def test_a_timeout_that_is_not_a_finite_wait_is_refused(tmp_path: Path, timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds, at least 0"):
        SqlitePolicyRepository(tmp_path / "policies.db", timeout=timeout)


@pytest.mark.parametrize(("timeout", "named"), [("30", "str"), (None, "NoneType"), (True, "bool")])
def test_a_timeout_that_is_not_a_number_is_refused_naming_its_type(
    tmp_path: Path, timeout: object, named: str
) -> None:
    with pytest.raises(TypeError) as refused:
        SqlitePolicyRepository(tmp_path / "policies.db", timeout=timeout)  # type: ignore[arg-type]
    assert str(refused.value) == f"timeout must be a number of seconds, not {named}"


def test_a_zero_timeout_is_allowed_and_means_do_not_wait(tmp_path: Path) -> None:
    with SqlitePolicyRepository(tmp_path / "policies.db", timeout=0) as repository:
        repository.save(MonitoringPolicy("checkout"))
        assert repository.load("checkout").version == 1
