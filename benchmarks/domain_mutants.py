"""The mutation score of the domain and the repositories, recorded like every other figure.

Run from the project root (not part of CI: it takes many minutes)::

    uv run --group mutation python benchmarks/domain_mutants.py             # run mutmut, record
    uv run --group mutation python benchmarks/domain_mutants.py --recorded  # record the last run

mutmut changes the code under ``aggregates_course/domain/`` and
``aggregates_course/adapters/`` one small edit at a time and reruns the suites
``[tool.mutmut]`` in pyproject.toml names; a mutant those tests pass is a gap
in the specification, unless it behaves exactly like the original. This
script runs mutmut afresh (``mutants/`` is rebuilt), then prints and records
its counts in ``results/domain_mutants.md``, with every survivor by name, so
the Measurements page shows them without anyone copying a figure.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from recording import record_results

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
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


def report(stats: dict[str, int], alive: Sequence[str], minutes: float | None) -> str:
    """The results as Markdown: the counts, then the survivors by module."""
    total, killed = stats["total"], stats["killed"]
    other = total - killed - stats["survived"]
    score = 100 * killed / total if total else 0.0
    took = "" if minutes is None else f" The run took {minutes:.1f} min."
    lines = [
        "| Mutants | Killed | Survived | Other (timeout, no tests, ...) | Score |",
        "| ---: | ---: | ---: | ---: | ---: |",
        f"| {total} | {killed} | {stats['survived']} | {other} | **{score:.1f}%** |",
        "",
        f"Survivors by module ({len(alive)}).{took} See one with "
        "`uv run --group mutation mutmut show <name>`:",
        "",
    ]
    for module, count in sorted(Counter(module_of(name) for name in alive).items()):
        lines.append(f"- `{module}`: {count}")
    return "\n".join(lines) + "\n"


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
    markdown = report(stats, survivors(), minutes)
    print(markdown)
    print(f"recorded {record_results('domain_mutants', command=COMMAND, markdown=markdown)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
