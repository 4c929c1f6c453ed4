"""Exercise 8, solved: the rotation's rules, declared for ``aggregate_machine``.

A rotation is made over twelve hours, and every argument is a small whole
number, so that random programs collide often: hand-overs land on hand-overs,
moves run into their neighbours. Hand-overs and moves use any whole hour, one
either side of the period included, to reach every refusal; moves and swaps
also aim at shifts that really exist, by position, so that they are often
accepted and a wrong swap cannot hide behind ``UnknownShift``.

``observe`` is everything a reader can see, with every instant written as the
hours since the period's start (13:00 reads ``4.0``): the id, the period, each
shift's engineer, start and end, and who is on call at each whole hour, so a
change to any of them shows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine

from aggregates_course.testing import aggregate_machine

from .contract import NewRotation, RotationLike, RotationRefused

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ONE_HOUR = timedelta(hours=1)
HOURS = 12
HOURS_SEEN = range(-1, HOURS + 2)
"""Every whole hour from one before the period to one after it."""

hours = st.sampled_from(HOURS_SEEN)
engineers = st.sampled_from(("ana", "bo", "chen", "dara"))
positions = st.integers(min_value=0, max_value=7)


def at(hour: int) -> datetime:
    """The instant ``hour`` whole hours after the period's start."""
    return START + hour * ONE_HOUR


def shift_start(rotation: RotationLike, position: int) -> datetime:
    """Where a shift really starts: the one at ``position``, counted round the rotation."""
    return rotation.shifts[position % len(rotation.shifts)].start


def hand_over(rotation: RotationLike, argument: tuple[int, str]) -> None:
    """Hand over at a whole hour, inside the period or not, to one of four engineers."""
    hour, engineer = argument
    rotation.hand_over(at(hour), engineer)


def move_handover(rotation: RotationLike, argument: tuple[int, int]) -> None:
    """Move whatever hand-over there is at one whole hour to another."""
    hour, to = argument
    rotation.move_handover(at(hour), at(to))


def move_a_real_handover(rotation: RotationLike, argument: tuple[int, int]) -> None:
    """Move the hand-over where a shift really starts (the first shift's start is none)."""
    position, to = argument
    rotation.move_handover(shift_start(rotation, position), at(to))


def swap(rotation: RotationLike, argument: tuple[int, int]) -> None:
    """Swap two shifts that really exist, neighbours or not, or a shift with itself."""
    first, second = argument
    rotation.swap(shift_start(rotation, first), shift_start(rotation, second))


def covers_the_period(rotation: RotationLike) -> bool:
    """No gap, no overlap: the shifts run edge to edge from the period's start to its end."""
    shifts = rotation.shifts
    return (
        shifts[0].start == rotation.start
        and shifts[-1].end == rotation.end
        and all(before.end == after.start for before, after in pairwise(shifts))
    )


def every_shift_lasts(rotation: RotationLike) -> bool:
    """Every shift ends after it starts."""
    return all(shift.start < shift.end for shift in rotation.shifts)


def nobody_twice_in_a_row(rotation: RotationLike) -> bool:
    """No two neighbouring shifts have the same engineer."""
    return all(before.engineer != after.engineer for before, after in pairwise(rotation.shifts))


def someone_always_on_call(rotation: RotationLike) -> bool:
    """At every whole hour of the period, on_call_at names an engineer."""
    return all(rotation.on_call_at(at(hour)) is not None for hour in range(HOURS))


def on_call_agrees_with_the_shifts(rotation: RotationLike) -> bool:
    """At every whole hour, on_call_at names the engineer whose shift holds it, or None."""
    return all(
        rotation.on_call_at(at(hour))
        == next((s.engineer for s in rotation.shifts if s.start <= at(hour) < s.end), None)
        for hour in HOURS_SEEN
    )


def hours_in(instant: datetime) -> float:
    """How many hours after the period's start ``instant`` is: ``4.0`` for 13:00."""
    return (instant - START) / ONE_HOUR


def observe(rotation: RotationLike) -> object:
    """Everything a reader sees, in hours after the start: id, period, shifts, who is on call."""
    return (
        rotation.rotation_id,
        (hours_in(rotation.start), hours_in(rotation.end)),
        tuple((s.engineer, hours_in(s.start), hours_in(s.end)) for s in rotation.shifts),
        tuple(rotation.on_call_at(at(hour)) for hour in HOURS_SEEN),
    )


INVARIANTS: dict[str, Callable[[RotationLike], bool]] = {
    "the shifts cover the period, with no gap and no overlap": covers_the_period,
    "every shift lasts some time": every_shift_lasts,
    "nobody is on call for two shifts in a row": nobody_twice_in_a_row,
    "someone is on call at every instant of the period": someone_always_on_call,
    "on_call_at names the engineer of the shift holding the instant": (
        on_call_agrees_with_the_shifts
    ),
}


COMMANDS: tuple[tuple[Callable[[RotationLike, Any], None], st.SearchStrategy[Any]], ...] = (
    (hand_over, st.tuples(hours, engineers)),
    (move_handover, st.tuples(hours, hours)),
    (move_a_real_handover, st.tuples(positions, hours)),
    (swap, st.tuples(positions, positions)),
)
"""Each command and the strategy for its argument; a step is named after its function."""

FIRST_ROTATION = ("rotation-1", START, at(HOURS), "ana")
"""What every program starts from: ``new_rotation(*FIRST_ROTATION)``, ana on call throughout."""


def rotation_machine(new_rotation: NewRotation) -> type[RuleBasedStateMachine]:
    """A state machine checking every rule of the README on rotations ``new_rotation`` makes."""
    return aggregate_machine(
        new_root=lambda: new_rotation(*FIRST_ROTATION),
        commands={apply.__name__: (apply, strategy) for apply, strategy in COMMANDS},
        observe=observe,
        invariants=INVARIANTS,
        refusals=(RotationRefused,),
    )
