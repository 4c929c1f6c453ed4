"""The course catalog: the single metadata file that lists the exercises in order.

``exercises/exercises.toml`` is read by the CLI, the docs and the tests; no
other file repeats its facts.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CATALOG_NAME = "exercises.toml"
HINT_TIERS = ("nudge", "pointer", "worked step")
DIFFICULTIES = ("introductory", "intermediate", "advanced")
"""The words an exercise's ``difficulty`` may take, from easiest to hardest."""


class CatalogError(Exception):
    """The catalog file is missing or malformed; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Exercise:
    """One exercise: its folder name (slug), title, the files a learner edits, and hints.

    ``minutes`` (a learner's estimated working time) and ``difficulty`` (one of
    :data:`DIFFICULTIES`) are optional in the catalog; the course website shows
    them and its build refuses an exercise without them.
    """

    slug: str
    title: str
    files: tuple[str, ...]
    hints: tuple[str, str, str]
    root: Path
    minutes: int | None = None
    difficulty: str | None = None

    @property
    def folder(self) -> Path:
        """``exercises/<slug>``: where the stub, README and tests live."""
        return self.root / "exercises" / self.slug

    @property
    def solution_folder(self) -> Path:
        """``solutions/<slug>``: the completed versions of :attr:`files`."""
        return self.root / "solutions" / self.slug

    @property
    def readme(self) -> Path:
        """The exercise's README."""
        return self.folder / "README.md"

    @property
    def check_command(self) -> str:
        """The exact command that checks a learner's work."""
        return f"uv run pytest exercises/{self.slug}"


def find_course_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding ``exercises/exercises.toml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "exercises" / CATALOG_NAME).is_file():
            return folder
    raise CatalogError(
        f"no exercises/{CATALOG_NAME} found in {here} or any folder above it; "
        "run this from inside your clone of aggregates-course"
    )


def load_catalog(root: Path | None = None) -> tuple[Exercise, ...]:
    """Read the exercises, in course order, from ``<root>/exercises/exercises.toml``.

    Raises :class:`CatalogError` when the file cannot be read, lists no
    exercise, or gives one a field that makes no sense.
    """
    course_root = root if root is not None else find_course_root()
    path = course_root / "exercises" / CATALOG_NAME
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise CatalogError(f"cannot read {path}: {error}") from error
    entries = data.get("exercise")
    # A catalog with nothing to do is a mistake (often a misspelt table name), not a course.
    if not (isinstance(entries, list) and entries and all(isinstance(e, dict) for e in entries)):
        raise CatalogError(f"{path} lists no exercises: give each one an [[exercise]] table")
    exercises: list[Exercise] = []
    for index, entry in enumerate(entries):
        try:
            hints = tuple(str(hint) for hint in entry["hints"])
            if len(hints) != len(HINT_TIERS):
                raise CatalogError(f"{path}: exercise {index + 1} needs exactly three hints")
            exercises.append(
                Exercise(
                    slug=str(entry["slug"]),
                    title=str(entry["title"]),
                    files=tuple(str(name) for name in entry["files"]),
                    hints=(hints[0], hints[1], hints[2]),
                    root=course_root,
                    minutes=_minutes(entry.get("minutes"), f"{path}: exercise {index + 1}"),
                    difficulty=_difficulty(
                        entry.get("difficulty"), f"{path}: exercise {index + 1}"
                    ),
                )
            )
        except KeyError as missing:
            raise CatalogError(f"{path}: exercise {index + 1} lacks {missing}") from None
    return tuple(exercises)


def catalog_root(catalog: Sequence[Exercise], root: Path | None) -> Path:
    """The course folder ``catalog`` was read from (``root``, or the one found from here)."""
    return catalog[0].root if catalog else (root or Path.cwd()).resolve()


def is_available(exercise: Exercise) -> bool:
    """Whether the exercise folder exists and holds at least one test file.

    A catalog may list an exercise before this copy of the course has it.
    """
    return exercise.folder.is_dir() and any(exercise.folder.glob("test_*.py"))


def _minutes(value: object, where: str) -> int | None:
    # bool is an int to Python, but `minutes = true` is a slip, not an estimate.
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise CatalogError(f"{where}: minutes must be a positive whole number, not {value!r}")
    return value


def _difficulty(value: object, where: str) -> str | None:
    if value is None:
        return None
    if value not in DIFFICULTIES:
        raise CatalogError(
            f"{where}: difficulty must be one of {', '.join(DIFFICULTIES)}, not {value!r}"
        )
    return str(value)


class UnknownExercise(CatalogError):
    """A name that matches no exercise; the message suggests the closest slugs."""

    def __init__(self, name: str, suggestions: list[str], slugs: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = (
            f"did you mean {' or '.join(suggestions)}?"
            if suggestions
            else f"the exercises are: {', '.join(slugs)}"
        )
        super().__init__(f"no exercise called {name!r}; {hint}")


def find_exercise(catalog: tuple[Exercise, ...], name: str) -> Exercise:
    """The exercise ``name`` refers to: its slug, its number ("1", "ex1") or prefix ("ex01").

    Raises :class:`UnknownExercise`, with the closest slugs as suggestions,
    when nothing matches; an ambiguous prefix is unknown too.
    """
    wanted = name.strip().rstrip("/\\").lower()
    # Accept a path such as exercises/ex01_aggregate_root, which shells complete for you.
    wanted = wanted.replace("\\", "/").rsplit("/", 1)[-1]
    for exercise in catalog:
        if exercise.slug.lower() == wanted:
            return exercise
    number = re.fullmatch(r"(?:ex)?0*(\d+)", wanted)
    if number and 1 <= int(number.group(1)) <= len(catalog):
        return catalog[int(number.group(1)) - 1]
    prefixed = [e for e in catalog if wanted and e.slug.lower().startswith(wanted + "_")]
    if len(prefixed) == 1:
        return prefixed[0]
    slugs = [exercise.slug for exercise in catalog]
    close = difflib.get_close_matches(wanted, slugs, n=2, cutoff=0.5)
    if not close:
        close = [slug for slug in slugs if wanted and wanted in slug][:2]
    raise UnknownExercise(name, close, slugs)
