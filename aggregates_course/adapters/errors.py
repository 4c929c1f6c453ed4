"""Errors of the storage itself, as opposed to refusals by the domain."""

from __future__ import annotations


class StorageError(Exception):
    """The store failed: nothing was refused, the storage broke.

    Raised by every repository in this project when the store cannot be
    opened, is not a database, is damaged, is locked past its timeout, holds
    a schema this version does not know, or holds data that breaks the
    domain's rules. ``store`` names the store (a file path, or a server's
    host, port and database, never a password); the driver's exception, if
    any, is chained as ``__cause__``. Not a ``DomainError``: retrying the
    command will not help until the store is mended. The in-memory fake never
    raises it.
    """

    def __init__(self, store: str, problem: str) -> None:
        self.store = store
        self.problem = problem
        super().__init__(f"storage {store}: {problem}")
