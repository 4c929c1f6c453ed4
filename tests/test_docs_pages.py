"""What the built pages say: each fact comes from its one source and reaches the reader.

The site is built once per session (``built_site`` in ``tests/docs_site.py``).
These tests read the built HTML: the public address and edit links, Mermaid
only where a diagram is, the exercise estimates and the session plan from the
catalog, the measurements from ``benchmarks/results``, and the instructor
guide's quotes from the recorded real runs.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from aggregates_course.course.catalog import load_catalog
from aggregates_course.course.decoys import Decoy, discover_decoys
from tests.docs_site import DOCS, ROOT, built_pages, parse_page
from tests.recorded_runs import load_records

CATALOG = load_catalog(ROOT)
MERMAID = "assets/javascripts/vendor/mermaid/mermaid.min.js"


def _setting(name: str) -> str:
    """A top-level ``name: value`` of mkdocs.yml (the file holds tags a safe YAML load refuses)."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    match = re.search(rf"^{name}:\s*(\S+)\s*$", text, flags=re.MULTILINE)
    assert match, f"mkdocs.yml has no {name}"
    return match[1]


def _text(page: Path) -> str:
    # Names rendered with <wbr> come apart into several text nodes; join them back.
    return re.sub(r"\s+", " ", "".join(parse_page(page).text))


def _page(site: Path, url: str) -> Path:
    return site / url / "index.html"


def _source_pages() -> list[Path]:
    """The Markdown files that become pages (not the vendored note, not the overrides)."""
    return [
        page
        for page in sorted(DOCS.rglob("*.md"))
        if "vendor" not in page.parts and "overrides" not in page.parts
    ]


def _built(site: Path, source: Path) -> Path:
    relative = source.relative_to(DOCS).with_suffix("")
    if relative.name == "index":
        return site / relative.parent / "index.html"
    return site / relative / "index.html"


# -- the public site ---------------------------------------------------------------


def test_only_pages_with_a_diagram_load_mermaid(built_site: Path) -> None:
    loading = []
    for page in built_pages(built_site):
        loads = any(link.endswith(MERMAID) for link in parse_page(page).loads)
        has_diagram = 'class="mermaid"' in page.read_text(encoding="utf-8")
        assert loads == has_diagram, (
            f"{page.relative_to(built_site)} {'loads' if loads else 'does not load'} Mermaid "
            f"and {'has' if has_diagram else 'has no'} diagram"
        )
        loading += [page] if loads else []
    assert loading, "no page loads Mermaid, yet the concept page has diagrams"


def test_the_sitemap_lists_every_page_at_the_public_address(built_site: Path) -> None:
    site_url = _setting("site_url")
    tree = ElementTree.parse(built_site / "sitemap.xml")
    listed = {element.text for element in tree.iter() if element.tag.endswith("loc")}
    folders = {page.parent.relative_to(built_site).as_posix() for page in built_pages(built_site)}
    expected = {site_url if folder == "." else f"{site_url}{folder}/" for folder in folders}
    assert listed == expected


@pytest.mark.parametrize("source", _source_pages(), ids=lambda path: path.stem)
def test_every_page_has_an_edit_link_to_its_source(built_site: Path, source: Path) -> None:
    edit = f"{_setting('repo_url')}/edit/main/docs/{source.relative_to(DOCS).as_posix()}"
    page = _built(built_site, source)
    assert edit in parse_page(page).links, f"{page} does not link to {edit}"


def test_the_get_started_page_clones_the_public_repository(built_site: Path) -> None:
    text = _text(_page(built_site, "get-started"))
    assert f"git clone {_setting('repo_url')}.git" in text
    for command in ("uv run aggregates-course", "uv run pytest", "python3 -m pip install"):
        assert command in text


# -- the exercises and the session plan ----------------------------------------------


def test_the_exercise_index_shows_each_exercises_time_and_difficulty(built_site: Path) -> None:
    text = _text(_page(built_site, "exercises"))
    for exercise in CATALOG:
        row = f"{exercise.title} about {exercise.minutes} min {exercise.difficulty}"
        assert row in text, f"the exercise index lacks {row!r}"


_SLOT = re.compile(
    r"Exercise (\d+) live coding (\d+), learners work (\d+), review question (\d+) (\d+)"
)
_PLAN = re.compile(r"Concept page reading, then the review question in pairs (\d+) (.*?) Total")
_TOTAL = re.compile(r"Total (\d+) h (\d+) min, breaks not included (\d+)")


def test_each_session_plan_adds_up(built_site: Path) -> None:
    text = _text(_page(built_site, "instructor"))
    plans = _PLAN.findall(text)
    totals = _TOTAL.findall(text)
    assert len(plans) == len(totals) == 2, "expected the whole-course plan and the short one"
    for (concept, slots), (hours, minutes, total) in zip(plans, totals, strict=True):
        added = int(concept)
        for number, live, work, review, slot in _SLOT.findall(slots):
            assert int(live) + int(work) + int(review) == int(slot)
            assert int(work) == CATALOG[int(number) - 1].minutes, "work time is the catalog's"
            added += int(slot)
        assert added == int(total) == int(hours) * 60 + int(minutes)


# -- measurements ------------------------------------------------------------------


@pytest.mark.parametrize(
    "results", sorted((ROOT / "benchmarks" / "results").glob("*.md")), ids=lambda path: path.stem
)
def test_the_measurements_page_shows_every_results_file(built_site: Path, results: Path) -> None:
    text = _text(_page(built_site, "design/measurements"))
    lines = [line for line in results.read_text(encoding="utf-8").splitlines() if line.strip()]
    measured, command = lines[0], lines[2]  # the header record_results writes
    assert re.sub(r"[`*]", "", measured).rstrip(":") in text, f"{results.name}'s date and machine"
    assert command in text, f"{results.name}'s command"


# -- the instructor guide ---------------------------------------------------------------


@pytest.mark.parametrize("decoy", discover_decoys(ROOT), ids=lambda decoy: decoy.name)
def test_the_mistakes_page_names_the_test_that_catches_each_decoy(
    built_site: Path, decoy: Decoy
) -> None:
    name = decoy.name
    record = load_records().get(f"decoy {name}")
    assert record, f"no recorded run for decoy {name}; run `uv run python -m tests.recorded_runs`"
    first = record["failures"][0]
    test = first["test"].split("::", 1)[1]
    said = first["message"]
    text = _text(_page(built_site, "instructor/common-mistakes"))
    entry = text.find(name)
    assert entry >= 0, f"the mistakes page does not list {name}"
    assert test in text[entry:], f"the mistakes page does not name {test} for {name}"
    assert said[:60] in text[entry:], f"the mistakes page does not quote {test}'s message"


def _demonstrated() -> list[str]:
    """The recorded runs the live-coding page quotes, by the macro calls in its source."""
    source = (DOCS / "instructor" / "live-coding.md").read_text(encoding="utf-8")
    decoys = [f"decoy {name}" for name in re.findall(r'decoy_run\("([^"]+)"\)', source)]
    demos = re.findall(r'hypothesis_run\("([^"]+)",\s*"([^"]+)"\)', source)
    return decoys + [f"hypothesis {decoy} {test}" for decoy, test in demos]


@pytest.mark.parametrize("key", _demonstrated())
def test_a_quoted_run_names_its_first_failure_and_message_after_its_command(
    built_site: Path, key: str
) -> None:
    record = load_records()[key]
    text = _text(_page(built_site, "instructor/live-coding"))
    assert record["command"] in text, f"the live-coding page does not show `{record['command']}`"
    after = text[text.index(record["command"]) + len(record["command"]) :]
    first = record["failures"][0]
    test = first["test"].split("::", 1)[1].removesuffix("::runTest")
    assert test in after[:300], f"the first failing test is not named after `{key}`"
    assert first["message"][:80] in after[:1000], f"the message is not quoted after `{key}`"


_DECOY_RUN = re.compile(
    r"uv run pytest exercises/\S+ --target=/tmp/decoys/\S+"
    r"(?: -k \S+)?(?: -x)?(?: --hypothesis-profile=\w+)?"
)


def test_every_command_the_live_coding_page_runs_against_a_decoy_is_a_recorded_run(
    built_site: Path,
) -> None:
    recorded = {run["command"] for run in load_records().values()}
    text = _text(_page(built_site, "instructor/live-coding"))
    shown = set(_DECOY_RUN.findall(text))
    assert shown, "the live-coding page shows no decoy run"
    assert shown <= recorded, f"commands shown without a recorded run: {sorted(shown - recorded)}"


# -- the concept page ------------------------------------------------------------------

# What the course page (the seed this module is taught from) covers, and the words
# our concept page uses for it.
_SEED_TOPICS = {
    "the placement map ends at the capstone": "capstone at the bottom",
    "the rhythm studies trade-offs": "trade-offs",
    "the layered design is recalled": "Infrastructure",
    "invariant 3 keeps projections consistent": "every index and projection consistent",
    "atomic means one write or one transaction": "one transaction",
    "what aggregates are not": "What an aggregate is not",
    "repositories lead to the Unit of Work": "Unit of Work",
    "the exercises for mastery": "In a project of your own",
}


@pytest.mark.parametrize("phrase", _SEED_TOPICS.values(), ids=list(_SEED_TOPICS))
def test_the_concept_page_covers_the_course_page(phrase: str) -> None:
    page = DOCS / "concept" / "aggregates-and-consistency-boundaries.md"
    assert phrase.lower() in page.read_text(encoding="utf-8").lower()
