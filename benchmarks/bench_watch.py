"""Save to verdict: how long a learner waits after saving a solved ex01.

Run with ``uv run python benchmarks/bench_watch.py``. It prints figures and
records them in ``benchmarks/results/watch_latency.md``; it asserts nothing
about speed.

In a temporary copy of the course (the learner's files are the shipped stubs,
except ex01, which holds its solution) it starts ``python -m
aggregates_course watch ex01`` as a learner would, waits for its first
verdict, then saves ``policy.py`` again and again, each time with one more
comment line, so every save is new content that no cached result covers. For
each save it times from just before the write to the moment ``watch``
prints ``done: all ... tests``: file-change detection, the test run in a
fork of the warm pytest, and the CLI's own output. For contrast it times
``python -m aggregates_course check ex01`` after the same kind of edit: a
cold pytest per check, which is what ``watch`` did before it kept pytest
warm.

Both run with Python's bytecode cache on (``PYTHONDONTWRITEBYTECODE`` is
removed from their environment), as in a learner's checkout: without it
every cold check also compiles pytest and Hypothesis.
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from recording import record_results

from aggregates_course.course.catalog import load_catalog
from tests.course_gate import course_copy  # the checkout is importable in its own environment

EXERCISE = "ex01_aggregate_root"
VERDICT = "done: all "
WATCHING = "Watching exercises/"
TARGET_SECONDS = 0.5
HANG_GUARD = 120.0  # seconds; only reached if watch is broken


def solved_course(destination: Path) -> Path:
    """A copy of the course as shipped, with ex01 solved: the learner the figure is for."""
    course = course_copy(destination / "course")
    solved = load_catalog(course)[0]
    assert solved.slug == EXERCISE
    for name in solved.files:
        shutil.copyfile(solved.solution_folder / name, solved.folder / name)
    return course


def environment() -> dict[str, str]:
    """The benchmark's own environment, as a learner's: bytecode cache on, plain output."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["NO_COLOR"] = "1"
    return env


def edit(policy: Path, number: int) -> float:
    """Save ``policy`` with a new trailing comment; return the time just before the write."""
    text = policy.read_text(encoding="utf-8") + f"# save {number}\n"
    started = time.perf_counter()
    policy.write_text(text, encoding="utf-8")
    return started


def watch_latencies(course: Path, saves: int) -> list[float]:
    """Seconds from each save to the watch's done line, for ``saves`` saves."""
    watcher = subprocess.Popen(
        [sys.executable, "-m", "aggregates_course", "watch", EXERCISE],
        cwd=course,
        env=environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[tuple[float, str]] = queue.Queue()

    def read() -> None:
        assert watcher.stdout is not None
        for line in watcher.stdout:
            lines.put((time.perf_counter(), line))

    def until(marker: str) -> float:
        while True:
            seen, line = lines.get(timeout=HANG_GUARD)
            if marker in line:
                return seen

    threading.Thread(target=read, daemon=True).start()
    policy = course / "exercises" / EXERCISE / "policy.py"
    latencies = []
    try:
        until(VERDICT)  # the first check starts the warm pytest; it is not a save
        until(WATCHING)
        for number in range(saves):
            saved = edit(policy, number)
            latencies.append(until(VERDICT) - saved)
            until(WATCHING)
    finally:
        watcher.terminate()
        watcher.wait(timeout=HANG_GUARD)
    return latencies


def check_durations(course: Path, runs: int) -> list[float]:
    """Seconds for ``check ex01`` after an edit: a cold interpreter and a cold pytest."""
    policy = course / "exercises" / EXERCISE / "policy.py"
    durations = []
    for number in range(runs):
        started = edit(policy, 10_000 + number)
        finished = subprocess.run(
            [sys.executable, "-m", "aggregates_course", "check", EXERCISE],
            cwd=course,
            env=environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        durations.append(time.perf_counter() - started)
        if finished.returncode != 0 or VERDICT not in finished.stdout:
            raise SystemExit(f"check of the solved {EXERCISE} did not pass:\n{finished.stdout}")
    return durations


def load_average() -> str:
    """The machine's one-minute load average: other jobs stretch every figure here."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):  # Windows has none
        return "unknown"


def row(label: str, seconds: Sequence[float]) -> str:
    quartiles = statistics.quantiles(seconds, n=4)
    return (
        f"| {label} | {len(seconds)} | {statistics.median(seconds):.3f} | "
        f"{quartiles[0]:.3f} - {quartiles[2]:.3f} | {min(seconds):.3f} - {max(seconds):.3f} |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--saves", type=int, default=21, help="saves timed under watch")
    parser.add_argument("--checks", type=int, default=7, help="cold checks timed for contrast")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as scratch:
        course = solved_course(Path(scratch))
        watched = watch_latencies(course, args.saves)
        checked = check_durations(course, args.checks)
    median = statistics.median(watched)
    verdict = "met" if median <= TARGET_SECONDS else "MISSED"
    markdown = "\n".join(
        [
            f"Save to verdict on a solved {EXERCISE}, in seconds "
            f"(target: median at most {TARGET_SECONDS} s under watch, {verdict}). "
            f"Load average over the last minute when it ended: {load_average()}.",
            "",
            "| what | runs | median | middle half | fastest - slowest |",
            "| --- | ---: | ---: | ---: | ---: |",
            row("`watch`: save, then the done line (warm pytest, forked)", watched),
            row("`check ex01` after a save (cold pytest, for contrast)", checked),
        ]
    )
    print(markdown)
    command = "uv run python benchmarks/bench_watch.py"
    if argv:
        command += " " + " ".join(argv)
    print(f"\nrecorded in {record_results('watch_latency', command=command, markdown=markdown)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
