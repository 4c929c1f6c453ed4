"""The course catalog: the exercises in order, and the facts about each one's files.

``exercises/exercises.toml`` is read by the CLI, the docs and the tests; no
other file repeats its facts. An :class:`Exercise` also answers what its
folder holds: its course files, whether it is available in this copy, and
the fingerprint that equal test results share.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.metadata
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CATALOG_NAME = "exercises.toml"
HINT_TIERS = ("nudge", "pointer", "worked step")
DIFFICULTIES = ("introductory", "intermediate", "advanced")
"""The words an exercise's ``difficulty`` may take, from easiest to hardest."""


#: The fix for a catalog that is damaged: the course ships it, and git has it.
RESTORE_CATALOG = f"put it back as shipped: git checkout -- exercises/{CATALOG_NAME}"


class CatalogError(Exception):
    """The catalog file is malformed; ``what`` says where and why, ``fix`` what to do."""

    def __init__(self, what: str, fix: str = RESTORE_CATALOG) -> None:
        super().__init__(f"{what}; {fix}" if fix else what)
        self.what = what
        self.fix = fix


class CourseNotFound(CatalogError):
    """No catalog at or above the working folder: the command ran outside a course."""


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

    @property
    def available(self) -> bool:
        """Whether the exercise folder exists and holds at least one test file.

        A catalog may list an exercise before this copy of the course has it.
        """
        return self.folder.is_dir() and any(self.folder.glob("test_*.py"))

    def course_files(self) -> dict[str, Path]:
        """Every file of the exercise folder that belongs to the course, by POSIX relative path.

        Byte-code caches and hidden files are the interpreter's and the editor's,
        not the course's, so they never count as a change.
        """
        if not self.folder.is_dir():
            return {}
        files: dict[str, Path] = {}
        for path in sorted(self.folder.rglob("*")):
            relative = path.relative_to(self.folder)
            if not path.is_file() or any(
                part == "__pycache__" or part.startswith(".") for part in relative.parts
            ):
                continue
            if path.suffix in (".pyc", ".pyo") or path.name.endswith("~"):
                continue
            files[relative.as_posix()] = path
        return files

    def fingerprint(self) -> str:
        """A hash of every file in the exercise folder: equal fingerprints, equal test results.

        Never raises for a file that vanishes or cannot be read while it is hashed:
        ``watch`` hashes folders that an editor is saving into.
        """
        hasher = hashlib.sha256(f"aggregates-course results {CACHE_VERSION}\n".encode())
        hasher.update(_shared_machinery(self.root))
        for name, path in self.course_files().items():
            hasher.update(name.encode("utf-8") + b"\0")
            try:
                hasher.update(hashlib.sha256(path.read_bytes()).digest())
            except OSError as error:
                # Gone since the folder was listed (an editor replacing it), or unreadable:
                # that state has a fingerprint of its own, and the next save gives another.
                hasher.update(f"unreadable: {type(error).__name__}".encode())
        return hasher.hexdigest()


# Part of every fingerprint: changing it makes every cached result a cache miss.
CACHE_VERSION = "2"

# Besides the exercise's folder, these decide a verdict: the course's root conftest
# (Hypothesis profiles, --target), the shared test helpers, and the results plugin.
_SHARED_FILES = (
    Path("conftest.py"),
    *sorted((Path(__file__).resolve().parent.parent / "testing").glob("*.py")),
    Path(__file__).resolve().parent / "pytest_results.py",
)
_SHARED_TOOLS = ("pytest", "hypothesis")


def _shared_machinery(root: Path) -> bytes:
    """A digest of what decides an exercise's results outside its folder.

    A course update (a new helper in aggregates_course.testing, a changed
    profile) or an upgrade of pytest or Hypothesis must not leave an old
    verdict cached as if it still held.
    """
    hasher = hashlib.sha256()
    for file in _SHARED_FILES:
        path = file if file.is_absolute() else root / file
        try:
            hasher.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError as error:
            hasher.update(f"unreadable: {type(error).__name__}".encode())
    for tool in _SHARED_TOOLS:
        try:
            hasher.update(f"{tool} {importlib.metadata.version(tool)}\n".encode())
        except importlib.metadata.PackageNotFoundError:
            hasher.update(f"{tool} missing\n".encode())
    return hasher.digest()


def find_course_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding ``exercises/exercises.toml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "exercises" / CATALOG_NAME).is_file():
            return folder
    raise CourseNotFound(
        f"no exercises/{CATALOG_NAME} found in {here} or any folder above it",
        "run this from inside your clone of aggregates-course",
    )


def load_catalog(root: Path | None = None) -> tuple[Exercise, ...]:
    """Read the exercises, in course order, from ``<root>/exercises/exercises.toml``.

    Raises :class:`CatalogError` when the file cannot be read, lists no
    exercise, or gives one a field that makes no sense (a missing field, a
    string where a list belongs, two hints instead of three); its ``fix``
    says how to get the catalog back as shipped.
    """
    course_root = root if root is not None else find_course_root()
    path = course_root / "exercises" / CATALOG_NAME
    if not path.parent.is_dir():
        raise CourseNotFound(
            f"{course_root} holds no exercises/ folder",
            "run this from inside your clone of aggregates-course",
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CatalogError(f"cannot read {path}: {error.strerror or error}") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise CatalogError(f"{path} is damaged: {error}") from error
    entries = data.get("exercise")
    # A catalog with nothing to do is a mistake (often a misspelt table name), not a course.
    if not (isinstance(entries, list) and entries and all(isinstance(e, dict) for e in entries)):
        raise CatalogError(
            f"{path} lists no exercises: give each one an [[exercise]] table", RESTORE_CATALOG
        )
    exercises: list[Exercise] = []
    for index, entry in enumerate(entries):
        where = f"{path}: exercise {index + 1}"
        for key in ("slug", "title", "files", "hints"):
            if key not in entry:
                raise CatalogError(f"{where} lacks '{key}'")
        slug = _slug(entry["slug"], where)
        where = f"{path}: exercise {index + 1} ({slug})"
        exercises.append(
            Exercise(
                slug=slug,
                title=_words(entry["title"], f"{where}: title"),
                files=_file_names(entry["files"], where),
                hints=_hints(entry["hints"], where),
                root=course_root,
                minutes=_minutes(entry.get("minutes"), where),
                difficulty=_difficulty(entry.get("difficulty"), where),
            )
        )
    return tuple(exercises)


def _slug(value: object, where: str) -> str:
    # The slug names a folder and a Python package: letters, digits and underscores only.
    if not (isinstance(value, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value)):
        raise CatalogError(
            f"{where}: slug must be a folder name of letters, digits and underscores, "
            f'like "ex01_aggregate_root", not {value!r}'
        )
    return value


def _words(value: object, where: str) -> str:
    if not (isinstance(value, str) and value.strip()):
        raise CatalogError(f"{where} must be some text in quotes, not {value!r}")
    return value


def _file_names(value: object, where: str) -> tuple[str, ...]:
    # A plain string would be read letter by letter: files = "policy.py" is a slip for a list.
    names = value if isinstance(value, list) else None
    if not names or not all(
        isinstance(name, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\.py", name)
        for name in names
    ):
        raise CatalogError(
            f"{where}: files must be a list of the Python files a learner edits, "
            f'like ["policy.py"], not {value!r}'
        )
    return tuple(names)


def _hints(value: object, where: str) -> tuple[str, str, str]:
    if not (
        isinstance(value, list)
        and len(value) == len(HINT_TIERS)
        and all(isinstance(hint, str) and hint.strip() for hint in value)
    ):
        raise CatalogError(
            f"{where}: hints must be a list of exactly three texts "
            f"({', '.join(HINT_TIERS)}), not {_short(value)}"
        )
    return (value[0], value[1], value[2])


def _short(value: object, limit: int = 60) -> str:
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def catalog_root(catalog: Sequence[Exercise], root: Path | None) -> Path:
    """The course folder ``catalog`` was read from (``root``, or the one found from here)."""
    return catalog[0].root if catalog else (root or Path.cwd()).resolve()


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
        super().__init__(f"no exercise called {name!r}; {hint}", fix="")


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
