"""What the instructor pages quote is what the commands really print.

Every run in ``docs/instructor/recorded-runs.json`` is repeated here with the
course gate and compared with the record: the command, the failing tests in
order, and each failure's message. When they differ, the record is stale;
``uv run python -m tests.recorded_runs`` refreshes it (and runs this module in
that mode).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.recorded_runs import (
    REFRESH_COMMAND,
    RunSpec,
    draws_examples,
    load_records,
    perform,
    recorded_python,
    recording,
    run_specs,
    this_python,
    write_records,
)

SPECS = run_specs()
RECORDS = load_records()


@pytest.fixture(scope="module")
def fresh_runs() -> Iterator[dict[str, dict[str, Any]]]:
    """The runs of this session; written to the record file when recording."""
    runs: dict[str, dict[str, Any]] = {}
    yield runs
    if recording():
        wanted = {spec.key for spec in SPECS}
        kept = {key: run for key, run in RECORDS.items() if key in wanted}
        write_records({**kept, **runs})


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.key)
def test_a_quoted_run_matches_a_real_run(
    pytester: pytest.Pytester,
    spec: RunSpec,
    tmp_path: Path,
    fresh_runs: dict[str, dict[str, Any]],
) -> None:
    if not recording() and draws_examples(spec) and this_python() != recorded_python():
        # Not a missing tool: on this version the honest answer differs, so CI's job on
        # the recorded version is the one that compares.
        pytest.skip(f"Hypothesis runs were recorded with Python {recorded_python()}")
    run = perform(pytester, spec, tmp_path)
    assert run["errors"] == [], f"`{spec.command}` did not run cleanly: {run['errors']}"
    if recording():
        fresh_runs[spec.key] = run
        return
    assert spec.key in RECORDS, f"no recorded run for `{spec.command}`; run `{REFRESH_COMMAND}`"
    assert RECORDS[spec.key] == run, (
        f"the instructor pages quote a stale run of `{spec.command}`; run `{REFRESH_COMMAND}`"
    )


def test_every_recorded_run_is_still_quoted() -> None:
    if recording():
        pytest.skip("recording: stale runs are being dropped")
    stale = sorted(set(RECORDS) - {spec.key for spec in SPECS})
    assert stale == [], f"recorded runs nothing quotes any more: {stale}; run `{REFRESH_COMMAND}`"


def test_every_decoy_run_fails() -> None:
    # The record feeds the common-mistakes page, which promises a catching test per decoy.
    silent = [
        key for key, run in RECORDS.items() if key.startswith("decoy ") and not run["failures"]
    ]
    assert silent == [], f"decoys whose recorded run shows no failure: {silent}"
