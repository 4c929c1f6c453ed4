"""ActiveRule and RetiredRule: value objects that validate themselves and never change.

A bad value is refused when the rule is built, so it never reaches a policy:
the error is :class:`InvalidRule` (a :class:`DomainError` and a ``ValueError``)
naming the field, and the policy that would have received it is untouched.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from aggregates_course import (
    ActiveRule,
    DomainError,
    InvalidRule,
    MonitoringPolicy,
    RetiredRule,
    format_window,
)
from aggregates_course.domain.rules import MAX_ID_LENGTH, MAX_METRIC_LENGTH, MAX_WINDOW

VALID: dict[str, Any] = {
    "rule_id": "cpu-hot",
    "metric": "cpu",
    "window": timedelta(minutes=5),
    "threshold": 0.9,
}

# (case id, field the error must name, override of one valid field)
BAD_VALUES: list[tuple[str, str, dict[str, Any]]] = [
    ("empty rule id", "rule_id", {"rule_id": ""}),
    ("whitespace rule id", "rule_id", {"rule_id": " \t "}),
    ("leading whitespace in rule id", "rule_id", {"rule_id": " cpu-hot"}),
    ("trailing whitespace in rule id", "rule_id", {"rule_id": "cpu-hot\n"}),
    ("NUL in rule id", "rule_id", {"rule_id": "cpu\x00hot"}),
    ("escape in rule id", "rule_id", {"rule_id": "cpu\x1b[31mhot"}),
    ("newline inside rule id", "rule_id", {"rule_id": "cpu\nhot"}),
    ("zero-width space in rule id", "rule_id", {"rule_id": "cpu\u200bhot"}),
    ("line separator in rule id", "rule_id", {"rule_id": "cpu\u2028hot"}),
    ("lone surrogate in rule id", "rule_id", {"rule_id": "cpu\ud800"}),
    ("absurdly long rule id", "rule_id", {"rule_id": "r" * (MAX_ID_LENGTH + 1)}),
    ("rule id of wrong type", "rule_id", {"rule_id": 42}),
    ("rule id None", "rule_id", {"rule_id": None}),
    ("empty metric", "metric", {"metric": ""}),
    ("whitespace metric", "metric", {"metric": "   "}),
    ("control character in metric", "metric", {"metric": "cpu\x07"}),
    ("lone surrogate in metric", "metric", {"metric": "\udfffcpu"}),
    ("absurdly long metric", "metric", {"metric": "m" * (MAX_METRIC_LENGTH + 1)}),
    ("metric of wrong type", "metric", {"metric": b"cpu"}),
    ("zero window", "window", {"window": timedelta(0)}),
    ("negative window", "window", {"window": timedelta(seconds=-1)}),
    ("window longer than a year", "window", {"window": MAX_WINDOW + timedelta(microseconds=1)}),
    ("window too long to store", "window", {"window": timedelta.max}),
    ("window as seconds", "window", {"window": 300}),
    ("window as text", "window", {"window": "5m"}),
    ("NaN threshold", "threshold", {"threshold": float("nan")}),
    ("infinite threshold", "threshold", {"threshold": float("inf")}),
    ("negative infinite threshold", "threshold", {"threshold": float("-inf")}),
    ("int too large for a float", "threshold", {"threshold": 10**400}),
    ("bool threshold", "threshold", {"threshold": True}),
    ("text threshold", "threshold", {"threshold": "0.9"}),
    ("None threshold", "threshold", {"threshold": None}),
]


@pytest.mark.parametrize(
    ("field", "override"),
    [(field, override) for _, field, override in BAD_VALUES],
    ids=[case for case, _, _ in BAD_VALUES],
)
def test_a_bad_value_is_refused_with_invalid_rule_naming_the_field(
    field: str, override: dict[str, Any]
) -> None:
    with pytest.raises(InvalidRule) as refused:
        ActiveRule(**(VALID | override))
    assert refused.value.field == field
    assert field in str(refused.value)


@pytest.mark.parametrize(
    "override",
    [override for _, _, override in BAD_VALUES],
    ids=[case for case, _, _ in BAD_VALUES],
)
def test_a_refused_rule_leaves_the_policy_that_would_receive_it_unchanged(
    override: dict[str, Any],
) -> None:
    policy = MonitoringPolicy("checkout")
    policy.add_active_rule(ActiveRule(**VALID))
    policy.collect_events()
    before = policy.snapshot()
    with pytest.raises(InvalidRule):
        policy.add_active_rule(ActiveRule(**(VALID | override)))
    assert policy.snapshot() == before
    assert policy.collect_events() == []


def test_invalid_rule_is_a_domain_error_and_a_value_error() -> None:
    assert issubclass(InvalidRule, DomainError)
    assert issubclass(InvalidRule, ValueError)


def test_an_id_of_exactly_the_maximum_length_is_accepted() -> None:
    rule_id = "r" * MAX_ID_LENGTH
    assert ActiveRule(**(VALID | {"rule_id": rule_id})).rule_id == rule_id


def test_a_non_ascii_id_and_metric_are_accepted() -> None:
    rule = ActiveRule(**(VALID | {"rule_id": "règle-é", "metric": "错误率"}))
    assert (rule.rule_id, rule.metric) == ("règle-é", "错误率")


def test_an_int_threshold_is_stored_as_a_float() -> None:
    rule = ActiveRule(**(VALID | {"threshold": 3}))
    assert type(rule.threshold) is float
    assert rule == ActiveRule(**(VALID | {"threshold": 3.0}))


def test_a_rule_watches_its_metric_and_window() -> None:
    assert ActiveRule(**VALID).watch == ("cpu", timedelta(minutes=5))


@pytest.mark.parametrize("field", ["rule_id", "metric", "window", "threshold"])
def test_a_rule_cannot_be_changed_after_it_is_built(field: str) -> None:
    rule = ActiveRule(**VALID)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(rule, field, VALID[field])


def test_a_rule_has_no_room_for_new_attributes() -> None:
    rule = ActiveRule(**VALID)
    # Python 3.11's frozen+slots dataclasses raise TypeError here (a CPython quirk); later
    # versions raise FrozenInstanceError. Either way the attribute is refused.
    with pytest.raises((AttributeError, TypeError)):
        rule.note = "sneaky"  # type: ignore[attr-defined]


def test_replacing_a_field_validates_the_new_rule() -> None:
    with pytest.raises(InvalidRule, match="threshold"):
        dataclasses.replace(ActiveRule(**VALID), threshold=float("nan"))


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_a_retired_rule_needs_a_non_blank_reason(reason: str) -> None:
    with pytest.raises(InvalidRule, match="reason"):
        RetiredRule(ActiveRule(**VALID), reason)


def test_a_retired_rule_wraps_an_active_rule_only() -> None:
    with pytest.raises(TypeError, match="ActiveRule"):
        RetiredRule(VALID, "replaced")  # type: ignore[arg-type]


def test_a_retired_rule_cannot_be_changed() -> None:
    retired = RetiredRule(ActiveRule(**VALID), "replaced")
    with pytest.raises(dataclasses.FrozenInstanceError):
        retired.reason = "rewritten history"  # type: ignore[misc]


def test_a_retired_rule_keeps_its_rules_id() -> None:
    assert RetiredRule(ActiveRule(**VALID), "replaced").rule_id == "cpu-hot"


@pytest.mark.parametrize(
    ("window", "text"),
    [
        (timedelta(minutes=5), "5m"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(days=2, seconds=3), "2d3s"),
        (timedelta(milliseconds=250), "250ms"),
        (timedelta(microseconds=7), "7us"),
    ],
)
def test_a_window_reads_compactly_in_messages(window: timedelta, text: str) -> None:
    assert format_window(window) == text
