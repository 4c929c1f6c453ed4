"""One place where every benchmark's figures are kept: ``benchmarks/results/<name>.md``.

A benchmark prints its table, then calls :func:`record_results` with the same
table as Markdown. The file it writes says when, on what machine and with which
command the figures were measured; the docs' Measurements page and
``benchmarks/README.md`` render from these files, so a figure is written once.
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine_description() -> str:
    """Cores, CPU architecture, OS and Python version, in one line."""
    python = ".".join(str(part) for part in sys.version_info[:3])
    return (
        f"{os.cpu_count()} cores, {platform.machine()}, {platform.system()}, "
        f"Python {python} ({platform.python_implementation()})"
    )


def record_results(name: str, *, command: str, markdown: str) -> Path:
    """Write ``results/<name>.md``: date, machine, command, then ``markdown``; return its path."""
    RESULTS.mkdir(exist_ok=True)
    measured = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = f"Measured {measured} on {machine_description()}, with:\n\n```bash\n{command}\n```\n\n"
    path = RESULTS / f"{name}.md"
    path.write_text(header + markdown.rstrip("\n") + "\n", encoding="utf-8")
    return path
