"""The package's runtime is the standard library only; Hypothesis stays in the testing extra.

The probe imports every runtime module in a fresh interpreter and lists the
third-party modules that importing them added. Modules already imported when
the interpreter started are not the package's doing: a virtual environment's
start-up hooks (setuptools' ``_distutils_hack``, an editable install's
finder) load them before any of our code runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Modules allowed to need more than the standard library, and why.
OPTIONAL = {
    "aggregates_course.testing": "Hypothesis strategies: the 'testing' extra",
    "aggregates_course.course.pytest_results": "a pytest plugin, loaded only inside pytest",
    "aggregates_course.adapters.postgres": "psycopg: the 'postgres' extra, imported by name only",
}

PROBE = """
import importlib, pkgutil, sys
at_start_up = set(sys.modules)
import aggregates_course
skipped = set(sys.argv[1:])
def walk(path, prefix):
    # Not pkgutil.walk_packages: it imports every package it walks into, optional ones too.
    for info in pkgutil.iter_modules(path, prefix):
        if info.name in skipped or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        if info.ispkg:
            walk(module.__path__, info.name + ".")
walk(aggregates_course.__path__, "aggregates_course.")
third_party = sorted(
    name for name in set(sys.modules) - at_start_up
    if name.split(".")[0] not in sys.stdlib_module_names
    and name.split(".")[0] not in {"aggregates_course", "__main__", "__mp_main__"}
)
print("\\n".join(third_party))
"""


def probe(source: str = PROBE, *, env: dict[str, str] | None = None) -> list[str]:
    """The third-party modules the package's runtime imports, by the probe ``source``."""
    finished = subprocess.run(
        [sys.executable, "-c", source, *OPTIONAL],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return finished.stdout.split()


def test_every_runtime_module_imports_nothing_outside_the_standard_library() -> None:
    assert probe() == []


def test_the_probe_would_notice_a_third_party_import() -> None:
    leaky = PROBE.replace("import aggregates_course\n", "import aggregates_course, hypothesis\n")
    assert "hypothesis" in probe(leaky)


def test_a_module_imported_at_start_up_is_not_the_packages_doing(tmp_path: Path) -> None:
    # What setuptools' .pth hook does in a pip-made venv, here through sitecustomize.
    (tmp_path / "start_up_hook.py").write_text("", encoding="utf-8")
    (tmp_path / "sitecustomize.py").write_text("import start_up_hook\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    assert probe("import sys; print('start_up_hook' in sys.modules)", env=env) == ["True"]
    assert probe(env=env) == []
