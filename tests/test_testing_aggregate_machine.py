"""The checker for any aggregate: it passes a sealed, correct room and names each way to break one.

``aggregate_machine`` is what a learner points at their own aggregate, so it
is specified the way the course specifies an exercise: a correct room passes
(values that merely look mutable included: a false alarm is a bug too), and
each broken room fails with the message that names its mistake: the route
around the root, the invariant, the refused command that left a trace, the
exception that is not a refusal.
"""

from __future__ import annotations

import copy
import enum
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

import pytest
from hypothesis import settings
from hypothesis.stateful import rule, run_state_machine_as_test

from aggregates_course.testing import (
    AggregateMachine,
    aggregate_machine,
    find_leak,
    routes,
)
from tests.rooms import (
    COMMANDS,
    INVARIANTS,
    VERDICT,
    Booking,
    BookingRefused,
    Room,
    bookings,
    observe,
)


def room_machine(
    make_room: Callable[[str], Room],
    *,
    observe: Callable[[Any], object] = observe,
    round_trip: Callable[[Any], Any] | None = None,
) -> type[AggregateMachine[Room]]:
    built = aggregate_machine(
        new_root=lambda: make_room("room-1"),
        commands=COMMANDS,
        observe=observe,
        invariants=INVARIANTS,
        refusals=(BookingRefused,),
        round_trip=round_trip,
    )
    built.root_name = "room"  # each broken room is a subclass; the messages say "room"
    return built


def verdict(make_room: Callable[[str], Room], examples: int = 100, **declared: Any) -> str | None:
    """The checker's failure message for ``make_room``, or ``None`` if it passed."""
    checked = settings(VERDICT, max_examples=examples)
    try:
        run_state_machine_as_test(room_machine(make_room, **declared), settings=checked)
    except AssertionError as failure:
        return str(failure)
    return None


def failure(make_room: Callable[[str], Room], **declared: Any) -> str:
    message = verdict(make_room, **declared)
    assert message is not None, f"the checker let {make_room.__name__} pass"
    return message


# -- a correct room passes, however its reads are shaped -------------------------------------


class Status(enum.Enum):
    OPEN = "open"
    FULL = "full"


class Hours(NamedTuple):
    first: int
    last: int


@dataclass(frozen=True)
class Party:
    """The guests of one booking, frozen all the way down."""

    names: tuple[str, ...]


class WellSealedRoom(Room):
    """Reads made of immutable parts: an enum, a named tuple, a read-only view of frozen values."""

    @property
    def status(self) -> Status:
        return Status.FULL if len(self._bookings) >= self.capacity else Status.OPEN

    @property
    def hours(self) -> Hours:
        taken = [hour for b in self._bookings for hour in (b.start, b.end)]
        return Hours(min(taken, default=0), max(taken, default=0))

    @property
    def parties(self) -> Mapping[str, Party]:
        return MappingProxyType({key: Party(tuple(names)) for key, names in self._guests.items()})


def observe_sealed(room: Any) -> object:
    return (*observe(room), room.status, room.hours, room.parties)


class LockedRoom(Room):
    """A room holding a lock: it cannot be deep-copied, so the checker replays its steps."""

    def __init__(self, room_id: str, capacity: int = 3) -> None:
        super().__init__(room_id, capacity)
        self._lock = threading.Lock()

    def book(self, booking: Booking) -> None:
        with self._lock:
            super().book(booking)


def test_a_sealed_correct_room_passes() -> None:
    assert verdict(Room) is None


def test_immutable_reads_are_not_mistaken_for_leaks() -> None:
    assert verdict(WellSealedRoom, observe=observe_sealed) is None


def test_a_room_that_cannot_be_copied_is_checked_by_replaying_its_steps() -> None:
    assert verdict(LockedRoom, examples=30) is None


def test_a_faithful_round_trip_passes() -> None:
    assert verdict(Room, examples=30, round_trip=copy.deepcopy) is None


# -- routes around the root ----------------------------------------------------------------


class LeaksItsList(Room):
    @property
    def bookings(self) -> Sequence[Booking]:
        return self._bookings


class LeaksGuestLists(Room):
    @property
    def guests(self) -> Mapping[str, Sequence[str]]:
        return dict(self._guests)  # a new dict, but the lists in it are the room's own


class LeaksItsIdSet(Room):
    @property
    def booking_ids(self) -> AbstractSet[str]:
        return self._ids


class LeaksItsLog(Room):
    @property
    def log(self) -> bytes | bytearray:
        return self._log


class OpenRoomId(Room):
    room_id = ""  # a plain attribute: anyone holding the room may reassign it

    def __init__(self, room_id: str, capacity: int = 3) -> None:
        super().__init__(room_id, capacity)
        self.room_id = room_id


class ResizableRoom(Room):
    @property
    def capacity(self) -> int:
        return self._capacity

    @capacity.setter
    def capacity(self, value: int) -> None:  # past every check book() makes
        self._capacity = value


@dataclass
class MutableBooking:
    booking_id: str
    start: int
    end: int


class KeepsMutableBookings(Room):
    """A tuple of the room's own mutable children: the tuple is sealed, its members are not."""

    def _store(self, booking: Booking) -> None:
        super()._store(booking)
        self._bookings[-1] = MutableBooking(booking.booking_id, booking.start, booking.end)  # type: ignore[call-overload]


@dataclass(frozen=True)
class LeakyParty:
    names: list[str]  # frozen dataclass, mutable field: three hops from the root


class SharesPartyLists(Room):
    @property
    def parties(self) -> Mapping[str, LeakyParty]:
        return MappingProxyType({key: LeakyParty(names) for key, names in self._guests.items()})


def observe_parties(room: Any) -> object:
    return (*observe(room), room.parties)


def guarded_list(*, allow_iadd: bool) -> type[list[Any]]:
    """A list subclass that refuses its mutating methods (all but ``+=`` when asked)."""

    def refuse(self: object, *args: object) -> None:
        raise TypeError("read-only")

    names = ["append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse"]
    names += ["__setitem__", "__delitem__", "__imul__"]
    if not allow_iadd:
        names.append("__iadd__")
    return type("GuardedList", (list,), dict.fromkeys(names, refuse))


class ForgetsPlusEquals(Room):
    @property
    def bookings(self) -> Sequence[Booking]:
        self._bookings = guarded_list(allow_iadd=True)(self._bookings)
        return self._bookings


class GuardsEveryListMethod(Room):
    @property
    def bookings(self) -> Sequence[Booking]:
        self._bookings = guarded_list(allow_iadd=False)(self._bookings)
        return self._bookings


class HandsOutItsTimeline(Room):
    def timeline(self) -> Sequence[Booking]:
        self._bookings.sort(key=lambda booking: booking.start)
        return self._bookings


LEAKS = [
    pytest.param(LeaksItsList, {}, r"room\.bookings\.append\(\.\.\.\)", id="list"),
    pytest.param(LeaksGuestLists, {}, r"room\.guests\['b\d'\]\.append\(\.\.\.\)", id="dict value"),
    pytest.param(LeaksItsIdSet, {}, r"room\.booking_ids\.add\(\.\.\.\)", id="set"),
    pytest.param(LeaksItsLog, {}, r"room\.log\.append\(\.\.\.\)", id="bytearray"),
    pytest.param(OpenRoomId, {}, r"room\.room_id = \.\.\.", id="reassignable attribute"),
    pytest.param(ResizableRoom, {}, r"room\.capacity = \.\.\.", id="property with a setter"),
    pytest.param(
        KeepsMutableBookings,
        {},
        r"room\.bookings\[0\]\.booking_id = \.\.\.",
        id="mutable child, two hops",
    ),
    pytest.param(
        SharesPartyLists,
        {"observe": observe_parties},
        r"room\.parties\['b\d'\]\.names\.append\(\.\.\.\)",
        id="list in a frozen child, three hops",
    ),
    pytest.param(ForgetsPlusEquals, {}, r"room\.bookings \+= \[\.\.\.\]", id="+="),
    pytest.param(
        GuardsEveryListMethod,
        {},
        r"list\.append\(room\.bookings, \.\.\.\)",
        id="builtin method past a subclass",
    ),
    pytest.param(
        HandsOutItsTimeline, {}, r"observe\(room\)\[6\]\.append\(\.\.\.\)", id="only via observe"
    ),
    pytest.param(
        LeaksItsList,
        {"observe": lambda room: room.bookings},
        r"room\.bookings\.append\(\.\.\.\)",
        id="observe returns the leaked list itself",
    ),
]


@pytest.mark.parametrize(("make_room", "declared", "route"), LEAKS)
def test_a_route_around_the_root_is_spelled_out(
    make_room: Callable[[str], Room], declared: dict[str, Any], route: str
) -> None:
    message = failure(make_room, **declared)
    assert re.match(route + r" changed the aggregate behind the root's back: ", message), message
    assert "only the root's commands may change it" in message


def test_a_leak_is_found_before_any_command() -> None:
    # The empty list leaks already; the message says no command was needed.
    assert failure(LeaksItsList).endswith("-- on a new root, before any command")


def test_the_message_shows_what_the_route_changed() -> None:
    message = failure(LeaksItsIdSet)
    assert "observe(room) read ('room-1', 3, (), {}, set(), b'', [])" in message
    assert "now ('room-1', 3, (), {}, {...}, b'', [])" in message


# -- commands: refusals leave no trace, anything else is a bug -----------------------------


class NotesEveryAttempt(Room):
    def book(self, booking: Booking) -> None:
        self._log += b"?"  # written before the room knows whether it will refuse
        super().book(booking)


class CancelsWithAKeyError(Room):
    def cancel(self, booking_id: str) -> None:
        self._guests[booking_id]  # KeyError where BookingRefused belongs
        super().cancel(booking_id)


class ChecksOnlyTheStartHour(Room):
    def check_booking(self, booking: Booking) -> None:
        taken = [b for b in self._bookings if b.start <= booking.start < b.end]
        if booking.booking_id in self._ids or taken or len(self._bookings) >= self.capacity:
            raise BookingRefused(f"cannot book {booking!r}")


def test_a_refused_command_that_leaves_a_trace_is_named() -> None:
    message = failure(NotesEveryAttempt)
    assert re.match(
        r"refused command book\(Booking\('b\d', \d\d:00-\d\d:00\)\) changed the room: it read ",
        message,
    ), message
    assert "b'?+', [" in message  # what it read: the accepted booking's note
    assert "b'?+?', [" in message  # and the note the refused one left behind


def test_an_exception_that_is_not_a_refusal_is_a_bug_naming_the_command() -> None:
    assert failure(CancelsWithAKeyError) == (
        "cancel('b1') raised KeyError: 'b1'; that is a bug, not a refusal "
        "(refusals: BookingRefused) -- after: cancel('b1')"
    )


def test_a_broken_invariant_is_named_with_the_steps_that_broke_it() -> None:
    message = failure(ChecksOnlyTheStartHour)
    assert message.startswith("invariant 'no two bookings overlap' does not hold: the room reads ")
    steps = re.escape(" -- after: ") + r"book\(Booking\('b\d', \d\d:00-\d\d:00\)\); book\(Booking\("
    assert re.search(steps, message), message


def test_refused_steps_are_marked_in_the_program() -> None:
    message = failure(NotesEveryAttempt)
    # The refused step itself ends the program; earlier refusals would read "(refused)".
    assert re.search(r" -- after: .*book\(Booking\('b\d', [^)]*\)\)$", message), message


# -- round trip ---------------------------------------------------------------------------


def forget_the_log(room: Room) -> Room:
    """A repository that stores the bookings but not the log."""
    loaded = Room(room.room_id, room.capacity)
    for booking in room.bookings:
        loaded.book(booking)
    return loaded


def test_a_round_trip_that_loses_state_is_named() -> None:
    message = failure(Room, round_trip=forget_the_log)
    assert message.startswith("saving and loading the room changed what it reads: it read ")


def refuse_to_store_cancellations(room: Room) -> Room:
    """A repository whose schema cannot hold a room that has seen a cancellation."""
    if len(room.log) > len(room.bookings):
        raise ValueError("no column for cancelled bookings")
    return copy.deepcopy(room)


def test_a_round_trip_that_raises_is_reported_as_a_finding_with_the_steps() -> None:
    message = failure(Room, round_trip=refuse_to_store_cancellations)
    assert message.startswith(
        "saving and loading the room raised ValueError: no column for cancelled bookings -- after: "
    )
    assert "cancel(" in message


# -- the routes themselves ------------------------------------------------------------------


def test_every_route_runs_on_its_own_copy_and_never_on_the_root() -> None:
    room: Room = LeaksItsList("room-1")
    room.book(Booking("b1", 9, 10, ("ana",)))
    copies: list[Room] = []

    def fresh() -> Room:
        copies.append(copy.deepcopy(room))
        return copies[-1]

    leak = find_leak(room, observe, fresh, "room", depth=4)
    assert leak is not None
    assert leak.route == "room.bookings.append(...)"
    assert observe(room) == observe(fresh())  # the room under test is untouched


class KeepsNotes(Room):
    """A public list nobody reads: changing it gets through, but changes nothing observed."""

    def __init__(self, room_id: str, capacity: int = 3) -> None:
        super().__init__(room_id, capacity)
        self.notes: list[str] = []


def copies_made(room: Room) -> int:
    made = 0

    def fresh() -> Room:
        nonlocal made
        made += 1
        return copy.deepcopy(room)

    assert find_leak(room, observe, fresh, "room", depth=4) is None
    return made


def test_routes_that_were_refused_share_one_copy() -> None:
    room = Room("room-1")
    room.book(Booking("b1", 9, 10, ("ana",)))
    assert copies_made(room) == 1


def test_a_route_that_got_through_is_never_followed_on_the_same_copy() -> None:
    room = KeepsNotes("room-1")
    # room.notes = ..., then .append, .extend, .insert, [:] = and += on the list: six
    # routes get through, and each one after the first starts on a new copy.
    assert copies_made(room) == 6
    assert room.notes == []


def test_routes_reach_three_hops_deep() -> None:
    room = SharesPartyLists("room-1")
    room.book(Booking("b1", 9, 10, ("ana",)))
    spelled = {route.spelled for route in routes(room, observe_parties, "room", 3)}
    assert "room.parties['b1'].names.append(...)" in spelled
    assert "room.parties['b1'].names = ..." in spelled
    assert "room.room_id = ..." in spelled


# -- subclassing ---------------------------------------------------------------------------


class RoomMachine(AggregateMachine[Room]):
    """A machine declared as a class, with a rule of its own: no type: ignore, no @settings."""

    commands = COMMANDS
    named_invariants = INVARIANTS
    refusals = (BookingRefused,)

    def new_root(self) -> Room:
        return Room("room-1")

    def observe(self, root: Room) -> object:
        return observe(root)

    @rule(booking=bookings())
    def book_twice(self, booking: Booking) -> None:
        self.run_command("book", booking)
        self.run_command("book", booking)  # the second one is always refused


# What a test module hands pytest, taken as a test module takes it: at import. (Hypothesis
# keeps a bounded cache of TestCase classes, so asking again much later may build a new one.)
ROOM_TEST_CASE = RoomMachine.TestCase


def test_a_subclass_keeps_the_program_length_and_runs_its_own_rules() -> None:
    assert ROOM_TEST_CASE.settings.stateful_step_count == RoomMachine.steps_per_program
    run_state_machine_as_test(RoomMachine, settings=settings(VERDICT, max_examples=30))


def test_a_machine_keeps_its_settings_after_many_other_machines_are_built() -> None:
    # Hypothesis caches only 128 TestCase classes; a machine must not fall out of it.
    decorated = settings(max_examples=7, stateful_step_count=9)(room_machine(Room))
    for _ in range(140):
        assert room_machine(Room).TestCase is not None
    assert RoomMachine.TestCase is ROOM_TEST_CASE
    assert ROOM_TEST_CASE.settings.stateful_step_count == RoomMachine.steps_per_program
    assert decorated.TestCase.settings.max_examples == 7
    assert decorated.TestCase.settings.stateful_step_count == 9


def test_the_built_class_is_named_after_what_makes_the_root() -> None:
    def new_room() -> Room:
        return Room("room-1")

    built = aggregate_machine(new_root=new_room, commands=COMMANDS, observe=observe)
    assert built.__name__ == "new_roomMachine"
    assert built.TestCase.settings.stateful_step_count == 20


def test_an_observe_compared_by_identity_is_refused_with_a_reason() -> None:
    with pytest.raises(AssertionError, match="return values compared by =="):
        run_state_machine_as_test(room_machine(Room, observe=lambda room: object()))
