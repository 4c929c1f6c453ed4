"""Exercise 5 specification: one repository contract, run against your fake and SQLite.

Every test runs twice: once against your ``InMemoryPolicyRepository`` and
once against ``SqlitePolicyRepository`` on a temporary file. SQLite already
passes; your fake must pass exactly the same tests.

Run: uv run pytest exercises/ex05_repository_and_fake
"""

from __future__ import annotations

import dataclasses
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from aggregates_course import (
    ActiveRule,
    ConcurrencyConflict,
    DomainError,
    InvalidRule,
    MonitoringPolicy,
    PolicyNotFound,
    PolicyRepository,
    PolicySnapshot,
    SqlitePolicyRepository,
)
from aggregates_course.course.target import load_target
from aggregates_course.testing import (
    active_rules,
    after_steps,
    expect_equal,
    expect_refusal,
    reasons,
)

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
    expect_refusal(
        PolicyNotFound,
        "load nobody",
        lambda: repository.load("nobody"),
        ["an empty store"],
        fields={"policy_id": "nobody"},
    )


JUNK_IDS = [None, 42, ["checkout"], "", " checkout", "check\x00out", "x" * 129]


@pytest.mark.parametrize(
    "junk",
    JUNK_IDS,
    ids=["None", "a number", "a list", "empty", "padded", "control character", "too long"],
)
def test_loading_an_id_no_policy_could_have_raises_invalid_rule(
    repository: PolicyRepository, junk: object
) -> None:
    # Every repository refuses a junk id the same way, before it looks anything up:
    # InvalidRule naming the field, never PolicyNotFound or a TypeError from the store.
    saved_policy(repository)
    expect_refusal(
        InvalidRule,
        f"load {junk!r}",
        lambda: repository.load(junk),  # type: ignore[arg-type]
        ["save checkout with r1"],
        "an id no policy could have is refused before the store is touched",
        fields={"field": "policy_id"},
    )


def test_each_load_returns_a_new_object(repository: PolicyRepository) -> None:
    saved_policy(repository)
    first, second = repository.load("checkout"), repository.load("checkout")
    assert first is not second, "two loads returned the same object: callers would share edits"
    expect_equal(
        "the second load", first.snapshot(), second.snapshot(), ["save r1", "load", "load again"]
    )


def test_changes_to_a_loaded_copy_stay_out_of_the_store(repository: PolicyRepository) -> None:
    saved_policy(repository)
    copy = repository.load("checkout")
    copy.add_active_rule(rule_named("r2", metric="memory"))
    expect_equal(
        "the stored active rules",
        ["r1"],
        rule_ids(repository.load("checkout")),
        ["save r1", "load", "add r2 to the loaded copy (not saved)"],
        "an unsaved change to a loaded copy must not reach the store",
    )


# -- save -----------------------------------------------------------------------------


def test_saving_a_new_policy_stores_it_at_version_one(repository: PolicyRepository) -> None:
    policy = saved_policy(repository)
    steps = ["save a new checkout with r1"]
    expect_equal(
        "the saved object's version", 1, policy.version, steps, "a successful save moves it"
    )
    expect_equal("the stored policy", policy.snapshot(), repository.load("checkout").snapshot())


def test_every_save_moves_the_version_up_by_one(repository: PolicyRepository) -> None:
    saved_policy(repository)
    copy = repository.load("checkout")
    copy.add_active_rule(rule_named("r2", metric="memory"))
    repository.save(copy)
    steps = ["save r1", "load", "add r2", "save"]
    expect_equal("the saved copy's version", 2, copy.version, steps)
    stored = repository.load("checkout")
    expect_equal("the stored version", 2, stored.version, steps)
    expect_equal("the stored active rules", ["r1", "r2"], rule_ids(stored), steps)


def test_changes_after_a_save_stay_out_of_the_store(repository: PolicyRepository) -> None:
    policy = saved_policy(repository)
    policy.retire_rule("r1", "too noisy")
    expect_equal(
        "the stored active rules",
        ["r1"],
        rule_ids(repository.load("checkout")),
        ["save r1", "retire r1 on the saved object (not saved)"],
        "the store must keep a copy, never the live object",
    )


def test_policies_are_versioned_on_their_own(repository: PolicyRepository) -> None:
    saved_policy(repository, "checkout")
    saved_policy(repository, "search")
    steps = ["save a new checkout with r1", "save a new search with r1"]
    expect_equal("the stored version of search", 1, repository.load("search").version, steps)
    expect_equal(
        "the stored active rules of checkout", ["r1"], rule_ids(repository.load("checkout"))
    )


# -- optimistic concurrency -------------------------------------------------------------


def conflict(policy_id: str, expected: int, actual: int) -> dict[str, object]:
    """What a ConcurrencyConflict must report: the copy's version and the store's."""
    return {"policy_id": policy_id, "expected": expected, "actual": actual}


def stale_save(
    repository: PolicyRepository, rival_saves: int = 1
) -> tuple[MonitoringPolicy, MonitoringPolicy]:
    """Two copies loaded at version 1; the first saves ``rival_saves`` times, the second adds r3."""
    saved_policy(repository)
    winner, loser = repository.load("checkout"), repository.load("checkout")
    for number in range(rival_saves):
        winner.add_active_rule(
            ActiveRule(f"w{number}", "memory", timedelta(minutes=number + 1), 0.5)
        )
        repository.save(winner)
    loser.add_active_rule(rule_named("r3", metric="latency_p99"))
    return winner, loser


@pytest.mark.parametrize("rival_saves", [1, 3])
def test_a_stale_copy_is_refused_with_concurrency_conflict(
    repository: PolicyRepository, rival_saves: int
) -> None:
    _, loser = stale_save(repository, rival_saves)
    expect_refusal(
        ConcurrencyConflict,
        "save the second copy",
        lambda: repository.save(loser),
        ["two loads at v1", f"the first copy saves {rival_saves} time(s)"],
        "a save must start from the version in the store",
        fields=conflict("checkout", 1, 1 + rival_saves),
    )


def test_a_refused_save_changes_neither_store_nor_copy(repository: PolicyRepository) -> None:
    winner, loser = stale_save(repository)
    steps = ["two loads at v1", "the first copy saves", "save the second copy (refused)"]
    expect_refusal(
        ConcurrencyConflict, "save the second copy", lambda: repository.save(loser), steps[:2]
    )
    expect_equal(
        "the stored policy", winner.snapshot(), repository.load("checkout").snapshot(), steps
    )
    expect_equal("the refused copy's version", 1, loser.version, steps)


@pytest.mark.parametrize(("stored", "ahead"), [(True, 3), (False, 2)], ids=["stored", "new"])
def test_a_copy_ahead_of_the_store_is_refused(
    repository: PolicyRepository, stored: bool, ahead: int
) -> None:
    # Only a copy of exactly the stored version may be saved; a copy "from the future" was
    # never loaded from this store, and accepting it would skip versions.
    before = 1 if stored else 0
    if stored:
        saved_policy(repository)
    policy = MonitoringPolicy("checkout")
    policy.add_active_rule(rule_named("r9", metric="memory"))
    copy = MonitoringPolicy.from_snapshot(dataclasses.replace(policy.snapshot(), version=ahead))
    steps = [f"checkout stored at v{before}", f"a copy claims v{ahead}"]
    expect_refusal(
        ConcurrencyConflict,
        f"save the copy at v{ahead}",
        lambda: repository.save(copy),
        steps,
        "a save must start from the version in the store",
        fields=conflict("checkout", ahead, before),
    )
    steps.append(f"save the copy at v{ahead} (refused)")
    expect_equal("the copy's version", ahead, copy.version, steps)
    if stored:
        expect_equal(
            "the stored active rules", ["r1"], rule_ids(repository.load("checkout")), steps
        )
        expect_equal("the stored version", 1, repository.load("checkout").version, steps)
    else:
        expect_refusal(PolicyNotFound, "load checkout", lambda: repository.load("checkout"), steps)


def test_a_new_policy_cannot_take_a_stored_id(repository: PolicyRepository) -> None:
    saved_policy(repository)
    newcomer = MonitoringPolicy("checkout")
    newcomer.add_active_rule(rule_named("r9", metric="memory"))
    steps = ["save checkout with r1"]
    expect_refusal(
        ConcurrencyConflict,
        "save a new checkout with r9",
        lambda: repository.save(newcomer),
        steps,
        fields=conflict("checkout", 0, 1),
    )
    expect_equal(
        "the stored active rules",
        ["r1"],
        rule_ids(repository.load("checkout")),
        [*steps, "save a new checkout with r9 (refused)"],
        "a new policy must not overwrite a stored one with the same id",
    )


# -- one fake shared by threads -----------------------------------------------------------

GUARD_SECONDS = 10.0
"""How long the two-thread test waits for any one step before it calls the fake stuck.

A correct fake never comes near it: every wait below ends on something the other side
does (a write reached, a save finished, a thread waiting for the lock), never on the clock.
"""


class Progress:
    """What the two saves have done so far, announced as it happens; the test waits on it."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._seen: set[str] = set()

    def note(self, event: str) -> None:
        with self._changed:
            self._seen.add(event)
            self._changed.notify_all()

    def wait_for_any(self, *events: str) -> set[str]:
        """Wait until one of ``events`` happened (or the guard ran out); return those seen."""
        with self._changed:
            self._changed.wait_for(
                lambda: any(event in self._seen for event in events), timeout=GUARD_SECONDS
            )
            return {event for event in events if event in self._seen}


class WatchedLock:
    """Stands in for the fake's ``self._lock``: a real lock that announces when a save waits.

    Reentrant, so a fake that takes its lock again inside ``save`` still works.
    """

    def __init__(self, progress: Progress) -> None:
        self._lock = threading.RLock()
        self._progress = progress

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._lock.acquire(blocking=False):
            return True
        if not blocking:
            return False
        self._progress.note(f"{threading.current_thread().name} waits for self._lock")
        return self._lock.acquire(timeout=timeout)

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exception: object) -> None:
        self.release()


class HeldBeforeWriting(dict[str, PolicySnapshot]):
    """Stands in for the fake's ``self._snapshots``: one thread's first write waits for a go."""

    def __init__(self, stored: dict[str, PolicySnapshot], progress: Progress) -> None:
        super().__init__(stored)
        self._progress = progress
        self.held: threading.Thread | None = None
        self.go = threading.Event()

    def __setitem__(self, policy_id: str, snapshot: PolicySnapshot) -> None:
        if threading.current_thread() is self.held:
            self.held = None
            self._progress.note("the first save is about to write")
            self.go.wait(GUARD_SECONDS)
        super().__setitem__(policy_id, snapshot)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for policy_id, snapshot in dict(*args, **kwargs).items():
            self[policy_id] = snapshot

    def __ior__(self, other: Any) -> HeldBeforeWriting:  # type: ignore[override,misc]
        self.update(other)
        return self


class Save(threading.Thread):
    """One save in a thread of its own; ``outcome`` is ``"saved"`` or what it raised."""

    def __init__(self, name: str, save: Callable[[], None], progress: Progress) -> None:
        super().__init__(name=name, daemon=True)  # a stuck fake must not keep pytest alive
        self._save = save
        self._progress = progress
        self.outcome: object = None

    def run(self) -> None:
        try:
            self._save()
            self.outcome = "saved"
        except Exception as raised:  # reported by the test; a thread cannot fail it
            self.outcome = raised
        self._progress.note(f"{self.name} save finished")


def test_the_fake_never_lets_two_saves_of_one_version_both_succeed() -> None:
    # Threads may share the fake, so a save's version check and its write must be one step.
    # No timing: the first save is held just before it writes; the second runs until it
    # finishes or waits for the fake's lock, and only then is the first let go.
    with open_repository("fake") as repository:
        fake: Any = repository
        saved_policy(repository)
        first, second = repository.load("checkout"), repository.load("checkout")
        first.add_active_rule(rule_named("ra", "memory"))
        second.add_active_rule(rule_named("rb", "latency_p99"))
        steps = ["save checkout with r1 (v1)", "two copies load v1", "one adds ra, the other rb"]
        progress = Progress()
        store = HeldBeforeWriting(fake._snapshots, progress)
        fake._snapshots, fake._lock = store, WatchedLock(progress)
        saves = [
            Save("first", lambda: repository.save(first), progress),
            Save("second", lambda: repository.save(second), progress),
        ]
        store.held = saves[0]
        try:
            saves[0].start()
            reached = progress.wait_for_any(
                "the first save is about to write", "first save finished"
            )
            assert "the first save is about to write" in reached, (
                "the first save "
                + (
                    f"finished ({describe_outcome(saves[0].outcome)}) without writing into "
                    "self._snapshots"
                    if reached
                    else f"neither wrote into self._snapshots nor finished in {GUARD_SECONDS:g} s"
                )
                + f"; keep the stored snapshots in that dict{after_steps(steps)}"
            )
            saves[1].start()
            reached = progress.wait_for_any("second save finished", "second waits for self._lock")
            assert reached, (
                "while the first save was about to write, the second neither finished nor waited "
                f"for self._lock in {GUARD_SECONDS:g} s; a save waits for the lock __init__ gives "
                f"the fake, not for one of its own{after_steps(steps)}"
            )
        finally:
            store.go.set()
            for save in saves:
                save.join(GUARD_SECONDS)
        steps.append("both save at once")
        outcomes = [save.outcome for save in saves]
        if outcomes == ["saved", "saved"]:
            raise AssertionError(
                "two saves of checkout, each of a copy loaded at v1, both succeeded: the second "
                "went through while the first stood between its version check and its write, "
                "then the first wrote over it, and the edit adding rb was lost; hold self._lock "
                f"from reading the stored version until the write is done{after_steps(steps)}"
            )
        expect_equal(
            "how the two saves ended, in either order",
            ["ConcurrencyConflict", "saved"],
            sorted(outcome_kind(outcome) for outcome in outcomes),
            steps,
            "exactly one succeeds, and the other is refused: "
            + ", ".join(map(describe_outcome, outcomes)),
        )
        refused = next(o for o in outcomes if isinstance(o, ConcurrencyConflict))
        expect_equal(
            "the conflict's versions (expected, actual)",
            (1, 2),
            (refused.expected, refused.actual),
            steps,
        )
        winner = first if outcomes[0] == "saved" else second
        expect_equal(
            "the stored policy", winner.snapshot(), repository.load("checkout").snapshot(), steps
        )


def outcome_kind(outcome: object) -> str:
    """``saved``, the name of the error a save raised, or ``still running``."""
    if isinstance(outcome, BaseException):
        return type(outcome).__name__
    return "still running" if outcome is None else str(outcome)


def describe_outcome(outcome: object) -> str:
    """:func:`outcome_kind`, with the message of an error."""
    if isinstance(outcome, BaseException):
        return f"{outcome_kind(outcome)}: {outcome}"
    return outcome_kind(outcome)


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
    steps = ["add r0..r3", "retire r2 and r0", "save", "load"]
    expect_equal(
        "the loaded policy",
        policy.snapshot(),
        loaded.snapshot(),
        steps,
        "store the whole snapshot, active and retired rules, in order",
    )
    expect_equal("the loaded policy's pending events", [], loaded.collect_events(), steps)


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
            return after_steps(self.steps)

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
                self.refused_save(step, policy, stored.version)
                step += " (refused)"
            self.steps.append(step)

        def refused_save(self, step: str, copy: MonitoringPolicy, stored_version: int) -> None:
            """Saving ``copy`` must raise ConcurrencyConflict naming both versions, and change
            nothing: the store is checked by the invariant, the copy's version here."""
            before = copy.version
            expect_refusal(
                ConcurrencyConflict,
                step,
                lambda: self.repository.save(copy),
                self.steps,
                f"{copy.policy_id} is stored at v{stored_version}",
                fields={
                    "policy_id": copy.policy_id,
                    "expected": before,
                    "actual": stored_version,
                },
            )
            expect_equal("the refused copy's version", before, copy.version, [*self.steps, step])

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
        @rule(data=st.data(), ahead=st.integers(min_value=0, max_value=2))
        def save_copy(self, data: st.DataObject, ahead: int) -> None:
            number = data.draw(st.integers(0, len(self.copies) - 1), label="copy")
            copy = self.copies[number]
            if ahead:
                # A copy claiming a later version than it was loaded at: never saved as such.
                copy = MonitoringPolicy.from_snapshot(
                    dataclasses.replace(copy.snapshot(), version=copy.version + ahead)
                )
                self.copies[number] = copy
            stored = self.stored[copy.policy_id]
            step = f"save copy#{number} (at v{copy.version}, store at v{stored.version})"
            if copy.version != stored.version:
                self.refused_save(step, copy, stored.version)
                self.steps.append(f"{step} (refused)")
                return
            self.repository.save(copy)
            self.steps.append(step)
            expect_equal("the saved copy's version", stored.version + 1, copy.version, self.steps)
            self.stored[copy.policy_id] = copy.snapshot()

        @invariant()
        def store_holds_what_was_saved(self) -> None:
            for policy_id, expected in self.stored.items():
                expect_equal(
                    f"the stored {policy_id}",
                    expected,
                    self.repository.load(policy_id).snapshot(),
                    self.steps,
                    "the store holds exactly what the last successful save of it left",
                )

    RepositoryContract.__name__ = RepositoryContract.__qualname__ = f"{kind.title()}Contract"
    return RepositoryContract


# Conflicts need only a few loads and saves; short programs keep both runs fast.
SHORT_PROGRAMS = settings(stateful_step_count=15)
TestFakeRepositoryContract = SHORT_PROGRAMS(repository_contract("fake")).TestCase
TestSqliteRepositoryContract = SHORT_PROGRAMS(repository_contract("sqlite")).TestCase
