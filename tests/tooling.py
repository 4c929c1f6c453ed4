"""Tools from dependency groups other than ``dev``, for the tests that need them.

A learner's ``uv run aggregates-course`` installs only the ``dev`` group
(pytest and Hypothesis). The project's own tests also need mypy (``lint``) and
Zensical (``docs``); they get them through :func:`group_tool`, the one way a
test asks for a tool, so ``uv run pytest`` on a fresh clone still runs them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[1]


def skip_or_fail(reason: str) -> NoReturn:
    """Skip locally with ``reason``; in CI (``CI`` set) a missing tool is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this cannot be skipped)")
    pytest.skip(reason)


def group_tool(group: str, module: str) -> list[str]:
    """The command that runs ``python -m <module>``, with dependency group ``group`` present.

    The module itself when this interpreter has it; otherwise uv installs the
    group into the project's environment first (``uv run --group``). Without
    either, the test is skipped with the command that installs the group.
    """
    if importlib.util.find_spec(module) is not None:
        return [sys.executable, "-m", module]
    uv = shutil.which("uv")
    if uv is not None and (ROOT / "uv.lock").is_file():
        return [uv, "run", "--frozen", "--quiet", "--group", group, "python", "-m", module]
    skip_or_fail(
        f"{module} (the {group} dependency group) is not installed and uv is not on PATH: "
        f"run `uv sync --group {group}`"
    )
