"""Mutation testing of the solutions: how many wrong answers does each exercise refuse?

A maintainer command, not part of CI::

    uv run --group mutation python -m tests.solution_mutants [SLUG ...]

Every exercise named (all of them when none is) has its ``solutions/<slug>/``
files mutated by mutmut, one small change at a time: a flipped comparison, a
dropped argument, a ``None`` where a value was. Each mutant becomes the
``--target`` of that exercise's own tests, run in a fresh child process; a
mutant the tests fail on is *killed*, one they pass is a *survivor*. The
command prints ``<slug> killed K of T (P%)`` per exercise and a total line,
and writes the figures to ``benchmarks/results/solution_mutants.md`` on a run
of every exercise.

A survivor is either killed by a new test or listed, one line each with the
reason it behaves exactly like the solution, in :data:`EQUIVALENT_MUTANTS`.
The command exits 1 when an exercise kills under 95%, when a survivor is not
listed, or when a listed mutant no longer survives (so the list stays true).

Why mutmut's mutants but not ``mutmut run``: mutmut switches its mutants on
through trampolines keyed by the module's import name, while the exercise
tests import a solution through ``--target``, which gives each target folder a
package name of its own (``aggregates_course.course.target``). Under ``mutmut
run`` no trampoline would ever see its mutant switched on, and every mutant
would survive. So mutmut makes the mutants (its operators, its choice of what
to mutate, its ``# pragma: no mutate``), and this module writes each one into
a copy of the solution folder and points ``--target`` at it: the learner's
loading path, exactly.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import math
import multiprocessing
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import wait
from multiprocessing.context import ForkContext, SpawnContext
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from aggregates_course.course.catalog import load_catalog
from tests.mutant_lists import judge, read_equivalent_mutants

COURSE_ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT_MUTANTS = COURSE_ROOT / "tests" / "equivalent_mutants.txt"
"""The surviving mutants someone looked at: ``<mutant> | <why it is equivalent>``, one a line."""

THRESHOLD = 0.95
"""The share of its mutants every exercise's tests must kill."""

PROFILE = "gate"
"""Derandomized and without shrinking: a mutant is killed or not, the same way every run."""

COMMAND = "uv run --group mutation python -m tests.solution_mutants"


@dataclass(frozen=True)
class Mutant:
    """One small change to one solution file, with the whole changed file."""

    slug: str
    file: str
    function: str
    before: str
    after: str
    source: str
    occurrence: int = 1

    @property
    def key(self) -> str:
        """How the mutant reads in the equivalent-mutants list: file, function, change."""
        again = f" (#{self.occurrence})" if self.occurrence > 1 else ""
        return f"{self.slug}/{self.file} {self.function}: {self.before} => {self.after}{again}"


@dataclass(frozen=True)
class Score:
    """One exercise's result: every mutant, and the keys of those its tests did not kill."""

    slug: str
    total: int
    survivors: tuple[str, ...]

    @property
    def killed(self) -> int:
        return self.total - len(self.survivors)


def percent(killed: int, total: int) -> str:
    """``97.3%``, rounded down, so a figure shown as 95.0% never hides a 94.96% fail."""
    share = 1.0 if total == 0 else killed / total
    return f"{math.floor(share * 1000) / 10:.1f}%"


# -- making the mutants ----------------------------------------------------------------------


def mutants_of(slug: str) -> list[Mutant]:
    """Every mutant mutmut makes of ``solutions/<slug>/*.py``, in file and source order.

    Only mutants inside functions and methods count: mutmut runs no others
    (decorated functions such as properties are left alone, as mutmut does).
    """
    # Imported here: the mutation group is not installed for the project's own test run.
    cst: Any = importlib.import_module("libcst")
    file_mutation: Any = importlib.import_module("mutmut.mutation.file_mutation")
    mutants: list[Mutant] = []
    for path in sorted((COURSE_ROOT / "solutions" / slug).glob("*.py")):
        code = path.read_text(encoding="utf-8")
        module, mutations, _, _ = file_mutation.create_mutations(str(path), code)
        names = _function_names(cst, module)
        seen: Counter[str] = Counter()
        for mutation in mutations:
            function = mutation.contained_by_top_level_function
            if not isinstance(function, cst.FunctionDef):
                continue
            source = file_mutation.deep_replace(
                module, mutation.original_node, mutation.mutated_node
            ).code
            before, after = _changed_lines(code, source)
            mutant = Mutant(slug, path.name, names[function], before, after, source)
            seen[mutant.key] += 1
            if seen[mutant.key] > 1:
                mutant = replace(mutant, occurrence=seen[mutant.key])
            mutants.append(mutant)
    return mutants


def _function_names(cst: Any, module: Any) -> dict[Any, str]:
    names: dict[Any, str] = {}
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef):
            names[statement] = statement.name.value
        elif isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
            for method in statement.body.body:
                if isinstance(method, cst.FunctionDef):
                    names[method] = f"{statement.name.value}.{method.name.value}"
    return names


def _changed_lines(original: str, mutated: str) -> tuple[str, str]:
    """The lines a mutant changed, before and after, each joined into one line."""
    diff = list(
        difflib.unified_diff(original.splitlines(), mutated.splitlines(), n=0, lineterm="")
    )[2:]  # the --- and +++ header lines
    removed = [line[1:].strip() for line in diff if line.startswith("-")]
    added = [line[1:].strip() for line in diff if line.startswith("+")]
    return " ".join(removed), " ".join(added) or "(deleted)"


# -- running the tests against a target ------------------------------------------------------


def _run_exercise_tests(slug: str, target: str) -> None:
    """In a child process: run ``exercises/<slug>`` against ``target``; exit with pytest's code."""
    import pytest

    # A mutant's failures are counted, not read: keep the terminal for the summary.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    code = pytest.main(
        [
            str(COURSE_ROOT / "exercises" / slug),
            f"--target={target}",
            f"--rootdir={COURSE_ROOT}",
            "--exitfirst",
            "--quiet",
            "--tb=no",
            "-p",
            "no:cacheprovider",
            f"--hypothesis-profile={PROFILE}",
        ]
    )
    sys.exit(int(code))


def _warm_up() -> None:
    # What every child needs, imported once in the parent so that a forked child starts
    # warm; a spawned child (no fork on this platform) imports them itself.
    for name in (
        "pytest",
        "_pytest.pytester",
        "hypothesis",
        "hypothesis.stateful",
        "sqlite3",
        "aggregates_course",
        "aggregates_course.testing",
        "aggregates_course.course.target",
    ):
        importlib.import_module(name)
    with contextlib.suppress(ImportError):  # the docs group is optional, as in conftest.py
        importlib.import_module("sybil")


def _context() -> ForkContext | SpawnContext:
    # Fork where the platform has it: a child then starts with pytest already imported.
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


@dataclass
class _Job:
    index: int
    slug: str
    target: Path


def run_targets(jobs: Sequence[_Job], *, workers: int, timeout: float) -> dict[int, int | None]:
    """Run each job's exercise tests against its target, ``workers`` at a time.

    Returns pytest's exit code per job index, or ``None`` for a run stopped
    after ``timeout`` seconds (a mutant that loops forever).
    """
    context = _context()
    pending = list(jobs)
    running: dict[int, tuple[BaseProcess, float, _Job]] = {}
    codes: dict[int, int | None] = {}
    while pending or running:
        while pending and len(running) < workers:
            job = pending.pop(0)
            started: BaseProcess = context.Process(
                target=_run_exercise_tests, args=(job.slug, str(job.target))
            )
            started.start()
            running[started.sentinel] = (started, time.monotonic() + timeout, job)
        nearest = min(deadline for _, deadline, _ in running.values())
        wait(list(running), timeout=max(0.0, nearest - time.monotonic()))
        for sentinel, (process, deadline, job) in list(running.items()):
            if process.exitcode is not None:
                codes[job.index] = process.exitcode
            elif time.monotonic() >= deadline:
                process.kill()
                process.join()
                codes[job.index] = None
            else:
                continue
            process.close()
            del running[sentinel]
    return codes


def write_target(folder: Path, slug: str, replaced: dict[str, str] | None = None) -> Path:
    """A target folder holding ``solutions/<slug>/*.py``, with ``replaced`` files swapped in."""
    (folder / slug).mkdir(parents=True)
    for source in (COURSE_ROOT / "solutions" / slug).glob("*.py"):
        text = (replaced or {}).get(source.name, source.read_text(encoding="utf-8"))
        (folder / slug / source.name).write_text(text, encoding="utf-8")
    return folder


# -- the command -----------------------------------------------------------------------------


def score_exercise(slug: str, *, workers: int, scratch: Path) -> Score:
    """Mutate ``slug``'s solution, run its tests against every mutant, and count the kills."""
    mutants = mutants_of(slug)
    baseline_target = write_target(scratch / f"{slug}-solution", slug)
    started = time.monotonic()
    baseline = run_targets([_Job(0, slug, baseline_target)], workers=1, timeout=600)
    if baseline[0] != 0:
        raise SystemExit(f"{slug}: the solution fails its own tests; fix that first")
    # A mutant that loops forever is killed by the learner's time limit, too.
    timeout = max(10.0, 10 * (time.monotonic() - started))
    jobs = [
        _Job(index, slug, write_target(scratch / f"{slug}-{index}", slug, {m.file: m.source}))
        for index, m in enumerate(mutants)
    ]
    codes = run_targets(jobs, workers=workers, timeout=timeout)
    for index, code in codes.items():
        if code not in (0, 1, 2, None):
            raise SystemExit(f"{slug}: pytest exited {code} on {mutants[index].key}")
    survivors = tuple(mutants[index].key for index, code in sorted(codes.items()) if code == 0)
    return Score(slug, len(mutants), survivors)


def report(scores: Sequence[Score], listed: dict[str, str], seconds: float, workers: int) -> bool:
    """Print the figures and what needs a look; return True when everything is in order."""
    ok = True
    for score in scores:
        share = percent(score.killed, score.total)
        print(f"{score.slug} killed {score.killed} of {score.total} ({share})")
        ok = ok and (score.total == 0 or score.killed / score.total >= THRESHOLD)
    killed = sum(score.killed for score in scores)
    total = sum(score.total for score in scores)
    print(f"solution mutants killed: {killed}/{total} ({percent(killed, total)})")
    print(f"in {seconds:.0f} s with {workers} worker(s)")
    survivors = {key for score in scores for key in score.survivors}
    slugs = {score.slug for score in scores}
    verdict = judge(survivors, (key for key in listed if key.split("/")[0] in slugs))
    ok = ok and verdict.in_order
    if verdict.unexplained:
        print(f"\nsurvivors not listed in {EQUIVALENT_MUTANTS.relative_to(COURSE_ROOT)}:")
        for key in verdict.unexplained:
            print(f"  {key}")
    if verdict.stale:
        print("\nlisted as equivalent, but killed now or no longer made (remove them):")
        for key in verdict.stale:
            print(f"  {key}")
    under = [s.slug for s in scores if s.total and s.killed / s.total < THRESHOLD]
    if under:
        print(f"\nunder {THRESHOLD:.0%}: {', '.join(under)}")
    return ok


def markdown(scores: Sequence[Score], listed: dict[str, str], seconds: float, workers: int) -> str:
    """The figures as the Measurements page shows them."""
    rows = [
        "| exercise | mutants | killed | share killed | survivors listed as equivalent |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for s in scores:
        equivalent = sum(1 for key in s.survivors if key in listed)
        rows.append(
            f"| {s.slug} | {s.total} | {s.killed} | {percent(s.killed, s.total)} | {equivalent} |"
        )
    killed = sum(s.killed for s in scores)
    total = sum(s.total for s in scores)
    rows.append(f"| **all** | {total} | {killed} | {percent(killed, total)} | |")
    return (
        "Each exercise's tests run against every mutant mutmut makes of its solution; "
        f"a mutant they fail on is killed. The run took {seconds:.0f} s with {workers} "
        f"worker(s). Survivors are listed, with the reason each is equivalent to the "
        f"solution, in `tests/{EQUIVALENT_MUTANTS.name}`.\n\n" + "\n".join(rows) + "\n"
    )


def _record_results(name: str, *, command: str, markdown: str) -> None:
    # benchmarks/ is a folder of scripts that import `recording` from beside them; do the same.
    sys.path.insert(0, str(COURSE_ROOT / "benchmarks"))
    recording: Any = importlib.import_module("recording")
    recording.record_results(name, command=command, markdown=markdown)


def _default_workers() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit status."""
    parser = argparse.ArgumentParser(
        prog=COMMAND, description="Mutation testing of the solutions against the exercise tests."
    )
    parser.add_argument("slugs", nargs="*", metavar="SLUG", help="exercises (default: all)")
    parser.add_argument("--jobs", type=int, default=_default_workers(), help="parallel runs")
    args = parser.parse_args(argv)
    known = [exercise.slug for exercise in load_catalog(COURSE_ROOT)]
    unknown = [slug for slug in args.slugs if slug not in known]
    if unknown:
        parser.error(f"unknown exercise {', '.join(unknown)}; choose from {', '.join(known)}")
    try:
        importlib.import_module("mutmut")
    except ImportError:
        parser.error(f"mutmut is missing: run it as `{COMMAND}`")
    # mutmut reads its settings from pyproject.toml in the working directory.
    os.chdir(COURSE_ROOT)
    listed = read_equivalent_mutants(EQUIVALENT_MUTANTS)
    _warm_up()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="solution-mutants-") as scratch:
        scores = [
            score_exercise(slug, workers=args.jobs, scratch=Path(scratch))
            for slug in (args.slugs or known)
        ]
    seconds = time.monotonic() - started
    ok = report(scores, listed, seconds, args.jobs)
    if not args.slugs:
        # Only a run of every exercise replaces the published figures.
        _record_results(
            "solution_mutants",
            command=COMMAND,
            markdown=markdown(scores, listed, seconds, args.jobs),
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
