"""Dependency groups other than ``dev``, for the tests that need them.

A learner's ``uv run aggregates-course`` installs only the ``dev`` group
(pytest and Hypothesis). The project's own tests also need mypy (``lint``),
Zensical and Sybil (``docs``) and so on; they ask for them through
:func:`ensure_group`, the one way a test gets a tool, so ``uv run pytest`` on
a fresh clone still runs them.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import subprocess
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


def _in_project_environment() -> bool:
    # uv can only add a group to the environment it manages: the project's .venv.
    return Path(sys.prefix).resolve() == (ROOT / ".venv").resolve()


def ensure_group(group: str, module: str) -> None:
    """Make ``module`` importable here, installing dependency group ``group`` if it is not.

    In the project's uv environment the group is added with
    ``uv sync --inexact`` (nothing already installed is removed). Elsewhere (a
    plain pip venv) the test is skipped, or failed under ``CI``, with the
    command that installs the group.
    """
    if importlib.util.find_spec(module) is not None:
        return
    uv = shutil.which("uv")
    if uv is not None and _in_project_environment() and (ROOT / "uv.lock").is_file():
        synced = subprocess.run(
            [uv, "sync", "--frozen", "--inexact", "--quiet", "--group", group],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        importlib.invalidate_caches()
        if importlib.util.find_spec(module) is not None:
            return
        problem = f"`uv sync --group {group}` did not make {module} importable: {synced.stderr}"
    else:
        problem = f"{module} (the {group} dependency group) is not installed"
    skip_or_fail(f"{problem}; install it with `uv sync --group {group}`")


def group_tool(group: str, module: str) -> list[str]:
    """The command that runs ``python -m <module>`` from dependency group ``group``."""
    ensure_group(group, module)
    return [sys.executable, "-m", module]
