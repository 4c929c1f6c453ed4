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
truth), :mod:`~.session` (the one refusal checker), :mod:`~.boundary` (routes
around a root), :mod:`~.machine` (the machine for any aggregate),
:mod:`~.policy_model` (the policy model, its invariants and what a reader sees),
:mod:`~.policy` (the policy session and machine).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aggregates_course.testing.boundary import (
        FOREIGN as FOREIGN,
    )
    from aggregates_course.testing.boundary import (
        Leak as Leak,
    )
    from aggregates_course.testing.boundary import (
        Route as Route,
    )
    from aggregates_course.testing.boundary import (
        find_leak as find_leak,
    )
    from aggregates_course.testing.boundary import (
        other_than as other_than,
    )
    from aggregates_course.testing.boundary import (
        routes as routes,
    )
    from aggregates_course.testing.machine import (
        STEPS_PER_PROGRAM as STEPS_PER_PROGRAM,
    )
    from aggregates_course.testing.machine import (
        AggregateMachine as AggregateMachine,
    )
    from aggregates_course.testing.machine import (
        Command as Command,
    )
    from aggregates_course.testing.machine import (
        Invariant as Invariant,
    )
    from aggregates_course.testing.machine import (
        aggregate_machine as aggregate_machine,
    )
    from aggregates_course.testing.policy import (
        AddRoute as AddRoute,
    )
    from aggregates_course.testing.policy import (
        PolicyMachine as PolicyMachine,
    )
    from aggregates_course.testing.policy import (
        PolicySession as PolicySession,
    )
    from aggregates_course.testing.policy import (
        policy_machine as policy_machine,
    )
    from aggregates_course.testing.policy_model import (
        PolicyLike as PolicyLike,
    )
    from aggregates_course.testing.policy_model import (
        PolicyModel as PolicyModel,
    )
    from aggregates_course.testing.policy_model import (
        check_policy_invariants as check_policy_invariants,
    )
    from aggregates_course.testing.policy_model import (
        policy_state as policy_state,
    )
    from aggregates_course.testing.policy_model import (
        rule_values as rule_values,
    )
    from aggregates_course.testing.refusals import (
        INVARIANT_WORDS as INVARIANT_WORDS,
    )
    from aggregates_course.testing.refusals import (
        expect_refusal as expect_refusal,
    )
    from aggregates_course.testing.refusals import (
        refusal_details as refusal_details,
    )
    from aggregates_course.testing.session import (
        AggregateSession as AggregateSession,
    )
    from aggregates_course.testing.session import (
        snapshot as snapshot,
    )
    from aggregates_course.testing.strategies import (
        METRICS as METRICS,
    )
    from aggregates_course.testing.strategies import (
        RULE_IDS as RULE_IDS,
    )
    from aggregates_course.testing.strategies import (
        WINDOWS as WINDOWS,
    )
    from aggregates_course.testing.strategies import (
        active_rules as active_rules,
    )
    from aggregates_course.testing.strategies import (
        blank_reasons as blank_reasons,
    )
    from aggregates_course.testing.strategies import (
        metrics as metrics,
    )
    from aggregates_course.testing.strategies import (
        policies as policies,
    )
    from aggregates_course.testing.strategies import (
        reasons as reasons,
    )
    from aggregates_course.testing.strategies import (
        rule_ids as rule_ids,
    )
    from aggregates_course.testing.strategies import (
        thresholds as thresholds,
    )
    from aggregates_course.testing.strategies import (
        windows as windows,
    )
    from aggregates_course.testing.words import (
        after_steps as after_steps,
    )
    from aggregates_course.testing.words import (
        describe as describe,
    )
    from aggregates_course.testing.words import (
        describe_watch as describe_watch,
    )
    from aggregates_course.testing.words import (
        expect_equal as expect_equal,
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
    "FOREIGN": "boundary",
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
    "other_than": "boundary",
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
