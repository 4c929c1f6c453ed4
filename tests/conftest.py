"""Shared test configuration: the Hypothesis profiles, registered once.

* ``dev`` (default): quick feedback while editing.
* ``ci`` (when the ``CI`` environment variable is set): derandomized, so a
  run is repeatable; no example database; no deadline, since CI machines stall.
* ``thorough``: many more examples, for a nightly-style run:
  ``uv run pytest --hypothesis-profile thorough``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=2_000, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
