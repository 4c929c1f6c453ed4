"""Test kit for aggregates: Hypothesis strategies, sessions and state machines.

Install with the ``testing`` extra (``pip install -e '.[testing]'`` in a clone);
this package is the only part of :mod:`aggregates_course` that needs Hypothesis.

- :func:`aggregate_machine` checks *any* aggregate: refusals leave no trace,
  invariants hold after every command, nothing reachable from the root can be
  changed behind its back;
- :func:`policy_machine` checks a policy-shaped aggregate against the model
  the reference implementation passes::

      from aggregates_course.testing import policy_machine
      from my_service.policy import MyPolicy

      TestMyPolicy = policy_machine(MyPolicy).TestCase

Modules, one job each: :mod:`~.words` (how failures read), :mod:`~.strategies`
(values from small pools), :mod:`~.refusals` (the right error, telling the
truth), :mod:`~.session` (the one refusal checker), :mod:`~.changes` (every way
to change one value in place), :mod:`~.boundary` (routes around a root),
:mod:`~.machine` (the machine for any aggregate), :mod:`~.policy_model` (the
policy model, its invariants and what a reader sees), :mod:`~.policy` (the
policy session and machine).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aggregates_course.testing.boundary import (
        Leak,
        Route,
        find_leak,
        routes,
    )
    from aggregates_course.testing.changes import (
        FOREIGN,
        other_than,
    )
    from aggregates_course.testing.machine import (
        STEPS_PER_PROGRAM,
        AggregateMachine,
        Command,
        Invariant,
        aggregate_machine,
    )
    from aggregates_course.testing.policy import (
        AddRoute,
        PolicyMachine,
        PolicySession,
        policy_machine,
    )
    from aggregates_course.testing.policy_model import (
        PolicyLike,
        PolicyModel,
        check_policy_invariants,
        policy_state,
        rule_values,
    )
    from aggregates_course.testing.refusals import (
        INVARIANT_WORDS,
        expect_refusal,
        refusal_details,
    )
    from aggregates_course.testing.session import (
        AggregateSession,
        snapshot,
    )
    from aggregates_course.testing.strategies import (
        METRICS,
        RULE_IDS,
        WINDOWS,
        active_rules,
        blank_reasons,
        metrics,
        policies,
        reasons,
        rule_ids,
        thresholds,
        windows,
    )
    from aggregates_course.testing.words import (
        after_steps,
        describe,
        describe_watch,
        expect_equal,
    )

# Each name's module is imported when the name is first used, not with the package: an
# exercise's test process then loads only the helpers it uses. That matters beyond speed:
# Hypothesis draws on the constants of every local module imported, so loading the state
# machines into every test run would change each derandomized run the instructor pages quote.
_HOMES: dict[str, str] = {
    "AddRoute": "policy",
    "AggregateMachine": "machine",
    "AggregateSession": "session",
    "Command": "machine",
    "FOREIGN": "changes",
    "INVARIANT_WORDS": "refusals",
    "Invariant": "machine",
    "Leak": "boundary",
    "METRICS": "strategies",
    "PolicyLike": "policy_model",
    "PolicyMachine": "policy",
    "PolicyModel": "policy_model",
    "PolicySession": "policy",
    "RULE_IDS": "strategies",
    "Route": "boundary",
    "STEPS_PER_PROGRAM": "machine",
    "WINDOWS": "strategies",
    "active_rules": "strategies",
    "after_steps": "words",
    "aggregate_machine": "machine",
    "blank_reasons": "strategies",
    "check_policy_invariants": "policy_model",
    "describe": "words",
    "describe_watch": "words",
    "expect_equal": "words",
    "expect_refusal": "refusals",
    "find_leak": "boundary",
    "metrics": "strategies",
    "other_than": "changes",
    "policies": "strategies",
    "policy_machine": "policy",
    "policy_state": "policy_model",
    "reasons": "strategies",
    "refusal_details": "refusals",
    "routes": "boundary",
    "rule_ids": "strategies",
    "rule_values": "policy_model",
    "snapshot": "session",
    "thresholds": "strategies",
    "windows": "strategies",
}


def __getattr__(name: str) -> object:
    """Import the module that defines ``name`` on first use (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "FOREIGN",
    "INVARIANT_WORDS",
    "METRICS",
    "RULE_IDS",
    "STEPS_PER_PROGRAM",
    "WINDOWS",
    "AddRoute",
    "AggregateMachine",
    "AggregateSession",
    "Command",
    "Invariant",
    "Leak",
    "PolicyLike",
    "PolicyMachine",
    "PolicyModel",
    "PolicySession",
    "Route",
    "active_rules",
    "after_steps",
    "aggregate_machine",
    "blank_reasons",
    "check_policy_invariants",
    "describe",
    "describe_watch",
    "expect_equal",
    "expect_refusal",
    "find_leak",
    "metrics",
    "other_than",
    "policies",
    "policy_machine",
    "policy_state",
    "reasons",
    "refusal_details",
    "routes",
    "rule_ids",
    "rule_values",
    "snapshot",
    "thresholds",
    "windows",
]
