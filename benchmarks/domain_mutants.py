"""The mutation score of the domain and the repositories, recorded like every other figure.

Run from the project root (not part of CI: it takes many minutes)::

    uv run --group mutation python benchmarks/domain_mutants.py             # run mutmut, record
    uv run --group mutation python benchmarks/domain_mutants.py --recorded  # record the last run

mutmut changes the code under ``aggregates_course/domain/`` and
``aggregates_course/adapters/`` one small edit at a time and reruns the suites
``[tool.mutmut]`` in pyproject.toml names; a mutant those tests pass is a gap
in the specification, unless it behaves exactly like the original. Those are
listed, each with the reason, in ``domain_equivalent_mutants.txt`` beside this
script (read by :mod:`tests.mutant_lists`, as the solutions' list is).

This script runs mutmut afresh (``mutants/`` is rebuilt), prints the counts
and every survivor the list does not explain, with its diff, and records the
counts in ``results/domain_mutants.md``, so the Measurements page shows them
without anyone copying a figure. It exits 1 when a survivor is not listed, or
when a listed mutant no longer survives (the list must stay true).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.mutant_lists, when run as a script

from recording import record_results  # noqa: E402

from tests.mutant_lists import Verdict, judge, read_equivalent_mutants  # noqa: E402

MUTANTS = ROOT / "mutants"
EQUIVALENT_MUTANTS = Path(__file__).resolve().parent / "domain_equivalent_mutants.txt"
"""The survivors someone read and found equivalent: ``<mutant name> | <why>``, one a line."""

COMMAND = "uv run --group mutation python benchmarks/domain_mutants.py"


def mutmut(*arguments: str) -> str:
    """Run one mutmut command in the project root; its standard output."""
    finished = subprocess.run(
        [sys.executable, "-m", "mutmut", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return finished.stdout


def survivors() -> list[str]:
    """The names of the mutants the last run left alive, as ``mutmut show`` takes them."""
    names = []
    for line in mutmut("results").splitlines():
        name, _, status = line.strip().rpartition(": ")
        if status == "survived":
            names.append(name)
    return names


def module_of(mutant: str) -> str:
    """The module a mutant is in: ``a.b.sqlite`` from ``a.b.sqlite.x_load__mutmut_3``."""
    return mutant.rsplit(".", 1)[0]


def report(
    stats: Mapping[str, int],
    alive: Sequence[str],
    listed: Mapping[str, str],
    minutes: float | None,
) -> str:
    """The results as Markdown: the counts, then the survivors by module and by verdict."""
    total, killed, survived = stats["total"], stats["killed"], stats["survived"]
    other = total - killed - survived
    explained = [name for name in alive if name in listed]
    unexplained = [name for name in alive if name not in listed]
    score = 100 * killed / total if total else 0.0
    took = "" if minutes is None else f" The run took {minutes:.1f} min."
    lines = [
        "| Mutants | Killed | Survived: equivalent | Survived: unexplained "
        "| Other (timeout, no tests, ...) | Score |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {total} | {killed} | {len(explained)} | {len(unexplained)} | {other} "
        f"| **{score:.1f}%** |",
        "",
        f"Score: killed of all mutants.{took} Every equivalent survivor is listed, with why "
        "no test can tell it from the code, in `benchmarks/domain_equivalent_mutants.txt`; "
        "see one with `uv run --group mutation mutmut show <name>`.",
        "",
    ]
    equivalent = Counter(module_of(name) for name in explained)
    unknown = Counter(module_of(name) for name in unexplained)
    for module in sorted(equivalent | unknown):
        detail = f"{equivalent[module]} equivalent"
        if unknown[module]:
            detail += f", **{unknown[module]} unexplained**"
        lines.append(f"- `{module}`: {detail}")
    if unexplained:
        lines += ["", "Unexplained survivors (a test is missing, or a reason in the list):", ""]
        lines += [f"- `{name}`" for name in unexplained]
    return "\n".join(lines) + "\n"


def print_verdict(verdict: Verdict) -> None:
    """Show each unexplained survivor with its diff, and each stale line of the list."""
    if verdict.unexplained:
        print(f"\nsurvivors not listed in {EQUIVALENT_MUTANTS.relative_to(ROOT)}:")
        for name in verdict.unexplained:
            print(mutmut("show", name))
    if verdict.stale:
        print("\nlisted as equivalent, but killed now or no longer made (remove them):")
        for name in verdict.stale:
            print(f"  {name}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run mutmut unless ``--recorded``; print and record the counts of the last run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--recorded", action="store_true", help="do not run mutmut; record its last run"
    )
    parser.add_argument(
        "--max-children", type=int, default=2, help="mutants tested at once (default: 2)"
    )
    args = parser.parse_args(argv)
    # Read first: a malformed list should stop the command before a long run, not after.
    listed = read_equivalent_mutants(EQUIVALENT_MUTANTS)
    minutes = None
    if not args.recorded:
        # A stale mutants/ folder would mix mutants of old code into the counts.
        shutil.rmtree(MUTANTS, ignore_errors=True)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children)],
            cwd=ROOT,
            check=True,
        )
        minutes = (time.perf_counter() - started) / 60
    mutmut("export-cicd-stats")
    stats: dict[str, int] = json.loads((MUTANTS / "mutmut-cicd-stats.json").read_text())
    alive = survivors()
    markdown = report(stats, alive, listed, minutes)
    print(markdown)
    print(f"recorded {record_results('domain_mutants', command=COMMAND, markdown=markdown)}")
    verdict = judge(alive, listed)
    print_verdict(verdict)
    return 0 if verdict.in_order else 1


if __name__ == "__main__":
    sys.exit(main())
