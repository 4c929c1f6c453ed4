"""The PolicyRepository contract, run against the in-memory fake and SQLite alike.

Every test here runs once per repository, so the fake that other tests rely
on cannot drift from the real store. A *store* is one place policies live; a
*handle* is a repository object on it. The fake has one handle shared by
everyone; SQLite gives each caller (each thread) its own instance on the
same file, as its documentation requires.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregates_course import (
    ActiveRule,
    ConcurrencyConflict,
    InMemoryPolicyRepository,
    MonitoringPolicy,
    PolicyNotFound,
    PolicyRepository,
    PolicySnapshot,
    SqlitePolicyRepository,
)
from aggregates_course.testing import check_policy_invariants, policies
from tests.postgres_server import postgres_handles

FIVE_MINUTES = timedelta(minutes=5)

# A Hypothesis test shares one store across its examples, each saving under its own
# policy id, so examples never meet (and SQLite creates one file, not a hundred).
SHARED_STORE = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
EXAMPLE_POLICY_IDS = (f"example-{number}" for number in itertools.count())


class Store:
    """One place policies live: a handle for the test's commands, one for looking, more on demand.

    ``handle()`` gives another handle on the same store, e.g. one per thread.
    Saving through one handle and loading through another is what a round trip
    through a real database means.
    """

    def __init__(self, handle: Callable[[], PolicyRepository]) -> None:
        self.handle = handle
        self.repository = handle()
        self._observer = handle()

    def reload(self, policy_id: str) -> MonitoringPolicy:
        """A new copy of the stored policy, loaded through the observing handle."""
        return self._observer.load(policy_id)

    def stored(self, policy_id: str) -> PolicySnapshot:
        """What the store holds now."""
        return self.reload(policy_id).snapshot()


@pytest.fixture(scope="module")
def empty_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file holding the schema and no policy, built once.

    Each test starts from a copy: creating the schema costs two fsyncs per test.
    (That the schema is created on first use is tested in test_sqlite_repository.)
    """
    path = tmp_path_factory.mktemp("template") / "empty.db"
    with SqlitePolicyRepository(path) as repository, contextlib.suppress(PolicyNotFound):
        repository.load("nothing")
    return path


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, empty_sqlite_file: Path
) -> Iterator[Store]:
    if request.param == "memory":
        shared = InMemoryPolicyRepository()
        yield Store(lambda: shared)
        return
    if request.param == "postgres":
        with postgres_handles(request) as new_handle:
            yield Store(new_handle)
        return
    path = tmp_path / "policies.db"
    shutil.copyfile(empty_sqlite_file, path)
    opened: list[SqlitePolicyRepository] = []

    def new_instance() -> PolicyRepository:
        instance = SqlitePolicyRepository(path)
        opened.append(instance)
        return instance

    yield Store(new_instance)
    for instance in opened:
        instance.close()


def rule(rule_id: str, metric: str = "cpu", threshold: float = 0.9) -> ActiveRule:
    return ActiveRule(rule_id, metric, FIVE_MINUTES, threshold)


def saved(store: Store, policy_id: str = "checkout") -> MonitoringPolicy:
    """A policy with one active and one retired rule, saved once (version 1)."""
    policy = MonitoringPolicy(policy_id)
    policy.add_active_rule(rule("cpu-hot"))
    policy.add_active_rule(rule("mem-low", "memory"))
    policy.retire_rule("mem-low", "replaced")
    store.repository.save(policy)
    return policy


# -- round trip -----------------------------------------------------------------------


def exactly(snapshot: PolicySnapshot) -> tuple[object, ...]:
    """Everything in ``snapshot``, thresholds as repr: == cannot tell -0.0 from 0.0."""
    return (
        snapshot.policy_id,
        snapshot.version,
        [(r.rule_id, r.metric, r.window, repr(r.threshold)) for r in snapshot.active_rules],
        [
            (r.rule_id, r.rule.metric, r.rule.window, repr(r.rule.threshold), r.reason)
            for r in snapshot.retired_rules
        ],
    )


@SHARED_STORE
@given(data=st.data())
def test_a_saved_policy_loads_back_exactly(store: Store, data: st.DataObject) -> None:
    policy = data.draw(policies(policy_id=next(EXAMPLE_POLICY_IDS)), label="policy")
    store.repository.save(policy)
    loaded = store.reload(policy.policy_id)
    assert exactly(loaded.snapshot()) == exactly(policy.snapshot())
    check_policy_invariants(loaded)


AWKWARD_THRESHOLDS = [
    -0.0,
    0.0,
    5e-324,
    -2.2250738585072014e-308,
    1.7976931348623157e308,
    0.1 + 0.2,
    1 / 3,
]


def test_awkward_thresholds_come_back_bit_for_bit(store: Store) -> None:
    policy = MonitoringPolicy("checkout")
    for number, threshold in enumerate(AWKWARD_THRESHOLDS):
        policy.add_active_rule(rule(f"r{number}", f"metric-{number}", threshold))
    store.repository.save(policy)
    loaded = [r.threshold for r in store.reload("checkout").active_rules]
    assert [repr(threshold) for threshold in loaded] == [repr(t) for t in AWKWARD_THRESHOLDS]
    assert [math.copysign(1.0, t) for t in loaded] == [
        math.copysign(1.0, t) for t in AWKWARD_THRESHOLDS
    ]


UNICODE_METRICS = ["错误率", "température_°C", "ошибки/сек", "🚨 pages", "e\u0301", "  padded  "]


def test_unicode_metric_names_come_back_exactly(store: Store) -> None:
    policy = MonitoringPolicy("checkout")
    for number, metric in enumerate(UNICODE_METRICS):
        policy.add_active_rule(rule(f"r{number}", metric))
    store.repository.save(policy)
    loaded = store.reload("checkout")
    assert [r.metric for r in loaded.active_rules] == UNICODE_METRICS


@pytest.mark.parametrize(
    "reason",
    [
        'it\'s "noisy"',
        "line one\nline two\r\nline three",
        "'); DROP TABLE rules; --",
        "tab\there, backslash \\ there",
        "NUL \x00 inside",
        "замена на правило per-core",
    ],
)
def test_a_retirement_reason_comes_back_exactly(store: Store, reason: str) -> None:
    policy = MonitoringPolicy("checkout")
    policy.add_active_rule(rule("r1"))
    policy.retire_rule("r1", reason)
    store.repository.save(policy)
    assert store.reload("checkout").retired_rules[0].reason == reason


@pytest.mark.parametrize(
    "window",
    [timedelta(microseconds=1), timedelta(days=365, microseconds=7), timedelta(hours=1)],
)
def test_a_window_comes_back_exactly(store: Store, window: timedelta) -> None:
    policy = MonitoringPolicy("checkout")
    policy.add_active_rule(ActiveRule("r1", "cpu", window, 1.0))
    store.repository.save(policy)
    assert store.reload("checkout").active_rules[0].window == window


def test_a_loaded_policy_has_no_pending_events(store: Store) -> None:
    saved(store)
    assert store.reload("checkout").collect_events() == []


def test_a_loaded_policy_is_at_the_stored_version(store: Store) -> None:
    saved(store)
    assert store.reload("checkout").version == 1


def test_policies_are_stored_under_their_own_ids(store: Store) -> None:
    saved(store, "checkout")
    saved(store, "payments")
    assert store.reload("payments").policy_id == "payments"
    assert store.reload("checkout").policy_id == "checkout"


# -- not found --------------------------------------------------------------------------


def test_loading_an_unknown_id_raises_policy_not_found(store: Store) -> None:
    saved(store, "checkout")
    with pytest.raises(PolicyNotFound, match="'payments'") as missing:
        store.reload("payments")
    assert missing.value.policy_id == "payments"


def test_loading_from_an_empty_store_raises_policy_not_found(store: Store) -> None:
    with pytest.raises(PolicyNotFound):
        store.reload("checkout")


# -- independent copies -----------------------------------------------------------------


def test_each_load_returns_a_new_object(store: Store) -> None:
    saved(store)
    repository = store.repository
    assert repository.load("checkout") is not repository.load("checkout")


def test_changing_one_loaded_copy_leaves_another_unchanged(store: Store) -> None:
    saved(store)
    repository = store.repository
    first, second = repository.load("checkout"), repository.load("checkout")
    first.retire_rule("cpu-hot", "noisy")
    assert [r.rule_id for r in second.active_rules] == ["cpu-hot"]


def test_unsaved_changes_are_invisible_to_the_store(store: Store) -> None:
    saved(store)
    before = store.stored("checkout")
    copy = store.repository.load("checkout")
    copy.add_active_rule(rule("disk-full", "disk"))
    assert store.stored("checkout") == before


def test_changes_to_a_saved_object_stay_invisible_until_it_is_saved_again(store: Store) -> None:
    policy = saved(store)
    before = store.stored("checkout")
    policy.add_active_rule(rule("disk-full", "disk"))
    assert store.stored("checkout") == before


def test_an_unsaved_new_policy_is_not_stored(store: Store) -> None:
    MonitoringPolicy("checkout").add_active_rule(rule("r1"))
    with pytest.raises(PolicyNotFound):
        store.reload("checkout")


# -- versions ---------------------------------------------------------------------------


def test_saving_a_new_policy_stores_version_one(store: Store) -> None:
    policy = saved(store)
    assert (policy.version, store.stored("checkout").version) == (1, 1)


def test_the_same_object_can_be_saved_again_and_its_version_bumps(store: Store) -> None:
    policy = saved(store)
    policy.add_active_rule(rule("disk-full", "disk"))
    store.repository.save(policy)
    assert policy.version == 2
    assert store.stored("checkout") == policy.snapshot()


def test_a_loaded_copy_saves_at_the_next_version(store: Store) -> None:
    saved(store)
    copy = store.reload("checkout")
    store.repository.save(copy)
    assert store.stored("checkout").version == 2


# -- optimistic concurrency -------------------------------------------------------------


def test_a_stale_save_raises_concurrency_conflict(store: Store) -> None:
    saved(store)
    winner, loser = store.reload("checkout"), store.reload("checkout")
    store.repository.save(winner)
    with pytest.raises(ConcurrencyConflict) as conflict:
        store.repository.save(loser)
    assert (conflict.value.expected, conflict.value.actual) == (1, 2)
    assert "'checkout'" in str(conflict.value)


def test_a_stale_save_leaves_the_store_as_the_winner_left_it(store: Store) -> None:
    saved(store)
    winner, loser = store.reload("checkout"), store.reload("checkout")
    winner.add_active_rule(rule("disk-full", "disk"))
    store.repository.save(winner)
    loser.retire_rule("cpu-hot", "noisy")
    with pytest.raises(ConcurrencyConflict):
        store.repository.save(loser)
    assert store.stored("checkout") == winner.snapshot()


def test_a_stale_save_keeps_the_losers_changes_and_version(store: Store) -> None:
    saved(store)
    winner, loser = store.reload("checkout"), store.reload("checkout")
    store.repository.save(winner)
    loser.retire_rule("cpu-hot", "noisy")
    before = loser.snapshot()
    with pytest.raises(ConcurrencyConflict):
        store.repository.save(loser)
    assert loser.snapshot() == before


def test_saving_a_new_policy_under_a_taken_id_is_a_conflict(store: Store) -> None:
    saved(store)
    before = store.stored("checkout")
    impostor = MonitoringPolicy("checkout")
    impostor.add_active_rule(rule("other"))
    with pytest.raises(ConcurrencyConflict, match="already stored") as conflict:
        store.repository.save(impostor)
    assert (conflict.value.expected, conflict.value.actual) == (0, 1)
    assert store.stored("checkout") == before


def test_a_conflicting_save_leaves_the_handle_usable(store: Store) -> None:
    saved(store)
    repository = store.handle()
    loser = repository.load("checkout")
    store.repository.save(store.reload("checkout"))
    with pytest.raises(ConcurrencyConflict):
        repository.save(loser)
    fresh = repository.load("checkout")
    repository.save(fresh)
    assert fresh.version == 3


WRITERS = 6
EDITS_PER_WRITER = 3


def test_concurrent_writers_that_retry_on_conflict_lose_no_update(store: Store) -> None:
    saved(store)
    # All writers load version 1 before any saves, so at least WRITERS - 1 saves must conflict.
    lined_up = threading.Barrier(WRITERS)
    conflicts = [0] * WRITERS
    failures: list[BaseException] = []

    def writer(number: int, repository: PolicyRepository) -> None:
        try:
            for edit in range(EDITS_PER_WRITER):
                while True:
                    policy = repository.load("checkout")
                    policy.add_active_rule(rule(f"w{number}-e{edit}", f"metric-{number}-{edit}"))
                    if edit == 0 and conflicts[number] == 0:
                        lined_up.wait()
                    try:
                        repository.save(policy)
                        break
                    except ConcurrencyConflict:
                        conflicts[number] += 1
        except BaseException as error:  # reported below; a thread cannot fail the test itself
            lined_up.abort()
            failures.append(error)

    threads = [
        threading.Thread(target=writer, args=(number, store.handle())) for number in range(WRITERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    final = store.stored("checkout")
    expected_ids = {f"w{n}-e{e}" for n in range(WRITERS) for e in range(EDITS_PER_WRITER)}
    assert {r.rule_id for r in final.active_rules} == expected_ids | {"cpu-hot"}
    assert final.version == 1 + WRITERS * EDITS_PER_WRITER
    assert sum(conflicts) >= WRITERS - 1
