"""Checking a refusal: the right error, telling the truth about what it refused.

A refused command must raise the error its invariant calls for; callers catch
the domain's errors and read their fields to tell the user what went wrong,
so a refusal of the wrong type, or one that misnames the rule, is as wrong as
no refusal at all.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import timedelta
from typing import TypeVar

from aggregates_course.domain.errors import (
    DomainError,
    DuplicateMetricWindow,
    DuplicateRuleId,
    InvalidReason,
    UnknownRule,
)
from aggregates_course.domain.rules import ActiveRule
from aggregates_course.testing.words import after_steps, describe, describe_watch

INVARIANT_WORDS: dict[type[DomainError], str] = {
    DuplicateRuleId: "rule ids are unique within a policy, retired ids included",
    DuplicateMetricWindow: "no two active rules may watch the same (metric, window)",
    UnknownRule: "only an active rule can be retired",
    InvalidReason: "a retirement needs a reason that is not blank",
}
"""The invariant each refusal protects, in the words failure messages use."""


_Refusal = TypeVar("_Refusal", bound=Exception)


def expect_refusal(
    expected: type[_Refusal],
    step: str,
    command: Callable[[], object],
    steps: Sequence[str] = (),
    invariant: str = "",
    *,
    fields: Mapping[str, object] | None = None,
    mentions: Sequence[str] = (),
) -> _Refusal:
    """Run ``command``, which must raise ``expected``; return the error.

    Otherwise fail naming the ``invariant`` in words and the steps that led there, e.g.
    ``add r1(memory, 5m) should be refused with DuplicateRuleId (rule ids are unique
    within a policy, retired ids included), but it was accepted -- after: add
    r1(cpu, 5m); retire r1 ('replaced'); add r1(memory, 5m)``. A refusal of
    another type is as wrong as none: callers catch the domain's errors.

    A refusal must also tell the truth: each of ``fields`` (attribute name ->
    value, e.g. ``{"rule_id": "r1", "retired": True}``) must be what the error
    carries, and each of ``mentions`` must appear in its message.
    """
    why = f" ({invariant})" if invariant else ""
    after = after_steps([*steps, step])
    try:
        command()
    except expected as caught:
        refused = caught
    except Exception as other:
        raise AssertionError(
            f"{step} should be refused with {expected.__name__}{why}, but it raised "
            f"{type(other).__name__}: {other}{after}"
        ) from other
    else:
        raise AssertionError(
            f"{step} should be refused with {expected.__name__}{why}, but it was accepted{after}"
        )
    # Checked outside the except block, so a failure reads as one error, not two chained.
    _check_refusal_tells_the_truth(refused, step, fields or {}, mentions, after)
    return refused


def _check_refusal_tells_the_truth(
    refused: Exception,
    step: str,
    fields: Mapping[str, object],
    mentions: Sequence[str],
    after: str,
) -> None:
    name = type(refused).__name__
    for field_name, value in fields.items():
        carried = getattr(refused, field_name, None)
        # `is` for flags: retired=1 or a truthy string would read right and mean nothing.
        if carried != value or (isinstance(value, bool) and carried is not value):
            raise AssertionError(
                f"{step} was refused with {name}, as it should be, but the error says "
                f"{field_name}={describe(carried)} where it should say {field_name}="
                f"{describe(value)} ({name}: {refused}); callers read it to tell the user "
                f"what went wrong{after}"
            )
    for text in mentions:
        if text not in str(refused):
            raise AssertionError(
                f"{step} was refused with {name}, as it should be, but its message "
                f"{str(refused)!r} does not name {text}{after}"
            )


def refusal_details(
    error: type[Exception],
    policy_id: str,
    rule_id: str,
    *,
    retired_ids: Collection[str] = (),
    watched_by: ActiveRule | None = None,
    watch: tuple[str, timedelta] | None = None,
) -> tuple[dict[str, object], tuple[str, ...]]:
    """The ``fields`` and ``mentions`` a policy's refusal must carry, for :func:`expect_refusal`.

    Every refusal names the policy and the rule. ``DuplicateRuleId`` and
    ``UnknownRule`` also say whether the id belongs to a retired rule
    (``retired_ids`` holds the policy's retired ids before the command);
    ``DuplicateMetricWindow`` names the active rule ``watched_by`` that already
    watches the pair, and its message names the pair, e.g. ``(cpu, 5m)``.
    """
    fields: dict[str, object] = {"policy_id": policy_id, "rule_id": rule_id}
    mentions: tuple[str, ...] = ()
    if error in (DuplicateRuleId, UnknownRule):
        fields["retired"] = rule_id in retired_ids
    if error is DuplicateMetricWindow and watched_by is not None:
        fields["existing_rule_id"] = watched_by.rule_id
        mentions = (describe_watch(*(watch or watched_by.watch)),)
    return fields, mentions
