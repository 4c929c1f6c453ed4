"""Build-time macros for the course website (Zensical's macros extension).

Pages that say ``render_macros: true`` call these functions. Each one reads a
file the course already keeps, so the site never holds a second copy that
could drift: exercise pages come from ``exercises/<slug>/README.md`` and
``exercises/exercises.toml`` (through the course catalog), the list of common
mistakes from the decoys under ``tests/decoys``, and the CLI reference
from the CLI's own argument parser.
"""

from __future__ import annotations

import argparse
import ast
import functools
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from aggregates_course.course.catalog import HINT_TIERS, Exercise, load_catalog
from aggregates_course.course.decoys import discover_decoys

ROOT = Path(__file__).resolve().parents[2]

# README sections an exercise page shows verbatim, in this order. "Check your
# work" and "Hints" are rebuilt from the catalog instead, so their wording is
# the catalog's and the hints can be collapsed one tier at a time.
_VERBATIM_SECTIONS = ("Goal", "Background", "What to change")

# [text](target) with a relative target: fine inside the repository, a broken
# link on the website, so the page keeps the text and shows the path instead.
_RELATIVE_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\((?!https?://|#|mailto:)([^)\s]+)\)")


class MacroEnv(Protocol):
    """The part of the macros environment this module uses."""

    def macro(self, function: Callable[..., str], name: str = "") -> Callable[..., str]: ...


def define_env(env: MacroEnv) -> None:
    """Register the macros; called by the macros extension for every page."""
    for function in (
        exercise_page,
        exercise_table,
        exercise_tests,
        test_ref,
        decoy_ref,
        exercise_test_lists,
        decoy_table,
        cli_reference,
    ):
        env.macro(function, function.__name__)


# -- exercises -----------------------------------------------------------------


def _catalog() -> dict[str, tuple[int, Exercise]]:
    return {exercise.slug: (number, exercise) for number, exercise in _numbered()}


def _numbered() -> Iterator[tuple[int, Exercise]]:
    yield from enumerate(load_catalog(ROOT), start=1)


def _sections(readme: str) -> dict[str, str]:
    """Split a README into its ``## `` sections, keyed by heading text."""
    sections: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    in_fence = False
    for line in readme.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        if not in_fence and line.startswith("## "):
            if current is not None:
                sections[current] = "\n".join(lines).strip()
            current, lines = line[3:].strip(), []
        elif current is not None:
            lines.append(line)
    if current is not None:
        sections[current] = "\n".join(lines).strip()
    return sections


def _unlink(markdown: str) -> str:
    return _RELATIVE_LINK.sub(lambda match: f"{match[1]} (`{match[2]}`)", markdown)


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line if line.strip() else "" for line in text.splitlines())


def exercise_page(slug: str) -> str:
    """The body of one exercise page: README sections, check command, hints, question."""
    catalog = _catalog()
    if slug not in catalog:
        raise KeyError(f"{slug!r} is not in exercises/exercises.toml")
    number, exercise = catalog[slug]
    parts = [f"# Exercise {number}: {exercise.title}", ""]
    if not exercise.readme.is_file():
        parts += [
            '!!! warning "Not written yet"',
            "",
            f"    The catalog lists `{slug}`, but `exercises/{slug}/README.md` does not exist yet.",
        ]
        return "\n".join(parts)
    sections = _sections(exercise.readme.read_text(encoding="utf-8"))
    files = ", ".join(f"`exercises/{slug}/{name}`" for name in exercise.files)
    parts += [f"**You edit:** {files}", ""]
    for heading in _VERBATIM_SECTIONS:
        if heading in sections:
            parts += [f"## {heading}", "", _unlink(sections[heading]), ""]
    parts += [
        "## Check your work",
        "",
        "```bash",
        exercise.check_command,
        "```",
        "",
        "Red tests are the specification talking: each failure names the broken invariant "
        "and the steps that broke it. `uv run aggregates-course` shows where you are in the "
        "course, and `uv run aggregates-course check` runs the current exercise.",
        "",
        "## Hints",
        "",
        "Try on your own first. Each hint opens on its own, from gentle to explicit; "
        f"`uv run aggregates-course hint {slug}` shows them one tier at a time too.",
        "",
    ]
    for tier_number, (tier, hint) in enumerate(zip(HINT_TIERS, exercise.hints, strict=True), 1):
        parts += [f'??? tip "Hint {tier_number}: {tier}"', "", _indent(hint), ""]
    if "Review question" in sections:
        parts += [
            "## Review question",
            "",
            '!!! question "Carry this into code review"',
            "",
            _indent(_unlink(sections["Review question"])),
            "",
        ]
    return "\n".join(parts)


def exercise_table() -> str:
    """A table of every catalog exercise: number, linked title, files a learner edits."""
    rows = ["| # | Exercise | You edit |", "| --- | --- | --- |"]
    for number, exercise in _numbered():
        files = ", ".join(f"`{name}`" for name in exercise.files)
        rows.append(f"| {number} | [{exercise.title}]({exercise.slug}.md) | {files} |")
    return "\n".join(rows)


def _test_functions(slug: str) -> Iterator[tuple[str, str]]:
    folder = ROOT / "exercises" / slug
    for path in sorted(folder.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name.startswith(
                ("test_", "Test")
            ):
                yield path.name, node.name


def exercise_tests(slug: str) -> str:
    """A bullet list of the tests in an exercise, in file order, as readable sentences."""
    items = [
        f"- `{name}` ({file}): {name.removeprefix('test_').replace('_', ' ')}"
        for file, name in _test_functions(slug)
    ]
    return "\n".join(items) or "_No test files yet._"


def exercise_test_lists() -> str:
    """One collapsed list of tests per catalog exercise."""
    parts: list[str] = []
    for number, exercise in _numbered():
        parts += [f'??? note "Exercise {number}: {exercise.title}"', ""]
        parts += [_indent(exercise_tests(exercise.slug)), ""]
    return "\n".join(parts)


def test_ref(slug: str, name: str) -> str:
    """`` `name` `` if exercise ``slug`` has that test; otherwise the build fails.

    The instructor guide names tests through this macro, so renaming a test
    breaks the docs build instead of leaving the guide pointing at nothing.
    """
    if name not in {test for _, test in _test_functions(slug)}:
        raise LookupError(f"the instructor guide names {name!r}, but {slug} has no such test")
    return f"`{name}`"


# -- decoys --------------------------------------------------------------------


def _decoys() -> Iterator[tuple[str, str, str]]:
    """(decoy name, exercise slug, the mistake) for every decoy, in name order."""
    for decoy in discover_decoys(ROOT):
        yield decoy.name, decoy.exercise, decoy.mistake[:1].upper() + decoy.mistake[1:]


def decoy_ref(name: str) -> str:
    """`` `name` `` if ``tests/decoys/<name>.diff`` exists; otherwise the build fails."""
    if name not in {decoy for decoy, _, _ in _decoys()}:
        raise LookupError(f"the instructor guide names decoy {name!r}, but tests/decoys has none")
    return f"`{name}`"


def decoy_table() -> str:
    """Every decoy, grouped by exercise, with the mistake it embodies."""
    catalog = _catalog()
    rows = ["| Exercise | Decoy | The mistake |", "| --- | --- | --- |"]
    for name, slug, what in _decoys():
        number = catalog[slug][0] if slug in catalog else "?"
        link = f"[{number}](../exercises/{slug}.md)" if slug in catalog else slug
        rows.append(f"| {link} | `{name}` | {what} |")
    return "\n".join(rows)


# -- CLI -----------------------------------------------------------------------


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse offers no public way to list subcommands
        if isinstance(action, argparse._SubParsersAction):
            choices: dict[str, argparse.ArgumentParser] = action.choices
            return choices
    return {}


def cli_reference() -> str:
    """``--help`` of the CLI and of every subcommand, straight from its parser."""
    from aggregates_course.course.cli import build_parser

    parser = _fixed_width(build_parser())
    parts = ["## `aggregates-course`", "", "```text", parser.format_help().rstrip(), "```", ""]
    for name, sub in _subparsers(parser).items():
        _fixed_width(sub)
        parts += [f"## `aggregates-course {name}`", ""]
        if sub.description:
            parts += [sub.description, ""]
        parts += ["```text", sub.format_help().rstrip(), "```", ""]
    return "\n".join(parts)


def _fixed_width(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    # A fixed width, so the reference does not depend on the terminal that built it.
    parser.formatter_class = functools.partial(parser.formatter_class, width=88)
    return parser
