"""The mutation-testing command's own bookkeeping: its figures, its list, its mutants.

The command itself (``uv run --group mutation python -m tests.solution_mutants``)
takes minutes and is not part of the suite; these tests cover what decides
its verdict, so a wrong count or a misread list cannot pass unnoticed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mutant_lists import ListError, read_equivalent_mutants
from tests.solution_mutants import (
    COURSE_ROOT,
    EQUIVALENT_MUTANTS,
    Score,
    mutants_of,
    percent,
    report,
)
from tests.tooling import ensure_group


def test_a_share_is_rounded_down_so_95_percent_is_never_shown_for_less() -> None:
    assert percent(949, 1000) == "94.9%"
    assert percent(9499, 10000) == "94.9%"
    assert percent(95, 100) == "95.0%"
    assert percent(0, 0) == "100.0%"


def test_the_list_reads_one_mutant_and_its_reason_a_line(tmp_path: Path) -> None:
    listed = tmp_path / "equivalent.txt"
    listed.write_text(
        "# comment\n\nex01/policy.py f: a | b => a or b | both are falsy here\n",
        encoding="utf-8",
    )
    assert read_equivalent_mutants(listed) == {
        "ex01/policy.py f: a | b => a or b": "both are falsy here"
    }


def test_a_line_without_a_reason_is_refused(tmp_path: Path) -> None:
    listed = tmp_path / "equivalent.txt"
    listed.write_text("ex01/policy.py f: x => y\n", encoding="utf-8")
    with pytest.raises(ListError, match="line 1"):
        read_equivalent_mutants(listed)


def test_the_checked_in_list_reads() -> None:
    read_equivalent_mutants(EQUIVALENT_MUTANTS)


def score(killed: int, total: int, *survivors: str) -> Score:
    assert total - len(survivors) == killed
    return Score("ex01_aggregate_root", total, survivors)


def test_every_mutant_killed_is_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert report([score(20, 20)], {}, 1.0, 2)
    out = capsys.readouterr().out
    assert "ex01_aggregate_root killed 20 of 20 (100.0%)" in out
    assert "solution mutants killed: 20/20 (100.0%)" in out


def test_a_survivor_not_listed_fails_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert not report([score(99, 100, "ex01_aggregate_root/policy.py m: a => b")], {}, 1.0, 2)
    assert "ex01_aggregate_root/policy.py m: a => b" in capsys.readouterr().out


def test_a_listed_survivor_passes_when_the_share_is_high_enough() -> None:
    key = "ex01_aggregate_root/policy.py m: a => b"
    assert report([score(99, 100, key)], {key: "same behaviour"}, 1.0, 2)


def test_under_95_percent_fails_even_when_every_survivor_is_listed() -> None:
    keys = [f"ex01_aggregate_root/policy.py m: a => b{n}" for n in range(6)]
    assert not report([score(94, 100, *keys)], dict.fromkeys(keys, "same"), 1.0, 2)


def test_a_listed_mutant_that_no_longer_survives_fails_the_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stale = {"ex01_aggregate_root/policy.py m: a => b": "was equivalent once"}
    assert not report([score(20, 20)], stale, 1.0, 2)
    assert "remove them" in capsys.readouterr().out


def test_mutmut_makes_the_mutants_of_a_solution() -> None:
    ensure_group("mutation", "mutmut")
    mutants = mutants_of("ex05_repository_and_fake")
    keys = [mutant.key for mutant in mutants]
    assert len(set(keys)) == len(keys), "every mutant needs a key of its own"
    solution = COURSE_ROOT / "solutions" / "ex05_repository_and_fake" / "fake.py"
    original = solution.read_text(encoding="utf-8")
    assert all(mutant.source != original for mutant in mutants)
    flipped = "if stored_version != policy.version: => if stored_version == policy.version:"
    assert any(key.endswith(flipped) for key in keys), keys
