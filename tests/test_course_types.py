"""Solutions type-check under mypy --strict, placed where a learner would put them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from aggregates_course.course.shipped import load_manifest
from tests.course_gate import CATALOG
from tests.tooling import ROOT, group_tool


def test_solved_exercises_pass_mypy_strict(tmp_path: Path) -> None:
    # Each exercise as shipped (its files in the manifest, never a learner's extra or edited
    # files), with its solution files dropped in, exactly as a learner who solved it has it.
    shipped = load_manifest(ROOT).hashes
    for exercise in CATALOG:
        solved = tmp_path / exercise.slug
        for name in shipped[exercise.slug]:
            source = exercise.solution_folder if name in exercise.files else exercise.folder
            (solved / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, solved / name)
    mypy = group_tool("lint", "mypy")
    checked = subprocess.run(
        [*mypy, "--strict", "--no-incremental", "--python-version", "3.11", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
