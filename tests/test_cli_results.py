"""`aggregates-course results --json`: the documented shape, filled with real results."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from aggregates_course.course.results import RESULTS_SCHEMA
from tests.test_cli_support import EX01, EX02, EX03, run_cli, solve, warm_course

__all__ = ["warm_course"]  # a fixture, re-exported for pytest

JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def violations(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema`` (the JSON Schema subset RESULTS_SCHEMA uses)."""
    found: list[str] = []
    if "const" in schema and value != schema["const"]:
        found.append(f"{path}: expected {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: {value!r} not in {schema['enum']}")
    if "type" in schema:
        names = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
        is_bool = isinstance(value, bool)
        if not any(
            isinstance(value, JSON_TYPES[name]) and (name == "boolean" or not is_bool)
            for name in names
        ):
            return [*found, f"{path}: {type(value).__name__} is not {names}"]
    if isinstance(value, dict):
        found += [
            f"{path}: lacks {key!r}" for key in schema.get("required", ()) if key not in value
        ]
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                found += violations(item, properties[key], f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{path}: unexpected {key!r}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += violations(item, schema["items"], f"{path}[{index}]")
    return found


def results(course: Path) -> dict[str, Any]:
    outcome = run_cli(course, "results", "--json")
    assert outcome.code == 0
    document: dict[str, Any] = json.loads(outcome.out)
    return document


def test_the_document_matches_its_documented_schema(warm_course: Path) -> None:
    solve(warm_course, EX01, "policy.py")
    assert violations(results(warm_course), RESULTS_SCHEMA) == []


def test_the_schema_check_rejects_a_wrong_document(warm_course: Path) -> None:
    broken = copy.deepcopy(results(warm_course))
    broken["exercises"][0]["tests"][0]["status"] = "green"
    del broken["summary"]["done"]
    assert len(violations(broken, RESULTS_SCHEMA)) == 2


def test_each_exercise_and_test_carries_status_message_and_duration(warm_course: Path) -> None:
    solve(warm_course, EX01, "policy.py")
    document = results(warm_course)
    assert document["summary"] == {"total": 3, "done": 1, "pending": 1, "missing": 1}
    ex01, ex02, ex03 = document["exercises"]
    assert (ex01["slug"], ex01["status"]) == (EX01, "done")
    assert {test["status"] for test in ex01["tests"]} == {"passed"}
    assert all(test["message"] is None and test["duration"] >= 0 for test in ex01["tests"])
    assert (ex02["slug"], ex02["status"]) == (EX02, "pending")
    failing = [test for test in ex02["tests"] if test["status"] == "failed"]
    assert [test["name"] for test in failing] == ["test_double_is_twice_the_number"]
    assert "double must be twice the number" in failing[0]["message"]
    assert (ex03["slug"], ex03["status"], ex03["tests"]) == (EX03, "missing", [])
