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

from aggregates_course.testing.boundary import FOREIGN, Leak, Route, find_leak, other_than, routes
from aggregates_course.testing.machine import (
    STEPS_PER_PROGRAM,
    AggregateMachine,
    Command,
    Invariant,
    aggregate_machine,
)
from aggregates_course.testing.policy import AddRoute, PolicyMachine, PolicySession, policy_machine
from aggregates_course.testing.policy_model import (
    PolicyLike,
    PolicyModel,
    check_policy_invariants,
    policy_state,
    rule_values,
)
from aggregates_course.testing.refusals import INVARIANT_WORDS, expect_refusal, refusal_details
from aggregates_course.testing.session import AggregateSession, snapshot
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
from aggregates_course.testing.words import after_steps, describe, describe_watch, expect_equal

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
