"""Fixtures shared by the project's own tests (not the exercises').

The PostgreSQL fixtures live in tests/postgres_server.py; importing them here
registers them once for the whole session, so every test module shares one
server.
"""

from tests.postgres_server import postgres_database, postgres_server

__all__ = ["postgres_database", "postgres_server"]
