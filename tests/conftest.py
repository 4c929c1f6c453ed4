"""Fixtures shared by the project's own test modules (not the exercises').

Importing them here registers each once for the whole session: one site build,
one throwaway PostgreSQL server (tests/postgres_server.py).
"""

from tests.docs_site import built_site
from tests.postgres_server import postgres_database, postgres_server

__all__ = ["built_site", "postgres_database", "postgres_server"]
