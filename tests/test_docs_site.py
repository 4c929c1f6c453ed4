"""The course website: it builds cleanly, covers every exercise, links nowhere broken,
and reads well in a real browser, on a desk and on a phone.

The site is built once per run with the documented command (strict mode, cold
cache; ``built_site`` in tests/docs_site.py). Python blocks in the pages are
tested by Sybil (see the root conftest.py); this module checks what Sybil
cannot: that no block escapes it, the built HTML's links, and, in headless
Chromium, that diagrams render, stay legible at 390 px with no arrow across a
title, and that test and decoy names never break inside a word.
tests/test_docs_pages.py checks what the pages say.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from aggregates_course.course.catalog import HINT_TIERS, Exercise, load_catalog
from tests.docs_browser import Browser, BrowserError, attributes, find_chromium, text_of, walk
from tests.docs_site import DOCS, ROOT, built_pages, parse_page, serve
from tests.tooling import skip_or_fail

# A fence Sybil runs is exactly ```python; anything after the language (a title,
# line numbers) makes Sybil skip the block without a word, so it is banned.
_PYTHON_FENCE = re.compile(r"^\s*```\s*(py|python|python3|pycon)\b(.*)$")
_SKIP_DIRECTIVE = re.compile(r"<!--+\s*skip:\s*(\w+)(.*?)-*->")


def markdown_sources() -> list[Path]:
    """Every Markdown file whose Python blocks must run: the pages and the README."""
    return [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]


# -- the sources -------------------------------------------------------------------


def test_sybil_is_there_to_run_the_python_blocks() -> None:
    if importlib.util.find_spec("sybil") is None:
        skip_or_fail(
            "Sybil is not installed, so the Python blocks in docs/ and README.md did not run; "
            "install the docs group (`uv sync --group docs`)"
        )


@pytest.mark.parametrize("source", markdown_sources(), ids=lambda path: path.name)
def test_every_python_block_is_one_sybil_runs(source: Path) -> None:
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
        match = _PYTHON_FENCE.match(line)
        if match and (match[1] != "python" or match[2].strip()):
            pytest.fail(
                f"{source.relative_to(ROOT)}:{number}: write the fence as ```python with "
                f"nothing after it, or Sybil will not run the block: {line.strip()!r}"
            )


@pytest.mark.parametrize("source", markdown_sources(), ids=lambda path: path.name)
def test_every_skipped_block_shows_its_reason(source: Path) -> None:
    lines = source.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        directive = _SKIP_DIRECTIVE.search(line)
        if directive is None or directive[1] != "next":
            continue
        reason = directive[2].strip().strip("\"'")
        assert reason, f"{source.name}:{number}: a skipped block needs a reason in the directive"
        visible = "\n".join(lines[number : number + 4])
        assert reason in visible, (
            f"{source.name}:{number}: the reason {reason!r} must also be shown to readers "
            "right below the directive, e.g. in a `!!! note` admonition"
        )


@pytest.mark.parametrize("exercise", load_catalog(ROOT), ids=lambda exercise: exercise.slug)
def test_every_catalog_exercise_has_a_page_in_the_nav(exercise: Exercise) -> None:
    page = DOCS / "exercises" / f"{exercise.slug}.md"
    assert page.is_file(), f"exercise {exercise.slug} has no page: create {page.relative_to(ROOT)}"
    assert f'exercise_page("{exercise.slug}")' in page.read_text(encoding="utf-8"), (
        f"{page.relative_to(ROOT)} must render the exercise with exercise_page({exercise.slug!r})"
    )
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert f"exercises/{exercise.slug}.md" in nav, f"add exercises/{exercise.slug}.md to the nav"


def test_every_exercise_page_belongs_to_the_catalog() -> None:
    slugs = {exercise.slug for exercise in load_catalog(ROOT)}
    pages = {page.stem for page in (DOCS / "exercises").glob("ex*.md")}
    assert pages <= slugs, f"pages for exercises not in the catalog: {sorted(pages - slugs)}"


# -- the built site ----------------------------------------------------------------


def _target(site: Path, page: Path, link: str) -> tuple[Path, str] | None:
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or link.startswith(("mailto:", "data:", "javascript:")):
        return None
    path = unquote(parts.path)
    if not path:
        return page, parts.fragment
    target = (page.parent / path).resolve()
    if path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target, parts.fragment


def test_the_site_builds_strictly_from_a_cold_cache(built_site: Path) -> None:
    assert (built_site / "index.html").is_file()
    assert (
        built_site / "concept" / "aggregates-and-consistency-boundaries" / "index.html"
    ).is_file()


def test_every_internal_link_and_anchor_resolves(built_site: Path) -> None:
    parsed = {page: parse_page(page) for page in built_pages(built_site)}
    broken: list[str] = []
    for page, links in parsed.items():
        for link in links.links:
            target = _target(built_site, page, link)
            if target is None:
                continue
            path, fragment = target
            where = f"{page.relative_to(built_site)} -> {link}"
            if not path.is_relative_to(built_site) or not path.exists():
                broken.append(f"{where} (no such file)")
            elif fragment and path.suffix == ".html":
                ids = parsed[path].ids if path in parsed else parse_page(path).ids
                if unquote(fragment) not in ids:
                    broken.append(f"{where} (no element with id {fragment!r})")
    assert not broken, "broken internal links:\n" + "\n".join(broken)


def test_no_page_loads_anything_from_another_host(built_site: Path) -> None:
    external = [
        f"{page.relative_to(built_site)} -> {link}"
        for page in built_pages(built_site)
        for link in parse_page(page).loads
        if urlsplit(link).scheme in {"http", "https"} or link.startswith("//")
    ]
    assert not external, "pages load these from another host:\n" + "\n".join(external)


@pytest.mark.parametrize("exercise", load_catalog(ROOT), ids=lambda exercise: exercise.slug)
def test_an_exercise_page_shows_check_hints_and_review_question(
    built_site: Path, exercise: Exercise
) -> None:
    if not exercise.readme.is_file():
        pytest.skip(f"exercises/{exercise.slug}/README.md is not written yet")
    page = built_site / "exercises" / exercise.slug / "index.html"
    parsed = parse_page(page)
    assert exercise.check_command in "".join(parsed.text), (
        "the page must show how to check the work"
    )
    hints = [is_open for classes, is_open in parsed.details if "tip" in classes.split()]
    assert len(hints) == len(HINT_TIERS), (
        f"expected {len(HINT_TIERS)} collapsed hints (one per tier), found {len(hints)}"
    )
    assert not any(hints), "every hint starts collapsed"
    assert "review-question" in parsed.ids, "the page must end with the review question"


# -- in a real browser ----------------------------------------------------------------

ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = Path(os.environ.get("DOCS_SCREENSHOT_DIR", ARTIFACTS / "screenshots"))
"""Where the browser test saves its screenshots (override with DOCS_SCREENSHOT_DIR)."""


def _artifact_path(name: str) -> Path:
    """A path for a screenshot; the default folder ignores itself in git, as .cache/ does."""
    if SCREENSHOTS.is_relative_to(ARTIFACTS):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / ".gitignore").write_text("*\n", encoding="utf-8")
    return SCREENSHOTS / name


CONCEPT_PAGE = "concept/aggregates-and-consistency-boundaries/"
EXERCISE_PAGE = "exercises/ex01_aggregate_root/"

# Resolves once the theme has swapped every Mermaid source block for its rendered
# diagram (a div.mermaid holding the SVG in a closed shadow root), or rejects with
# the count it reached. The timer only bounds a broken page; a working one resolves
# as soon as the last diagram lands.
_WAIT_FOR_DIAGRAMS = """
new Promise((resolve, reject) => {
  const expected = %d;
  const rendered = () => document.querySelectorAll("div.mermaid").length;
  if (rendered() >= expected) return resolve(rendered());
  const observer = new MutationObserver(() => {
    if (rendered() >= expected) { observer.disconnect(); resolve(rendered()); }
  });
  observer.observe(document.body, {childList: true, subtree: true});
  setTimeout(() => {
    observer.disconnect();
    reject(new Error(`only ${rendered()} of ${expected} diagrams rendered`));
  }, 20000);
})
"""


def _mermaid_sources(page: str) -> int:
    source = DOCS / (page.rstrip("/") + ".md")
    return sum(
        1 for line in source.read_text(encoding="utf-8").splitlines() if line == "```mermaid"
    )


def _diagrams(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The rendered Mermaid diagrams: a div.mermaid each, its SVG in a closed shadow root."""
    return [
        node
        for node in walk(document)
        if node.get("localName") == "div" and "mermaid" in attributes(node).get("class", "").split()
    ]


def _svgs(diagram: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        node
        for root in diagram.get("shadowRoots", [])
        for node in walk(root)
        if node.get("localName") == "svg"
    ]


@pytest.fixture(scope="module")
def chromium() -> str:
    if not hasattr(os, "fork"):
        # Not a missing install but a missing platform feature, so not a CI failure either.
        pytest.skip(
            "the Chromium driver passes the DevTools pipe on file descriptors 3 and 4, "
            "which needs POSIX; the Linux CI job runs the browser tests"
        )
    found = find_chromium()
    if found is None:
        reason = (
            "Chromium is not installed, so the docs were not checked in a browser; "
            "install it with `apt-get install -y chromium` (or set CHROMIUM=/path/to/chrome)"
        )
        print(reason)
        skip_or_fail(reason)
    return found


@pytest.mark.parametrize("page", [CONCEPT_PAGE, EXERCISE_PAGE])
def test_the_page_renders_in_chromium_with_its_diagrams_and_no_errors(
    built_site: Path, chromium: str, page: str
) -> None:
    expected = _mermaid_sources(page) if page == CONCEPT_PAGE else 0
    shot = _artifact_path(page.strip("/").replace("/", "__") + ".png")
    with serve(built_site) as base, Browser(chromium) as browser, browser.page() as tab:
        report = browser.load(tab, base + page)
        waited = ""
        if expected:
            try:
                browser.evaluate(tab, _WAIT_FOR_DIAGRAMS % expected)
            except BrowserError as error:
                waited = f"{error}; "  # reported below, after the screenshot is saved
        browser.report(tab, report)
        diagrams = _diagrams(browser.document(tab))
        browser.screenshot(tab, shot)
        browser.report(tab, report)
    print(f"screenshot: {shot}")

    assert not waited, f"{waited}console errors on {page}: {report.console_errors}"
    assert report.console_errors == [], f"console errors on {page}: {report.console_errors}"
    foreign = [url for url in report.requests if not url.startswith((base, "data:"))]
    assert foreign == [], f"{page} fetched from another host (Mermaid must be local): {foreign}"
    assert len(diagrams) == expected, f"{len(diagrams)} of {expected} diagrams rendered on {page}"
    for number, diagram in enumerate(diagrams, 1):
        svgs = _svgs(diagram)
        assert svgs, f"diagram {number} on {page} has no SVG"
        assert attributes(svgs[0]).get("aria-roledescription") != "error", (
            f"diagram {number} on {page} rendered Mermaid's error picture"
        )
        text = text_of(diagram)
        for complaint in ("Syntax error", "Parse error", "error in text"):
            assert complaint not in text, f"diagram {number} on {page} says {complaint!r}"
    assert shot.stat().st_size > 10_000, f"screenshot {shot} is suspiciously small"


# -- on a phone ---------------------------------------------------------------------

PHONE_WIDTH = 390
"""CSS pixels: the width of a common phone held upright."""
MIN_TEXT_PX = 10.0
MISTAKES_PAGE = "instructor/common-mistakes/"

# Run with `this` bound to a diagram's <svg>. Every text's rendered height is its font
# size times the scale from the SVG's user units to the screen (Mermaid shrinks a wide
# chart to the page's width). Edge paths are sampled every 1% of their length and
# must not pass through a subgraph's title.
_MEASURE_DIAGRAM = """
function () {
  const scaleOf = (element) => {
    let graphic = element;
    while (graphic && !(graphic instanceof SVGGraphicsElement)) graphic = graphic.parentElement;
    return graphic ? graphic.getScreenCTM().a : 1;
  };
  const texts = [];
  const walker = document.createTreeWalker(this, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, element = node.parentElement;
    if (!node.nodeValue.trim() || element.closest("style")) continue;
    if (element.getClientRects().length === 0) continue;
    const px = parseFloat(getComputedStyle(element).fontSize) * scaleOf(element);
    texts.push({text: node.nodeValue.trim(), px: Math.round(px * 10) / 10});
  }
  const titles = [...this.querySelectorAll(".cluster-label")].map((label) => ({
    text: label.textContent.trim(), box: label.getBoundingClientRect()}));
  const crossings = [];
  for (const edge of this.querySelectorAll("path.flowchart-link")) {
    const length = edge.getTotalLength(), ctm = edge.getScreenCTM();
    for (let step = 0; step <= 100; step++) {
      const point = new DOMPoint(...Object.values(
        (({x, y}) => ({x, y}))(edge.getPointAtLength(length * step / 100)))).matrixTransform(ctm);
      for (const title of titles) {
        const box = title.box;
        if (point.x > box.left + 1 && point.x < box.right - 1 &&
            point.y > box.top + 1 && point.y < box.bottom - 1) {
          crossings.push(`${edge.id} crosses the title "${title.text}"`);
          step = 101;
          break;
        }
      }
    }
  }
  return {texts, crossings, width: this.getBoundingClientRect().width};
}
"""

# Run in the page: every word of every test or decoy name (macros.py marks them
# code.identifier) must sit on one line, and the page must not scroll sideways.
_BROKEN_WORDS = """
(() => {
  const broken = [];
  for (const code of document.querySelectorAll("code.identifier")) {
    const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      for (const match of node.nodeValue.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
        if (lines.size > 1) broken.push(match[0]);
      }
    }
  }
  return {broken, overflow: document.documentElement.scrollWidth - window.innerWidth};
})()
"""


@contextmanager
def _on_a_phone(site: Path, chromium: str, page: str) -> Iterator[tuple[Browser, str]]:
    """``page`` loaded in a tab as wide as a phone; yields the browser and the tab."""
    with (
        serve(site) as base,
        Browser(chromium) as browser,
        browser.page(width=PHONE_WIDTH, height=844) as tab,
    ):
        browser.load(tab, base + page)
        yield browser, tab


def test_every_diagram_is_readable_on_a_phone(built_site: Path, chromium: str) -> None:
    expected = _mermaid_sources(CONCEPT_PAGE)
    shot = _artifact_path(f"concept-at-{PHONE_WIDTH}px.png")
    with _on_a_phone(built_site, chromium, CONCEPT_PAGE) as (browser, tab):
        browser.evaluate(tab, _WAIT_FOR_DIAGRAMS % expected)
        measured = [
            browser.call_on(tab, _svgs(diagram)[0], _MEASURE_DIAGRAM)
            for diagram in _diagrams(browser.document(tab))
        ]
        browser.screenshot(tab, shot)
    print(f"screenshot: {shot}")
    assert len(measured) == expected
    for number, diagram in enumerate(measured, 1):
        assert diagram["texts"], f"diagram {number} shows no text"
        small = [
            f"{t['text']!r} at {t['px']} px" for t in diagram["texts"] if t["px"] < MIN_TEXT_PX
        ]
        assert small == [], (
            f"diagram {number} is {diagram['width']:.0f} px wide on a {PHONE_WIDTH} px screen and "
            f"its text shrinks below {MIN_TEXT_PX} px: {small}; lay it out top-down or wrap labels"
        )
        assert diagram["crossings"] == [], f"diagram {number}: {diagram['crossings']}"


def test_names_on_the_mistakes_page_wrap_between_words_on_a_phone(
    built_site: Path, chromium: str
) -> None:
    shot = _artifact_path(f"common-mistakes-at-{PHONE_WIDTH}px.png")
    with _on_a_phone(built_site, chromium, MISTAKES_PAGE) as (browser, tab):
        layout = browser.evaluate(tab, _BROKEN_WORDS)
        browser.screenshot(tab, shot)
    print(f"screenshot: {shot}")
    assert layout["broken"] == [], f"words broken across lines: {layout['broken']}"
    assert layout["overflow"] <= 0, f"the page scrolls sideways by {layout['overflow']} px"
