"""Seeing inside a SqlitePolicyRepository through its ``connection_class`` seam.

Shared by the SQLite test modules: a test gets a real repository whose
connections it can inspect, and may adjust each connection as it opens
(make it read-only, cap its size) to provoke a failure SQLite really reports.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aggregates_course import SqlitePolicyRepository


class Instrumented:
    """A real repository on ``path`` that records every connection it opens.

    ``on_open`` runs on each new connection before the repository uses it.
    ``options`` go to the repository's constructor (``timeout=...``).
    """

    def __init__(
        self,
        path: Path,
        on_open: Callable[[sqlite3.Connection], object] = lambda connection: None,
        **options: Any,
    ) -> None:
        self.connections: list[sqlite3.Connection] = []
        self.connect_options: list[dict[str, Any]] = []
        instrumented = self

        class RecordingConnection(sqlite3.Connection):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                instrumented.connections.append(self)
                instrumented.connect_options.append(kwargs)
                on_open(self)

        class RecordingRepository(SqlitePolicyRepository):
            connection_class = RecordingConnection

        self.repository = RecordingRepository(path, **options)
