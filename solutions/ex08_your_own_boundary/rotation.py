"""Exercise 8, solved: the on-call rotation is the aggregate root of its shifts.

The rotation owns its shifts and nothing else: engineers are names, times are
instants, both immutable, so nothing it is given can change behind its back.
Every command follows one order: find what it acts on (``UnknownShift``), build
the whole new row of shifts, check it (``EmptyShift``, ``OnCallTwiceInARow``),
and only then keep it. The new row is built from the old one by cutting,
moving or relabelling shifts in place, so it covers the period with no gap and
no overlap by construction; a refusal raised while building it leaves the old
row untouched, so a refused command changes nothing.

The shifts are frozen values in a tuple, handed out as they are: no reader can
change them, and the id and the period are read-only properties.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from itertools import pairwise

from .contract import EmptyShift, OnCallTwiceInARow, UnknownShift


@dataclass(frozen=True, slots=True)
class Shift:
    """One engineer on call from ``start`` (included) until ``end`` (excluded).

    Frozen: a shift handed to a reader cannot be changed, so the rotation may
    hand out its own.
    """

    engineer: str
    start: datetime
    end: datetime


class Rotation:
    """An on-call rotation: the only way to change who is on call during its period.

    Invariants: the shifts cover the period from ``start`` to ``end`` with no
    gap and no overlap; every shift lasts some time (``EmptyShift``); nobody
    holds two shifts in a row (``OnCallTwiceInARow``). Commands that name an
    instant where there is nothing to act on raise ``UnknownShift``. A refused
    command changes nothing.
    """

    __slots__ = ("_end", "_rotation_id", "_shifts", "_start")

    def __init__(self, rotation_id: str, start: datetime, end: datetime, engineer: str) -> None:
        if end <= start:
            raise EmptyShift(rotation_id, start, end)
        self._rotation_id = rotation_id
        self._start = start
        self._end = end
        self._shifts: tuple[Shift, ...] = (Shift(engineer, start, end),)

    @property
    def rotation_id(self) -> str:
        """The rotation's identity; read-only."""
        return self._rotation_id

    @property
    def start(self) -> datetime:
        """Where the covered period begins; read-only."""
        return self._start

    @property
    def end(self) -> datetime:
        """Where the covered period ends (excluded); read-only."""
        return self._end

    @property
    def shifts(self) -> tuple[Shift, ...]:
        """The shifts in time order: frozen values in a tuple, safe to hand out."""
        return self._shifts

    def on_call_at(self, instant: datetime) -> str | None:
        """The engineer on call at ``instant``, or ``None`` outside the period."""
        index = self._holding(instant)
        return None if index is None else self._shifts[index].engineer

    def hand_over(self, at: datetime, engineer: str) -> None:
        """From ``at`` to the end of the shift holding it, ``engineer`` is on call.

        Raises ``UnknownShift`` outside the period, ``EmptyShift`` where a shift
        starts, and ``OnCallTwiceInARow`` when ``engineer`` holds that shift or
        the next one; each changes nothing.
        """
        index = self._holding(at)
        if index is None:
            raise UnknownShift(self._rotation_id, at)
        shift = self._shifts[index]
        if at == shift.start:
            raise EmptyShift(self._rotation_id, shift.start, at)
        split = (replace(shift, end=at), Shift(engineer, at, shift.end))
        self._keep((*self._shifts[:index], *split, *self._shifts[index + 1 :]))

    def move_handover(self, at: datetime, to: datetime) -> None:
        """The hand-over at ``at`` happens at ``to``: the shift before ends there, the next starts.

        Raises ``UnknownShift`` when no hand-over happens at ``at`` (the period's
        start is none) and ``EmptyShift`` when ``to`` is not strictly inside the
        two shifts it separates; each changes nothing.
        """
        index = self._starting_at(at)
        if index is None or index == 0:
            raise UnknownShift(self._rotation_id, at)
        earlier, later = self._shifts[index - 1], self._shifts[index]
        if to <= earlier.start:
            raise EmptyShift(self._rotation_id, earlier.start, to)
        if to >= later.end:
            raise EmptyShift(self._rotation_id, to, later.end)
        moved = (replace(earlier, end=to), replace(later, start=to))
        self._keep((*self._shifts[: index - 1], *moved, *self._shifts[index + 1 :]))

    def swap(self, first: datetime, second: datetime) -> None:
        """The engineers of the shifts starting at ``first`` and ``second`` trade shifts.

        The times stay as they are, so the period stays covered. Raises
        ``UnknownShift`` when no shift starts at one of them and
        ``OnCallTwiceInARow`` when the trade puts someone on call twice in a
        row; each changes nothing.
        """
        one, other = self._starting_at(first), self._starting_at(second)
        if one is None:
            raise UnknownShift(self._rotation_id, first)
        if other is None:
            raise UnknownShift(self._rotation_id, second)
        shifts = list(self._shifts)
        shifts[one] = replace(self._shifts[one], engineer=self._shifts[other].engineer)
        shifts[other] = replace(self._shifts[other], engineer=self._shifts[one].engineer)
        self._keep(tuple(shifts))

    def _keep(self, shifts: tuple[Shift, ...]) -> None:
        """Make ``shifts`` the rotation's, unless someone would be on call twice in a row."""
        for before, after in pairwise(shifts):
            if before.engineer == after.engineer:
                raise OnCallTwiceInARow(self._rotation_id, after.engineer)
        self._shifts = shifts

    def _holding(self, instant: datetime) -> int | None:
        return next(
            (i for i, shift in enumerate(self._shifts) if shift.start <= instant < shift.end),
            None,
        )

    def _starting_at(self, instant: datetime) -> int | None:
        return next((i for i, shift in enumerate(self._shifts) if shift.start == instant), None)
