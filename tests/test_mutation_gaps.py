"""Behaviours the other suites left unpinned, found by mutation testing.

Each test here pins something a surviving mutant was free to change: the ids
an error carries, the exact words it says, the edge of a limit, and how the
SQLite repository opens, closes and reads back what it stored. Re-run the
mutation test with ``uv run --group mutation mutmut run --max-children 2``.
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
    ConcurrencyConflict,
    DomainError,
    DuplicateMetricWindow,
    DuplicateRuleId,
    InMemoryPolicyRepository,
    InvalidReason,
    InvalidRule,
    MonitoringPolicy,
    PolicySnapshot,
    RetiredRule,
    SqlitePolicyRepository,
    StorageError,
    UnknownRule,
    format_window,
)
from aggregates_course.domain.rules import MAX_METRIC_LENGTH, MAX_WINDOW, validate_identifier
from tests.sqlite_support import Instrumented
from tests.test_policy_commands import CPU_HOT, ONE_HOUR, saved_policy_with_history


def saved_policy_with_history_unsaved() -> MonitoringPolicy:
    """The same rules as saved_policy_with_history(), at version 0 so a store accepts it."""
    snapshot = saved_policy_with_history().snapshot()
    return MonitoringPolicy.from_snapshot(
        PolicySnapshot("checkout", 0, snapshot.active_rules, snapshot.retired_rules)
    )


# -- what a refusal carries and says ------------------------------------------------------

Command = Callable[[MonitoringPolicy], None]

# (case id, command on saved_policy_with_history(), error, attributes it must carry, message)
REFUSALS: list[tuple[str, Command, type[DomainError], dict[str, object], str]] = [
    (
        "duplicate active id",
        lambda p: p.add_active_rule(ActiveRule("cpu-hot", "disk", ONE_HOUR, 1.0)),
        DuplicateRuleId,
        {"policy_id": "checkout", "rule_id": "cpu-hot", "retired": False},
        "policy 'checkout' already has an active rule with id 'cpu-hot': "
        "rule ids are unique within a policy, forever",
    ),
    (
        "reused retired id",
        lambda p: p.add_active_rule(ActiveRule("memory-low", "disk", ONE_HOUR, 1.0)),
        DuplicateRuleId,
        {"policy_id": "checkout", "rule_id": "memory-low", "retired": True},
        "policy 'checkout' already has a retired rule with id 'memory-low': "
        "rule ids are unique within a policy, forever",
    ),
    (
        "duplicate watch",
        lambda p: p.add_active_rule(ActiveRule("cpu-again", "cpu", CPU_HOT.window, 0.5)),
        DuplicateMetricWindow,
        {"policy_id": "checkout", "rule_id": "cpu-again", "existing_rule_id": "cpu-hot"},
        "policy 'checkout' cannot activate rule 'cpu-again': active rule 'cpu-hot' already "
        "watches (cpu, 5m); no two active rules may watch the same (metric, window)",
    ),
    (
        "unknown id",
        lambda p: p.retire_rule("no-such-rule", "gone"),
        UnknownRule,
        {"policy_id": "checkout", "rule_id": "no-such-rule", "retired": False},
        "policy 'checkout' has no active rule 'no-such-rule' to retire: no rule has that id",
    ),
    (
        "retired id",
        lambda p: p.retire_rule("memory-low", "again"),
        UnknownRule,
        {"policy_id": "checkout", "rule_id": "memory-low", "retired": True},
        "policy 'checkout' has no active rule 'memory-low' to retire: it is already retired",
    ),
    (
        "blank reason",
        lambda p: p.retire_rule("cpu-hot", " "),
        InvalidReason,
        {"policy_id": "checkout", "rule_id": "cpu-hot", "problem": "must not be blank"},
        "policy 'checkout' cannot retire rule 'cpu-hot': the reason must not be blank; "
        "it is the audit trail for the retirement",
    ),
    (
        "reason of wrong type",
        lambda p: p.retire_rule("cpu-hot", 42),  # type: ignore[arg-type]
        InvalidReason,
        {"policy_id": "checkout", "rule_id": "cpu-hot", "problem": "must be a string, not int"},
        "policy 'checkout' cannot retire rule 'cpu-hot': the reason must be a string, not int; "
        "it is the audit trail for the retirement",
    ),
    (
        "reason no store can encode",
        lambda p: p.retire_rule("cpu-hot", "bad byte \udcff"),
        InvalidReason,
        {
            "policy_id": "checkout",
            "rule_id": "cpu-hot",
            "problem": "contains a lone surrogate, which cannot be stored",
        },
        "policy 'checkout' cannot retire rule 'cpu-hot': the reason contains a lone surrogate,"
        " which cannot be stored; it is the audit trail for the retirement",
    ),
]


@pytest.mark.parametrize(
    ("command", "error", "attributes"),
    [(command, error, attributes) for _, command, error, attributes, _ in REFUSALS],
    ids=[case for case, *_ in REFUSALS],
)
def test_a_refusal_carries_the_ids_it_names(
    command: Command, error: type[DomainError], attributes: dict[str, object]
) -> None:
    with pytest.raises(error) as refused:
        command(saved_policy_with_history())
    assert {name: getattr(refused.value, name) for name in attributes} == attributes


@pytest.mark.parametrize(
    ("command", "error", "message"),
    [(command, error, message) for _, command, error, _, message in REFUSALS],
    ids=[case for case, *_ in REFUSALS],
)
def test_a_refusal_reads_as_one_sentence_in_domain_words(
    command: Command, error: type[DomainError], message: str
) -> None:
    with pytest.raises(error) as refused:
        command(saved_policy_with_history())
    assert str(refused.value) == message


def test_a_stale_save_says_which_versions_met_and_what_to_do() -> None:
    repository = InMemoryPolicyRepository()
    repository.save(saved_policy_with_history_unsaved())
    stale, winner = repository.load("checkout"), repository.load("checkout")
    repository.save(winner)
    with pytest.raises(ConcurrencyConflict) as refused:
        repository.save(stale)
    assert (refused.value.policy_id, refused.value.expected, refused.value.actual) == (
        "checkout",
        1,
        2,
    )
    assert str(refused.value) == (
        "policy 'checkout' was not saved: this copy was loaded at version 1, "
        "but the store is at 2; reload it, repeat the command and save again"
    )


def test_a_new_policy_under_a_taken_id_says_the_id_is_already_stored() -> None:
    repository = InMemoryPolicyRepository()
    repository.save(saved_policy_with_history_unsaved())
    with pytest.raises(ConcurrencyConflict) as refused:
        repository.save(MonitoringPolicy("checkout"))
    assert str(refused.value) == (
        "policy 'checkout' was not saved: a policy with that id is already stored at "
        "version 1; reload it, repeat the command and save again"
    )


# -- what a refused value is told ---------------------------------------------------------

VALID: dict[str, Any] = {
    "rule_id": "cpu-hot",
    "metric": "cpu",
    "window": timedelta(minutes=5),
    "threshold": 0.9,
}

# (case id, override of one valid field, field named, problem stated)
PROBLEMS: list[tuple[str, dict[str, Any], str, str]] = [
    ("id of wrong type", {"rule_id": 42}, "rule_id", "must be a string, not int"),
    ("blank id", {"rule_id": " "}, "rule_id", "must not be empty or only whitespace"),
    ("padded id", {"rule_id": " r1"}, "rule_id", "' r1' has leading or trailing whitespace"),
    ("id with NUL", {"rule_id": "r\x001"}, "rule_id", "'r\\x001' contains a control character"),
    ("long id", {"rule_id": "r" * 129}, "rule_id", "is 129 characters long; the limit is 128"),
    ("metric of wrong type", {"metric": b"cpu"}, "metric", "must be a string, not bytes"),
    ("blank metric", {"metric": "  "}, "metric", "must not be empty or only whitespace"),
    ("metric with BEL", {"metric": "cpu\x07"}, "metric", "'cpu\\x07' contains a control character"),
    (
        "id with a lone surrogate",
        {"rule_id": "r\ud8001"},
        "rule_id",
        "'r\\ud8001' contains a lone surrogate, which no store can encode",
    ),
    ("long metric", {"metric": "m" * 257}, "metric", "is 257 characters long; the limit is 256"),
    ("window in seconds", {"window": 300}, "window", "must be a datetime.timedelta, not int"),
    ("zero window", {"window": timedelta(0)}, "window", "must be positive, got 0:00:00"),
    ("text threshold", {"threshold": "0.9"}, "threshold", "must be a number, not str"),
    ("huge int threshold", {"threshold": 10**400}, "threshold", "is too large to be a float"),
    ("infinite threshold", {"threshold": float("inf")}, "threshold", "must be finite, got inf"),
]


@pytest.mark.parametrize(
    ("override", "field", "problem"),
    [(override, field, problem) for _, override, field, problem in PROBLEMS],
    ids=[case for case, *_ in PROBLEMS],
)
def test_a_refused_value_is_told_what_is_wrong_with_it(
    override: dict[str, Any], field: str, problem: str
) -> None:
    with pytest.raises(InvalidRule) as refused:
        ActiveRule(**{**VALID, **override})
    assert (refused.value.field, refused.value.problem) == (field, problem)
    assert str(refused.value) == f"invalid {field}: {problem}"


def test_an_identifier_is_checked_as_a_rule_id_unless_told_otherwise() -> None:
    with pytest.raises(InvalidRule) as refused:
        validate_identifier("")
    assert refused.value.field == "rule_id"


def test_a_paragraph_separator_is_refused_in_an_id() -> None:
    with pytest.raises(InvalidRule, match="control character"):
        ActiveRule(**{**VALID, "rule_id": "cpu\u2029hot"})


def test_a_metric_of_exactly_the_maximum_length_is_accepted() -> None:
    metric = "m" * MAX_METRIC_LENGTH
    assert ActiveRule(**{**VALID, "metric": metric}).metric == metric


def test_a_zero_window_reads_as_zero_seconds() -> None:
    assert format_window(timedelta(0)) == "0s"


@pytest.mark.parametrize(
    ("reason", "problem"),
    [
        ("\t", "must not be blank"),
        (42, "must be a string, not int"),
        ("bad byte \udcff", "contains a lone surrogate, which cannot be stored"),
    ],
    ids=["blank", "not a string", "lone surrogate"],
)
def test_a_retired_rule_refuses_a_bad_reason_naming_the_reason_field(
    reason: Any, problem: str
) -> None:
    with pytest.raises(InvalidRule) as refused:
        RetiredRule(CPU_HOT, reason)
    assert (refused.value.field, refused.value.problem) == ("reason", problem)


def test_an_invalid_reason_told_no_problem_says_the_reason_must_not_be_blank() -> None:
    assert InvalidReason("checkout", "cpu-hot").problem == "must not be blank"


def test_a_retired_rule_around_a_non_rule_names_what_it_got() -> None:
    with pytest.raises(TypeError, match=r"^rule must be an ActiveRule, not str$"):
        RetiredRule("cpu-hot", "why")  # type: ignore[arg-type]


def test_adding_a_non_rule_names_what_it_got() -> None:
    with pytest.raises(TypeError, match=r"^expected an ActiveRule, not dict$"):
        MonitoringPolicy("checkout").add_active_rule({"rule_id": "x"})  # type: ignore[arg-type]


# -- snapshots that break an invariant ----------------------------------------------------


def test_a_snapshot_retiring_one_id_twice_names_the_policy_and_the_retired_id() -> None:
    snapshot = PolicySnapshot(
        "checkout", 1, (), (RetiredRule(CPU_HOT, "a"), RetiredRule(CPU_HOT, "b"))
    )
    with pytest.raises(DuplicateRuleId) as refused:
        MonitoringPolicy.from_snapshot(snapshot)
    assert (refused.value.policy_id, refused.value.rule_id, refused.value.retired) == (
        "checkout",
        "cpu-hot",
        True,
    )


def test_a_snapshot_with_a_negative_version_names_the_version_field() -> None:
    with pytest.raises(InvalidRule) as refused:
        MonitoringPolicy.from_snapshot(PolicySnapshot("checkout", -1, (CPU_HOT,), ()))
    assert (refused.value.field, refused.value.problem) == (
        "version",
        "must be a non-negative int, got -1",
    )


# -- SQLite: connection lifecycle and what comes back ------------------------------------


def test_the_busy_timeout_given_reaches_the_connection(tmp_path: Path) -> None:
    recorded = Instrumented(tmp_path / "p.db", timeout=0.25)
    with recorded.repository as repository:
        repository.save(MonitoringPolicy("checkout"))
    assert [options["timeout"] for options in recorded.connect_options] == [0.25]


def test_by_default_a_busy_file_is_waited_on_for_thirty_seconds(tmp_path: Path) -> None:
    recorded = Instrumented(tmp_path / "p.db")
    with recorded.repository as repository:
        repository.save(MonitoringPolicy("checkout"))
    assert [options["timeout"] for options in recorded.connect_options] == [30.0]


def test_the_file_reaches_sqlite_as_a_uri_whatever_its_build_assumes(tmp_path: Path) -> None:
    # Only a URI carries mode=rw, which makes SQLite itself refuse to create a file on load.
    # Some builds (SQLITE_USE_URI, as here) read a "file:" name as a URI even without
    # uri=True; the others would open a file literally named "file:...", so it is asked for.
    recorded = Instrumented(tmp_path / "p.db")
    with recorded.repository as repository:
        repository.save(MonitoringPolicy("checkout"))
        repository.close()
        assert repository.load("checkout").version == 1
    assert [options.get("uri") for options in recorded.connect_options] == [True, True]


def test_leaving_the_with_block_closes_the_connection(tmp_path: Path) -> None:
    recorded = Instrumented(tmp_path / "p.db")
    with recorded.repository as repository:
        repository.save(MonitoringPolicy("checkout"))
    with pytest.raises(sqlite3.ProgrammingError):
        recorded.connections[0].execute("SELECT 1")


def test_closing_a_repository_that_never_opened_its_file_is_harmless(tmp_path: Path) -> None:
    SqlitePolicyRepository(tmp_path / "p.db").close()
    assert not (tmp_path / "p.db").exists()


def test_a_closed_repository_opens_the_file_again_on_next_use(tmp_path: Path) -> None:
    repository = SqlitePolicyRepository(tmp_path / "p.db")
    repository.save(MonitoringPolicy("checkout"))
    repository.close()
    try:
        assert repository.load("checkout").version == 1
    finally:
        repository.close()


def test_the_longest_window_comes_back_to_the_microsecond(tmp_path: Path) -> None:
    window = MAX_WINDOW - timedelta(microseconds=1)
    policy = MonitoringPolicy("archive")
    policy.add_active_rule(ActiveRule("slow-drift", "disk", window, 0.5))
    with SqlitePolicyRepository(tmp_path / "p.db") as repository:
        repository.save(policy)
        assert repository.load("archive").active_rules[0].window == window


def test_a_stored_retired_rule_without_a_reason_is_refused_on_load(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    with SqlitePolicyRepository(path) as repository:
        repository.save(saved_policy_with_history_unsaved())
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("UPDATE rules SET reason = NULL WHERE status = 'retired'")
    with SqlitePolicyRepository(path) as repository, pytest.raises(StorageError) as broken:
        repository.load("checkout")
    assert isinstance(broken.value.__cause__, InvalidRule)
    assert broken.value.__cause__.field == "reason"


def test_a_window_of_exactly_a_year_and_a_day_is_accepted() -> None:
    assert ActiveRule("yearly", "disk", MAX_WINDOW, 0.5).window == MAX_WINDOW


def test_a_window_longer_than_a_year_is_refused_with_the_limit_in_words() -> None:
    with pytest.raises(InvalidRule) as refused:
        ActiveRule("decade", "disk", timedelta(days=3650), 0.5)
    assert str(refused.value) == "invalid window: is 3650 days, 0:00:00; the limit is 366 days"
