"""A PostgreSQL server for the tests and the benchmark: yours, or a throwaway one.

``AGGREGATES_COURSE_TEST_POSTGRES`` may hold the conninfo of a server where the
tests may create and drop databases (a developer's Docker container, say):
then it is used as it is. Otherwise :func:`throwaway_cluster` builds a new
cluster from the PostgreSQL binaries it finds (on ``PATH``, or under
``/usr/lib/postgresql/*/bin``) in a temporary folder, listening only on a Unix
socket in that folder, and removes it all when done. PostgreSQL refuses to run
as root, so as root the server runs as the ``postgres`` account (``runuser``).

The fixtures: ``postgres_server`` (one server per session, started on first
use and stopped at the end, as a :class:`DatabasePool`) and
``postgres_database`` (the conninfo of an empty database that this test alone
uses). ``tests/conftest.py`` makes them visible to every test. They need
psycopg, which :func:`tests.tooling.ensure_group` installs (the ``postgres``
dependency group) on first use. Without server binaries the tests that need
a server skip, naming the command that installs them; under ``CI`` they fail.

pytest-postgresql was weighed and not used: it is a pytest plugin, loaded when
pytest starts, so a group installed during the session cannot provide it; it
runs ``initdb`` as the current user, which fails as root; and it listens on a
TCP port it has to pick, where a socket in a private folder cannot collide.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.tooling import ensure_group, skip_or_fail

if TYPE_CHECKING:
    from psycopg import Connection

    from aggregates_course.adapters.postgres import PostgresPolicyRepository

SERVER_VARIABLE = "AGGREGATES_COURSE_TEST_POSTGRES"
INSTALL_COMMAND = "apt-get install postgresql"
SERVER_ACCOUNT = "postgres"
"""The unprivileged account the server runs as when the tests run as root."""

_BINARIES = ("initdb", "pg_ctl", "postgres")
_PORT = 5432  # Only names the socket file: the server listens on no TCP port.
_START_TIMEOUT_SECONDS = 60


class ServerUnavailable(Exception):
    """No server can be started here; the message says what to install or set."""


def find_server_binaries() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or None.

    ``PATH`` first (a symlink is followed to its real folder, where the three
    live together), then Debian's ``/usr/lib/postgresql/<major>/bin``, newest first.
    """
    candidates: list[Path] = []
    initdb = shutil.which("initdb")
    if initdb is not None:
        candidates.append(Path(initdb).resolve().parent)
    versions = Path("/usr/lib/postgresql").glob("*/bin")
    candidates.extend(sorted(versions, key=_major_version, reverse=True))
    for folder in candidates:
        if all((folder / name).is_file() for name in _BINARIES):
            return folder
    return None


def _major_version(folder: Path) -> int:
    name = folder.parent.name
    return int(name) if name.isdigit() else -1


def _server_account() -> tuple[list[str], tuple[int, int] | None]:
    """The command prefix that runs a program as the server's account, and its uid/gid.

    Root gets ``runuser -u postgres --`` (PostgreSQL will not run as root);
    anyone else runs the server as themselves.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return [], None
    import pwd  # POSIX only, and only needed as root

    runuser = shutil.which("runuser")
    try:
        account = pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        account = None
    if runuser is None or account is None:
        raise ServerUnavailable(
            f"running as root, and PostgreSQL refuses root: it needs `runuser` and a "
            f"{SERVER_ACCOUNT!r} account (`{INSTALL_COMMAND}` creates it)"
        )
    return [runuser, "-u", SERVER_ACCOUNT, "--"], (account.pw_uid, account.pw_gid)


def _run(command: list[str], what: str) -> None:
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise ServerUnavailable(f"{what} failed ({finished.returncode}): {finished.stderr.strip()}")


def _settings(socket_folder: Path, *, durable: bool) -> str:
    lines = [
        "listen_addresses = ''",
        f"unix_socket_directories = '{socket_folder}'",
        f"port = {_PORT}",
        "max_connections = 100",
    ]
    if not durable:
        # A test server holds nothing worth keeping: skipping fsync makes each commit
        # and each CREATE DATABASE cheap. The benchmark asks for a durable server.
        lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def throwaway_cluster(*, durable: bool = False) -> Iterator[str]:
    """Start a new cluster in a temporary folder; yield its conninfo; stop and delete it.

    The conninfo names the ``postgres`` maintenance database as the
    ``postgres`` superuser, over the Unix socket in the cluster's own folder.
    ``durable=False`` (tests) turns fsync off; ``durable=True`` (benchmarks)
    keeps PostgreSQL's defaults, so a commit waits for the disk as SQLite's does.
    Raises :class:`ServerUnavailable` when there are no binaries or they fail.
    """
    binaries = find_server_binaries()
    if binaries is None:
        raise ServerUnavailable(
            f"no PostgreSQL server binaries (initdb, pg_ctl) on PATH or under "
            f"/usr/lib/postgresql/*/bin; install them with `{INSTALL_COMMAND}`, or set "
            f"{SERVER_VARIABLE} to the conninfo of a server the tests may use"
        )
    as_account, owner = _server_account()
    # Short, in /tmp: a Unix socket path is limited to about 100 bytes.
    folder = Path(tempfile.mkdtemp(prefix="aggregates-pg-"))
    try:
        if owner is not None:
            os.chown(folder, *owner)
        data = folder / "data"
        log = folder / "server.log"
        _run(
            [
                *as_account,
                str(binaries / "initdb"),
                f"--pgdata={data}",
                f"--username={SERVER_ACCOUNT}",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            "initdb",
        )
        with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(_settings(folder, durable=durable))
        _run(
            [
                *as_account,
                str(binaries / "pg_ctl"),
                "start",
                f"--pgdata={data}",
                f"--log={log}",
                "--wait",
                f"--timeout={_START_TIMEOUT_SECONDS}",
            ],
            "pg_ctl start (see the server log in the message above)",
        )
        try:
            yield _conninfo(folder)
        finally:
            # Immediate: nothing in a throwaway cluster needs a clean shutdown checkpoint.
            subprocess.run(
                [*as_account, str(binaries / "pg_ctl"), "stop", f"--pgdata={data}", "-m", "i"],
                capture_output=True,
                check=False,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _conninfo(socket_folder: Path) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(
        host=str(socket_folder), port=_PORT, user=SERVER_ACCOUNT, dbname="postgres"
    )


@contextlib.contextmanager
def server_for_tests(*, durable: bool = False) -> Iterator[str]:
    """The conninfo of a server the caller may create databases on.

    ``AGGREGATES_COURSE_TEST_POSTGRES`` when set, else a :func:`throwaway_cluster`.
    """
    given = os.environ.get(SERVER_VARIABLE)
    if given:
        yield given
        return
    with throwaway_cluster(durable=durable) as conninfo:
        yield conninfo


class DatabasePool:
    """Empty databases on one server, one test at a time each.

    Creating a database copies a template (about 0.2 s here); emptying a used
    one takes milliseconds. So a database is created when none is idle, and
    after its test it is emptied (its sessions ended, every schema dropped,
    an empty ``public`` made again) and handed to the next test. A database
    that cannot be emptied is dropped instead.
    """

    def __init__(self, server: str) -> None:
        self._server = server
        self._idle: list[str] = []

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """Yield the conninfo of an empty database that no one else is using."""
        from psycopg.conninfo import make_conninfo

        name = self._idle.pop() if self._idle else self._create()
        try:
            yield make_conninfo(self._server, dbname=name)
        finally:
            self._recycle(name)

    def close(self) -> None:
        """Drop every idle database, so that a shared server does not fill up."""
        while self._idle:
            self._drop(self._idle.pop())

    def _admin(self) -> Connection[tuple[Any, ...]]:
        import psycopg

        return psycopg.connect(self._server, autocommit=True)

    def _create(self) -> str:
        from psycopg import sql

        name = f"aggregates_course_test_{uuid.uuid4().hex[:12]}"
        with self._admin() as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def _recycle(self, name: str) -> None:
        import psycopg
        from psycopg import sql
        from psycopg.conninfo import make_conninfo

        try:
            with self._admin() as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
            with psycopg.connect(make_conninfo(self._server, dbname=name)) as owner:
                schemas = owner.execute(
                    # Names starting with pg_ are reserved for the system's own schemas.
                    "SELECT nspname FROM pg_namespace"
                    " WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'"
                ).fetchall()
                for (schema,) in schemas:
                    owner.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
                owner.execute("CREATE SCHEMA public")
        except psycopg.Error:
            self._drop(name)
        else:
            self._idle.append(name)

    def _drop(self, name: str) -> None:
        from psycopg import sql

        with self._admin() as admin:
            # FORCE ends sessions a test left open (PostgreSQL 13 and later).
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[DatabasePool]:
    """The session's server (see the module docstring), started on first use."""
    ensure_group("postgres", "psycopg")
    with contextlib.ExitStack() as stack:
        started = time.perf_counter()
        try:
            conninfo = stack.enter_context(server_for_tests())
        except ServerUnavailable as unavailable:
            skip_or_fail(f"PostgreSQL tests need a server: {unavailable}")
        # Shown with -s: what a cold session pays for its server.
        sys.stderr.write(
            f"\nPostgreSQL test server ready in {time.perf_counter() - started:.2f} s\n"
        )
        pool = DatabasePool(conninfo)
        stack.callback(pool.close)
        yield pool


@pytest.fixture
def postgres_database(postgres_server: DatabasePool) -> Iterator[str]:
    """An empty database for this test alone; its conninfo."""
    with postgres_server.database() as conninfo:
        yield conninfo


@contextlib.contextmanager
def postgres_handles(
    request: pytest.FixtureRequest,
) -> Iterator[Callable[[], PostgresPolicyRepository]]:
    """Open repositories on this test's own database; close every one at the end.

    For the contract suite's ``store`` fixture: each call of the yielded
    function is another handle (its own connection) on the same store.
    """
    conninfo: str = request.getfixturevalue("postgres_database")
    from aggregates_course.adapters.postgres import PostgresPolicyRepository

    opened: list[PostgresPolicyRepository] = []

    def new_handle() -> PostgresPolicyRepository:
        repository = PostgresPolicyRepository(conninfo)
        opened.append(repository)
        return repository

    try:
        yield new_handle
    finally:
        for repository in opened:
            repository.close()
