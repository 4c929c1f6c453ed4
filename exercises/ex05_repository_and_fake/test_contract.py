"""Exercise 5 specification: one repository contract, run against your fake and SQLite.

Every test runs twice: once against your ``InMemoryPolicyRepository`` and
once against ``SqlitePolicyRepository`` on a temporary file. SQLite already
passes; your fake must pass exactly the same tests.

Run: uv run pytest exercises/ex05_repository_and_fake
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from aggregates_course import (
    ActiveRule,
    ConcurrencyConflict,
    DomainError,
    MonitoringPolicy,
    PolicyNotFound,
    PolicyRepository,
    PolicySnapshot,
    SqlitePolicyRepository,
)
from aggregates_course.course.target import load_target
from aggregates_course.testing import active_rules, expect_refusal, reasons

FIVE_MINUTES = timedelta(minutes=5)
REPOSITORIES = ["fake", "sqlite"]
POLICY_IDS = ("checkout", "search")


@contextmanager
def open_repository(kind: str, *, on_disk: bool = True) -> Iterator[PolicyRepository]:
    """A fresh, empty repository: your fake, or SQLite on a new temporary file.

    Generated tests pass ``on_disk=False``: SQLite then keeps its database in
    memory, the same code minus a disk sync per save, so hundreds of runs stay fast.
    """
    if kind == "fake":
        fake = load_target("ex05_repository_and_fake", "fake")
        repository: PolicyRepository = fake.InMemoryPolicyRepository()
        yield repository
        return
    with ExitStack() as resources:
        path: str | Path = ":memory:"
        if on_disk:
            path = Path(resources.enter_context(tempfile.TemporaryDirectory())) / "policies.db"
            path.touch()  # an empty file is an empty store; SQLite never loads from a missing one
        yield resources.enter_context(SqlitePolicyRepository(path))


@pytest.fixture(params=REPOSITORIES)
def repository(request: pytest.FixtureRequest) -> Iterator[PolicyRepository]:
    with open_repository(request.param) as opened:
        yield opened


def rule_named(rule_id: str, metric: str = "cpu") -> ActiveRule:
    return ActiveRule(rule_id, metric, FIVE_MINUTES, 0.9)


def rule_ids(policy: MonitoringPolicy) -> list[str]:
    return [r.rule_id for r in policy.active_rules]


def saved_policy(repository: PolicyRepository, policy_id: str = "checkout") -> MonitoringPolicy:
    """A policy with the one active rule r1, saved once (so at version 1)."""
    policy = MonitoringPolicy(policy_id)
    policy.add_active_rule(rule_named("r1"))
    repository.save(policy)
    return policy


# -- load ---------------------------------------------------------------------------


def test_loading_an_unknown_id_raises_policy_not_found(repository: PolicyRepository) -> None:
    refused = expect_refusal(
        PolicyNotFound, "load nobody", lambda: repository.load("nobody"), ["an empty store"]
    )
    assert refused.policy_id == "nobody"


def test_each_load_returns_a_new_object(repository: PolicyRepository) -> None:
    saved_policy(repository)
    first, second = repository.load("checkout"), repository.load("checkout")
    assert first is not second, "two loads returned the same object: callers would share edits"


def test_changes_to_a_loaded_copy_stay_out_of_the_store(repository: PolicyRepository) -> None:
    saved_policy(repository)
    copy = repository.load("checkout")
    copy.add_active_rule(rule_named("r2", metric="memory"))
    assert rule_ids(repository.load("checkout")) == ["r1"], (
        "an unsaved change to a loaded copy reached the store -- after: save r1; load; add r2"
    )


# -- save -----------------------------------------------------------------------------


def test_saving_a_new_policy_stores_it_at_version_one(repository: PolicyRepository) -> None:
    policy = saved_policy(repository)
    assert policy.version == 1, "a successful save must move the saved object to the new version"
    assert repository.load("checkout").snapshot() == policy.snapshot()


def test_every_save_moves_the_version_up_by_one(repository: PolicyRepository) -> None:
    saved_policy(repository)
    copy = repository.load("checkout")
    copy.add_active_rule(rule_named("r2", metric="memory"))
    repository.save(copy)
    assert copy.version == 2
    stored = repository.load("checkout")
    assert (stored.version, rule_ids(stored)) == (2, ["r1", "r2"])


def test_changes_after_a_save_stay_out_of_the_store(repository: PolicyRepository) -> None:
    policy = saved_policy(repository)
    policy.retire_rule("r1", "too noisy")
    assert rule_ids(repository.load("checkout")) == ["r1"], (
        "the store changed without a save: it keeps the live object, not a copy "
        "-- after: save r1; retire r1 (not saved)"
    )


def test_policies_are_versioned_on_their_own(repository: PolicyRepository) -> None:
    saved_policy(repository, "checkout")
    saved_policy(repository, "search")
    assert repository.load("search").version == 1, "each policy has its own version"
    assert rule_ids(repository.load("checkout")) == ["r1"]


# -- optimistic concurrency -------------------------------------------------------------


def stale_save(repository: PolicyRepository) -> tuple[MonitoringPolicy, MonitoringPolicy]:
    """Two copies loaded at version 1; the first saves r2, the second tries to save r3."""
    saved_policy(repository)
    winner, loser = repository.load("checkout"), repository.load("checkout")
    winner.add_active_rule(rule_named("r2", metric="memory"))
    repository.save(winner)
    loser.add_active_rule(rule_named("r3", metric="latency_p99"))
    return winner, loser


STALE_SAVE_STEPS = ["two loads at v1", "save r2"]


def test_a_stale_copy_is_refused_with_concurrency_conflict(repository: PolicyRepository) -> None:
    _, loser = stale_save(repository)
    refused = expect_refusal(
        ConcurrencyConflict, "save r3", lambda: repository.save(loser), STALE_SAVE_STEPS
    )
    assert (refused.expected, refused.actual) == (1, 2), (
        "ConcurrencyConflict should carry the version the copy was loaded at (1) "
        "and the version in the store (2)"
    )


def test_a_refused_save_changes_neither_store_nor_copy(repository: PolicyRepository) -> None:
    winner, loser = stale_save(repository)
    expect_refusal(ConcurrencyConflict, "save r3", lambda: repository.save(loser), STALE_SAVE_STEPS)
    stored = repository.load("checkout")
    assert stored.snapshot() == winner.snapshot(), (
        f"a refused save changed the store to {rule_ids(stored)} at version {stored.version}; "
        "expected the winner's ['r1', 'r2'] at version 2 -- after: two loads at v1; "
        "save r2; save r3 (refused)"
    )
    assert loser.version == 1, "a refused save must not move the loser's version"


def test_a_new_policy_cannot_take_a_stored_id(repository: PolicyRepository) -> None:
    saved_policy(repository)
    newcomer = MonitoringPolicy("checkout")
    newcomer.add_active_rule(rule_named("r9", metric="memory"))
    refused = expect_refusal(
        ConcurrencyConflict,
        "save a new checkout with r9",
        lambda: repository.save(newcomer),
        ["save checkout with r1"],
    )
    assert (refused.expected, refused.actual) == (0, 1)
    assert rule_ids(repository.load("checkout")) == ["r1"], (
        "a new policy overwrote the stored one with the same id -- after: save checkout "
        "with r1; save a new checkout with r9"
    )


# -- whole aggregates, generated ----------------------------------------------------------


def test_a_whole_policy_comes_back_with_retired_rules_in_order(
    repository: PolicyRepository,
) -> None:
    policy = MonitoringPolicy("checkout")
    # Awkward thresholds on purpose: a store must keep -0.0 and subnormals as they are.
    thresholds = [-0.0, 5e-324, 0.9, -3.5]
    for number, metric in enumerate(["cpu", "memory", "latency_p99", "错误率"]):
        policy.add_active_rule(ActiveRule(f"r{number}", metric, FIVE_MINUTES, thresholds[number]))
    policy.retire_rule("r2", "replaced by\na p95 rule")
    policy.retire_rule("r0", "too noisy")
    repository.save(policy)
    loaded = repository.load("checkout")
    assert loaded.snapshot() == policy.snapshot(), (
        "the loaded policy differs from the saved one: store the whole snapshot, "
        "active and retired rules, in order"
    )
    assert loaded.collect_events() == [], "a loaded policy has no pending events"


def repository_contract(kind: str) -> type[RuleBasedStateMachine]:
    """Random loads, edits and saves by several callers, checked against a model store."""

    class RepositoryContract(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.resources = ExitStack()
            self.repository = self.resources.enter_context(open_repository(kind, on_disk=False))
            # The model: what the store must hold for each policy id.
            self.stored: dict[str, PolicySnapshot] = {}
            self.copies: list[MonitoringPolicy] = []
            self.steps: list[str] = []

        def teardown(self) -> None:
            self.resources.close()

        def after(self) -> str:
            return f" -- after: {'; '.join(self.steps)}"

        @rule(policy_id=st.sampled_from(POLICY_IDS), first=active_rules())
        def save_new_policy(self, policy_id: str, first: ActiveRule) -> None:
            step = f"save a new {policy_id} with {first.describe()}"
            policy = MonitoringPolicy(policy_id)
            policy.add_active_rule(first)
            stored = self.stored.get(policy_id)
            if stored is None:
                self.repository.save(policy)
                self.stored[policy_id] = policy.snapshot()
            else:
                try:
                    self.repository.save(policy)
                except ConcurrencyConflict:
                    step += " (refused)"
                else:
                    raise AssertionError(
                        f"{step} should be refused with ConcurrencyConflict: {policy_id} is "
                        f"already stored at version {stored.version}{self.after()}"
                    )
            self.steps.append(step)

        @rule(policy_id=st.sampled_from(POLICY_IDS))
        def load(self, policy_id: str) -> None:
            step = f"load {policy_id} as copy#{len(self.copies)}"
            if policy_id not in self.stored:
                try:
                    self.repository.load(policy_id)
                except PolicyNotFound:
                    self.steps.append(f"load {policy_id} (not found)")
                    return
                raise AssertionError(
                    f"loading {policy_id}, which was never saved, should raise PolicyNotFound"
                    f"{self.after()}"
                )
            self.copies.append(self.repository.load(policy_id))
            self.steps.append(step)

        @precondition(lambda self: bool(self.copies))
        @rule(data=st.data(), new=active_rules(), retire=st.booleans(), reason=reasons())
        def edit_copy(
            self, data: st.DataObject, new: ActiveRule, retire: bool, reason: str
        ) -> None:
            number = data.draw(st.integers(0, len(self.copies) - 1), label="copy")
            copy = self.copies[number]
            try:
                if copy.active_rules and retire:
                    copy.retire_rule(copy.active_rules[0].rule_id, reason)
                    self.steps.append(f"copy#{number}: retire {copy.retired_rules[-1].rule_id}")
                else:
                    copy.add_active_rule(new)
                    self.steps.append(f"copy#{number}: add {new.describe()}")
            except DomainError:
                pass  # the policy refused the edit; MonitoringPolicy is not under test here

        @precondition(lambda self: bool(self.copies))
        @rule(data=st.data())
        def save_copy(self, data: st.DataObject) -> None:
            number = data.draw(st.integers(0, len(self.copies) - 1), label="copy")
            copy = self.copies[number]
            stored = self.stored[copy.policy_id]
            step = f"save copy#{number} (loaded at v{copy.version}, store at v{stored.version})"
            if copy.version == stored.version:
                self.repository.save(copy)
                assert copy.version == stored.version + 1, (
                    f"{step} should move the copy to v{stored.version + 1}, "
                    f"it is at v{copy.version}{self.after()}"
                )
                self.stored[copy.policy_id] = copy.snapshot()
                self.steps.append(step)
                return
            before = copy.version
            try:
                self.repository.save(copy)
            except ConcurrencyConflict:
                pass
            else:
                raise AssertionError(
                    f"{step} should be refused with ConcurrencyConflict{self.after()}"
                )
            assert copy.version == before, f"refused {step} moved the copy's version"
            self.steps.append(f"{step} (refused)")

        @invariant()
        def store_holds_what_was_saved(self) -> None:
            for policy_id, expected in self.stored.items():
                found = self.repository.load(policy_id).snapshot()
                assert found == expected, (
                    f"the store holds {policy_id} at v{found.version} with "
                    f"{[r.rule_id for r in found.active_rules]} active, but the last successful "
                    f"save left v{expected.version} with "
                    f"{[r.rule_id for r in expected.active_rules]} active{self.after()}"
                )

    RepositoryContract.__name__ = RepositoryContract.__qualname__ = f"{kind.title()}Contract"
    return RepositoryContract


# Conflicts need only a few loads and saves; short programs keep both runs fast.
SHORT_PROGRAMS = settings(stateful_step_count=15)
TestFakeRepositoryContract = SHORT_PROGRAMS(repository_contract("fake")).TestCase
TestSqliteRepositoryContract = SHORT_PROGRAMS(repository_contract("sqlite")).TestCase
