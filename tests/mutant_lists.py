"""Lists of equivalent mutants, and the verdict on a mutation run that keeps one.

A mutant every test passes is either a gap in the specification, closed by a
new test, or a change that behaves exactly like the code (SQL keywords in
lower case, ``"utf-8"`` spelled ``"UTF-8"``), which no test can tell apart. The
second kind is listed in a text file, one mutant a line, with the reason::

    <mutant> | <why it is equivalent>

Two commands keep such a list: ``tests/solution_mutants.py`` in
``tests/equivalent_mutants.txt`` (mutants of the solutions) and
``benchmarks/domain_mutants.py`` in ``benchmarks/domain_equivalent_mutants.txt``
(mutants of the domain and the repositories). Both read it with
:func:`read_equivalent_mutants` and hold a run's survivors against it with
:func:`judge`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


class ListError(Exception):
    """An equivalent-mutants list has a line that does not read ``<mutant> | <reason>``."""


def read_equivalent_mutants(path: Path) -> dict[str, str]:
    """Mutant -> why it is equivalent; ``#`` lines and blank lines are comments.

    A missing file is an empty list. Raises :class:`ListError` naming the
    line that has no mutant or no reason.
    """
    listed: dict[str, str] = {}
    if not path.exists():
        return listed
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        key, separator, reason = line.rpartition(" | ")
        if not separator or not key.strip() or not reason.strip():
            raise ListError(f"{path.name}, line {number}: expected '<mutant> | <why equivalent>'")
        listed[key.strip()] = reason.strip()
    return listed


@dataclass(frozen=True)
class Verdict:
    """What a run's survivors say about the list; in order only when both are empty."""

    unexplained: tuple[str, ...]
    """Survivors the list does not name: each needs a test, or a reason in the list."""
    stale: tuple[str, ...]
    """Listed mutants that no longer survive (killed, or no longer made): remove them."""

    @property
    def in_order(self) -> bool:
        return not self.unexplained and not self.stale


def judge(survivors: Iterable[str], listed: Iterable[str]) -> Verdict:
    """Hold the survivors of a run against the listed mutants that run could have made."""
    alive, explained = set(survivors), set(listed)
    return Verdict(tuple(sorted(alive - explained)), tuple(sorted(explained - alive)))
