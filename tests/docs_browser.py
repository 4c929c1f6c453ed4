"""A small headless-Chromium driver for the docs tests, standard library only.

Chromium speaks the DevTools protocol over a pair of pipes when started with
``--remote-debugging-pipe``: it reads commands from file descriptor 3 and
writes replies and events to descriptor 4, each message one JSON object ended
by a NUL byte. That is all a test needs to load a page, read console errors
and network requests, inspect closed shadow roots (where the theme draws
Mermaid diagrams) and take a screenshot, without a websocket client or a
browser-automation package.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Queue
from types import TracebackType
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")

# The flags the course runs Chromium with: no sandbox (CI runs as root), no GPU,
# and nothing that reaches out to the network on its own.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)

# Chromium wants its pipe ends on descriptors 3 and 4. Popen cannot renumber
# descriptors, so a tiny Python trampoline moves them there and then becomes
# Chromium (exec). Moving via descriptors >= 10 first avoids clobbering when an
# end already sits on 3 or 4.
_EXEC_WITH_PIPES = """
import fcntl, os, sys
ends = [fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3]]
for target, fd in zip((3, 4), ends):
    os.dup2(fd, target)
    os.close(fd)
os.execv(sys.argv[3], sys.argv[3:])
"""

REPLY_TIMEOUT = 60.0
"""Seconds to wait for one protocol reply before declaring Chromium stuck."""


class BrowserError(RuntimeError):
    """Chromium exited, stalled, or answered a command with an error."""


def find_chromium() -> str | None:
    """The path of an installed Chromium, or ``None``."""
    override = os.environ.get("CHROMIUM")
    if override:
        return shutil.which(override) or (override if Path(override).is_file() else None)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageReport:
    """What one page load showed: console errors, requested URLs and uncaught exceptions."""

    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


class Browser:
    """One headless Chromium process driven over the DevTools pipe.

    Use as a context manager; leaving it closes the browser and its profile folder.
    """

    def __init__(self, executable: str) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="docs-chromium-")
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()
        flags = [*CHROMIUM_FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"]
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _EXEC_WITH_PIPES,
                str(to_browser_read),
                str(from_browser_write),
                executable,
                *flags,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(to_browser_read, from_browser_write),
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._next_id = 0
        self._replies: dict[int, Queue[dict[str, Any]]] = {}
        self._events: Queue[dict[str, Any]] = Queue()
        self._held: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stderr: list[str] = []
        self._reader = threading.Thread(target=self._read_messages, daemon=True)
        self._reader.start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # -- plumbing ----------------------------------------------------------------

    def _read_stderr(self) -> None:
        assert self._process.stderr is not None
        for line in self._process.stderr:
            self._stderr.append(line.decode(errors="replace").rstrip())

    def _read_messages(self) -> None:
        buffer = b""
        with os.fdopen(self._from_browser, "rb", buffering=0) as stream:
            while chunk := stream.read(65536):
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for raw in messages:
                    self._dispatch(json.loads(raw))
        # Chromium closed the pipe: wake every caller still waiting for a reply.
        with self._lock:
            for queue in self._replies.values():
                queue.put({"error": {"message": "Chromium closed the DevTools pipe"}})

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message:
            with self._lock:
                queue = self._replies.get(message["id"])
            if queue is not None:
                queue.put(message)
        else:
            self._events.put(message)

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and return its result; raise :class:`BrowserError` on error."""
        queue: Queue[dict[str, Any]] = Queue()
        with self._lock:
            self._next_id += 1
            message_id = self._next_id
            self._replies[message_id] = queue
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        try:
            os.write(self._to_browser, json.dumps(message).encode() + b"\0")
            reply = queue.get(timeout=REPLY_TIMEOUT)
        except (OSError, Empty) as error:
            raise BrowserError(
                f"{method}: no reply from Chromium ({error!r}); {self.log()}"
            ) from None
        finally:
            with self._lock:
                del self._replies[message_id]
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error'].get('message')}; {self.log()}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    def wait_for_event(self, method: str, session: str, timeout: float = REPLY_TIMEOUT) -> None:
        """Block until ``method`` arrives on ``session``; every event stays buffered, in order."""
        while True:
            try:
                event = self._events.get(timeout=timeout)
            except Empty:
                raise BrowserError(f"no {method} event within {timeout}s; {self.log()}") from None
            self._held.append(event)
            if event.get("method") == method and event.get("sessionId") == session:
                return

    def drain_events(self) -> list[dict[str, Any]]:
        """Every event received so far, oldest first, removed from the buffer."""
        events, self._held = self._held, []
        while True:
            try:
                events.append(self._events.get_nowait())
            except Empty:
                return events

    def log(self) -> str:
        """The tail of Chromium's own stderr, for error messages."""
        return "chromium stderr: " + " | ".join(self._stderr[-5:])

    # -- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> Browser:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.send("Browser.close")
        except BrowserError:
            self._process.kill()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._to_browser)
        self._profile.cleanup()

    # -- pages -------------------------------------------------------------------

    @contextmanager
    def page(self, width: int = 1280, height: int = 900) -> Iterator[str]:
        """A fresh tab with console, log and network reporting on; yields its session id."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network", "DOM"):
            self.send(f"{domain}.enable", session)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            session,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        try:
            yield session
        finally:
            self.send("Target.closeTarget", targetId=target)

    def load(self, session: str, url: str) -> PageReport:
        """Navigate and wait for the load event; report what happened so far."""
        self.drain_events()
        self.send("Page.navigate", session, url=url)
        self.wait_for_event("Page.loadEventFired", session)
        return self.report(session)

    def report(self, session: str, into: PageReport | None = None) -> PageReport:
        """Fold the events received so far on ``session`` into a :class:`PageReport`."""
        report = into if into is not None else PageReport()
        for event in self.drain_events():
            if event.get("sessionId") != session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
                text = " ".join(
                    str(arg.get("value", arg.get("description"))) for arg in params["args"]
                )
                report.console_errors.append(f"console.{params['type']}: {text}")
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                described = details.get("exception", {}).get("description", details.get("text"))
                report.console_errors.append(f"uncaught: {described}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                entry = params["entry"]
                report.console_errors.append(f"log: {entry['text']} {entry.get('url', '')}")
            elif method == "Network.requestWillBeSent":
                report.requests.append(params["request"]["url"])
        return report

    def evaluate(self, session: str, expression: str) -> Any:
        """Evaluate JavaScript in the page, awaiting a promise; return its JSON value."""
        result = self.send(
            "Runtime.evaluate",
            session,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        return _value(result)

    def call_on(self, session: str, node: dict[str, Any], function: str) -> Any:
        """Call JavaScript ``function`` with ``this`` bound to ``node``; return its JSON value.

        ``node`` comes from :meth:`document`, so it may sit in a closed shadow root,
        which page scripts cannot reach (the theme draws Mermaid diagrams in one).
        """
        handle = self.send("DOM.resolveNode", session, backendNodeId=node["backendNodeId"])
        result = self.send(
            "Runtime.callFunctionOn",
            session,
            functionDeclaration=function,
            objectId=handle["object"]["objectId"],
            awaitPromise=True,
            returnByValue=True,
        )
        return _value(result)

    def document(self, session: str) -> dict[str, Any]:
        """The whole DOM, shadow roots included (closed ones too)."""
        root: dict[str, Any] = self.send("DOM.getDocument", session, depth=-1, pierce=True)["root"]
        return root

    def screenshot(self, session: str, path: Path) -> Path:
        """Save a PNG of the whole page (not just the viewport) to ``path``."""
        metrics = self.send("Page.getLayoutMetrics", session)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": metrics["width"], "height": metrics["height"], "scale": 1}
        data = self.send(
            "Page.captureScreenshot", session, format="png", clip=clip, captureBeyondViewport=True
        )["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path


def _value(result: dict[str, Any]) -> Any:
    """The JSON value of an evaluation, or :class:`BrowserError` with the script's exception."""
    if "exceptionDetails" in result:
        details = result["exceptionDetails"]
        raise BrowserError(details.get("exception", {}).get("description", details["text"]))
    return result["result"].get("value")


def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node under ``node`` (itself included), descending into shadow roots."""
    yield node
    for key in ("children", "shadowRoots"):
        for child in node.get(key, ()):
            yield from walk(child)
    if "contentDocument" in node:
        yield from walk(node["contentDocument"])


def attributes(node: dict[str, Any]) -> dict[str, str]:
    """A DOM node's attributes as a dict."""
    flat = node.get("attributes", [])
    return dict(zip(flat[::2], flat[1::2], strict=True))


def text_of(node: dict[str, Any]) -> str:
    """All text under ``node``, shadow roots included."""
    return "".join(n.get("nodeValue", "") for n in walk(node) if n.get("nodeType") == 3)
