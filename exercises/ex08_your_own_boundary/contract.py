"""What every on-call rotation of this exercise shares: its refusals and its surface.

Your ``Rotation`` (in ``rotation.py``), the rotations of ``specimens.py`` and
the tests all rely on this module, so do not edit it. A rotation raises only
these refusals, and a refused command changes nothing. The protocols say what a
reader of a rotation may use, and so what your checks in ``rotation_checks.py``
may use: a check that reaches past them works on your class and on no other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol


class RotationRefused(Exception):
    """A command the rotation refused, changing nothing; ``rotation_id`` names the rotation."""

    def __init__(self, rotation_id: str, message: str) -> None:
        super().__init__(f"rotation {rotation_id!r} refused: {message}")
        self.rotation_id = rotation_id


class UnknownShift(RotationRefused):
    """The instant ``at`` names nothing the command can act on.

    A hand-over at an instant outside the period, a move of a hand-over where no
    shift ends and the next begins, a swap of a shift that does not start there.
    """

    def __init__(self, rotation_id: str, at: datetime) -> None:
        super().__init__(rotation_id, f"no shift to act on at {at.isoformat()}")
        self.at = at


class EmptyShift(RotationRefused):
    """A shift from ``start`` to ``end`` would last no time, or less than none.

    Every shift lasts some time: a rotation whose period ends when it starts, a
    hand-over where a shift starts, a move onto or past a neighbour's hand-over.
    """

    def __init__(self, rotation_id: str, start: datetime, end: datetime) -> None:
        super().__init__(
            rotation_id, f"a shift from {start.isoformat()} to {end.isoformat()} lasts no time"
        )
        self.start = start
        self.end = end


class OnCallTwiceInARow(RotationRefused):
    """``engineer`` would hold two shifts in a row; a hand-over always goes to someone else."""

    def __init__(self, rotation_id: str, engineer: str) -> None:
        super().__init__(rotation_id, f"{engineer} would be on call for two shifts in a row")
        self.engineer = engineer


class ShiftLike(Protocol):
    """One engineer on call from ``start`` (included) until ``end`` (excluded)."""

    @property
    def engineer(self) -> str:
        """Who is on call."""
        ...

    @property
    def start(self) -> datetime:
        """When the shift begins: the instant its engineer takes over."""
        ...

    @property
    def end(self) -> datetime:
        """When the shift ends: the instant the next shift begins, or the period's end."""
        ...


class RotationLike(Protocol):
    """What a caller of a rotation may read and do; see the exercise's README for the rules."""

    @property
    def rotation_id(self) -> str:
        """The rotation's identity; every refusal names it."""
        ...

    @property
    def start(self) -> datetime:
        """Where the covered period begins."""
        ...

    @property
    def end(self) -> datetime:
        """Where the covered period ends (excluded)."""
        ...

    @property
    def shifts(self) -> Sequence[ShiftLike]:
        """The shifts in time order: together they cover the period, once each instant."""
        ...

    def on_call_at(self, instant: datetime) -> str | None:
        """The engineer on call at ``instant``, or ``None`` outside the period."""
        ...

    def hand_over(self, at: datetime, engineer: str) -> None:
        """From ``at`` to the end of the shift that holds it, ``engineer`` is on call."""
        ...

    def move_handover(self, at: datetime, to: datetime) -> None:
        """The hand-over at ``at`` happens at ``to`` instead."""
        ...

    def swap(self, first: datetime, second: datetime) -> None:
        """The engineers of the shifts starting at ``first`` and ``second`` trade shifts."""
        ...


NewRotation = Callable[[str, datetime, datetime, str], RotationLike]
"""``new_rotation(rotation_id, start, end, engineer)``: a fresh rotation, one shift long."""
