"""How a mutation run's survivors are held against an equivalent-mutants list.

The reader's own tests are in tests/test_solution_mutants.py, whose list it
first read; these pin :func:`tests.mutant_lists.judge`, which decides whether
``benchmarks/domain_mutants.py`` and ``tests.solution_mutants`` exit 0, and
check that the domain's checked-in list reads.
"""

from __future__ import annotations

from tests.mutant_lists import judge, read_equivalent_mutants
from tests.tooling import ROOT


def test_a_run_whose_every_survivor_is_listed_is_in_order() -> None:
    verdict = judge(["m.a", "m.b"], ["m.b", "m.a"])
    assert (verdict.unexplained, verdict.stale, verdict.in_order) == ((), (), True)


def test_a_survivor_not_listed_is_unexplained() -> None:
    verdict = judge(["m.a", "m.b"], ["m.a"])
    assert (verdict.unexplained, verdict.stale, verdict.in_order) == (("m.b",), (), False)


def test_a_listed_mutant_that_no_longer_survives_is_stale() -> None:
    verdict = judge(["m.a"], ["m.a", "m.gone"])
    assert (verdict.unexplained, verdict.stale, verdict.in_order) == ((), ("m.gone",), False)


def test_a_run_that_kills_everything_with_nothing_listed_is_in_order() -> None:
    assert judge([], []).in_order


def test_the_domains_checked_in_list_reads_and_names_mutmut_mutants() -> None:
    listed = read_equivalent_mutants(ROOT / "benchmarks" / "domain_equivalent_mutants.txt")
    assert listed, "the list is empty: was it moved?"
    for name in listed:
        module, _, function = name.rpartition(".")
        assert module.startswith("aggregates_course."), name
        assert "__mutmut_" in function, name
