"""``aggregates-course demo`` walks through the reference implementation and exits 0."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aggregates_course.course.cli import main


@pytest.fixture(scope="module")
def module_run() -> subprocess.CompletedProcess[str]:
    """One run of ``python -m aggregates_course demo``, shared by the tests below."""
    return subprocess.run(
        [sys.executable, "-m", "aggregates_course", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_demo_exits_with_zero() -> None:
    assert main(["demo"]) == 0


def test_demo_shows_the_root_refusing_a_duplicate_metric_window(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["demo"])
    assert "DuplicateMetricWindow" in capsys.readouterr().out


def test_demo_shows_a_concurrency_conflict_between_two_operators(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["demo"])
    assert "ConcurrencyConflict" in capsys.readouterr().out


def test_demo_prints_its_steps_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    main(["demo"])
    numbers = [
        int(line.split(".", 1)[0])
        for line in capsys.readouterr().out.splitlines()
        if line[:1].isdigit()
    ]
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) >= 5


def test_demo_ends_with_both_operators_rules_kept(capsys: pytest.CaptureFixture[str]) -> None:
    main(["demo"])
    last_line = capsys.readouterr().out.rstrip().splitlines()[-1]
    assert "disk-full" in last_line
    assert "errors-up" in last_line


def test_the_module_entry_point_exits_with_zero(
    module_run: subprocess.CompletedProcess[str],
) -> None:
    assert module_run.returncode == 0, module_run.stderr


@pytest.mark.parametrize("step", ["DuplicateMetricWindow", "ConcurrencyConflict"])
def test_the_module_entry_point_prints_the_demo(
    module_run: subprocess.CompletedProcess[str], step: str
) -> None:
    assert step in module_run.stdout
