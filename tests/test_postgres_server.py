"""The test server machinery (tests/postgres_server.py) that the other PostgreSQL tests trust."""

from __future__ import annotations

import pytest

from tests import postgres_server as server_module
from tests.postgres_server import DatabasePool, ServerUnavailable, throwaway_cluster


def test_without_server_binaries_the_message_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(server_module, "find_server_binaries", lambda: None)
    install = "install them with `apt-get install postgresql`"
    with pytest.raises(ServerUnavailable, match=install), throwaway_cluster():
        pass


def test_a_database_handed_on_to_the_next_test_is_empty_again(
    postgres_server: DatabasePool,
) -> None:
    import psycopg

    with postgres_server.database() as first, psycopg.connect(first, autocommit=True) as session:
        session.execute("CREATE TABLE policies (policy_id text)")
        session.execute("CREATE SCHEMA elsewhere")
        session.execute("CREATE TABLE elsewhere.rules (rule_id text)")
        name = session.info.dbname
    with postgres_server.database() as second, psycopg.connect(second) as session:
        assert session.info.dbname == name  # recycled, not created anew
        leftovers = session.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname !~ '^pg_'"
            " AND n.nspname <> 'information_schema'"
        ).fetchall()
        schemas = session.execute(
            "SELECT nspname FROM pg_namespace"
            " WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'"
        ).fetchall()
    assert (leftovers, schemas) == ([], [("public",)])
