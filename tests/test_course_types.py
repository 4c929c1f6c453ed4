"""Solutions type-check under mypy --strict, placed where a learner would put them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.course_gate import CATALOG
from tests.tooling import ROOT, group_tool


def test_solved_exercises_pass_mypy_strict(tmp_path: Path) -> None:
    # Copy each exercise and drop its solution files in, exactly as a learner who solved it has it.
    for exercise in CATALOG:
        solved = tmp_path / exercise.slug
        shutil.copytree(exercise.folder, solved, ignore=shutil.ignore_patterns("__pycache__"))
        for name in exercise.files:
            shutil.copy2(exercise.solution_folder / name, solved / name)
    mypy = group_tool("lint", "mypy")
    checked = subprocess.run(
        [*mypy, "--strict", "--no-incremental", "--python-version", "3.11", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
