"""``aggregates-course results --json``: the whole course's test results, machine-readable.

The document (``RESULTS_SCHEMA`` below is the same description as a JSON
Schema subset, and the tests validate real output against it)::

    {
      "schema": "aggregates-course/results/1",
      "course_root": "/path/to/checkout",
      "summary": {"total": 7, "done": 1, "pending": 5, "missing": 1},
      "exercises": [
        {
          "number": 1,
          "slug": "ex01_aggregate_root",
          "title": "Make MonitoringPolicy the aggregate root",
          "folder": "exercises/ex01_aggregate_root",
          "status": "done" | "pending" | "missing",   # missing: folder not in this copy
          "check_command": "uv run pytest exercises/ex01_aggregate_root",
          "cached": true,            # reused from a run on identical files
          "duration": 1.42,          # seconds the test run took
          "problem": null | {        # the tests could not judge the code at all
            "kind": "syntax" | "import" | "missing" | "collection" | "runner"
                    | "timeout" | "crash",
            "message": "SyntaxError: expected ':'",
            "file": "exercises/ex01_aggregate_root/policy.py" | null,
            "line": 42 | null
          },
          "tests": [                 # test-file order; empty when missing or a problem
            {
              "id": "exercises/ex01_aggregate_root/test_policy.py::test_x",
              "name": "test_x",
              "file": "exercises/ex01_aggregate_root/test_policy.py",
              "line": 36,
              "status": "passed" | "failed" | "error" | "skipped",
              "message": null | "the broken invariant, in words",
              "steps": null | "Hypothesis' falsifying example",
              "duration": 0.003,
              "where": null | {"file": str, "line": int, "function": str | null}
            }
          ]
        }
      ]
    }

Without ``--json`` the command (:func:`results`) prints a short table instead.

Invariant: ``summary`` counts agree with the exercises' statuses, and a test
has a ``message`` exactly when it did not pass or skip.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, get_args

from aggregates_course.course.app import App
from aggregates_course.course.catalog import Exercise
from aggregates_course.course.outcomes import ExerciseRun, ProblemKind, Status, TestStatus

SCHEMA_ID = "aggregates-course/results/1"

_NULLABLE_STRING: dict[str, Any] = {"type": ["string", "null"]}


def _object(properties: dict[str, Any], *, nullable: bool = False) -> dict[str, Any]:
    """A JSON object with exactly ``properties``, every one required (or null, if ``nullable``)."""
    return {
        "type": ["object", "null"] if nullable else "object",
        "required": list(properties),
        "additionalProperties": False,
        "properties": properties,
    }


def _typed(**types: str) -> dict[str, Any]:
    """Properties of plain JSON types: ``_typed(line="integer")``."""
    return {name: {"type": kind} for name, kind in types.items()}


_LOCATION = _object(
    {"file": {"type": "string"}, "line": {"type": "integer"}, "function": _NULLABLE_STRING},
    nullable=True,
)
_TEST = _object(
    {
        **_typed(id="string", name="string", file="string", line="integer"),
        "status": {"enum": list(get_args(TestStatus))},
        "message": _NULLABLE_STRING,
        "steps": _NULLABLE_STRING,
        "duration": {"type": "number"},
        "where": _LOCATION,
    }
)
_PROBLEM = _object(
    {
        "kind": {"enum": list(get_args(ProblemKind))},
        "message": {"type": "string"},
        "file": _NULLABLE_STRING,
        "line": {"type": ["integer", "null"]},
    },
    nullable=True,
)
_EXERCISE = _object(
    {
        **_typed(number="integer", slug="string", title="string", folder="string"),
        "status": {"enum": list(get_args(Status))},
        **_typed(check_command="string", cached="boolean", duration="number"),
        "problem": _PROBLEM,
        "tests": {"type": "array", "items": _TEST},
    }
)
#: The document's shape as a JSON Schema (draft 2020-12 subset: type, enum, const,
#: required, properties, additionalProperties, items).
RESULTS_SCHEMA = _object(
    {
        "schema": {"const": SCHEMA_ID},
        "course_root": {"type": "string"},
        "summary": _object(
            {name: {"type": "integer"} for name in ("total", "done", "pending", "missing")}
        ),
        "exercises": {"type": "array", "items": _EXERCISE},
    }
)


def results_document(
    course_root: str, exercises: Sequence[Exercise], runs: Sequence[ExerciseRun]
) -> dict[str, Any]:
    """The ``results --json`` document for ``runs`` (one per exercise, in course order)."""
    entries = []
    for number, (exercise, run) in enumerate(zip(exercises, runs, strict=True), start=1):
        problem = run.problem
        entries.append(
            {
                "number": number,
                "slug": exercise.slug,
                "title": exercise.title,
                "folder": f"exercises/{exercise.slug}",
                "status": run.status,
                "check_command": exercise.check_command,
                "cached": run.cached,
                "duration": round(run.duration, 3),
                "problem": None
                if problem is None
                else {
                    "kind": problem.kind,
                    "message": problem.message,
                    "file": problem.where.file if problem.where else None,
                    "line": problem.where.line if problem.where else None,
                },
                "tests": [
                    {"id": test.id, "name": test.name} | test.to_json() for test in run.tests
                ],
            }
        )
    statuses = [run.status for run in runs]
    return {
        "schema": SCHEMA_ID,
        "course_root": course_root,
        "summary": {
            "total": len(runs),
            "done": statuses.count("done"),
            "pending": statuses.count("pending"),
            "missing": statuses.count("missing"),
        },
        "exercises": entries,
    }


def results(app: App, as_json: bool) -> int:
    """Every test of every exercise, as the documented JSON or a short table."""
    runs = app.runs(app.course.catalog, complete=True)
    if as_json:
        document = results_document(str(app.course.root), app.course.catalog, runs)
        text = json.dumps(document, indent=2, ensure_ascii=False)
        # Where the output's encoding lacks a character (a Windows code page), JSON's own
        # escapes keep the document valid and every string intact.
        app.out.line(text if app.out.encodes(text) else json.dumps(document, indent=2))
        return 0
    for exercise, run in zip(app.course.catalog, runs, strict=True):
        app.out.line(f"{exercise.slug}: {run.status}")
        for test in run.tests:
            app.out.line(f"  {test.status:<7} {test.duration:7.3f}s  {test.shown_name}")
    app.out.line(f"(for scripts: {app.run} results --json)")
    return 0
