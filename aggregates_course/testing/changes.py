"""Every way to change one value in place: what a route does once it has reached a value.

For a list, dict, set, deque or bytearray: each mutating method, item and
slice assignment, and the in-place operators (``+=``, ``|=``, ...); for a
subclass of one of them, the same changes through the builtin's own methods
(``list.append(value, ...)``), which overriding a few methods does not stop.
Each change writes :data:`FOREIGN`, or a value of the same kind as the one it
replaces (:func:`other_than`), so that what it did shows when ``observe`` is
read again.
"""

from __future__ import annotations

import collections
import copy
import operator
from collections.abc import Callable, Iterator, MutableMapping, MutableSequence, MutableSet
from typing import Any

Change = tuple[str, Callable[[Any], object]]
"""How a change is spelled after the value (``.append(...)``), and the change itself."""


class _Foreign:
    """A value no aggregate holds: what a route writes where it needs a new value."""

    def __repr__(self) -> str:
        return "..."


FOREIGN: Any = _Foreign()
"""The stranger a route puts into a collection or an attribute; it reads ``...``."""


def other_than(value: object) -> object:
    """A value of the same kind as ``value`` but unequal to it, or :data:`FOREIGN`.

    Writing a value of the right kind keeps ``observe`` readable after the
    change, so the report shows what changed rather than a crash.
    """
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 1.0 if value == value and abs(value) < 1e300 else 0.0
    if isinstance(value, str):
        return value + "?"
    if isinstance(value, bytes):
        return value + b"?"
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return value[:-1] if value else (FOREIGN,)
    if isinstance(value, frozenset):
        return frozenset() if value else frozenset({FOREIGN})
    if isinstance(value, list):
        return value[:-1] if value else [FOREIGN]
    if isinstance(value, dict):
        return {} if value else {FOREIGN: FOREIGN}
    if isinstance(value, set):
        return set() if value else {FOREIGN}
    return FOREIGN


# typeshed leaves the in-place operators untyped; the routes call them on values of any type.
_IADD: Callable[[Any, Any], Any] = operator.iadd
_IMUL: Callable[[Any, Any], Any] = operator.imul
_IOR: Callable[[Any, Any], Any] = operator.ior
_IXOR: Callable[[Any, Any], Any] = operator.ixor
_ISUB: Callable[[Any, Any], Any] = operator.isub
_IAND: Callable[[Any, Any], Any] = operator.iand


def _sample(value: Any) -> Any:
    """Something to put into the collection ``value``: a copy of a member it already holds.

    A member of the right type gets past an aggregate's own type checks, so a
    leak shows as a changed state, not as an accidental refusal.
    """
    for item in value:
        return copy.copy(item)
    return FOREIGN


def _sequence_changes(value: Any) -> Iterator[Change]:
    if isinstance(value, bytearray):
        byte = value[0] if value else 63
        yield ".append(...)", lambda v: v.append(byte)
        yield ".extend(...)", lambda v: v.extend(bytes([byte]))
        yield ".insert(0, ...)", lambda v: v.insert(0, byte)
        yield "[:] = ...", lambda v: operator.setitem(v, slice(None), bytearray(b"?"))
        yield " += ...", lambda v: _IADD(v, bytes([byte]))
        if value:
            yield "[0] = ...", lambda v: operator.setitem(v, 0, (v[0] + 1) % 256)
    else:
        item = _sample(value)
        yield ".append(...)", lambda v: v.append(item)
        yield ".extend([...])", lambda v: v.extend([item])
        yield ".insert(0, ...)", lambda v: v.insert(0, item)
        yield "[:] = [...]", lambda v: operator.setitem(v, slice(None), [item, item])
        yield " += [...]", lambda v: _IADD(v, [item])
        if isinstance(value, collections.deque):
            yield ".appendleft(...)", lambda v: v.appendleft(item)
            yield ".extendleft([...])", lambda v: v.extendleft([item])
        if value:
            yield "[0] = ...", lambda v: operator.setitem(v, 0, other_than(v[0]))
    if not value:
        return
    yield ".pop()", lambda v: v.pop()
    yield ".remove(...)", lambda v: v.remove(v[0])
    yield ".clear()", lambda v: v.clear()
    yield "[0:1] = []", lambda v: operator.setitem(v, slice(0, 1), v[0:0])
    yield "del [0]", lambda v: operator.delitem(v, 0)
    yield " *= 2", lambda v: _IMUL(v, 2)
    if isinstance(value, collections.deque):
        yield ".popleft()", lambda v: v.popleft()
        yield ".rotate(1)", lambda v: v.rotate(1)
    if len(value) > 1:
        yield ".reverse()", lambda v: v.reverse()
        if isinstance(value, list):
            yield ".sort()", lambda v: v.sort()
            yield ".sort(reverse=True)", lambda v: v.sort(reverse=True)


def _mapping_changes(value: Any) -> Iterator[Change]:
    yield "[...] = ...", lambda v: operator.setitem(v, FOREIGN, FOREIGN)
    yield ".update({...: ...})", lambda v: v.update({FOREIGN: FOREIGN})
    yield ".setdefault(..., ...)", lambda v: v.setdefault(FOREIGN, FOREIGN)
    yield " |= {...: ...}", lambda v: _IOR(v, {FOREIGN: FOREIGN})
    if not value:
        return
    key = next(iter(value))
    yield f"[{key!r}] = ...", lambda v: operator.setitem(v, key, other_than(v[key]))
    yield f"del [{key!r}]", lambda v: operator.delitem(v, key)
    yield f".pop({key!r})", lambda v: v.pop(key)
    yield ".popitem()", lambda v: v.popitem()
    yield ".clear()", lambda v: v.clear()


def _set_changes(value: Any) -> Iterator[Change]:
    yield ".add(...)", lambda v: v.add(FOREIGN)
    yield ".update({...})", lambda v: v.update({FOREIGN})
    yield " |= {...}", lambda v: _IOR(v, {FOREIGN})
    yield " ^= {...}", lambda v: _IXOR(v, {FOREIGN})
    yield ".symmetric_difference_update({...})", lambda v: v.symmetric_difference_update({FOREIGN})
    if not value:
        return
    member = next(iter(value))
    yield ".discard(...)", lambda v: v.discard(member)
    yield ".remove(...)", lambda v: v.remove(member)
    yield ".pop()", lambda v: v.pop()
    yield ".clear()", lambda v: v.clear()
    yield " -= {...}", lambda v: _ISUB(v, {member})
    yield " &= set()", lambda v: _IAND(v, set())
    yield ".difference_update({...})", lambda v: v.difference_update({member})
    yield ".intersection_update(set())", lambda v: v.intersection_update(set())


BUILTIN_CONTAINERS: tuple[type, ...] = (list, dict, set, bytearray, collections.deque)


def changes(value: Any) -> Iterator[Change]:
    """Each way to change ``value`` in place: (how it is spelled after the value, the change)."""
    if isinstance(value, MutableSequence):
        yield from _sequence_changes(value)
    elif isinstance(value, MutableMapping):
        yield from _mapping_changes(value)
    elif isinstance(value, MutableSet):
        yield from _set_changes(value)


def bypasses(value: Any) -> Iterator[Change]:
    """The builtin's own methods, called past a subclass that overrides them.

    ``list.append(room.bookings, ...)`` still works on a list subclass whose
    ``append`` raises: overriding some methods seals nothing.
    """
    base = next((kind for kind in BUILTIN_CONTAINERS if isinstance(value, kind)), None)
    if base is None or type(value) is base:
        return
    # The changes a plain copy allows, run on a view whose methods are the base type's.
    for suffix, change in changes(base(value)):
        yield suffix, _through_base(base, change)


def _through_base(base: type, change: Callable[[Any], object]) -> Callable[[Any], object]:
    return lambda value: change(_BaseView(base, value))


class _BaseView:
    """``value`` seen through its builtin base type: every method and operator is the base's."""

    def __init__(self, base: type, value: Any) -> None:
        self._base: Any = base
        self._value = value

    def _call(self, name: str, *args: Any) -> Any:
        return getattr(self._base, name)(self._value, *args)

    def __getattr__(self, name: str) -> Any:
        return lambda *args: self._call(name, *args)

    def __len__(self) -> int:
        return int(self._call("__len__"))

    def __iter__(self) -> Iterator[Any]:
        return iter(self._call("__iter__"))

    def __getitem__(self, key: Any) -> Any:
        return self._call("__getitem__", key)

    def __setitem__(self, key: Any, item: Any) -> None:
        self._call("__setitem__", key, item)

    def __delitem__(self, key: Any) -> None:
        self._call("__delitem__", key)


def _forward(name: str) -> Callable[[_BaseView, Any], Any]:
    return lambda view, other: view._call(name, other)


# The in-place operators, each the base type's own (``list.__iadd__``, ``set.__ior__``, ...).
for _operator in ("__iadd__", "__imul__", "__ior__", "__ixor__", "__isub__", "__iand__"):
    setattr(_BaseView, _operator, _forward(_operator))


def reassign(name: str) -> Callable[[Any], object]:
    """Assign another value of the same kind to the attribute ``name``."""
    return lambda target: setattr(target, name, other_than(getattr(target, name)))


__all__ = [
    "BUILTIN_CONTAINERS",
    "FOREIGN",
    "Change",
    "bypasses",
    "changes",
    "other_than",
    "reassign",
]
