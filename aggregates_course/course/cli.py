"""The ``aggregates-course`` command line."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from aggregates_course.course.demo import run_demo


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one subcommand per job."""
    parser = argparse.ArgumentParser(
        prog="aggregates-course",
        description="A hands-on course on aggregates and consistency boundaries.",
        epilog="example: aggregates-course demo",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "demo",
        help="walk through the reference MonitoringPolicy, step by step",
        description="Walk through the reference MonitoringPolicy, step by step.",
        epilog="example: aggregates-course demo",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    args = build_parser().parse_args(argv)
    if args.command in (None, "demo"):
        run_demo()
    return 0
