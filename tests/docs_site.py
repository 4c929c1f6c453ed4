"""The course website, built once per test session, and what the tests read from it.

``built_site`` (a session fixture, registered in ``tests/conftest.py``) builds
the site with the command the README documents; the helpers parse the built
pages and serve them to a browser.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.tooling import group_tool

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SITE = ROOT / "site"
BUILD_COMMAND = ("zensical", "build", "--clean", "--strict")


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
        encoding="utf-8",  # not the Windows console's code page
        errors="replace",
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


class ParsedPage(HTMLParser):
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


def parse_page(page: Path) -> ParsedPage:
    parser = ParsedPage()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def built_pages(site: Path) -> Iterator[Path]:
    # 404.html is served at any depth, so it links with site-absolute paths on purpose.
    yield from (page for page in sorted(site.rglob("*.html")) if page.name != "404.html")


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
