"""Errors of the storage itself, as opposed to refusals by the domain."""

from __future__ import annotations


class StorageError(Exception):
    """The store failed: nothing was refused, the storage broke.

    Raised by every repository in this project when its store cannot be
    opened, is not a database, is damaged, stays locked past the timeout, is
    read-only, holds a schema this version does not know, or holds data that
    breaks the domain's rules. A failed save has written nothing.

    ``store`` names the store (a file path, or a server's host, port and
    database, never a password); ``problem`` says in plain words what went
    wrong and, where it can, what to do. The driver's exception, if any, is
    chained as ``__cause__``.

    Not a :class:`~aggregates_course.domain.errors.DomainError`: no invariant
    refused a command, so reloading and retrying will not help until the
    store is mended. The in-memory fake never raises it.
    """

    def __init__(self, store: str, problem: str) -> None:
        self.store = store
        self.problem = problem
        super().__init__(f"policy store {store}: {problem}")
