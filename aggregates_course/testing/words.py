"""How values and steps read in failure messages: the one vocabulary every checker speaks.

A failure says what broke, then `` -- after: `` and the commands that led
there, e.g. ``two active rules watch (cpu, 5m): r1, r2 -- after: add r1(cpu, 5m);
add r2(cpu, 5m)``. :func:`after_steps` builds that suffix, :func:`describe`
renders values in the domain's words.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from aggregates_course.domain.events import RuleActivated, RuleRetired
from aggregates_course.domain.rules import format_window


def after_steps(steps: Sequence[str]) -> str:
    """`` -- after: add r1(cpu, 5m); retire r1 ('noisy')``, or ``""`` when no step was taken.

    The one way a failure message names the steps that led to it, so that a
    learner reads every report of every checker the same way.
    """
    return f" -- after: {'; '.join(steps)}" if steps else ""


def describe_watch(metric: str, window: timedelta) -> str:
    """``(cpu, 5m)``: how a (metric, window) pair reads in messages."""
    return f"({metric}, {format_window(window)})"


def describe(value: object) -> str:
    """How a value reads in a failure message, in the domain's words.

    A rule reads ``r1(cpu, 5m)``, a retired one ``r1(cpu, 5m) retired for 'noisy'``,
    an event ``RuleActivated(r1(cpu, 5m))``, a window ``5m``, a stored policy
    ``checkout v2: active (...), retired (...)``; tuples, lists and dicts read
    item by item, so ``(r1(cpu, 5m),)`` and ``()`` are told apart at a glance.
    Anything else with a ``describe()`` method describes itself.
    """
    if value is None:
        return "none"
    if isinstance(value, timedelta):
        return format_window(value)
    if isinstance(value, RuleActivated):
        return f"RuleActivated({describe(value.rule)})"
    if isinstance(value, RuleRetired):
        return f"RuleRetired({value.rule_id}, {value.reason!r})"
    if isinstance(value, tuple):
        items = [describe(item) for item in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(value, list):
        return f"[{', '.join(describe(item) for item in value)}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{describe(k)}: {describe(v)}" for k, v in value.items()) + "}"
    shaped: Any = value  # duck-typed: the exercises bring rule and policy classes of their own
    if hasattr(shaped, "rule") and hasattr(shaped, "reason") and not hasattr(shaped, "describe"):
        return f"{describe(shaped.rule)} retired for {shaped.reason!r}"
    if all(hasattr(shaped, name) for name in ("policy_id", "version", "active_rules")):
        retired = tuple(getattr(shaped, "retired_rules", ()))
        return (
            f"{shaped.policy_id} v{shaped.version}: active {describe(tuple(shaped.active_rules))}"
            f", retired {describe(retired)}"
        )
    if all(hasattr(shaped, name) for name in ("policy_id", "version", "alerts")):
        return f"alerts of {shaped.policy_id} v{shaped.version}: {describe(tuple(shaped.alerts))}"
    describe_itself = getattr(value, "describe", None)
    if callable(describe_itself):
        return str(describe_itself())
    return repr(value)


def expect_equal(
    what: str, expected: object, actual: object, steps: Sequence[str] = (), why: str = ""
) -> None:
    """Assert ``actual == expected``; otherwise fail in domain words.

    The message names what was read, both values through :func:`describe`,
    and the steps that led there, e.g. ``after add r1(cpu, 5m), active_rules
    should be (r1(cpu, 5m),), but was ()``, then ``: why`` if given. Every
    happy-path check in the exercises goes through it, so a learner never
    reads a bare ``assert [] == [...]``.
    """
    if actual == expected:
        return
    after = f"after {'; '.join(steps)}, " if steps else ""
    because = f": {why}" if why else ""
    raise AssertionError(
        f"{after}{what} should be {describe(expected)}, but was {describe(actual)}{because}"
    )
