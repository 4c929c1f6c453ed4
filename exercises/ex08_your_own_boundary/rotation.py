"""Exercise 8: design the on-call rotation, an aggregate of your own.

The README states the business rules; how the rotation keeps them is yours to
decide: what it holds, what a shift is, what it hands out, where it checks.
The surface below is fixed, because the tests and your own checks drive every
rotation through it (``contract.RotationLike``):

* ``Rotation(rotation_id, start, end, engineer)``: one shift, ``engineer`` on
  call for the whole period;
* ``rotation_id``, ``start``, ``end``: read them, never reassign them;
* ``shifts``: in time order, each with ``engineer``, ``start`` and ``end``;
* ``on_call_at(instant)``, ``hand_over(at, engineer)``,
  ``move_handover(at, to)``, ``swap(first, second)``.

What raises: the refusals of ``contract.py``, and nothing else:
``UnknownShift(rotation_id, at)``, ``EmptyShift(rotation_id, start, end)`` and
``OnCallTwiceInARow(rotation_id, engineer)``. When one command could be refused
for several reasons, ``UnknownShift`` comes first, then ``EmptyShift``, then
``OnCallTwiceInARow``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .contract import (  # noqa: F401 -- the refusals you will raise
    EmptyShift,
    OnCallTwiceInARow,
    ShiftLike,
    UnknownShift,
)


class Rotation:
    """The aggregate root of an on-call rotation: the only way to change who is on call."""

    def __init__(self, rotation_id: str, start: datetime, end: datetime, engineer: str) -> None:
        raise NotImplementedError(
            "Rotation: refuse a period that lasts no time with EmptyShift, then keep the id, "
            "the period and one shift: engineer on call from start to end"
        )

    @property
    def rotation_id(self) -> str:
        """The rotation's identity."""
        raise NotImplementedError("rotation_id: the id the rotation was created with")

    @property
    def start(self) -> datetime:
        """Where the covered period begins."""
        raise NotImplementedError("start: where the period begins")

    @property
    def end(self) -> datetime:
        """Where the covered period ends (excluded)."""
        raise NotImplementedError("end: where the period ends")

    @property
    def shifts(self) -> Sequence[ShiftLike]:
        """The shifts in time order, each with ``engineer``, ``start`` and ``end``."""
        raise NotImplementedError("shifts: the shifts in time order")

    def on_call_at(self, instant: datetime) -> str | None:
        """The engineer on call at ``instant``, or ``None`` outside the period."""
        raise NotImplementedError("on_call_at: who holds the shift with start <= instant < end")

    def hand_over(self, at: datetime, engineer: str) -> None:
        """From ``at`` to the end of the shift that holds it, ``engineer`` is on call."""
        raise NotImplementedError("hand_over: split the shift that holds `at` in two")

    def move_handover(self, at: datetime, to: datetime) -> None:
        """The hand-over at ``at`` happens at ``to`` instead."""
        raise NotImplementedError(
            "move_handover: the shift before `at` now ends at `to`, and the next starts there"
        )

    def swap(self, first: datetime, second: datetime) -> None:
        """The engineers of the shifts starting at ``first`` and ``second`` trade shifts."""
        raise NotImplementedError("swap: exchange the two shifts' engineers, keep the times")
