"""The course website: it builds cleanly, covers every exercise, and links nowhere broken.

The site is built once per run with the documented command (strict mode, cold
cache). Python blocks in the pages are tested by Sybil (see the root
conftest.py); this module checks what Sybil cannot: that no block escapes it,
and what the built HTML contains.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from aggregates_course.course.catalog import HINT_TIERS, Exercise, load_catalog
from tests.docs_browser import Browser, BrowserError, attributes, find_chromium, text_of, walk
from tests.tooling import group_tool, skip_or_fail

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SITE = ROOT / "site"
BUILD_COMMAND = ("zensical", "build", "--clean", "--strict")

# A fence Sybil runs is exactly ```python; anything after the language (a title,
# line numbers) makes Sybil skip the block without a word, so it is banned.
_PYTHON_FENCE = re.compile(r"^\s*```\s*(py|python|python3|pycon)\b(.*)$")
_SKIP_DIRECTIVE = re.compile(r"<!--+\s*skip:\s*(\w+)(.*?)-*->")


def markdown_sources() -> list[Path]:
    """Every Markdown file whose Python blocks must run: the pages and the README."""
    return [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]


@pytest.fixture(scope="session")
def built_site() -> Path:
    """Build the site exactly as the README says, once per test session."""
    zensical = group_tool("docs", "zensical")
    started = time.perf_counter()
    result = subprocess.run(
        [*zensical, *BUILD_COMMAND[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    elapsed = time.perf_counter() - started
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"`{' '.join(BUILD_COMMAND)}` failed:\n{output}"
    # Strict mode aborts on warnings; this also catches any printed without aborting.
    assert "Warning" not in output, output
    print(f"site built in {elapsed:.1f}s")
    return SITE


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


class _Links(HTMLParser):
    """Collects element ids and the href/src of every link, script and image."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.loads: list[str] = []
        self.details: list[tuple[str, bool]] = []
        self.text: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        for name in ("href", "src"):
            if values.get(name) and tag in {"a", "link", "script", "img"}:
                self.links.append(str(values[name]))
                # What the browser fetches by itself on load (not what a reader may click).
                if tag != "a" and values.get("rel") not in {"canonical", "alternate"}:
                    self.loads.append(str(values[name]))
        if tag == "details":
            self.details.append((values.get("class") or "", "open" in values))


def _parse(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _pages(site: Path) -> Iterator[Path]:
    # 404.html is served at any depth, so it links with site-absolute paths on purpose.
    yield from (page for page in sorted(site.rglob("*.html")) if page.name != "404.html")


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
    parsed = {page: _parse(page) for page in _pages(built_site)}
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
                ids = parsed[path].ids if path in parsed else _parse(path).ids
                if unquote(fragment) not in ids:
                    broken.append(f"{where} (no element with id {fragment!r})")
    assert not broken, "broken internal links:\n" + "\n".join(broken)


def test_no_page_loads_anything_from_another_host(built_site: Path) -> None:
    external = [
        f"{page.relative_to(built_site)} -> {link}"
        for page in _pages(built_site)
        for link in _parse(page).loads
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
    parsed = _parse(page)
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


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 at an ephemeral port; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _mermaid_sources(page: str) -> int:
    source = DOCS / (page.rstrip("/") + ".md")
    return sum(
        1 for line in source.read_text(encoding="utf-8").splitlines() if line == "```mermaid"
    )


@pytest.fixture(scope="module")
def chromium() -> str:
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
        diagrams = [
            node
            for node in walk(browser.document(tab))
            if node.get("localName") == "div"
            and "mermaid" in attributes(node).get("class", "").split()
        ]
        browser.screenshot(tab, shot)
        browser.report(tab, report)
    print(f"screenshot: {shot}")

    assert not waited, f"{waited}console errors on {page}: {report.console_errors}"
    assert report.console_errors == [], f"console errors on {page}: {report.console_errors}"
    foreign = [url for url in report.requests if not url.startswith((base, "data:"))]
    assert foreign == [], f"{page} fetched from another host (Mermaid must be local): {foreign}"
    assert len(diagrams) == expected, f"{len(diagrams)} of {expected} diagrams rendered on {page}"
    for number, diagram in enumerate(diagrams, 1):
        svgs = [
            node
            for root in diagram.get("shadowRoots", [])
            for node in walk(root)
            if node.get("localName") == "svg"
        ]
        assert svgs, f"diagram {number} on {page} has no SVG"
        assert attributes(svgs[0]).get("aria-roledescription") != "error", (
            f"diagram {number} on {page} rendered Mermaid's error picture"
        )
        text = text_of(diagram)
        for complaint in ("Syntax error", "Parse error", "error in text"):
            assert complaint not in text, f"diagram {number} on {page} says {complaint!r}"
    assert shot.stat().st_size > 10_000, f"screenshot {shot} is suspiciously small"
