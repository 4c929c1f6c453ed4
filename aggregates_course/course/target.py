"""Which implementation the exercise tests import: the one mechanism for choosing it.

Exercise tests never import a learner's module by name. They call
:func:`load_target`, which imports ``<target>/<exercise>/<module>.py`` where the
target is ``exercises`` (the learner's stubs, the default), ``solutions``, or
any folder laid out the same way (the course's decoys). Each exercise becomes
a package whose search path is the target folder first and the exercise
folder second, so a target need only hold the files a learner edits; the
support modules it imports come from the exercise itself.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

_course_root: Path | None = None
_target: Path | None = None


def configure_target(course_root: Path, target: str | Path = "exercises") -> Path:
    """Point every later :func:`load_target` call at ``target``; return its folder.

    ``target`` is ``"exercises"``, ``"solutions"``, or a path to a folder
    holding ``<exercise>/<module>.py`` files. Raises ``FileNotFoundError``
    if that folder does not exist.
    """
    global _course_root, _target
    folder = Path(target)
    if not folder.is_absolute():
        folder = course_root / folder
    if not folder.is_dir():
        raise FileNotFoundError(f"target folder {folder} does not exist")
    _course_root, _target = course_root.resolve(), folder.resolve()
    return _target


def current_target() -> Path:
    """The folder that :func:`load_target` imports from."""
    if _target is None:
        raise RuntimeError("no target configured: run the exercises through pytest")
    return _target


def load_target(exercise: str, module: str) -> ModuleType:
    """Import ``module`` of ``exercise`` from the configured target folder."""
    target = current_target()
    assert _course_root is not None
    package = _exercise_package(target, _course_root / "exercises" / exercise, exercise)
    return importlib.import_module(f"{package.__name__}.{module}")


def _exercise_package(target: Path, exercise_folder: Path, exercise: str) -> ModuleType:
    # One synthetic package per (target, exercise), so several targets can live in one process.
    digest = hashlib.sha1(str(target).encode()).hexdigest()[:10]
    name = f"_course_target_{digest}_{exercise}"
    package = sys.modules.get(name)
    if package is None:
        search_path = [str(target / exercise)]
        if exercise_folder.resolve() != (target / exercise).resolve():
            search_path.append(str(exercise_folder))
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = search_path
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
    return package
