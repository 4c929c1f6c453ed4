"""Real test runs that the instructor pages quote, kept in one recorded file.

The instructor guide shows what commands really print: which test catches a
decoy first and with what message, which tests are red on an untouched stub,
what Hypothesis reports against a decoy. Running all of that on every site
build would cost tens of seconds, so the runs are recorded once in
``docs/instructor/recorded-runs.json`` and the pages render from that file
(``docs/hooks/macros.py``). ``tests/test_recorded_runs.py`` repeats every run
with the course gate and fails when the file and a real run disagree, so the
pages can be stale only until the suite runs.

After changing an exercise's tests, a solution or a decoy, refresh the file::

    uv run python -m tests.recorded_runs
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.course_gate import (
    CATALOG,
    COURSE_ROOT,
    DECOYS,
    errors,
    run_exercise,
    write_shipped_stubs,
)

RECORD_FILE = COURSE_ROOT / "docs" / "instructor" / "recorded-runs.json"
RECORD_ENV = "AGGREGATES_COURSE_RECORD_RUNS"
"""Set to 1 by :func:`main`: the runs are written to the file instead of compared."""
REFRESH_COMMAND = "uv run python -m tests.recorded_runs"
ROOM_DECOYS = "/tmp/decoys"
"""Where the instructor guide tells the room to write the decoys out."""

_TARGET_PACKAGE = re.compile(r"_course_target_[0-9a-f]+_(?=\w)")
# A Hypothesis demo is named on a page as hypothesis_run("<decoy>", "<test class>").
_DEMO_CALL = re.compile(r"hypothesis_run\(\s*\"([^\"]+)\"\s*,\s*\"([^\"]+)\"\s*\)")


@dataclass(frozen=True)
class RunSpec:
    """One command the guide quotes, and how the course gate repeats it.

    ``target`` is ``"exercises"`` (the stubs as shipped) or a decoy's name;
    ``profile`` the Hypothesis profile; ``select`` a ``-k`` expression.
    """

    key: str
    exercise: str
    target: str
    profile: str
    exitfirst: bool
    select: str = ""

    @property
    def command(self) -> str:
        """The command an instructor types to see the same run."""
        parts = ["uv run pytest", f"exercises/{self.exercise}"]
        if self.target != "exercises":
            parts.append(f"--target={ROOM_DECOYS}/{self.target}")
        if self.select:
            parts.append(f"-k {self.select}")
        if self.exitfirst:
            parts.append("-x")
        parts.append(f"--hypothesis-profile={self.profile}")
        return " ".join(parts)


def run_specs(pages: Path = COURSE_ROOT / "docs" / "instructor") -> list[RunSpec]:
    """Every run the guide may quote: each decoy, each stub, each Hypothesis demo on a page.

    Decoys run as the course gate runs them (explicit examples only, stop at
    the first failure), so the failure shown is the one that happens on every run.
    """
    decoys = {decoy.name: decoy for decoy in DECOYS}
    specs = [
        RunSpec(f"decoy {decoy.name}", decoy.exercise, decoy.name, "explicit", exitfirst=True)
        for decoy in DECOYS
    ]
    specs += [
        RunSpec(f"stub {exercise.slug}", exercise.slug, "exercises", "explicit", exitfirst=False)
        for exercise in CATALOG
    ]
    demos = sorted(
        {
            match.groups()
            for page in sorted(pages.glob("*.md"))
            for match in _DEMO_CALL.finditer(page.read_text(encoding="utf-8"))
        }
    )
    for decoy, test in demos:
        if decoy not in decoys:
            raise LookupError(
                f"the instructor guide runs decoy {decoy!r}, but tests/decoys has none"
            )
        # `ci` is derandomized, so the room sees the counterexample recorded here.
        specs.append(
            RunSpec(
                f"hypothesis {decoy} {test}",
                decoys[decoy].exercise,
                decoy,
                "ci",
                exitfirst=True,
                select=test,
            )
        )
    return specs


def perform(pytester: pytest.Pytester, spec: RunSpec, scratch: Path) -> dict[str, Any]:
    """Run ``spec`` through the course gate; the record the pages render from.

    A stub run runs against the stubs as shipped, written out from the course
    snapshot: the learner's working files in ``exercises/`` are never read, so
    neither their progress nor their damage can change what the pages quote.
    """
    if spec.target == "exercises":
        target = write_shipped_stubs(scratch / "shipped-stubs", CATALOG)
        shown = "exercises"
    else:
        decoy = next(decoy for decoy in DECOYS if decoy.name == spec.target)
        target = decoy.materialize(COURSE_ROOT, scratch / decoy.name)
        shown = ROOM_DECOYS
    run = run_exercise(
        pytester,
        spec.exercise,
        target,
        first_failure_only=spec.exitfirst,
        profile=spec.profile,
        select=spec.select,
        fresh_process=draws_examples(spec),
    )
    return {
        "command": spec.command,
        "errors": errors(run),
        "failures": [
            {"test": test.id, "message": _portable(_words(test.message or ""), target, shown)}
            for test in run.tests
            if test.status == "failed"
        ],
    }


def _words(message: str) -> str:
    # pytest appends its own `assert` introspection, worded differently by each pytest
    # and Python version; the course's words come before it, and only they are quoted.
    return message.split("\nassert ", 1)[0]


def _portable(message: str, target: Path, shown: str) -> str:
    # A message naming the scratch folder, or the synthetic package made from its path
    # (aggregates_course.course.target), would differ on every run and every machine:
    # the folder is named as the room's command names it.
    return _TARGET_PACKAGE.sub("", message.replace(str(target), shown))


def load_records(path: Path = RECORD_FILE) -> dict[str, dict[str, Any]]:
    """The recorded runs by key; empty when the file does not exist yet."""
    if not path.is_file():
        return {}
    runs: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["runs"]
    return runs


def recorded_python(path: Path = RECORD_FILE) -> str:
    """The Python version (major.minor) the runs were recorded with."""
    python: str = json.loads(path.read_text(encoding="utf-8"))["python"]
    return python


def this_python() -> str:
    """This interpreter's major.minor version."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def draws_examples(spec: RunSpec) -> bool:
    """True for runs in which Hypothesis generates examples, so their output can vary.

    Hypothesis derives a derandomized run's seed from the test's compiled code,
    so another Python version explores (and shrinks to) a different, equally
    real counterexample; and it draws on constants from every module already
    imported, so such a run is repeated in a fresh process, as the room runs
    it. Runs of the hand-written examples are the same everywhere.
    """
    return spec.profile != "explicit"


def write_records(runs: dict[str, dict[str, Any]], path: Path = RECORD_FILE) -> None:
    """Write ``runs`` in key order, with a note on how the file is made and checked."""
    document = {
        "about": (
            f"Written by `{REFRESH_COMMAND}`; tests/test_recorded_runs.py proves that every "
            "run below matches a real run. The instructor pages render from this file."
        ),
        "python": this_python(),
        "runs": dict(sorted(runs.items())),
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def recording() -> bool:
    """True when this session writes the runs instead of comparing them."""
    return os.environ.get(RECORD_ENV) == "1"


def main() -> int:
    """Repeat every quoted run and rewrite the record file."""
    # A fresh interpreter: pytest must import Hypothesis itself to load its plugin cleanly.
    here = COURSE_ROOT / "tests" / "test_recorded_runs.py"
    code = subprocess.run(
        [sys.executable, "-m", "pytest", str(here), "-q", "-p", "no:cacheprovider"],
        cwd=COURSE_ROOT,
        env={**os.environ, RECORD_ENV: "1"},
        check=False,
    ).returncode
    if code == 0:
        print(f"wrote {RECORD_FILE.relative_to(COURSE_ROOT)}")
    return code


if __name__ == "__main__":
    sys.exit(main())
