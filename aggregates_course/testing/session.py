"""A root driven through its commands: the one place that decides what a refusal may do.

:class:`AggregateSession` remembers every step for failure messages and
holds the course's single refusal checker: a command that raises one of the
aggregate's refusals must leave everything a reader can see
(:meth:`AggregateSession.state`) exactly as it was; any other exception is a
bug. The state machines drive a session, and so do plain example tests.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from aggregates_course.testing.words import after_steps, describe

Root = TypeVar("Root")


_PLAIN = (tuple, list, set, frozenset)


def snapshot(value: object) -> object:
    """A copy of ``value`` that compares equal to it and that no later change can reach.

    ``copy.deepcopy`` where it works; a value it cannot copy (a read-only
    mapping view, an object holding a lock) is copied container by container,
    and kept as it is where nothing more can be done.
    """
    try:
        return copy.deepcopy(value)
    except Exception:
        pass
    if isinstance(value, Mapping):
        return {snapshot(key): snapshot(item) for key, item in value.items()}
    if isinstance(value, (tuple, list, set, frozenset)) and type(value) in _PLAIN:
        return type(value)(snapshot(item) for item in value)
    return value


class AggregateSession(Generic[Root]):
    """An aggregate driven through its root, remembering each step for failure messages.

    ``observe(root)`` is everything a reader can see of the aggregate, compared
    with ``==``; ``noun`` is how messages name the aggregate (``room``).
    Subclasses may override :meth:`state` instead of passing ``observe``.
    """

    def __init__(
        self,
        root: Root,
        observe: Callable[[Root], object] | None = None,
        *,
        noun: str = "aggregate",
    ) -> None:
        self.root = root
        self.noun = noun
        self.steps: list[str] = []
        self._observe = observe

    def state(self) -> object:
        """Everything a reader can see of the root now, copied so later changes cannot reach it."""
        if self._observe is None:
            raise TypeError("pass observe= or override state()")
        return snapshot(self._observe(self.root))

    def after(self, *pending: str) -> str:
        """The `` -- after: ...`` suffix for the steps so far, then ``pending`` ones."""
        return after_steps([*self.steps, *pending])

    def expect_no_trace(self, step: str, before: object) -> None:
        """Assert that the refused ``step`` left :meth:`state` as ``before`` read it.

        The one refusal checker: a refused command must leave no trace, e.g.
        ``refused command book(b2) changed the room: it read (...), now (...)
        -- after: book(b1); book(b2)``.
        """
        now = self.state()
        if now != before:
            raise AssertionError(
                f"refused command {step} changed the {self.noun}: it read {describe(before)}, "
                f"now {describe(now)}{self.after(step)}"
            )

    def attempt(
        self,
        step: str,
        command: Callable[[], object],
        refusals: tuple[type[Exception], ...],
    ) -> Exception | None:
        """Run ``command``; return the refusal it raised, or ``None`` once it was accepted.

        A refusal (one of ``refusals``) must leave no trace
        (:meth:`expect_no_trace`) and is recorded as ``step (refused)``. Any
        other exception is a bug in the aggregate, and fails naming the step;
        an ``AssertionError`` is a failed check, and passes through once it
        names its steps.
        """
        before = self.state()
        try:
            command()
        except AssertionError as failed:
            if " -- after: " in str(failed):
                raise
            raise AssertionError(f"{step} failed a check: {failed}{self.after(step)}") from failed
        except refusals as refused:
            self.expect_no_trace(step, before)
            self.steps.append(f"{step} (refused)")
            return refused
        except Exception as bug:
            allowed = ", ".join(kind.__name__ for kind in refusals) or "none declared"
            raise AssertionError(
                f"{step} raised {type(bug).__name__}: {bug}; that is a bug, not a refusal "
                f"(refusals: {allowed}){self.after(step)}"
            ) from bug
        self.steps.append(step)
        return None


__all__ = ["AggregateSession", "snapshot"]
