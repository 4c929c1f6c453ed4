"""A small aggregate from another domain, for testing the aggregate checker: a room's bookings.

A room owns its bookings. Invariants: booking ids are unique; no two bookings
overlap; a room holds at most ``capacity`` bookings. ``book`` and ``cancel``
either do their work or raise :class:`BookingRefused`, changing nothing.

:class:`Room` is sealed and correct; the checker's self-tests break it one
way at a time. Its public reads are deliberately varied (a tuple of frozen
dataclasses, a dict built afresh, a frozenset, a list copied out, ``bytes``)
so that a checker flagging any of them would be flagged in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from hypothesis import Phase, settings
from hypothesis import strategies as st

from aggregates_course.testing import Command

# How a checker's self-test runs a machine: fixed seed, no example database, so each
# verdict is the same on every run; shrinking on, so the steps in a message are the
# short program a learner would read.
VERDICT = settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    report_multiple_bugs=False,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
)

BOOKING_IDS = ("b1", "b2", "b3", "b4")
GUESTS = ("ana", "bo", "chen")


class BookingRefused(Exception):
    """The room refused a booking or a cancellation; nothing changed."""


@dataclass(frozen=True)
class Booking:
    """Hours ``start`` to ``end`` (end excluded) of one day, for some guests."""

    booking_id: str
    start: int
    end: int
    guests: tuple[str, ...] = ()

    def overlaps(self, other: Booking) -> bool:
        """Whether the two bookings share an hour."""
        return self.start < other.end and other.start < self.end

    def __repr__(self) -> str:
        return f"Booking({self.booking_id!r}, {self.start:02}:00-{self.end:02}:00)"


class Room:
    """The aggregate root: every booking goes through :meth:`book` and :meth:`cancel`."""

    def __init__(self, room_id: str, capacity: int = 3) -> None:
        self._room_id = room_id
        self._capacity = capacity
        self._bookings: list[Booking] = []
        self._guests: dict[str, list[str]] = {}
        self._ids: set[str] = set()
        self._log = bytearray()

    @property
    def room_id(self) -> str:
        return self._room_id

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def bookings(self) -> Sequence[Booking]:
        return tuple(self._bookings)

    @property
    def guests(self) -> Mapping[str, Sequence[str]]:
        return {booking_id: tuple(names) for booking_id, names in self._guests.items()}

    @property
    def booking_ids(self) -> AbstractSet[str]:
        return frozenset(self._ids)

    @property
    def log(self) -> bytes | bytearray:
        return bytes(self._log)

    def timeline(self) -> Sequence[Booking]:
        """The bookings by start hour: a new list each call, so changing it changes nothing."""
        return sorted(self._bookings, key=lambda booking: booking.start)

    def book(self, booking: Booking) -> None:
        self.check_booking(booking)
        self._store(booking)

    def check_booking(self, booking: Booking) -> None:
        """Raise BookingRefused unless ``booking`` keeps every invariant."""
        if booking.booking_id in self._ids:
            raise BookingRefused(f"{booking.booking_id} is already booked")
        if any(booking.overlaps(other) for other in self._bookings):
            raise BookingRefused(f"{booking!r} overlaps another booking")
        if len(self._bookings) >= self._capacity:
            raise BookingRefused(f"{self._room_id} is full")

    def _store(self, booking: Booking) -> None:
        self._bookings.append(booking)
        self._guests[booking.booking_id] = list(booking.guests)
        self._ids.add(booking.booking_id)
        self._log += b"+"

    def cancel(self, booking_id: str) -> None:
        if booking_id not in self._ids:
            raise BookingRefused(f"no booking {booking_id}")
        self._bookings = [b for b in self._bookings if b.booking_id != booking_id]
        del self._guests[booking_id]
        self._ids.discard(booking_id)
        self._log += b"-"


def bookings() -> st.SearchStrategy[Booking]:
    """Bookings from small pools, so ids and hours collide often."""
    return st.builds(
        lambda booking_id, start, length, guests: Booking(
            booking_id, start, start + length, tuple(guests)
        ),
        st.sampled_from(BOOKING_IDS),
        st.integers(min_value=8, max_value=12),
        st.integers(min_value=1, max_value=3),
        st.lists(st.sampled_from(GUESTS), max_size=2),
    )


def booking_ids() -> st.SearchStrategy[str]:
    return st.sampled_from(BOOKING_IDS)


def no_overlap(room: Any) -> bool:
    taken = list(room.bookings)
    return not any(a.overlaps(b) for i, a in enumerate(taken) for b in taken[i + 1 :])


def within_capacity(room: Any) -> bool:
    return bool(len(room.bookings) <= room.capacity)


def unique_ids(room: Any) -> bool:
    ids = [booking.booking_id for booking in room.bookings]
    return len(ids) == len(set(ids))


INVARIANTS: Mapping[str, Callable[[Any], bool]] = {
    "no two bookings overlap": no_overlap,
    "at most capacity bookings": within_capacity,
    "booking ids are unique": unique_ids,
}

COMMANDS: Mapping[str, Command] = {
    "book": (lambda room, booking: room.book(booking), bookings()),
    "cancel": (lambda room, booking_id: room.cancel(booking_id), booking_ids()),
}


def observe(room: Any) -> tuple[object, ...]:
    """Everything a reader of a room can see."""
    return (
        room.room_id,
        room.capacity,
        room.bookings,
        room.guests,
        room.booking_ids,
        room.log,
        room.timeline(),
    )
