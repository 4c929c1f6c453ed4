"""Value objects owned by a policy: the rules and the identifiers they use.

Value objects validate themselves on construction and never change after it,
so a rule can be handed out freely: nobody can alter it behind the root's back.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from aggregates_course.domain.errors import InvalidRule

MAX_ID_LENGTH = 128
"""Longest accepted rule or policy id; longer ones are almost always a bug upstream."""

MAX_METRIC_LENGTH = 256
"""Longest accepted metric name."""

MAX_WINDOW = timedelta(days=366)
"""Longest accepted window: a year, with a leap day to spare; longer ones are data mistakes."""


def _unprintable(text: str) -> str | None:
    """Why ``text`` cannot name a rule, policy or metric, or ``None`` if it can."""
    for char in text:
        category = unicodedata.category(char)
        if category == "Cs":
            # No UTF-8 store can encode a lone surrogate: the fake repository would
            # accept a rule that SQLite refuses.
            return "contains a lone surrogate, which no store can encode"
        if category in {"Cc", "Cf", "Zl", "Zp"}:
            return "contains a control character"
    return None


def validate_identifier(value: object, field: str = "rule_id") -> str:
    """Return ``value`` if it is a usable identifier, else raise :class:`InvalidRule`.

    An identifier is a non-empty string of at most :data:`MAX_ID_LENGTH`
    characters, with no surrounding whitespace and no control characters,
    so that it prints, compares and stores without surprises.
    """
    if not isinstance(value, str):
        raise InvalidRule(field, f"must be a string, not {type(value).__name__}")
    if not value.strip():
        raise InvalidRule(field, "must not be empty or only whitespace")
    if value != value.strip():
        raise InvalidRule(field, f"{value!r} has leading or trailing whitespace")
    if (problem := _unprintable(value)) is not None:
        raise InvalidRule(field, f"{value!r} {problem}")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidRule(field, f"is {len(value)} characters long; the limit is {MAX_ID_LENGTH}")
    return value


def _validate_metric(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidRule("metric", f"must be a string, not {type(value).__name__}")
    if not value.strip():
        raise InvalidRule("metric", "must not be empty or only whitespace")
    if (problem := _unprintable(value)) is not None:
        raise InvalidRule("metric", f"{value!r} {problem}")
    if len(value) > MAX_METRIC_LENGTH:
        raise InvalidRule(
            "metric", f"is {len(value)} characters long; the limit is {MAX_METRIC_LENGTH}"
        )
    return value


def _validate_window(value: object) -> timedelta:
    if not isinstance(value, timedelta):
        raise InvalidRule("window", f"must be a datetime.timedelta, not {type(value).__name__}")
    if value <= timedelta(0):
        raise InvalidRule("window", f"must be positive, got {value}")
    if value > MAX_WINDOW:
        raise InvalidRule("window", f"is {value}; the limit is {MAX_WINDOW.days} days")
    return value


def _validate_threshold(value: object) -> float:
    # bool is an int subclass, but True is never a sensible threshold.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRule("threshold", f"must be a number, not {type(value).__name__}")
    try:
        threshold = float(value)
    except OverflowError:
        raise InvalidRule("threshold", "is too large to be a float") from None
    if not math.isfinite(threshold):
        raise InvalidRule("threshold", f"must be finite, got {threshold}")
    return threshold


def format_window(window: timedelta) -> str:
    """Render a window compactly for messages, e.g. ``5m``, ``1h30m``, ``250ms``."""
    micros = window // timedelta(microseconds=1)
    parts: list[str] = []
    for unit, size in (("d", 86_400_000_000), ("h", 3_600_000_000), ("m", 60_000_000)):
        count, micros = divmod(micros, size)
        if count:
            parts.append(f"{count}{unit}")
    seconds, micros = divmod(micros, 1_000_000)
    if seconds:
        parts.append(f"{seconds}s")
    if micros:
        parts.append(f"{micros // 1000}ms" if micros % 1000 == 0 else f"{micros}us")
    return "".join(parts) or "0s"


@dataclass(frozen=True, slots=True)
class ActiveRule:
    """An alert rule: fire when ``metric`` over ``window`` crosses ``threshold``.

    Frozen and validated on construction. A bad value raises
    :class:`InvalidRule` naming the field: an id that is blank, padded with
    whitespace, holds control characters or is absurdly long; a blank metric;
    a window that is not a positive ``timedelta`` of at most :data:`MAX_WINDOW`;
    a threshold that is not a finite number.
    """

    rule_id: str
    metric: str
    window: timedelta
    threshold: float

    def __post_init__(self) -> None:
        validate_identifier(self.rule_id, "rule_id")
        _validate_metric(self.metric)
        _validate_window(self.window)
        # An int threshold is stored as float so that equal rules compare and persist alike.
        object.__setattr__(self, "threshold", _validate_threshold(self.threshold))

    @property
    def watch(self) -> tuple[str, timedelta]:
        """The (metric, window) pair this rule watches; unique among active rules."""
        return (self.metric, self.window)

    def describe(self) -> str:
        """Short domain wording, e.g. ``r1(cpu, 5m)``, used in messages."""
        return f"{self.rule_id}({self.metric}, {format_window(self.window)})"


@dataclass(frozen=True, slots=True)
class RetiredRule:
    """A rule that no longer fires, kept with the reason it was retired.

    Retired rules keep their id forever: no new rule in the same policy may
    reuse it (see :class:`~aggregates_course.domain.errors.DuplicateRuleId`).
    """

    rule: ActiveRule
    reason: str

    def __post_init__(self) -> None:
        if not isinstance(self.rule, ActiveRule):
            raise TypeError(f"rule must be an ActiveRule, not {type(self.rule).__name__}")
        if not isinstance(self.reason, str):
            raise InvalidRule("reason", f"must be a string, not {type(self.reason).__name__}")
        if not self.reason.strip():
            raise InvalidRule("reason", "must not be blank")
        # Newlines and quotes are fine in a reason; lone surrogates are not: no store encodes them.
        if any(unicodedata.category(char) == "Cs" for char in self.reason):
            raise InvalidRule("reason", "contains a lone surrogate, which cannot be stored")

    @property
    def rule_id(self) -> str:
        """The id of the rule that was retired."""
        return self.rule.rule_id
