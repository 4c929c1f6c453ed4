"""The lost-updates demonstration prints what its instructor page says it prints.

docs/instructor/lost-updates.md tells instructors to run
docs/instructor/lost_updates.py and shows its output in a ``text`` block;
these tests run the script, on SQLite and on PostgreSQL, and compare. The
page's ``...`` stands for the number of conflicts, which varies; the page
promises it is never below 30, and so do these tests.
"""

from __future__ import annotations

import doctest
import re
import subprocess
import sys

from tests.tooling import ROOT

PAGE = ROOT / "docs" / "instructor" / "lost-updates.md"
SCRIPT = ROOT / "docs" / "instructor" / "lost_updates.py"
FEWEST_CONFLICTS = 30  # three refused saves in each of ten rounds


def promised_output() -> str:
    """The page's first ``text`` block: the output it shows."""
    block = re.search(r"```text\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
    assert block is not None, f"{PAGE} shows no ```text block"
    return block[1]


def run_demo(*options: str) -> str:
    finished = subprocess.run(
        [sys.executable, str(SCRIPT), *options],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert finished.returncode == 0, finished.stderr
    return finished.stdout


def assert_output_as_promised(output: str) -> None:
    checker = doctest.OutputChecker()
    promised = promised_output()
    assert checker.check_output(promised, output, doctest.ELLIPSIS), (
        f"the page promises:\n{promised}\nthe script printed:\n{output}"
    )
    conflicts = re.search(r"\((\d+) conflicts", output)
    assert conflicts is not None
    assert int(conflicts[1]) >= FEWEST_CONFLICTS


def test_the_demo_on_sqlite_prints_what_the_page_shows() -> None:
    assert_output_as_promised(run_demo())


def test_the_demo_on_postgresql_prints_what_the_page_shows(postgres_database: str) -> None:
    assert_output_as_promised(run_demo("--postgres", postgres_database))
