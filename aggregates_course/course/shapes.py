"""Reading back the JSON the CLI wrote: every field checked before anything trusts it.

The state file and its cached test runs are written by the CLI, but a file on
disk can hold anything: a half-finished edit, another version's format, bytes
from a broken disk. Each reader goes through these checks, so a bad value is a
:class:`ShapeError` that names the field (``hints.ex01``), never a crash three
functions later when the value is printed.

Invariant: a value that passes a check has the promised Python type and range;
in particular a string holds no NUL byte and no lone surrogate (either would
break a file path or a UTF-8 terminal), and a number is finite.
"""

from __future__ import annotations

import math
from collections.abc import Collection

MAX_TEXT = 1_000_000  # characters; a longer string is damage, not a test message


class ShapeError(ValueError):
    """A JSON value does not have the type or range its field requires; the message names it."""


def mapping(value: object, where: str) -> dict[str, object]:
    """``value`` as a JSON object."""
    if not isinstance(value, dict):
        raise ShapeError(f"{where} should be an object, not {_kind(value)}")
    return value


def sequence(value: object, where: str) -> list[object]:
    """``value`` as a JSON array."""
    if not isinstance(value, list):
        raise ShapeError(f"{where} should be an array, not {_kind(value)}")
    return value


def text(value: object, where: str) -> str:
    """``value`` as a string that is safe in a path and on any UTF-8 stream."""
    if not isinstance(value, str):
        raise ShapeError(f"{where} should be a string, not {_kind(value)}")
    if len(value) > MAX_TEXT or "\0" in value:
        raise ShapeError(f"{where} is not a plausible string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ShapeError(f"{where} holds a lone surrogate") from None
    return value


def plausible(value: str) -> str:
    """``value`` made to pass :func:`text`: NUL and lone surrogates escaped, length capped.

    For text the CLI did not choose (a learner's assertion message), before it is kept.
    """
    value = value[:MAX_TEXT].replace("\0", "\\x00")
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def optional_text(value: object, where: str) -> str | None:
    """``None``, or ``value`` checked by :func:`text`."""
    return None if value is None else text(value, where)


def integer(value: object, where: str, *, low: int = 0, high: int | None = None) -> int:
    """``value`` as an int in ``[low, high]``; ``true``/``false`` are not numbers here."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ShapeError(f"{where} should be a whole number, not {_kind(value)}")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ShapeError(f"{where} is {value}; it must be {bounds}")
    return value


def seconds(value: object, where: str) -> float:
    """``value`` as a finite, non-negative number of seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ShapeError(f"{where} should be a number, not {_kind(value)}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ShapeError(f"{where} is {value}; it must be a finite number, at least 0")
    return number


def flag(value: object, where: str) -> bool:
    """``value`` as ``true`` or ``false``."""
    if not isinstance(value, bool):
        raise ShapeError(f"{where} should be true or false, not {_kind(value)}")
    return value


def choice(value: object, where: str, options: Collection[str]) -> str:
    """``value`` as one of ``options``."""
    if value not in options:
        shown = value if isinstance(value, str) and len(value) < 40 else _kind(value)
        raise ShapeError(f"{where} is {shown!r}; it must be one of {', '.join(sorted(options))}")
    assert isinstance(value, str)  # every option is a string
    return value


def _kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "true/false"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")
