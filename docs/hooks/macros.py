"""Build-time macros for the course website (Zensical's macros extension).

Pages that say ``render_macros: true`` call these functions. Each one reads a
file the course already keeps, so the site never holds a second copy that
could drift: exercise pages, the exercise index and the session plan come from
``exercises/<slug>/README.md`` and ``exercises/exercises.toml`` (through the
course catalog); the common mistakes and every test name, failure message and
command output quoted in the instructor guide from real runs recorded in
``docs/instructor/recorded-runs.json`` (``tests/recorded_runs.py`` writes it,
``tests/test_recorded_runs.py`` proves it matches a real run); the
measurements from ``benchmarks/results/*.md``; the CLI reference from the
CLI's own argument parser.
"""

from __future__ import annotations

import argparse
import ast
import functools
import html
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from aggregates_course.course.catalog import HINT_TIERS, Exercise, load_catalog
from aggregates_course.course.decoys import Decoy, discover_decoys

ROOT = Path(__file__).resolve().parents[2]
RECORDED_RUNS = ROOT / "docs" / "instructor" / "recorded-runs.json"
REFRESH_RUNS = "uv run python -m tests.recorded_runs"
BENCHMARK_RESULTS = ROOT / "benchmarks" / "results"

# The session plan's fixed slots, in minutes; each exercise's working time is the
# catalog's `minutes`. The live-coding scripts are written to fit LIVE_CODING.
CONCEPT_MINUTES = 30
LIVE_CODING_MINUTES = 15
REVIEW_MINUTES = 5
SHORT_SESSION = (
    "ex01_aggregate_root",
    "ex04_retire_and_indexes",
    "ex07_capstone_monitoring_service",
)
"""The exercises to keep when time is short: the root, derived data, the whole service."""

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
        exercise_count,
        learner_loop,
        exercise_table,
        exercise_tests,
        test_ref,
        red_test,
        decoy_ref,
        decoy_run,
        hypothesis_run,
        recorded_python,
        exercise_test_lists,
        mistakes_by_exercise,
        session_plan,
        script_header,
        benchmark_results,
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


def exercise_count() -> str:
    """How many exercises the catalog lists, as a word a sentence can hold."""
    words = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    count = len(load_catalog(ROOT))
    return words[count] if count < len(words) else str(count)


_LOOP_START = re.compile(r"^<!-- learner-loop:start\b.*-->$", re.MULTILINE)
_LOOP_END = "<!-- learner-loop:end -->"


def learner_loop() -> str:
    """The README's learner-loop section (kept by the CLI's owners), as it stands."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = _LOOP_START.search(readme)
    end = readme.find(_LOOP_END)
    if start is None or end < start.end():
        raise LookupError("README.md lost its learner-loop:start/end markers")
    return _unlink(readme[start.end() : end].strip())


def _estimate(exercise: Exercise) -> tuple[int, str]:
    """The catalog's working time and difficulty; the site is not built without them."""
    if exercise.minutes is None or exercise.difficulty is None:
        raise LookupError(
            f"exercises/exercises.toml: give {exercise.slug} `minutes` and `difficulty`"
        )
    return exercise.minutes, exercise.difficulty


def exercise_table() -> str:
    """Every catalog exercise: number, linked title, time, difficulty, files a learner edits."""
    rows = [
        "| # | Exercise | Time | Difficulty | You edit |",
        "| --- | --- | --- | --- | --- |",
    ]
    for number, exercise in _numbered():
        minutes, difficulty = _estimate(exercise)
        files = ", ".join(f"`{name}`" for name in exercise.files)
        rows.append(
            f"| {number} | [{exercise.title}]({exercise.slug}.md) | about {minutes} min "
            f"| {difficulty} | {files} |"
        )
    minutes = [_estimate(exercise)[0] for _, exercise in _numbered()]
    rows += ["", f"Working time for all {len(minutes)} exercises: about {_duration(sum(minutes))}."]
    return "\n".join(rows)


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} minutes"
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


def session_plan() -> str:
    """The whole course and the short session, slot by slot, with totals that add up."""
    catalog = _catalog()
    parts: list[str] = []
    for title, slugs in (
        ("The whole course", list(catalog)),
        ("When time is short", SHORT_SESSION),
    ):
        rows = [
            "| Slot | Made of | Minutes |",
            "| --- | --- | ---: |",
            "| [Concept page](../concept/aggregates-and-consistency-boundaries.md) "
            f"| reading, then the review question in pairs | {CONCEPT_MINUTES} |",
        ]
        total = CONCEPT_MINUTES
        for slug in slugs:
            number, exercise = catalog[slug]
            minutes, _ = _estimate(exercise)
            slot = LIVE_CODING_MINUTES + minutes + REVIEW_MINUTES
            total += slot
            rows.append(
                f"| [Exercise {number}](../exercises/{slug}.md) | live coding "
                f"{LIVE_CODING_MINUTES}, learners work {minutes}, review question "
                f"{REVIEW_MINUTES} | {slot} |"
            )
        rows.append(f"| **Total** | {_duration(total)}, breaks not included | **{total}** |")
        parts += [f"### {title}", "", *rows, ""]
    return "\n".join(parts)


def script_header(slug: str) -> str:
    """The line under a live-coding script's heading: its page, its slot, the room's time."""
    number, exercise = _catalog()[slug]
    minutes, difficulty = _estimate(exercise)
    return (
        f"[Exercise {number} page](../exercises/{slug}.md) · live coding "
        f"{LIVE_CODING_MINUTES} minutes, then the room works about {minutes} minutes "
        f"({difficulty})"
    )


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
    return _identifier(name)


# -- recorded runs: decoys, stubs, Hypothesis demos ----------------------------------


def _recorded() -> dict[str, dict[str, Any]]:
    if not RECORDED_RUNS.is_file():
        raise LookupError(f"{RECORDED_RUNS.name} is missing; run `{REFRESH_RUNS}`")
    runs: dict[str, dict[str, Any]] = json.loads(RECORDED_RUNS.read_text(encoding="utf-8"))["runs"]
    return runs


def recorded_python() -> str:
    """The Python version the quoted runs were recorded with."""
    _recorded()  # fails the build with the refresh command when the file is missing
    python: str = json.loads(RECORDED_RUNS.read_text(encoding="utf-8"))["python"]
    return python


def _run(key: str) -> dict[str, Any]:
    runs = _recorded()
    if key not in runs:
        raise LookupError(f"no recorded run for {key!r}; run `{REFRESH_RUNS}`")
    return runs[key]


def _test_name(node_id: str) -> str:
    """``test_x[param]`` from a node id; a state machine's ``::runTest`` is dropped."""
    return node_id.split("::", 1)[1].removesuffix("::runTest")


def _identifier(name: str) -> str:
    """Inline code that may wrap only after an underscore, never inside a word."""
    # Each part is one unbreakable run: a browser would otherwise break at a hyphen too,
    # as in a parametrized test's ``[fake-1]``. The underscore is written as an entity,
    # or Markdown would read ``_..._`` between the runs as emphasis.
    parts = (f"<span>{html.escape(part)}</span>" for part in name.split("_"))
    return '<code class="identifier">' + "&#95;<wbr>".join(parts) + "</code>"


def _said(message: str) -> str:
    """A failure message as a Markdown quote, none of its characters read as markup."""
    escaped = re.sub(r"([\\`*_{}\[\]()#+!|-])", r"\\\1", html.escape(message, quote=False))
    return "\n".join(f"> {line}" if line.strip() else ">" for line in escaped.splitlines())


def _first_failure(key: str) -> tuple[str, str]:
    failures = _run(key)["failures"]
    if not failures:
        raise LookupError(f"the recorded run {key!r} shows no failure to quote")
    return _test_name(failures[0]["test"]), failures[0]["message"]


def _decoys() -> dict[str, Decoy]:
    return {decoy.name: decoy for decoy in discover_decoys(ROOT)}


def _mistake(decoy: Decoy) -> str:
    return decoy.mistake[:1].upper() + decoy.mistake[1:]


def decoy_ref(name: str) -> str:
    """The decoy's name if ``tests/decoys/<name>.diff`` exists; otherwise the build fails."""
    if name not in _decoys():
        raise LookupError(f"the instructor guide names decoy {name!r}, but tests/decoys has none")
    return _identifier(name)


def red_test(slug: str, name: str) -> str:
    """Test ``name`` of ``slug`` if it fails on the untouched stub (recorded); else the build fails.

    A parametrised test counts when any of its cases fails.
    """
    failing = {
        _test_name(failure["test"]).split("[", 1)[0] for failure in _run(f"stub {slug}")["failures"]
    }
    if name not in failing:
        raise LookupError(
            f"the instructor guide shows {name!r} as red on the {slug} stub, "
            f"but the recorded stub run fails only {sorted(failing)}"
        )
    return _identifier(name)


def _quoted_run(key: str, lead: str) -> str:
    """The recorded command, then ``lead`` (naming ``{test}``, the first failing test) and
    that test's message."""
    test, message = _first_failure(key)
    return "\n".join(
        [
            "```bash",
            _run(key)["command"],
            "```",
            "",
            lead.format(test=_identifier(test)),
            "",
            _said(message),
        ]
    )


def decoy_run(name: str) -> str:
    """The command that runs a decoy's exercise against it, and what it really stops at."""
    decoy_ref(name)
    return _quoted_run(f"decoy {name}", "It stops at the first failing test, {test}:")


def hypothesis_run(name: str, test: str) -> str:
    """A Hypothesis test run against a decoy, and the counterexample it really reports."""
    decoy_ref(name)
    return _quoted_run(
        f"hypothesis {name} {test}",
        "Hypothesis shrinks the counterexample it finds, and {test} reports:",
    )


def mistakes_by_exercise() -> str:
    """For each exercise, each decoy: the mistake, and the first test that catches it, in words."""
    catalog = _catalog()
    by_exercise: dict[str, list[Decoy]] = {}
    for decoy in _decoys().values():
        by_exercise.setdefault(decoy.exercise, []).append(decoy)
    parts: list[str] = []
    for slug, decoys in sorted(by_exercise.items(), key=lambda item: _order(catalog, item[0])):
        if slug in catalog:
            number, exercise = catalog[slug]
            parts += [f"## Exercise {number}: {exercise.title}", ""]
            parts += [f"[The exercise page](../exercises/{slug}.md).", ""]
        else:
            parts += [f"## {slug}", ""]
        parts += ['<div class="mistakes" markdown>', ""]
        for decoy in decoys:
            test, message = _first_failure(f"decoy {decoy.name}")
            parts += [
                f"- {_identifier(decoy.name)}: {_mistake(decoy)}",
                "",
                f"    First caught by {_identifier(test)}, which says:",
                "",
                _indent(_said(message)),
                "",
            ]
        parts += ["</div>", ""]
    return "\n".join(parts)


def _order(catalog: dict[str, tuple[int, Exercise]], slug: str) -> tuple[int, str]:
    return (catalog[slug][0] if slug in catalog else len(catalog) + 1, slug)


# -- measurements --------------------------------------------------------------------


def benchmark_results() -> str:
    """Every ``benchmarks/results/*.md``, each under its own heading, as its benchmark wrote it.

    A results file whose Markdown has a ``# `` heading gives the section its
    title; any other takes the file's name. Its other headings move one level
    down, below the section's.
    """
    results = sorted(BENCHMARK_RESULTS.glob("*.md"))
    if not results:
        return "_No benchmark has recorded results yet._"
    parts: list[str] = []
    for result in results:
        title, body = _titled(result.read_text(encoding="utf-8"), fallback=result.stem)
        parts += [
            f"## {title}",
            "",
            f"Recorded in `benchmarks/results/{result.name}` by the benchmark itself.",
            "",
            body,
            "",
        ]
    return "\n".join(parts)


def _titled(markdown: str, fallback: str) -> tuple[str, str]:
    title = fallback
    lines: list[str] = []
    in_fence = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        if not in_fence and line.startswith("# ") and title == fallback:
            title = line[2:].strip()
        elif not in_fence and re.match(r"#{1,4} ", line):
            lines.append("#" + line)
        else:
            lines.append(line)
    return title, "\n".join(lines).strip()


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
