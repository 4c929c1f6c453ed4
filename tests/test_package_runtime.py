"""The package's runtime is the standard library only; Hypothesis stays in the testing extra."""

from __future__ import annotations

import subprocess
import sys

# Modules allowed to need more than the standard library, and why.
OPTIONAL = {
    "aggregates_course.testing": "Hypothesis strategies: the 'testing' extra",
    "aggregates_course.course.pytest_results": "a pytest plugin, loaded only inside pytest",
    "aggregates_course.adapters.postgres": "psycopg: the 'postgres' extra, imported by name only",
}

PROBE = """
import importlib, pkgutil, sys
import aggregates_course
skipped = set(sys.argv[1:])
for info in pkgutil.walk_packages(aggregates_course.__path__, "aggregates_course."):
    if info.name not in skipped and not info.name.endswith("__main__"):
        importlib.import_module(info.name)
third_party = sorted(
    name for name in sys.modules
    if name.split(".")[0] not in sys.stdlib_module_names
    and name.split(".")[0] not in {"aggregates_course", "__main__", "__mp_main__"}
)
print("\\n".join(third_party))
"""


def test_every_runtime_module_imports_nothing_outside_the_standard_library() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, *OPTIONAL], capture_output=True, text=True, check=True
    )
    assert probe.stdout.split() == []


def test_the_probe_would_notice_a_third_party_import() -> None:
    leaky = PROBE.replace("import aggregates_course\n", "import aggregates_course, hypothesis\n")
    probe = subprocess.run(
        [sys.executable, "-c", leaky, *OPTIONAL], capture_output=True, text=True, check=True
    )
    assert "hypothesis" in probe.stdout.split()
