"""Repositories that hold a connection: usable in a ``with`` block that closes them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class ClosedOnExit(ABC):
    """Leaving a ``with`` block closes the repository, whether or not the block raised.

    A subclass provides :meth:`close`; an exception from the block is never
    swallowed.
    """

    @abstractmethod
    def close(self) -> None:
        """Release what the repository holds; the next call may open it again."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
