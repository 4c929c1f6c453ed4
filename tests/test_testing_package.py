"""The testing package's front door: every public name, from the module that owns it, on demand.

``from aggregates_course.testing import X`` works for every name the package
lists, types check through the same names, and importing one helper does not
load the state machines (see the package's ``__init__``).
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import aggregates_course.testing as testing

INIT = Path(testing.__file__)


def names_imported_for_type_checkers() -> set[str]:
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    guarded = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
    )
    return {
        alias.asname or alias.name
        for node in guarded.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def test_every_listed_name_is_imported_for_type_checkers_and_found_at_run_time() -> None:
    assert set(testing.__all__) == names_imported_for_type_checkers()
    assert set(testing.__all__) == set(testing._HOMES)


def test_every_listed_name_comes_from_the_module_that_defines_it() -> None:
    for name in testing.__all__:
        home = importlib.import_module(f"aggregates_course.testing.{testing._HOMES[name]}")
        assert getattr(testing, name) is getattr(home, name), name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_helper"):
        testing.no_such_helper  # noqa: B018


def test_importing_one_helper_loads_only_its_module() -> None:
    probe = (
        "import sys\n"
        "from aggregates_course.testing import expect_equal\n"
        "print(sorted(m for m in sys.modules if m.startswith('aggregates_course.testing.')))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "['aggregates_course.testing.words']"
