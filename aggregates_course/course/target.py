"""Which implementation the exercise tests import: the one mechanism for choosing it.

Exercise tests never import a learner's module by name. They call
:func:`load_target`, which imports ``<target>/<exercise>/<module>.py`` where the
target is ``exercises`` (the learner's stubs, the default), ``solutions``, or
any folder laid out the same way (the course's decoys). A pytest session
selects its target when it starts (:func:`configure_target`) and gives it up
when it ends (:func:`release_target`), so a session run inside another (the
course gate's) leaves the outer one's selection as it was. Each exercise becomes
a package whose search path is the target folder first and the exercise
folder second, so a target need only hold the files a learner edits; the
support modules it imports come from the exercise itself.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

#: The (course root, target folder) selections of the sessions running, innermost last.
_selections: list[tuple[Path, Path]] = []
#: Each synthetic package made so far, by name: the folders it imports from, in order.
_search_paths: dict[str, list[Path]] = {}
PACKAGE_PREFIX = "_course_target_"
# A synthetic package's name, then perhaps a module of it, then perhaps an attribute.
_SYNTHETIC = re.compile(
    rf"(?P<package>{PACKAGE_PREFIX}[0-9a-f]{{10}}_\w+)(?:\.(?P<module>\w+))?"
    r"(?P<attribute>\.(?=[A-Za-z_]))?"
)


def configure_target(course_root: Path, target: str | Path = "exercises") -> Path:
    """Point every :func:`load_target` call at ``target`` until :func:`release_target`.

    ``target`` is ``"exercises"``, ``"solutions"``, or a path to a folder
    holding ``<exercise>/<module>.py`` files; its folder is returned. Raises
    ``FileNotFoundError`` if that folder does not exist.
    """
    folder = Path(target)
    if not folder.is_absolute():
        folder = course_root / folder
    if not folder.is_dir():
        raise FileNotFoundError(f"target folder {folder} does not exist")
    _selections.append((course_root.resolve(), folder.resolve()))
    return _selections[-1][1]


def release_target() -> None:
    """End the innermost selection: the one made before it applies again (if any)."""
    if _selections:
        _selections.pop()


def current_target() -> Path:
    """The folder that :func:`load_target` imports from."""
    return _selection()[1]


def _selection() -> tuple[Path, Path]:
    if not _selections:
        raise RuntimeError("no target configured: run the exercises through pytest")
    return _selections[-1]


def load_target(exercise: str, module: str) -> ModuleType:
    """Import ``module`` of ``exercise`` from the configured target folder."""
    course_root, target = _selection()
    package = _exercise_package(target, course_root / "exercises" / exercise, exercise)
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
        _search_paths[name] = [Path(folder) for folder in search_path]
    return package


def plain_names(text: str) -> str:
    """``text`` with the synthetic package names this process made turned into plain words.

    The name ``_course_target_<hash>_<exercise>`` means nothing to a learner.
    A module of it becomes its file (``exercises/ex01_aggregate_root/policy.py``,
    relative to the course), or, where an attribute follows (a class in a
    repr), the module's plain name (``policy.Rule``).
    """
    if PACKAGE_PREFIX not in text:
        return text
    return _SYNTHETIC.sub(_plain_name, text)


def _plain_name(match: re.Match[str]) -> str:
    folders = _search_paths.get(match["package"])
    module = match["module"]
    if folders is None:
        return match[0]  # not a package of ours: leave the text as it was
    if match["attribute"]:
        return f"{module or folders[0].name}."
    if module is None:
        return _shown(folders[0])
    files = [folder / f"{module}.py" for folder in folders]
    return _shown(next((file for file in files if file.is_file()), files[0]))


def _shown(path: Path) -> str:
    """``path`` relative to the course root where it lies inside it, with ``/``."""
    for course_root, _ in reversed(_selections):
        if path.resolve().is_relative_to(course_root):
            return path.resolve().relative_to(course_root).as_posix()
    return path.as_posix()
