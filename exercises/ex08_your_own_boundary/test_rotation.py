"""Exercise 8 specification, part 1: your rotation keeps the business rules.

One named example per rule of the README, then random programs of commands
compared with a model that is obviously right and deliberately simple: the
instants where a shift starts, and who is on call from each.

Run: uv run pytest exercises/ex08_your_own_boundary
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from types import ModuleType
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from aggregates_course.course.target import load_target
from aggregates_course.testing import STEPS_PER_PROGRAM, expect_equal, expect_refusal

SLUG = "ex08_your_own_boundary"
ROTATION_ID = "payments-on-call"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
END = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)
ENGINEERS = ("ana", "bo", "chen", "dara")
INSTANTS = tuple(START + timedelta(hours=hours) for hours in range(-1, 14))
"""Every whole hour from one before the period to one after it: commands collide often."""

RULES = {
    "UnknownShift": "a command acts only where there is a shift, or a hand-over, to act on",
    "EmptyShift": "every shift lasts some time",
    "OnCallTwiceInARow": "nobody is on call for two shifts in a row",
}
"""The rule each refusal protects, in the words the failure messages use."""


def contract() -> ModuleType:
    return load_target(SLUG, "contract")


def new_rotation(engineer: str = "ana", start: datetime = START, end: datetime = END) -> Any:
    return load_target(SLUG, "rotation").Rotation(ROTATION_ID, start, end, engineer)


def at(clock: str) -> datetime:
    """``"13:00"``: that time on the day of the period."""
    hours, minutes = clock.split(":")
    return START.replace(hour=int(hours), minute=int(minutes))


def clock(instant: datetime) -> str:
    """How an instant reads in messages: ``13:00`` on the period's day, else in full."""
    instant = instant.astimezone(UTC)
    return instant.strftime("%H:%M") if instant.date() == START.date() else instant.isoformat()


def shown_shifts(rotation: Any) -> tuple[str, ...]:
    """The shifts as a reader sees them, copied out as text: ``ana 09:00-13:00``."""
    return tuple(f"{s.engineer} {clock(s.start)}-{clock(s.end)}" for s in rotation.shifts)


def seen(rotation: Any) -> dict[str, object]:
    """Everything a reader of ``rotation`` can see, copied out as values."""
    return {
        "rotation_id": rotation.rotation_id,
        "period": f"{clock(rotation.start)}-{clock(rotation.end)}",
        "shifts": shown_shifts(rotation),
        "on call": tuple(f"{clock(i)} {rotation.on_call_at(i)}" for i in INSTANTS),
    }


REFUSED_CHANGES = "a refused command changes nothing"
CHANGED_BEHIND_ITS_BACK = (
    "only the rotation's commands may change it; this went behind the root's back"
)


def unchanged(
    before: dict[str, object], rotation: Any, what: str, steps: list[str], why: str
) -> None:
    """Fail, naming the part that moved, unless a reader sees what ``before`` saw."""
    now = seen(rotation)
    for part, was in before.items():
        expect_equal(f"{part} after {what}", was, now[part], steps, why)


class Session:
    """A rotation driven through its root, each step remembered for failure messages."""

    def __init__(self, engineer: str = "ana") -> None:
        self.rotation = new_rotation(engineer)
        self.steps = [f"create {ROTATION_ID} from 09:00 to 21:00 with {engineer} on call"]

    def hand_over(self, when: str, engineer: str) -> None:
        step = f"hand over at {when} to {engineer}"
        self.accepts(step, lambda: self.rotation.hand_over(at(when), engineer))

    def move(self, when: str, to: str) -> None:
        step = f"move the hand-over at {when} to {to}"
        self.accepts(step, lambda: self.rotation.move_handover(at(when), at(to)))

    def swap(self, first: str, second: str) -> None:
        step = f"swap the shifts starting at {first} and {second}"
        self.accepts(step, lambda: self.rotation.swap(at(first), at(second)))

    def refuses(
        self, step: str, command: Callable[[], object], refusal: str, **fields: object
    ) -> None:
        """``command`` must raise ``refusal``, carrying ``fields``, and change nothing."""
        before = seen(self.rotation)
        expect_refusal(
            getattr(contract(), refusal),
            step,
            command,
            self.steps,
            RULES[refusal],
            fields={"rotation_id": ROTATION_ID, **fields},
        )
        unchanged(before, self.rotation, f"the refused {step}", self.steps, REFUSED_CHANGES)
        self.steps.append(f"{step} (refused)")

    def expect_shifts(self, *shifts: str) -> None:
        expect_equal("the shifts", shifts, shown_shifts(self.rotation), self.steps)

    def accepts(self, step: str, command: Callable[[], object]) -> None:
        """``command`` breaks no rule: the rotation must accept it; record the step."""
        try:
            command()
        except contract().RotationRefused as refused:
            raise AssertionError(
                f"{step} breaks no rule and should be accepted, but it was refused with "
                f"{type(refused).__name__}: {refused} -- after: {'; '.join([*self.steps, step])}"
            ) from refused
        self.steps.append(step)


def three_shifts() -> Session:
    """ana 09:00-13:00, bo 13:00-17:00, chen 17:00-21:00."""
    session = Session()
    session.hand_over("13:00", "bo")
    session.hand_over("17:00", "chen")
    return session


# -- a new rotation ------------------------------------------------------------------------


def test_a_new_rotation_is_one_shift_over_the_whole_period() -> None:
    session = Session("dara")
    session.expect_shifts("dara 09:00-21:00")
    rotation = session.rotation
    expect_equal("rotation_id", ROTATION_ID, rotation.rotation_id, session.steps)
    expect_equal("start", START, rotation.start, session.steps)
    expect_equal("end", END, rotation.end, session.steps)


@pytest.mark.parametrize("end", ["09:00", "08:00"], ids=["ends as it starts", "ends before"])
def test_a_period_that_lasts_no_time_is_refused(end: str) -> None:
    expect_refusal(
        contract().EmptyShift,
        f"create {ROTATION_ID} from 09:00 to {end}",
        lambda: new_rotation("ana", START, at(end)),
        invariant=RULES["EmptyShift"],
        fields={"rotation_id": ROTATION_ID},
    )


# -- hand-overs ----------------------------------------------------------------------------


def test_a_hand_over_splits_the_shift_that_holds_the_instant() -> None:
    session = Session()
    session.hand_over("13:00", "bo")
    session.expect_shifts("ana 09:00-13:00", "bo 13:00-21:00")
    session.hand_over("17:30", "chen")
    session.hand_over("11:00", "chen")
    session.expect_shifts(
        "ana 09:00-11:00", "chen 11:00-13:00", "bo 13:00-17:30", "chen 17:30-21:00"
    )


@pytest.mark.parametrize(
    ("when", "engineer"),
    [
        ("08:59", None),
        ("09:00", "ana"),
        ("12:59", "ana"),
        ("13:00", "bo"),
        ("20:59", "bo"),
        ("21:00", None),
    ],
)
def test_on_call_at_names_who_holds_the_instant(when: str, engineer: str | None) -> None:
    # A shift holds its start and not its end: at a hand-over the new engineer is on call.
    session = Session()
    session.hand_over("13:00", "bo")
    found = session.rotation.on_call_at(at(when))
    expect_equal(f"on_call_at({when})", engineer, found, session.steps)


@pytest.mark.parametrize("when", ["08:00", "21:00", "22:00"])
def test_a_hand_over_outside_the_period_is_refused(when: str) -> None:
    session = three_shifts()
    step = f"hand over at {when} to dara"
    session.refuses(step, lambda: session.rotation.hand_over(at(when), "dara"), "UnknownShift")


@pytest.mark.parametrize(
    ("when", "engineer"),
    [("09:00", "dara"), ("13:00", "dara"), ("17:00", "bo")],
    ids=["period start", "hand-over", "before checking who"],
)
def test_a_hand_over_where_a_shift_starts_is_refused(when: str, engineer: str) -> None:
    session = three_shifts()
    step = f"hand over at {when} to {engineer}"
    session.refuses(step, lambda: session.rotation.hand_over(at(when), engineer), "EmptyShift")


@pytest.mark.parametrize(("when", "engineer"), [("15:00", "bo"), ("11:00", "bo")])
def test_nobody_is_handed_their_own_or_their_next_shift(when: str, engineer: str) -> None:
    # At 15:00 bo would take over from bo; at 11:00 bo would take over just before bo's shift.
    session = three_shifts()
    session.refuses(
        f"hand over at {when} to {engineer}",
        lambda: session.rotation.hand_over(at(when), engineer),
        "OnCallTwiceInARow",
        engineer=engineer,
    )


def test_an_engineer_may_hold_two_shifts_with_someone_between() -> None:
    session = three_shifts()
    session.hand_over("19:00", "ana")
    session.hand_over("11:00", "chen")
    session.expect_shifts(
        "ana 09:00-11:00",
        "chen 11:00-13:00",
        "bo 13:00-17:00",
        "chen 17:00-19:00",
        "ana 19:00-21:00",
    )


# -- moving a hand-over --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("15:30", ("ana 09:00-13:00", "bo 13:00-15:30", "chen 15:30-21:00")),
        ("20:00", ("ana 09:00-13:00", "bo 13:00-20:00", "chen 20:00-21:00")),
        ("13:30", ("ana 09:00-13:00", "bo 13:00-13:30", "chen 13:30-21:00")),
    ],
    ids=["earlier", "later", "almost onto the one before"],
)
def test_moving_a_hand_over_moves_the_end_of_one_shift_and_the_start_of_the_next(
    to: str, expected: tuple[str, ...]
) -> None:
    session = three_shifts()
    session.move("17:00", to)
    session.expect_shifts(*expected)


@pytest.mark.parametrize("when", ["09:00", "11:00", "21:00", "08:00"])
def test_moving_where_no_hand_over_happens_is_refused(when: str) -> None:
    # The period's start is where the first shift starts, but nobody hands over there.
    session = three_shifts()
    step = f"move the hand-over at {when} to 12:00"
    session.refuses(
        step, lambda: session.rotation.move_handover(at(when), at("12:00")), "UnknownShift"
    )


@pytest.mark.parametrize(
    ("when", "to"),
    [
        ("13:00", "09:00"),
        ("13:00", "08:00"),
        ("13:00", "17:00"),
        ("13:00", "18:00"),
        ("17:00", "21:00"),
        ("17:00", "22:00"),
    ],
)
def test_a_move_onto_or_past_another_edge_is_refused(when: str, to: str) -> None:
    session = three_shifts()
    step = f"move the hand-over at {when} to {to}"
    session.refuses(step, lambda: session.rotation.move_handover(at(when), at(to)), "EmptyShift")


# -- swaps ---------------------------------------------------------------------------------


def test_a_swap_trades_the_engineers_and_keeps_the_times() -> None:
    # Shifts of different lengths: the engineers trade places, the hours stay where they were.
    session = Session()
    session.hand_over("11:00", "bo")
    session.hand_over("18:00", "chen")
    session.swap("09:00", "18:00")
    session.expect_shifts("chen 09:00-11:00", "bo 11:00-18:00", "ana 18:00-21:00")
    session.swap("11:00", "18:00")
    session.expect_shifts("chen 09:00-11:00", "ana 11:00-18:00", "bo 18:00-21:00")


@pytest.mark.parametrize(
    ("first", "second"),
    [("09:00", "12:00"), ("12:00", "13:00"), ("08:00", "17:00"), ("17:00", "21:00")],
)
def test_a_swap_of_an_instant_where_no_shift_starts_is_refused(first: str, second: str) -> None:
    session = three_shifts()
    session.refuses(
        f"swap the shifts starting at {first} and {second}",
        lambda: session.rotation.swap(at(first), at(second)),
        "UnknownShift",
    )


@pytest.mark.parametrize(
    ("first", "second"), [("09:00", "17:00"), ("17:00", "09:00"), ("13:00", "19:00")]
)
def test_a_swap_that_puts_someone_on_call_twice_in_a_row_is_refused(
    first: str, second: str
) -> None:
    # ana bo chen ana: trading ana's first shift for chen's leaves ana on call twice in a
    # row at the end, trading bo's for the last one at the start. Half a trade is no trade.
    session = three_shifts()
    session.hand_over("19:00", "ana")
    session.refuses(
        f"swap the shifts starting at {first} and {second}",
        lambda: session.rotation.swap(at(first), at(second)),
        "OnCallTwiceInARow",
    )


# -- the boundary: nothing changes the rotation but its commands ------------------------------


SEALED = (AttributeError, TypeError)
"""What a sealed rotation may raise when something tries to change it from outside."""


def expect_sealed(session: Session, route: str, change: Callable[[], object]) -> None:
    """``change`` must raise AttributeError or TypeError, or leave the rotation as it was."""
    before = seen(session.rotation)
    with contextlib.suppress(*SEALED):
        change()
    unchanged(before, session.rotation, route, session.steps, CHANGED_BEHIND_ITS_BACK)


SHIFT_LIST_ROUTES: dict[str, Callable[[Any, Any], object]] = {
    "rotation.shifts.append(...)": lambda shifts, new: shifts.append(new),
    "rotation.shifts.clear()": lambda shifts, new: shifts.clear(),
    "rotation.shifts[0] = ...": lambda shifts, new: shifts.__setitem__(0, new),
    "del rotation.shifts[1]": lambda shifts, new: shifts.__delitem__(1),
}


@pytest.mark.parametrize("route", SHIFT_LIST_ROUTES)
def test_the_shifts_a_reader_holds_cannot_change_the_rotation(route: str) -> None:
    session = three_shifts()
    shifts = session.rotation.shifts
    expect_sealed(session, route, lambda: SHIFT_LIST_ROUTES[route](shifts, shifts[2]))


@pytest.mark.parametrize(
    ("name", "value"), [("engineer", "dara"), ("start", at("10:00")), ("end", at("12:00"))]
)
def test_a_shift_a_reader_holds_cannot_change_the_rotation(name: str, value: object) -> None:
    session = three_shifts()
    shift = session.rotation.shifts[0]
    expect_sealed(session, f"rotation.shifts[0].{name} = ...", lambda: setattr(shift, name, value))


@pytest.mark.parametrize(
    ("name", "value"),
    [("rotation_id", "other"), ("start", at("08:00")), ("end", at("22:00")), ("shifts", ())],
)
def test_the_id_the_period_and_the_shifts_cannot_be_reassigned(name: str, value: object) -> None:
    session = three_shifts()
    route = f"rotation.{name} = ..."
    expect_sealed(session, route, lambda: setattr(session.rotation, name, value))


# -- random programs against a model -------------------------------------------------------


@dataclass
class RotationModel:
    """A rotation as the instants where shifts start and who is on call from each."""

    starts: list[datetime] = field(default_factory=lambda: [START])
    engineers: list[str] = field(default_factory=list)

    def shifts(self) -> tuple[str, ...]:
        ends = [*self.starts[1:], END]
        return tuple(
            f"{who} {clock(start)}-{clock(end)}"
            for who, start, end in zip(self.engineers, self.starts, ends, strict=True)
        )

    def on_call_at(self, instant: datetime) -> str | None:
        if not START <= instant < END:
            return None
        return self.engineers[max(i for i, start in enumerate(self.starts) if start <= instant)]

    def hand_over(self, when: datetime, engineer: str) -> str | None:
        """Apply a hand-over the rules allow; otherwise return the refusal's name."""
        if not START <= when < END:
            return "UnknownShift"
        if when in self.starts:
            return "EmptyShift"
        position = max(i for i, start in enumerate(self.starts) if start < when) + 1
        engineers = [*self.engineers[:position], engineer, *self.engineers[position:]]
        if _twice_in_a_row(engineers):
            return "OnCallTwiceInARow"
        self.starts.insert(position, when)
        self.engineers = engineers
        return None

    def move_handover(self, when: datetime, to: datetime) -> str | None:
        """Apply a move the rules allow; otherwise return the refusal's name."""
        if when not in self.starts[1:]:
            return "UnknownShift"
        position = self.starts.index(when)
        after = [*self.starts, END][position + 1]
        if not self.starts[position - 1] < to < after:
            return "EmptyShift"
        self.starts[position] = to
        return None

    def swap(self, first: datetime, second: datetime) -> str | None:
        """Apply a swap the rules allow; otherwise return the refusal's name."""
        if first not in self.starts or second not in self.starts:
            return "UnknownShift"
        one, other = self.starts.index(first), self.starts.index(second)
        engineers = list(self.engineers)
        engineers[one], engineers[other] = engineers[other], engineers[one]
        if _twice_in_a_row(engineers):
            return "OnCallTwiceInARow"
        self.engineers = engineers
        return None


def _twice_in_a_row(engineers: list[str]) -> bool:
    return any(before == after for before, after in pairwise(engineers))


INSTANT = st.sampled_from(INSTANTS)
ENGINEER = st.sampled_from(ENGINEERS)


# The course's program length, as in every exercise: each mistake shows within a few steps.
@settings(stateful_step_count=STEPS_PER_PROGRAM)
class RotationMachine(RuleBasedStateMachine):
    """Random hand-overs, moves and swaps on your rotation and on the model, side by side."""

    def __init__(self) -> None:
        super().__init__()
        self.model = RotationModel()
        self.session: Session

    @initialize(engineer=ENGINEER)
    def create(self, engineer: str) -> None:
        self.session = Session(engineer)
        self.model.engineers = [engineer]

    def run(self, step: str, command: Callable[[], object], refusal: str | None) -> None:
        if refusal is None:
            self.session.accepts(step, command)
        else:
            self.session.refuses(step, command, refusal)

    @rule(when=INSTANT, engineer=ENGINEER)
    def hand_over(self, when: datetime, engineer: str) -> None:
        refusal = self.model.hand_over(when, engineer)
        step = f"hand over at {clock(when)} to {engineer}"
        self.run(step, lambda: self.session.rotation.hand_over(when, engineer), refusal)

    @rule(when=INSTANT, to=INSTANT)
    def move_handover(self, when: datetime, to: datetime) -> None:
        self.move(when, to)

    @precondition(lambda self: len(self.model.starts) > 1)
    @rule(data=st.data(), to=INSTANT)
    def move_a_real_handover(self, data: st.DataObject, to: datetime) -> None:
        # Drawn from the rotation's own hand-overs, so that moves are often accepted.
        self.move(data.draw(st.sampled_from(self.model.starts[1:]), label="when"), to)

    @rule(data=st.data())
    def swap_two_shifts(self, data: st.DataObject) -> None:
        # Mostly real shift starts, so that swaps are often accepted; sometimes any instant.
        instants = st.one_of(st.sampled_from(self.model.starts), INSTANT)
        first, second = data.draw(instants, label="first"), data.draw(instants, label="second")
        refusal = self.model.swap(first, second)
        step = f"swap the shifts starting at {clock(first)} and {clock(second)}"
        self.run(step, lambda: self.session.rotation.swap(first, second), refusal)

    def move(self, when: datetime, to: datetime) -> None:
        refusal = self.model.move_handover(when, to)
        step = f"move the hand-over at {clock(when)} to {clock(to)}"
        self.run(step, lambda: self.session.rotation.move_handover(when, to), refusal)

    @invariant()
    def agrees_with_the_model(self) -> None:
        steps = self.session.steps
        rotation = self.session.rotation
        expect_equal("the shifts", self.model.shifts(), shown_shifts(rotation), steps)
        for instant in INSTANTS:
            expected = self.model.on_call_at(instant)
            found = rotation.on_call_at(instant)
            expect_equal(f"on_call_at({clock(instant)})", expected, found, steps)


TestRandomProgramsOfCommands = RotationMachine.TestCase
