"""Routes around a root: every way a caller could change an aggregate without a command.

A sealed aggregate changes only through its root's commands. :func:`routes`
lists, for one root, every route a caller holding the root could take
instead: reassigning each public attribute and property of the root, and
every mutating operation of every value reachable from those attributes or
from what ``observe(root)`` returns (list, dict, set, deque and bytearray
methods, item and slice assignment, ``+=`` and friends, the builtin methods
called directly on a subclass that overrides them, and attribute assignment
on objects that allow it), down to a given depth. Each route is spelled the
way a caller would write it, e.g. ``room.bookings.append(...)``.

:func:`find_leak` tries each route on a fresh copy of the root and returns
the first one that succeeds *and* changes what ``observe`` reads. A route
that raises (a tuple has no ``append``, a frozen dataclass refuses
assignment, a property has no setter) or that changes only a copy (a
property that returns ``list(self._bookings)``) is a sealed route.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import types
from collections.abc import Callable, Iterator, Mapping, MutableSequence, MutableSet
from datetime import date, time, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import PurePath
from typing import Any, Generic, TypeVar
from uuid import UUID

from aggregates_course.testing.changes import BUILTIN_CONTAINERS, bypasses, changes, reassign
from aggregates_course.testing.session import snapshot

Root = TypeVar("Root")

# Values with no public state a caller could change: routes never start from them.
_ATOMS = (
    str,
    bytes,
    int,
    float,
    complex,
    bool,
    type(None),
    enum.Enum,
    date,
    time,
    timedelta,
    timezone,
    Decimal,
    Fraction,
    UUID,
    PurePath,
    range,
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.BuiltinMethodType,
)


@dataclasses.dataclass(frozen=True)
class _Attribute:
    name: str

    def reach(self, value: Any) -> Any:
        return getattr(value, self.name)

    def spell(self, reached: str) -> str:
        return f"{reached}.{self.name}"


@dataclasses.dataclass(frozen=True)
class _Item:
    key: Any

    def reach(self, value: Any) -> Any:
        return value[self.key]

    def spell(self, reached: str) -> str:
        return f"{reached}[{self.key!r}]"


@dataclasses.dataclass(frozen=True)
class _Member:
    """A member of a set, found again in a copy by equality (sets have no positions)."""

    member: Any
    shown: str

    def reach(self, value: Any) -> Any:
        return next(item for item in value if item == self.member)

    def spell(self, reached: str) -> str:
        return f"<the member {self.shown} of {reached}>"


_Hop = _Attribute | _Item | _Member


@dataclasses.dataclass(frozen=True)
class Route:
    """One way around the root: reach a value from the root, then change it.

    ``spelled`` is the route as a caller would write it, with ``...`` for the
    value it writes; ``from_observe`` says the path starts at ``observe(root)``
    rather than at the root itself.
    """

    spelled: str
    from_observe: bool
    path: tuple[_Hop, ...]
    change: Callable[[Any], object]

    def take(self, root: Any, observe: Callable[[Any], object]) -> None:
        """Walk the path from ``root`` (or from ``observe(root)``) and make the change."""
        value: Any = observe(root) if self.from_observe else root
        for hop in self.path:
            value = hop.reach(value)
        self.change(value)


def _public_names(value: Any) -> list[str]:
    """The public attributes and properties of ``value``, in a stable order."""
    names: dict[str, None] = {}
    for name in getattr(value, "__dict__", {}):
        names[name] = None
    for kind in type(value).__mro__:
        for name in kind.__dict__.get("__slots__", ()) if kind is not object else ():
            names[name] = None
        for name, member in vars(kind).items():
            if isinstance(member, property):
                names[name] = None
    return [name for name in names if not name.startswith("_")]


def _children(value: Any) -> Iterator[tuple[_Hop, Any]]:
    """The values one hop inside ``value``: its members, or its public attributes."""
    if isinstance(value, (bytes, bytearray, str)):
        return
    if isinstance(value, Mapping):
        for key, item in list(value.items()):
            yield _Item(key), item
    elif isinstance(value, (set, frozenset)):
        for member in list(value):
            yield _Member(member, repr(member)), member
    elif isinstance(value, (list, tuple, collections.deque, MutableSequence)):
        for index, item in enumerate(list(value)):
            yield _Item(index), item
    else:
        for name in _public_names(value):
            try:
                yield _Attribute(name), getattr(value, name)
            except Exception:  # a property that cannot be read now has nothing to give
                continue


@dataclasses.dataclass
class _Reached:
    value: Any
    spelled: str
    from_observe: bool
    path: tuple[_Hop, ...]


def routes(root: Any, observe: Callable[[Any], object], root_name: str, depth: int) -> list[Route]:
    """Every route around ``root`` a caller could take, shortest first.

    Starts from the root's public attributes and from what ``observe(root)``
    returns, and goes ``depth`` hops deep. Each value is visited once, by the
    shortest spelling that reaches it. A plain list, dict, set, deque or
    bytearray that is a new object each time it is read (``list(self._x)``)
    belongs to the caller alone: its own changes are not routes, though the
    values inside it, which may be the aggregate's, are still followed.
    """
    found = [
        Route(f"{root_name}.{name} = ...", False, (), reassign(name))
        for name in _public_names(root)
    ]
    observed = observe(root)
    again = {False: root, True: observe(root)}  # where a second read of each path starts
    # What observe(root) returns is one hop out, after the root's own attributes: a value
    # reached both ways is then spelled the way a caller holding the root reaches it.
    frontier = [_Reached(root, root_name, False, ())]
    observed_value = _Reached(observed, f"observe({root_name})", True, ())
    seen: set[int] = set()
    keep_alive: list[Any] = [again]  # ids stay unique only while the objects live
    for level in range(depth + 1):
        deeper: list[_Reached] = []
        for reached in frontier:
            if id(reached.value) in seen or isinstance(reached.value, _ATOMS):
                continue
            seen.add(id(reached.value))
            keep_alive.append(reached.value)
            is_root = reached.value is root and not reached.from_observe
            if not is_root and not _made_for_the_caller(reached, again[reached.from_observe]):
                found.extend(_routes_changing(reached))
            if level == depth:
                continue
            for hop, child in _children(reached.value):
                spelled = hop.spell(reached.spelled)
                deeper.append(_Reached(child, spelled, reached.from_observe, (*reached.path, hop)))
        if level == 0:
            deeper.append(observed_value)
        frontier = deeper
    return found


def _made_for_the_caller(reached: _Reached, start: Any) -> bool:
    """Whether ``reached`` is a plain container built afresh for each read of its path."""
    if type(reached.value) not in BUILTIN_CONTAINERS:
        return False
    try:
        value = start
        for hop in reached.path:
            value = hop.reach(value)
    except Exception:
        return False
    return value is not reached.value


def _routes_changing(reached: _Reached) -> Iterator[Route]:
    value = reached.value
    for suffix, change in changes(value):
        spelled = _spell(reached.spelled, suffix)
        yield Route(spelled, reached.from_observe, reached.path, change)
    base = next((kind for kind in BUILTIN_CONTAINERS if isinstance(value, kind)), None)
    for suffix, change in bypasses(value):
        assert base is not None
        yield Route(
            _spell_bypass(base, reached.spelled, suffix), reached.from_observe, reached.path, change
        )
    if isinstance(value, (Mapping, MutableSequence, MutableSet, set, frozenset, tuple)):
        return
    for name in _public_names(value):
        yield Route(
            f"{reached.spelled}.{name} = ...",
            reached.from_observe,
            reached.path,
            reassign(name),
        )


def _spell(reached: str, suffix: str) -> str:
    if suffix.startswith("del "):
        return f"del {reached}{suffix[4:]}"
    return f"{reached}{suffix}"


def _spell_bypass(base: type, reached: str, suffix: str) -> str:
    """``list.append(room.bookings, ...)``: a builtin's method called on a subclass's value."""
    name = base.__name__
    if suffix.startswith("."):
        method, _, arguments = suffix[1:].partition("(")
        arguments = arguments.removesuffix(")")
        return f"{name}.{method}({reached}{', ' + arguments if arguments else ''})"
    return f"{_spell(reached, suffix)} through {name}'s own methods"


@dataclasses.dataclass(frozen=True)
class Leak(Generic[Root]):
    """A route that got through: what it was, and what ``observe`` read before and after."""

    route: str
    before: object
    after: object
    error: Exception | None = None


def find_leak(
    root: Root,
    observe: Callable[[Root], object],
    fresh_copy: Callable[[], Root],
    root_name: str,
    depth: int,
    *,
    before: object = None,
) -> Leak[Root] | None:
    """The first route around ``root`` that succeeds and changes ``observe``, or ``None``.

    Every route runs on its own ``fresh_copy()`` of the root, so one route
    never disturbs the next and the root under test is never touched. A copy
    is reused only after a route that raised and left ``observe`` as it was,
    which is what a sealed route does; that keeps a sealed aggregate cheap.
    ``before`` is a snapshot of ``observe(root)``, if the caller has one.
    """
    if before is None:
        before = snapshot(observe(root))
    candidates = routes(root, observe, root_name, depth)
    target: Root | None = None
    for route in candidates:
        if target is None:
            target = fresh_copy()
        try:
            route.take(target, observe)
        except Exception:
            refused = True
        else:
            refused = False
        try:
            now = observe(target)
        except Exception as broken:
            return Leak(route.spelled, before, None, broken)
        if now != before:
            return Leak(route.spelled, before, snapshot(now))
        if not refused:
            target = None  # it may have changed what observe does not show: start afresh
    return None


__all__ = ["Leak", "Route", "find_leak", "routes"]
