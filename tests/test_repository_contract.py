"""The PolicyRepository contract, run against every repository alike.

Every test here runs once per backend in :data:`BACKENDS`, so the fake that
other tests rely on cannot drift from the real stores. A *store* is one place
policies live; a *handle* is a repository object on it. The fake has one
handle shared by everyone; SQLite gives each caller its own instance on the
same file when asked for a new handle, and shares one instance when a test
shares ``store.repository``.

Adding a backend is one entry in :data:`BACKENDS`: a context manager that
takes the pytest request and yields a factory of handles on one fresh, empty
store (``request.getfixturevalue`` reaches ``tmp_path`` and the like;
``request.config.add_cleanup`` can stop a server once the session ends).
``real_store`` runs the differential test against every backend but the fake.
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
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, stateful
from hypothesis import strategies as st

from aggregates_course import (
    ActiveRule,
    ConcurrencyConflict,
    InMemoryPolicyRepository,
    InvalidRule,
    MonitoringPolicy,
    PolicyNotFound,
    PolicyRepository,
    PolicySnapshot,
    SqlitePolicyRepository,
)
from aggregates_course.testing import active_rules, check_policy_invariants, policies, reasons
from tests.postgres_server import postgres_handles

FIVE_MINUTES = timedelta(minutes=5)

# A Hypothesis test shares one store across its examples, each saving under its own
# policy id, so examples never meet (and SQLite creates one file, not a hundred).
SHARED_STORE = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
EXAMPLE_POLICY_IDS = (f"example-{number}" for number in itertools.count())

Handles = Callable[[], PolicyRepository]
"""Gives a handle on one store each time it is called."""

Backend = Callable[[pytest.FixtureRequest], contextlib.AbstractContextManager[Handles]]
"""Opens one fresh, empty store for a test and yields its :data:`Handles`."""


class Store:
    """One place policies live: a handle for the test's commands, one for looking, more on demand.

    ``handle()`` gives another handle on the same store, e.g. one per thread.
    Saving through one handle and loading through another is what a round trip
    through a real database means.
    """

    def __init__(self, handle: Handles) -> None:
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
    (That the schema is created on first use is tested in test_sqlite_schema.py.)
    """
    path = tmp_path_factory.mktemp("template") / "empty.db"
    path.touch()  # An empty file is an empty store: first use gives it the schema.
    with SqlitePolicyRepository(path) as repository, contextlib.suppress(PolicyNotFound):
        repository.load("nothing")
    return path


@contextlib.contextmanager
def memory_backend(request: pytest.FixtureRequest) -> Iterator[Handles]:
    """The fake: one instance is the whole store, so every handle is that instance."""
    shared = InMemoryPolicyRepository()
    yield lambda: shared


@contextlib.contextmanager
def sqlite_backend(request: pytest.FixtureRequest) -> Iterator[Handles]:
    """A SQLite file of the test's own; each handle is a new instance on it."""
    path: Path = request.getfixturevalue("tmp_path") / "policies.db"
    shutil.copyfile(request.getfixturevalue("empty_sqlite_file"), path)
    opened: list[SqlitePolicyRepository] = []

    def new_instance() -> PolicyRepository:
        instance = SqlitePolicyRepository(path)
        opened.append(instance)
        return instance

    yield new_instance
    for instance in opened:
        instance.close()


BACKENDS: dict[str, Backend] = {
    "memory": memory_backend,
    "sqlite": sqlite_backend,
    "postgres": postgres_handles,
}
"""Every repository the contract runs against, by test id."""


@pytest.fixture(params=list(BACKENDS))
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    with BACKENDS[request.param](request) as handles:
        yield Store(handles)


@pytest.fixture(params=[name for name in BACKENDS if name != "memory"])
def real_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """Every backend except the fake, for tests that compare one with the fake."""
    with BACKENDS[request.param](request) as handles:
        yield Store(handles)


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


# -- bad ids and bad arguments -----------------------------------------------------------

# (junk id, what InvalidRule says about it): the same words the aggregate's constructor uses.
JUNK_ID_REFUSALS = [
    (5, "invalid policy_id: must be a string, not int"),
    (["checkout"], "invalid policy_id: must be a string, not list"),
    (None, "invalid policy_id: must be a string, not NoneType"),
    ("  ", "invalid policy_id: must not be empty or only whitespace"),
    (" checkout", "invalid policy_id: ' checkout' has leading or trailing whitespace"),
    ("check\x00out", "invalid policy_id: 'check\\x00out' contains a control character"),
    ("p" * 129, "invalid policy_id: is 129 characters long; the limit is 128"),
]


@pytest.mark.parametrize(("junk", "refusal"), JUNK_ID_REFUSALS)
def test_loading_a_junk_id_is_refused_as_the_aggregate_refuses_it(
    store: Store, junk: Any, refusal: str
) -> None:
    with pytest.raises(InvalidRule) as refused:
        store.repository.load(junk)
    assert (refused.value.field, str(refused.value)) == ("policy_id", refusal)


@pytest.mark.parametrize(("junk", "refusal"), JUNK_ID_REFUSALS)
def test_saving_a_policy_with_a_forged_junk_id_is_refused_and_stores_nothing(
    store: Store, junk: Any, refusal: str
) -> None:
    forged = ForgedPolicy(junk)
    with pytest.raises(InvalidRule) as refused:
        store.repository.save(forged)
    assert (refused.value.field, str(refused.value)) == ("policy_id", refusal)
    assert forged.version == 0
    with pytest.raises(PolicyNotFound):
        store.reload("forged")


def test_a_policy_whose_id_property_lies_is_stored_under_the_id_it_is_rebuilt_with(
    store: Store,
) -> None:
    # What is stored comes from the snapshot alone, so the key and the loaded policy agree.
    forged = ForgedPolicy("checkout")
    store.repository.save(forged)
    assert exactly(store.stored("forged")) == exactly(
        PolicySnapshot("forged", 1, forged.active_rules, forged.retired_rules)
    )
    with pytest.raises(PolicyNotFound):
        store.reload("checkout")


@pytest.mark.parametrize("junk", ["checkout", None, 5, ("checkout",)])
def test_saving_something_that_is_not_a_policy_is_a_type_error(store: Store, junk: Any) -> None:
    with pytest.raises(TypeError) as refused:
        store.repository.save(junk)
    assert str(refused.value) == (
        f"a repository saves a MonitoringPolicy, not {type(junk).__name__}"
    )


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


# -- one handle shared by threads --------------------------------------------------------

SHARING_THREADS = 8
CYCLES_PER_THREAD = 25


def test_one_handle_shared_by_threads_keeps_every_update(store: Store) -> None:
    saved(store)  # version 1 with one active rule; every save below adds exactly one more
    shared = store.repository
    lined_up = threading.Barrier(SHARING_THREADS)
    saves = [0] * SHARING_THREADS
    torn_loads: list[str] = []
    failures: list[BaseException] = []

    def load_change_save(number: int) -> None:
        try:
            lined_up.wait()
            for cycle in range(CYCLES_PER_THREAD):
                while True:
                    policy = shared.load("checkout")
                    if len(policy.active_rules) != policy.version:
                        torn_loads.append(f"{policy!r}: rules and version from different saves")
                    policy.add_active_rule(rule(f"t{number}-c{cycle}", f"metric-{number}-{cycle}"))
                    try:
                        shared.save(policy)
                    except ConcurrencyConflict:
                        continue  # someone saved first: load again and repeat the command
                    saves[number] += 1
                    break
        except BaseException as error:  # reported below; a thread cannot fail the test itself
            lined_up.abort()
            failures.append(error)

    threads = [
        threading.Thread(target=load_change_save, args=(number,))
        for number in range(SHARING_THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert torn_loads == []
    final = store.stored("checkout")
    updates = SHARING_THREADS * CYCLES_PER_THREAD
    expected_ids = {
        f"t{number}-c{cycle}"
        for number in range(SHARING_THREADS)
        for cycle in range(CYCLES_PER_THREAD)
    }
    assert sum(saves) == updates
    assert {r.rule_id for r in final.active_rules} == expected_ids | {"cpu-hot"}
    assert final.version == 1 + updates


# -- every repository answers every program as the fake does -----------------------------

# Ids no policy can have: the wrong type, blank, padded, control or format characters,
# a lone surrogate, too long. Random text adds more of both kinds, valid ones included.
JUNK_IDS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.binary(max_size=4),
    st.lists(st.text(max_size=3), max_size=2),
    st.sampled_from(
        ["", " ", "\t\n", " checkout", "checkout ", "check\x00out", "a\nb", "\u200bx", "\ud800"]
    ),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=120, max_size=140),
    st.text(max_size=8),
)


def refused_as_policy_id(value: object) -> bool:
    try:
        MonitoringPolicy(value)  # type: ignore[arg-type]
    except InvalidRule:
        return True
    return False


# Only ids the aggregate refuses: a forged policy with a valid id would be stored,
# outside the per-program prefix, and meet the next program.
REFUSED_IDS = JUNK_IDS.filter(refused_as_policy_id)
POLICY_NAMES = ("checkout", "payments")
MACHINE_PREFIXES = (f"machine-{number}-" for number in itertools.count())


class ForgedPolicy(MonitoringPolicy):
    """A policy whose ``policy_id`` lies, as a careless subclass or a mock might."""

    def __init__(self, forged_id: Any) -> None:
        super().__init__("forged")
        self.forged_id = forged_id

    @property
    def policy_id(self) -> str:
        forged: str = self.forged_id
        return forged


class Twins:
    """The same policy, once for the fake and once for the repository under test."""

    def __init__(self, fake_side: MonitoringPolicy, real_side: MonitoringPolicy) -> None:
        self.fake_side = fake_side
        self.real_side = real_side


def outcome(action: Callable[[], object]) -> tuple[object, ...]:
    """What ``action`` did, comparable across repositories: a result, or an error and its words."""
    try:
        result = action()
    except Exception as error:  # the point is to compare errors, whichever they are
        return ("raised", type(error), str(error))
    if isinstance(result, MonitoringPolicy):
        return ("loaded", exactly(result.snapshot()))
    return ("returned", result)


class SameAsTheFake(stateful.RuleBasedStateMachine):
    """Runs one random program on the fake and on a real repository, step by step.

    Ids of real policies get a per-program prefix, so programs sharing one store
    never meet; junk ids and junk values are passed as drawn.
    """

    twins = stateful.Bundle("twins")

    real: PolicyRepository
    """The repository under test, set by a subclass per store."""

    def __init__(self) -> None:
        super().__init__()
        self.fake = InMemoryPolicyRepository()
        self.prefix = next(MACHINE_PREFIXES)

    def both(self, step: Callable[[PolicyRepository], object]) -> None:
        """Run ``step`` on each repository; both must give the same result or the same error."""
        assert outcome(lambda: step(self.real)) == outcome(lambda: step(self.fake))

    @stateful.rule(target=twins, name=st.sampled_from(POLICY_NAMES))
    def new_policy(self, name: str) -> Twins:
        return Twins(MonitoringPolicy(self.prefix + name), MonitoringPolicy(self.prefix + name))

    @stateful.rule(target=twins, name=st.sampled_from(POLICY_NAMES))
    def load(self, name: str) -> object:
        loaded: list[MonitoringPolicy] = []

        def load_and_keep(repository: PolicyRepository) -> MonitoringPolicy:
            loaded.append(repository.load(self.prefix + name))
            return loaded[-1]

        self.both(load_and_keep)
        return Twins(*loaded) if loaded else stateful.multiple()

    # One rule for the three kinds of junk, so that they take a sixth of the steps, not half.
    @stateful.rule(
        junk_call=st.one_of(
            st.tuples(st.just("load"), JUNK_IDS),
            st.tuples(st.just("save"), st.one_of(JUNK_IDS, st.sampled_from(POLICY_NAMES))),
            st.tuples(st.just("save"), REFUSED_IDS.map(ForgedPolicy)),
        )
    )
    def call_with_junk(self, junk_call: tuple[str, Any]) -> None:
        method, argument = junk_call
        self.both(lambda repository: getattr(repository, method)(argument))

    @stateful.rule(twins=twins, new_rule=active_rules())
    def add_rule(self, twins: Twins, new_rule: ActiveRule) -> None:
        assert outcome(lambda: twins.real_side.add_active_rule(new_rule)) == outcome(
            lambda: twins.fake_side.add_active_rule(new_rule)
        )

    @stateful.rule(twins=twins, reason=reasons())
    def retire_first_rule(self, twins: Twins, reason: str) -> None:
        for side in (twins.fake_side, twins.real_side):
            if side.active_rules:
                side.retire_rule(side.active_rules[0].rule_id, reason)

    @stateful.rule(twins=stateful.consumes(twins))
    def save(self, twins: Twins) -> None:
        def save_and_report(repository: PolicyRepository, policy: MonitoringPolicy) -> int:
            repository.save(policy)
            return policy.version

        assert outcome(lambda: save_and_report(self.real, twins.real_side)) == outcome(
            lambda: save_and_report(self.fake, twins.fake_side)
        )


def test_every_repository_answers_every_program_as_the_fake_does(real_store: Store) -> None:
    class SameAsTheFakeOnThisStore(SameAsTheFake):
        real = real_store.repository

    stateful.run_state_machine_as_test(
        SameAsTheFakeOnThisStore, settings=settings(stateful_step_count=25)
    )
