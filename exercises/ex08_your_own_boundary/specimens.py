"""Rotations your checks are tried on: one sound, the others each wrong in one way.

``test_your_checks.py`` runs your ``rotation_machine`` on each of them. Your
checks must pass :class:`SoundRotation`, which keeps every rule of the README
and is not yours, and must fail on every rotation of :data:`BROKEN_ROTATIONS`.
Each broken one keeps every rule but one, and says which in its ``mistake``.

Write your own rotation before you read :class:`SoundRotation`: the design is
the half of the exercise it would take away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import ClassVar

from .contract import EmptyShift, OnCallTwiceInARow, ShiftLike, UnknownShift


@dataclass(frozen=True, slots=True)
class FrozenShift:
    """A shift nobody can change in place."""

    engineer: str
    start: datetime
    end: datetime


@dataclass(slots=True)
class OpenShift:
    """A shift anybody holding it can change in place."""

    engineer: str
    start: datetime
    end: datetime


class SoundRotation:
    """A correct rotation, built differently from most: it keeps a private list of shifts.

    Every command works out the whole new list first and checks it before it
    keeps it, so a refusal leaves the old list as it was.
    """

    shift_type: ClassVar[type[FrozenShift] | type[OpenShift]] = FrozenShift
    mistake: ClassVar[str] = ""
    """What this rotation does wrong, in the README's words; empty for the sound one."""
    caught_by: ClassVar[str] = ""
    """What kind of check catches the mistake."""

    def __init__(self, rotation_id: str, start: datetime, end: datetime, engineer: str) -> None:
        if not start < end:
            raise EmptyShift(rotation_id, start, end)
        self._rotation_id = rotation_id
        self._start = start
        self._end = end
        self._shifts: list[ShiftLike] = [self.shift_type(engineer, start, end)]

    @property
    def rotation_id(self) -> str:
        """The rotation's identity."""
        return self._rotation_id

    @property
    def start(self) -> datetime:
        """Where the covered period begins."""
        return self._start

    @property
    def end(self) -> datetime:
        """Where the covered period ends (excluded)."""
        return self._end

    @property
    def shifts(self) -> Sequence[ShiftLike]:
        """A copy of the shift list, in time order."""
        return tuple(self._shifts)

    def on_call_at(self, instant: datetime) -> str | None:
        """The engineer on call at ``instant``, or ``None`` outside the period."""
        for shift in self._shifts:
            if shift.start <= instant < shift.end:
                return shift.engineer
        return None

    def hand_over(self, at: datetime, engineer: str) -> None:
        """From ``at`` to the end of the shift that holds it, ``engineer`` is on call."""
        position, shift = self._shift_to_split(at)
        shifts = list(self._shifts)
        shifts[position : position + 1] = [
            self.shift_type(shift.engineer, shift.start, at),
            self.shift_type(engineer, at, shift.end),
        ]
        self._commit(shifts)

    def move_handover(self, at: datetime, to: datetime) -> None:
        """The hand-over at ``at`` happens at ``to`` instead."""
        position, earlier, later = self._shifts_to_move(at, to)
        shifts = list(self._shifts)
        shifts[position - 1] = self.shift_type(earlier.engineer, earlier.start, to)
        shifts[position] = self.shift_type(later.engineer, to, later.end)
        self._commit(shifts)

    def swap(self, first: datetime, second: datetime) -> None:
        """The engineers of the shifts starting at ``first`` and ``second`` trade shifts."""
        one, other = self._position_starting(first), self._position_starting(second)
        shifts = list(self._shifts)
        shifts[one] = self._with_engineer(one, self._shifts[other].engineer)
        shifts[other] = self._with_engineer(other, self._shifts[one].engineer)
        self._commit(shifts)

    def _shift_to_split(self, at: datetime) -> tuple[int, ShiftLike]:
        """The shift a hand-over at ``at`` splits, and where it is; refusals first."""
        position = self._position_holding(at)
        shift = self._shifts[position]
        if shift.start == at:
            raise EmptyShift(self._rotation_id, at, at)
        return position, shift

    def _shifts_to_move(self, at: datetime, to: datetime) -> tuple[int, ShiftLike, ShiftLike]:
        """Where the hand-over at ``at`` is, and the two shifts it separates; refusals first."""
        position = self._position_starting(at)
        if position == 0:
            raise UnknownShift(self._rotation_id, at)
        earlier, later = self._shifts[position - 1], self._shifts[position]
        if to <= earlier.start:
            raise EmptyShift(self._rotation_id, earlier.start, to)
        if to >= later.end:
            raise EmptyShift(self._rotation_id, to, later.end)
        return position, earlier, later

    def _with_engineer(self, position: int, engineer: str) -> ShiftLike:
        shift = self._shifts[position]
        return self.shift_type(engineer, shift.start, shift.end)

    def _commit(self, shifts: list[ShiftLike]) -> None:
        for before, after in pairwise(shifts):
            if before.engineer == after.engineer:
                raise OnCallTwiceInARow(self._rotation_id, after.engineer)
        self._shifts = shifts

    def _position_holding(self, instant: datetime) -> int:
        for position, shift in enumerate(self._shifts):
            if shift.start <= instant < shift.end:
                return position
        raise UnknownShift(self._rotation_id, instant)

    def _position_starting(self, instant: datetime) -> int:
        for position, shift in enumerate(self._shifts):
            if shift.start == instant:
                return position
        raise UnknownShift(self._rotation_id, instant)


class HandOverKeepsTheWholeShift(SoundRotation):
    """The shift handed over is not cut short: two engineers are on call at once."""

    mistake = (
        "a hand-over adds the new engineer's shift but leaves the shift it came from whole, "
        "so two engineers are on call from the hand-over to that shift's end"
    )
    caught_by = "an invariant that no two shifts overlap (each shift starts where the last ended)"

    def hand_over(self, at: datetime, engineer: str) -> None:
        position, shift = self._shift_to_split(at)
        shifts = list(self._shifts)
        shifts.insert(position + 1, self.shift_type(engineer, at, shift.end))
        self._commit(shifts)


class MoveLaterLeavesAGap(SoundRotation):
    """Moving a hand-over later shortens the next shift but never lengthens the one before."""

    mistake = (
        "moving a hand-over later shortens the shift after it but leaves the shift before it "
        "ending where it did, so nobody is on call in between"
    )
    caught_by = (
        "an invariant that the shifts leave no gap: the first starts where the period does, "
        "each next one where the last ended, the last ends where the period does; or that "
        "on_call_at names someone at every instant of the period"
    )

    def move_handover(self, at: datetime, to: datetime) -> None:
        position, earlier, later = self._shifts_to_move(at, to)
        shifts = list(self._shifts)
        if to < at:  # the shift before is cut short, but never made longer
            shifts[position - 1] = self.shift_type(earlier.engineer, earlier.start, to)
        shifts[position] = self.shift_type(later.engineer, to, later.end)
        self._commit(shifts)


class SwapTradesTheHours(SoundRotation):
    """A swap gives each engineer the other's start, but the length of their own shift."""

    mistake = (
        "a swap moves each engineer to the other's start for as long as their own shift "
        "lasted, so when the two shifts differ in length the period is no longer covered "
        "exactly: a gap opens, or two shifts overlap"
    )
    caught_by = (
        "invariants that the shifts leave no gap and do not overlap, and a swap command that "
        "names two shifts that really start where it says"
    )

    def swap(self, first: datetime, second: datetime) -> None:
        one, other = self._position_starting(first), self._position_starting(second)
        a, b = self._shifts[one], self._shifts[other]
        shifts = list(self._shifts)
        shifts[one] = self.shift_type(b.engineer, a.start, a.start + (b.end - b.start))
        shifts[other] = self.shift_type(a.engineer, b.start, b.start + (a.end - a.start))
        self._commit(shifts)


class HandOverToTheNextEngineer(SoundRotation):
    """A hand-over checks the engineer handing over, not the one whose shift comes next."""

    mistake = (
        "a hand-over refuses to go to the engineer handing over, but lets it go to the "
        "engineer of the next shift, who is then on call for two shifts in a row"
    )
    caught_by = "an invariant that no engineer holds two shifts in a row"

    def hand_over(self, at: datetime, engineer: str) -> None:
        position, shift = self._shift_to_split(at)
        if engineer == shift.engineer:
            raise OnCallTwiceInARow(self._rotation_id, engineer)
        self._shifts[position : position + 1] = [
            self.shift_type(shift.engineer, shift.start, at),
            self.shift_type(engineer, at, shift.end),
        ]


class KeepsBeforeChecking(SoundRotation):
    """Every command keeps its new shifts first and checks them afterwards."""

    mistake = (
        "every command keeps its new shifts and only then checks them, so a command refused "
        "because someone would be on call twice in a row leaves its change behind"
    )
    caught_by = (
        "refusals=(RotationRefused,) and an observe that shows every shift, so "
        "aggregate_machine sees a refused command that changed the rotation; or an invariant "
        "that nobody is on call for two shifts in a row"
    )

    def _commit(self, shifts: list[ShiftLike]) -> None:
        self._shifts = shifts
        super()._commit(shifts)


class MoveOntoAnEdge(SoundRotation):
    """A hand-over may be moved onto the start of the shift before or the end of the next."""

    mistake = (
        "a hand-over may be moved onto the start of the shift before it or onto the end of "
        "the shift after it, so that shift lasts no time: it still starts where the last one "
        "ended, but nobody is ever on call in it"
    )
    caught_by = (
        "an invariant that every shift lasts some time (ends after it starts), and moves that "
        "often aim at a neighbour's edge"
    )

    def _shifts_to_move(self, at: datetime, to: datetime) -> tuple[int, ShiftLike, ShiftLike]:
        position = self._position_starting(at)
        if position == 0:
            raise UnknownShift(self._rotation_id, at)
        earlier, later = self._shifts[position - 1], self._shifts[position]
        if not earlier.start <= to <= later.end:
            raise EmptyShift(self._rotation_id, min(to, earlier.start), max(to, later.end))
        return position, earlier, later


class HandsOutItsList(SoundRotation):
    """``shifts`` returns the rotation's own list."""

    mistake = (
        "rotation.shifts is the rotation's own list, so rotation.shifts.append(...), "
        ".clear() or item assignment changes the rotation behind the root's back"
    )
    caught_by = (
        "an observe that shows the shifts, so aggregate_machine's seal check sees the change"
    )

    @property
    def shifts(self) -> Sequence[ShiftLike]:
        return self._shifts


class HandsOutOpenShifts(SoundRotation):
    """The shifts it keeps and hands out can be changed in place."""

    shift_type = OpenShift
    mistake = (
        "the shifts are plain mutable objects, the rotation's own, so "
        "rotation.shifts[0].engineer = ... or .end = ... changes the rotation behind "
        "the root's back"
    )
    caught_by = (
        "an observe that shows each shift's engineer, start and end, so aggregate_machine's "
        "seal check sees the change"
    )


class PeriodCanBeReassigned(SoundRotation):
    """``rotation_id``, ``start`` and ``end`` accept assignment."""

    mistake = (
        "rotation_id, start and end have setters, so rotation.end = ... moves the period "
        "away from the shifts that cover it, and rotation.rotation_id = ... renames it"
    )
    caught_by = (
        "an observe that shows the rotation's id and period, so the seal check sees a "
        "reassignment change them"
    )

    @property
    def rotation_id(self) -> str:
        return self._rotation_id

    @rotation_id.setter
    def rotation_id(self, value: str) -> None:
        self._rotation_id = value

    @property
    def start(self) -> datetime:
        return self._start

    @start.setter
    def start(self, value: datetime) -> None:
        self._start = value

    @property
    def end(self) -> datetime:
        return self._end

    @end.setter
    def end(self, value: datetime) -> None:
        self._end = value


BROKEN_ROTATIONS: tuple[type[SoundRotation], ...] = (
    HandOverKeepsTheWholeShift,
    MoveLaterLeavesAGap,
    SwapTradesTheHours,
    HandOverToTheNextEngineer,
    KeepsBeforeChecking,
    MoveOntoAnEdge,
    HandsOutItsList,
    HandsOutOpenShifts,
    PeriodCanBeReassigned,
)
"""Every broken rotation; your checks must fail on each of them."""
