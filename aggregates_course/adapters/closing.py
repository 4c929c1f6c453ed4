"""Repositories that hold a connection: usable in a ``with`` block that closes them."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class ClosedOnExit:
    """Leaving a ``with`` block closes the repository, whether or not the block raised.

    A subclass provides :meth:`close`; an exception from the block is never
    swallowed.
    """

    def close(self) -> None:
        """Release what the repository holds; the next call may open it again."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
