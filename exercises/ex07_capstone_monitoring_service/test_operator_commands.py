"""Exercise 7 specification, part 2: operator commands that never lose an edit.

``activate_rule`` and ``retire_rule`` load the policy, run the command on its
root and save it. When another operator saved first, the save raises
``ConcurrencyConflict``; the command then loads a fresh copy and repeats
itself, at most three attempts in all.

The tests put rival edits and evaluations *exactly* between a command's load
and its save, through :class:`RivalsBeforeSave`: no threads, no timing.

Run: uv run pytest exercises/ex07_capstone_monitoring_service
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import event, settings, stateful
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant

from aggregates_course import (
    ActiveRule,
    ConcurrencyConflict,
    DomainError,
    DuplicateMetricWindow,
    DuplicateRuleId,
    InMemoryPolicyRepository,
    InvalidReason,
    MonitoringPolicy,
    PolicyRepository,
    SqlitePolicyRepository,
    UnknownRule,
)
from aggregates_course.course.target import load_target
from aggregates_course.testing import (
    INVARIANT_WORDS,
    METRICS,
    RULE_IDS,
    PolicyModel,
    active_rules,
    after_steps,
    check_policy_invariants,
    expect_equal,
    expect_refusal,
    rule_ids,
)

SLUG = "ex07_capstone_monitoring_service"
POLICY_ID = "policy-1"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
FIVE_MINUTES = timedelta(minutes=5)
ATTEMPTS = 3
"""The README's promise: a command tries load-change-save at most three times."""


def application() -> ModuleType:
    return load_target(SLUG, "application")


def rule(rule_id: str, metric: str = "cpu", window: timedelta = FIVE_MINUTES) -> ActiveRule:
    return ActiveRule(rule_id, metric, window, 0.9)


RIVAL_REASON = "retired by a rival operator"


@dataclass(frozen=True)
class RivalAdd:
    """Another operator activates ``rule``: load, add, save, straight on the store."""

    rule: ActiveRule

    def act(self, store: PolicyRepository) -> None:
        policy = store.load(POLICY_ID)
        policy.add_active_rule(self.rule)
        store.save(policy)

    def describe(self) -> str:
        return f"rival adds {self.rule.describe()}"


@dataclass(frozen=True)
class RivalRetire:
    """Another operator retires ``rule_id``: load, retire, save, straight on the store."""

    rule_id: str

    def act(self, store: PolicyRepository) -> None:
        policy = store.load(POLICY_ID)
        policy.retire_rule(self.rule_id, RIVAL_REASON)
        store.save(policy)

    def describe(self) -> str:
        return f"rival retires {self.rule_id}"


@dataclass(frozen=True)
class RivalEvaluation:
    """An evaluation runs; it only reads, so it saves nothing (the machine checks its alerts)."""

    def act(self, store: PolicyRepository) -> None:
        pass

    def describe(self) -> str:
        return "an evaluation runs"


Rival = RivalAdd | RivalRetire | RivalEvaluation


class RivalsBeforeSave:
    """A repository wrapper that lets rivals act between a command's load and its save.

    ``script[n]`` lists the rivals that act just before the command's save
    number n + 1 reaches the store: one that saves makes that save a
    ``ConcurrencyConflict``. ``after_save`` lists rivals that act just after a
    save of the command succeeded, before the command returns. ``run``
    performs a rival (default: ``rival.act`` on the store). The wrapper also
    counts loads and saves, and stops a retry loop after ``max_saves`` saves.
    """

    def __init__(
        self,
        store: PolicyRepository,
        script: Sequence[Sequence[Rival]] = (),
        run: Callable[[Rival], None] | None = None,
        *,
        after_save: Sequence[Rival] = (),
        max_saves: int = ATTEMPTS,
    ) -> None:
        self.store = store
        self.script = [list(rivals) for rivals in script]
        self.after_save = list(after_save)
        self.run = run if run is not None else (lambda rival: rival.act(store))
        self.max_saves = max_saves
        self.loads = 0
        self.saves = 0

    def load(self, policy_id: str) -> MonitoringPolicy:
        self.loads += 1
        return self.store.load(policy_id)

    def save(self, policy: MonitoringPolicy) -> None:
        self.saves += 1
        if self.saves > self.max_saves:
            raise AssertionError(
                f"the command tried to save {self.saves} times; "
                f"it must give up after {self.max_saves} attempts"
            )
        for rival in self.script.pop(0) if self.script else []:
            self.run(rival)
        self.store.save(policy)
        for rival in self.after_save:
            self.run(rival)
        self.after_save = []


def stored(*rules: ActiveRule, retired: Sequence[str] = ()) -> InMemoryPolicyRepository:
    """A store holding policy-1 (at version 1) with ``rules``, some then retired."""
    policy = MonitoringPolicy(POLICY_ID)
    for active in rules:
        policy.add_active_rule(active)
    for rule_id in retired:
        policy.retire_rule(rule_id, "replaced")
    store = InMemoryPolicyRepository()
    store.save(policy)
    return store


def rule_ids_of(policy: MonitoringPolicy) -> tuple[list[str], list[str]]:
    return [r.rule_id for r in policy.active_rules], [r.rule_id for r in policy.retired_rules]


def lost_edit(step: str, error: ConcurrencyConflict) -> AssertionError:
    return AssertionError(
        f"{step} gave up with ConcurrencyConflict ({error}); after a conflict, load a fresh "
        "copy, repeat the command on it and save again"
    )


# -- explicit cases: one behaviour each ---------------------------------------------------


def test_activate_rule_saves_the_rule_and_returns_the_new_version() -> None:
    store = stored()
    version = application().activate_rule(store, POLICY_ID, rule("r1"))
    after = store.load(POLICY_ID)
    steps = ["store policy-1 at v1", "operator activates r1(cpu, 5m)"]
    expect_equal("the stored active rules", (rule("r1"),), after.active_rules, steps)
    expect_equal("the stored version", 2, after.version, steps)
    expect_equal("the version activate_rule returned", 2, version, steps)


def test_retire_rule_saves_the_retirement_and_returns_the_new_version() -> None:
    store = stored(rule("r1"))
    version = application().retire_rule(store, POLICY_ID, "r1", "too noisy")
    after = store.load(POLICY_ID)
    steps = ["store policy-1 with r1(cpu, 5m) at v1", "operator retires r1 ('too noisy')"]
    expect_equal("the stored active and retired ids", ([], ["r1"]), rule_ids_of(after), steps)
    expect_equal("the retirement's reason", "too noisy", after.retired_rules[0].reason, steps)
    expect_equal("the stored version", 2, after.version, steps)
    expect_equal("the version retire_rule returned", 2, version, steps)


REFUSED_COMMANDS = [
    pytest.param(
        DuplicateMetricWindow,
        "operator activates r2(cpu, 5m)",
        lambda app, repository: app.activate_rule(repository, POLICY_ID, rule("r2")),
        {"rule_id": "r2", "existing_rule_id": "r1"},
        id="watched pair",
    ),
    pytest.param(
        DuplicateRuleId,
        "operator activates r1(memory, 5m)",
        lambda app, repository: app.activate_rule(repository, POLICY_ID, rule("r1", "memory")),
        {"rule_id": "r1", "retired": False},
        id="reused id",
    ),
    pytest.param(
        UnknownRule,
        "operator retires r9",
        lambda app, repository: app.retire_rule(repository, POLICY_ID, "r9", "cleanup"),
        {"rule_id": "r9", "retired": False},
        id="unknown rule",
    ),
    pytest.param(
        InvalidReason,
        "operator retires r1 (' ')",
        lambda app, repository: app.retire_rule(repository, POLICY_ID, "r1", " "),
        {"rule_id": "r1"},
        id="blank reason",
    ),
]


@pytest.mark.parametrize(("error", "step", "command", "fields"), REFUSED_COMMANDS)
def test_a_refusal_by_the_policy_saves_nothing_and_is_not_retried(
    error: type[DomainError],
    step: str,
    command: Callable[[ModuleType, PolicyRepository], int],
    fields: dict[str, object],
) -> None:
    store = stored(rule("r1"))
    repository = RivalsBeforeSave(store)
    steps = ["store r1(cpu, 5m)"]
    expect_refusal(
        error,
        step,
        lambda: command(application(), repository),
        steps,
        INVARIANT_WORDS[error],
        fields={"policy_id": POLICY_ID, **fields},
    )
    steps.append(f"{step} (refused)")
    expect_equal(
        "(loads, saves)",
        (1, 0),
        (repository.loads, repository.saves),
        steps,
        "the policy's refusal is final: only a ConcurrencyConflict is worth another try",
    )
    expect_equal("the stored version", 1, store.load(POLICY_ID).version, steps)


def test_activate_retries_when_a_rival_saved_first() -> None:
    store = stored()
    repository = RivalsBeforeSave(store, [[RivalAdd(rule("r2", "memory"))]])
    try:
        version = application().activate_rule(repository, POLICY_ID, rule("r1"))
    except ConcurrencyConflict as error:
        raise lost_edit(
            "activate r1(cpu, 5m), after a rival added r2(memory, 5m),", error
        ) from None
    after = store.load(POLICY_ID)
    steps = ["load", "rival adds r2 and saves", "save (conflict)", "retry"]
    expect_equal(
        "the stored active and retired ids",
        (["r2", "r1"], []),
        rule_ids_of(after),
        steps,
        "both the rival's r2 and the operator's r1 must survive",
    )
    expect_equal("the stored version", 3, after.version, steps)
    expect_equal("the version activate_rule returned", 3, version, steps)
    expect_equal("the saves the command made", 2, repository.saves, steps)


def test_retire_retries_when_a_rival_saved_first() -> None:
    store = stored(rule("r1"), rule("r2", "memory"))
    repository = RivalsBeforeSave(store, [[RivalRetire("r2")]])
    try:
        version = application().retire_rule(repository, POLICY_ID, "r1", "too noisy")
    except ConcurrencyConflict as error:
        raise lost_edit("retire r1, after a rival retired r2,", error) from None
    after = store.load(POLICY_ID)
    steps = ["load", "rival retires r2 and saves", "save (conflict)", "retry"]
    expect_equal(
        "the stored active and retired ids",
        ([], ["r2", "r1"]),
        rule_ids_of(after),
        steps,
        "both retirements must survive",
    )
    expect_equal("the version retire_rule returned", 3, version, steps)


def test_a_retry_decides_again_on_the_fresh_copy() -> None:
    # The rival took (cpu, 5m) first, so the operator's r1 is now refused by the root.
    store = stored()
    repository = RivalsBeforeSave(store, [[RivalAdd(rule("r9"))]])
    steps = ["operator loads", "a rival adds r9(cpu, 5m) and saves first"]
    expect_refusal(
        DuplicateMetricWindow,
        "operator activates r1(cpu, 5m)",
        lambda: application().activate_rule(repository, POLICY_ID, rule("r1")),
        steps,
        INVARIANT_WORDS[DuplicateMetricWindow],
        fields={"policy_id": POLICY_ID, "rule_id": "r1", "existing_rule_id": "r9"},
    )
    expect_equal(
        "the stored active and retired ids", (["r9"], []), rule_ids_of(store.load(POLICY_ID)), steps
    )


@pytest.mark.parametrize("attempts", [1, 3, 5])
def test_the_retry_gives_up_after_its_attempts_and_keeps_every_rival_edit(attempts: int) -> None:
    store = stored()
    rivals = [[RivalAdd(rule(f"x{n}", "memory", timedelta(n)))] for n in range(1, attempts + 1)]
    repository = RivalsBeforeSave(store, rivals, max_saves=attempts)
    steps = [f"a rival saves first before each of the operator's {attempts} saves"]
    expect_refusal(
        ConcurrencyConflict,
        f"operator activates r1(cpu, 5m) with attempts={attempts}",
        lambda: application().activate_rule(repository, POLICY_ID, rule("r1"), attempts=attempts),
        steps,
        f"a command gives up after {attempts} conflicts",
        fields={"policy_id": POLICY_ID, "expected": attempts, "actual": attempts + 1},
    )
    expect_equal(
        "the saves the command made",
        attempts,
        repository.saves,
        steps,
        f"with a rival saving first every time, it tries {attempts} times, then raises",
    )
    expect_equal(
        "the stored active ids",
        [f"x{n}" for n in range(1, attempts + 1)],
        rule_ids_of(store.load(POLICY_ID))[0],
        steps,
    )


@pytest.mark.parametrize("attempts", [1, 5])
def test_the_last_allowed_attempt_still_saves(attempts: int) -> None:
    store = stored()
    rivals = [[RivalAdd(rule(f"x{n}", "memory", timedelta(n)))] for n in range(1, attempts)]
    repository = RivalsBeforeSave(store, rivals, max_saves=attempts)
    try:
        version = application().activate_rule(repository, POLICY_ID, rule("r1"), attempts=attempts)
    except ConcurrencyConflict as error:
        raise lost_edit(
            f"activate r1(cpu, 5m) with attempts={attempts}, after {attempts - 1} conflicts,",
            error,
        ) from None
    steps = [f"{attempts - 1} rival saves, each just before one of the operator's saves"]
    expect_equal("the saves the command made", attempts, repository.saves, steps)
    expect_equal("the version the command returned", attempts + 1, version, steps)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(lambda app, r: app.activate_rule(r, POLICY_ID, rule("r1")), id="activate"),
        pytest.param(lambda app, r: app.retire_rule(r, POLICY_ID, "r0", "merged"), id="retire"),
    ],
)
def test_a_command_returns_the_version_of_its_own_save(
    command: Callable[[ModuleType, PolicyRepository], int],
) -> None:
    # A rival saves right after the command's save and before it returns: the command must
    # report the version it saved at (2), not whatever the store holds by then (3).
    store = stored(rule("r0", "memory"))
    repository = RivalsBeforeSave(store, after_save=[RivalAdd(rule("x1", "latency_p99"))])
    version = command(application(), repository)
    steps = ["the command saves at v2", "a rival saves v3 before the command returns"]
    expect_equal("the version the command returned", 2, version, steps)
    expect_equal("the stored version", 3, store.load(POLICY_ID).version, steps)


@pytest.mark.parametrize("attempts", [0, -1, True, 1.5])
def test_attempts_must_be_a_positive_whole_number(attempts: object) -> None:
    store = stored()
    expect_refusal(
        ValueError,
        f"operator activates r1(cpu, 5m) with attempts={attempts!r}",
        lambda: application().activate_rule(store, POLICY_ID, rule("r1"), attempts=attempts),
        mentions=["attempts"],
    )
    expect_equal("the stored version", 1, store.load(POLICY_ID).version)


class MeetAfterFirstLoad:
    """Holds a thread right after its first load until the other operator has loaded too."""

    def __init__(self, store: PolicyRepository, both_loaded: threading.Barrier) -> None:
        self.store = store
        self.both_loaded = both_loaded
        self.met = False

    def load(self, policy_id: str) -> MonitoringPolicy:
        policy = self.store.load(policy_id)
        if not self.met:
            self.met = True
            self.both_loaded.wait()
        return policy

    def save(self, policy: MonitoringPolicy) -> None:
        self.store.save(policy)


def test_two_operators_in_threads_both_keep_their_edit(tmp_path: Path) -> None:
    path = tmp_path / "policies.db"
    with SqlitePolicyRepository(path) as setup:
        setup.save(MonitoringPolicy(POLICY_ID))
    app = application()
    both_loaded = threading.Barrier(2, timeout=10)
    failures: list[BaseException] = []

    def operator(new_rule: ActiveRule) -> None:
        with SqlitePolicyRepository(path) as own:
            try:
                app.activate_rule(MeetAfterFirstLoad(own, both_loaded), POLICY_ID, new_rule)
            except BaseException as error:
                failures.append(error)
                both_loaded.abort()  # Release the other operator at once.

    threads = [
        threading.Thread(target=operator, args=(r,)) for r in (rule("r1"), rule("r2", "memory"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [], f"an operator's command failed: {failures[0]!r}"
    with SqlitePolicyRepository(path) as check:
        after = check.load(POLICY_ID)
    steps = ["two operators in threads load v1", "one activates r1, the other r2"]
    expect_equal(
        "the stored active ids, sorted", ["r1", "r2"], sorted(rule_ids_of(after)[0]), steps
    )
    expect_equal("the stored version", 3, after.version, steps, "one save per operator")


# -- the interleaving machine -------------------------------------------------------------

HOT = 1e9
"""Every metric reads this in the machine's evaluations: each active rule below it fires."""

RIVAL_IDS = ("x1", "x2", "x3", "x4", "x5", "x6")
REASONS = ("too noisy", "replaced by a per-core rule", " ")
"""Operators' reasons; the blank one must be refused by the policy, and not retried."""


def rivals() -> st.SearchStrategy[Rival]:
    return st.one_of(
        st.builds(RivalAdd, active_rules(ids=rule_ids(RIVAL_IDS))),
        st.builds(RivalRetire, rule_ids(RULE_IDS + RIVAL_IDS)),
        st.just(RivalEvaluation()),
    )


def schedules() -> st.SearchStrategy[list[list[Rival]]]:
    """What happens before each of a command's saves; an empty list means nothing does."""
    return st.lists(st.lists(rivals(), max_size=2), max_size=ATTEMPTS)


def describe_schedule(schedule: Sequence[Sequence[Rival]]) -> str:
    parts = [
        f"before save {number}: {', '.join(rival.describe() for rival in rivals)}"
        for number, rivals in enumerate(schedule, start=1)
        if rivals
    ]
    return f" [{'; '.join(parts)}]" if parts else ""


def rival_saves(model: PolicyModel, rival: Rival) -> bool:
    """Apply ``rival`` to ``model`` if the policy accepts it; True when it saved a change."""
    if isinstance(rival, RivalAdd) and model.refusal_for_add(rival.rule) is None:
        model.add(rival.rule)
        return True
    if (
        isinstance(rival, RivalRetire)
        and model.refusal_for_retire(rival.rule_id, RIVAL_REASON) is None
    ):
        model.retire(rival.rule_id, RIVAL_REASON)
        return True
    return False


Refusal = Callable[[PolicyModel], type[DomainError] | None]


@settings(stateful_step_count=10)
class EditsAndEvaluationsInterleave(RuleBasedStateMachine):
    """Operators' commands race rival edits and evaluations; no accepted edit may be lost.

    After every step the stored policy must equal the model with every accepted
    edit applied in commit order, at one version per accepted edit.
    """

    def __init__(self) -> None:
        super().__init__()
        self.app = application()
        self.store = InMemoryPolicyRepository()
        self.store.save(MonitoringPolicy(POLICY_ID))
        self.version = 1
        self.repository = RivalsBeforeSave(self.store, run=self.run_rival)
        self.model = PolicyModel()
        self.steps: list[str] = []
        metrics_module = load_target(SLUG, "metrics")
        self.hot = metrics_module.InMemoryMetricSource(
            metrics_module.MetricSample(metric, NOW, HOT) for metric in METRICS
        )

    def after(self) -> str:
        return after_steps(self.steps)

    def run_rival(self, rival: Rival) -> None:
        """Let ``rival`` act mid-command, keeping the model in step with the store."""
        if isinstance(rival, RivalEvaluation):
            self.check_evaluation(f"{rival.describe()} mid-command")
        elif rival_saves(self.model, rival):
            rival.act(self.store)
            self.version += 1

    def predict(
        self, refusal: Refusal, schedule: Sequence[Sequence[Rival]]
    ) -> type[Exception] | None:
        """The error the command must end with (None: success), worked out on a model copy."""
        model = PolicyModel(list(self.model.active), list(self.model.retired))
        for attempt in range(ATTEMPTS):
            refused = refusal(model)
            if refused is not None:
                event(f"command refused by the policy after {attempt} conflict(s)")
                return refused
            rivals = schedule[attempt] if attempt < len(schedule) else []
            if not any([rival_saves(model, rival) for rival in rivals]):
                event(f"command saved after {attempt} conflict(s)")
                return None
        event("command gave up after three conflicts")
        return ConcurrencyConflict

    def run_command(
        self,
        step: str,
        schedule: Sequence[Sequence[Rival]],
        refusal: Refusal,
        apply: Callable[[PolicyModel], None],
        command: Callable[[], int],
    ) -> None:
        step += describe_schedule(schedule)
        expected = self.predict(refusal, schedule)
        self.repository.saves = 0
        self.repository.script = [list(rivals) for rivals in schedule]
        try:
            version = command()
        except Exception as error:
            if expected is None or not isinstance(error, expected):
                wanted = "to succeed" if expected is None else f"to raise {expected.__name__}"
                raise AssertionError(
                    f"{step} raised {type(error).__name__}: {error}; expected it {wanted}"
                    f"{self.after()}"
                ) from error
            self.steps.append(f"{step} (refused: {type(error).__name__})")
            return
        finally:
            self.repository.script = []
        if expected is not None:
            raise AssertionError(
                f"{step} succeeded, but it should raise {expected.__name__}{self.after()}"
            )
        apply(self.model)
        self.version += 1
        self.steps.append(step)
        assert version == self.version, (
            f"{step} returned version {version}, but it was saved at {self.version}{self.after()}"
        )

    def check_evaluation(self, label: str) -> None:
        sink = load_target(SLUG, "alerts").InMemoryAlertSink()
        alerts = self.app.evaluate_policy(
            self.store, POLICY_ID, source=self.hot, sink=sink, now=NOW
        )
        fired = [alert.rule.rule_id for alert in alerts]
        due = [r.rule_id for r in self.model.active if r.threshold < HOT]
        retired = [r.rule_id for r, _ in self.model.retired]
        assert fired == due, (
            f"{label} fired {fired}; with every metric at {HOT:g}, the stored active rules "
            f"below it are {due}, and retired {retired} stay silent{self.after()}"
        )

    @stateful.rule(new_rule=active_rules(), schedule=schedules())
    def operator_activates(self, new_rule: ActiveRule, schedule: list[list[Rival]]) -> None:
        self.run_command(
            f"operator activates {new_rule.describe()}",
            schedule,
            lambda model: model.refusal_for_add(new_rule),
            lambda model: model.add(new_rule),
            lambda: self.app.activate_rule(self.repository, POLICY_ID, new_rule),
        )

    @stateful.rule(
        rule_id=rule_ids(RULE_IDS + RIVAL_IDS),
        reason=st.sampled_from(REASONS),
        schedule=schedules(),
    )
    def operator_retires(self, rule_id: str, reason: str, schedule: list[list[Rival]]) -> None:
        self.run_command(
            f"operator retires {rule_id} ({reason!r})",
            schedule,
            lambda model: model.refusal_for_retire(rule_id, reason),
            lambda model: model.retire(rule_id, reason),
            lambda: self.app.retire_rule(self.repository, POLICY_ID, rule_id, reason),
        )

    @stateful.rule()
    def evaluation(self) -> None:
        self.check_evaluation("an evaluation")
        self.steps.append("evaluate")

    @invariant()
    def no_accepted_edit_is_lost(self) -> None:
        policy = self.store.load(POLICY_ID)
        check_policy_invariants(policy, self.steps)
        active, retired = rule_ids_of(policy)
        assert (active, retired) == (
            [r.rule_id for r in self.model.active],
            [r.rule_id for r, _ in self.model.retired],
        ), (
            f"stored active {active}, retired {retired}; every accepted edit, in commit order, "
            f"gives active {[r.rule_id for r in self.model.active]}, "
            f"retired {[r.rule_id for r, _ in self.model.retired]}{self.after()}"
        )
        stored = (list(policy.active_rules), [(r.rule, r.reason) for r in policy.retired_rules])
        assert stored == (self.model.active, self.model.retired), (
            f"a stored rule or retirement reason differs from the one its command gave"
            f"{self.after()}"
        )
        assert policy.version == self.version, (
            f"stored version {policy.version}, expected {self.version}: one save per accepted "
            f"edit{self.after()}"
        )


TestNoEditIsLostWhenEditsAndEvaluationsInterleave = EditsAndEvaluationsInterleave.TestCase
