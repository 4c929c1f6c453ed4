"""A Hypothesis state machine for any aggregate: the three properties the course teaches.

After every command of a random program, :class:`AggregateMachine` checks that

- a refused command left no trace, and no other exception escaped
  (:class:`~aggregates_course.testing.session.AggregateSession`);
- every named invariant holds;
- the boundary is sealed: no route around the root changes what it reads
  (:mod:`aggregates_course.testing.boundary`);
- optionally, saving and loading the root gives back what it read.

:func:`aggregate_machine` builds one from plain functions; subclass
:class:`AggregateMachine` directly to add rules of your own.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Generic, TypeAlias, TypeVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from aggregates_course.testing.boundary import find_leak
from aggregates_course.testing.session import AggregateSession, snapshot
from aggregates_course.testing.words import describe

Root = TypeVar("Root")

STEPS_PER_PROGRAM = 20
"""How many commands one random program runs, unless a machine sets ``steps_per_program``.

Twenty steps reach every bug the course's invariants can have (the shortest
needs four) and keep a learner's run of a solved exercise under two seconds.
"""

Command: TypeAlias = tuple[Callable[[Any, Any], object], st.SearchStrategy[Any]]
"""``(apply(root, argument), strategy for the argument)``: one command of an aggregate."""

Invariant: TypeAlias = Callable[[Any], bool]
"""A predicate on the root: ``False`` (or an ``AssertionError``) means the invariant broke."""


class AggregateMachine(RuleBasedStateMachine, Generic[Root]):
    """Random programs of commands against one aggregate, checked after every step.

    Subclass it, set the class attributes and override :meth:`new_root` and
    :meth:`observe`; ``TestRoom = RoomMachine.TestCase`` is then a pytest
    test class. Extra ``@rule`` methods may call :meth:`run_command`, and
    extra ``@invariant`` methods run beside the built-in checks. No
    ``@settings`` is needed: the program length comes from ``steps_per_program``.

    Failures read ``what broke -- after: book(...); cancel('b1')``.
    """

    commands: ClassVar[Mapping[str, Command]] = {}
    """Command name -> ``(apply(root, argument), strategy)``; each becomes a rule."""

    named_invariants: ClassVar[Mapping[str, Invariant]] = {}
    """Invariant name -> predicate on the root; the name appears in the failure."""

    refusals: ClassVar[tuple[type[Exception], ...]] = ()
    """The exceptions that mean "the command was refused"; any other one is a bug."""

    boundary_depth: ClassVar[int] = 4
    """How many hops from the root the boundary check follows; 0 skips it."""

    steps_per_program: ClassVar[int] = STEPS_PER_PROGRAM
    """How many commands one random program runs."""

    root_name: ClassVar[str] = ""
    """How messages name the root (``room``); by default its class name in snake case."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "commands" in cls.__dict__:
            for name, (_, strategy) in cls.commands.items():
                setattr(cls, _rule_attribute(name), _command_rule(name, strategy))

    @classmethod
    def _to_test_case(cls) -> Any:  # type: ignore[override]  # Hypothesis types it as its cache
        # Hypothesis builds ``TestCase`` on demand and keeps only the last 128 in a cache, so
        # a machine read again after 128 others would get a new TestCase with the default
        # settings, losing the program length and any ``@settings`` applied to the class.
        # Keeping each class's own TestCase on the class makes it built once, for good.
        made = cls.__dict__.get("_built_test_case")
        if made is None:
            made = super()._to_test_case()
            # On the TestCase, not with @settings, so a subclass may still decorate itself.
            made.settings = settings(made.settings, stateful_step_count=cls.steps_per_program)
            cls._built_test_case = made
        return made

    def __init__(self) -> None:
        super().__init__()
        self.session = self.new_session(self.new_root())
        self.commands_run: list[tuple[str, object]] = []
        self._replay_to_copy = False
        _expect_comparable(self.session)

    def new_root(self) -> Root:
        """A new, empty root: where every program starts."""
        raise TypeError(f"{type(self).__name__} must define new_root()")

    def observe(self, root: Root) -> object:
        """Everything a reader can see of ``root``, compared with ``==``."""
        raise TypeError(f"{type(self).__name__} must define observe(root)")

    def new_session(self, root: Root) -> AggregateSession[Root]:
        """The session that drives ``root``: it keeps the steps and checks every refusal."""
        noun = self.root_name or _snake_case(type(root).__name__)
        return AggregateSession(root, self.observe, noun=noun)

    def round_trip(self, root: Root) -> Root | None:
        """``root`` saved and loaded back through a repository, or ``None`` for no such check."""
        del root
        return None

    @property
    def root(self) -> Root:
        """The root under test."""
        return self.session.root

    @property
    def steps(self) -> list[str]:
        """The steps taken so far, as readable calls (``book(...)``, ``cancel('b1') (refused)``)."""
        return self.session.steps

    def describe_step(self, name: str, argument: object) -> str:
        """How one command reads in a message: ``cancel('b1')``."""
        return f"{name}({describe(argument)})"

    def apply(self, root: Root, name: str, argument: object) -> None:
        """Apply command ``name`` to ``root``, unchecked: the one place a command touches a root."""
        self.commands[name][0](root, argument)

    def run_command(self, name: str, argument: object) -> None:
        """Apply command ``name`` to the root, checking its refusal leaves no trace."""
        step = self.describe_step(name, argument)
        self.commands_run.append((name, copy.deepcopy(argument)))
        self.session.attempt(step, lambda: self.apply(self.root, name, argument), self.refusals)

    def fresh_copy(self) -> Root:
        """A copy of the root that no change can leak from.

        ``copy.deepcopy`` by default: it costs one walk of the root, whatever
        the length of the program. A root that cannot be deep-copied (it
        holds a lock or a connection) is rebuilt instead, by replaying every
        command so far on a new root.
        """
        if not self._replay_to_copy:
            try:
                return copy.deepcopy(self.root)
            except Exception:
                self._replay_to_copy = True
        root = self.new_root()
        for name, argument in self.commands_run:
            try:
                self.apply(root, name, copy.deepcopy(argument))
            except self.refusals:
                continue
        return root

    @invariant()
    def aggregate_holds(self) -> None:
        """After every step: the named invariants, the round trip and the sealed boundary."""
        self.check_named_invariants()
        self.check_round_trip()
        self.check_boundary()

    def check_named_invariants(self) -> None:
        """Each predicate in ``named_invariants`` holds; a failure names it."""
        for name, holds in self.named_invariants.items():
            try:
                verdict = holds(self.root)
            except AssertionError as broken:
                raise AssertionError(
                    f"invariant {name!r} does not hold: {broken}{self._after()}"
                ) from broken
            except Exception as crash:
                raise AssertionError(
                    f"checking invariant {name!r} raised {type(crash).__name__}: {crash}"
                    f"{self._after()}"
                ) from crash
            if not verdict:
                raise AssertionError(
                    f"invariant {name!r} does not hold: the {self.session.noun} reads "
                    f"{describe(self.observe(self.root))}{self._after()}"
                )

    def check_round_trip(self) -> None:
        """Saving and loading the root gives back what it read (when :meth:`round_trip` is set)."""
        try:
            loaded = self.round_trip(self.root)
        except Exception as error:
            # A store that cannot take back what the root holds is a finding, not a crash.
            raise AssertionError(
                f"saving and loading the {self.session.noun} raised "
                f"{type(error).__name__}: {error}{self._after()}"
            ) from error
        if loaded is None:
            return
        before, now = self.session.state(), snapshot(self.observe(loaded))
        if now != before:
            raise AssertionError(
                f"saving and loading the {self.session.noun} changed what it reads: it read "
                f"{describe(before)}, loaded it reads {describe(now)}{self._after()}"
            )

    def check_boundary(self) -> None:
        """No route around the root changes what it reads (:func:`~.boundary.find_leak`)."""
        if self.boundary_depth <= 0:
            return
        noun = self.session.noun
        before = self.session.state()
        leak = find_leak(
            self.root, self.observe, self.fresh_copy, noun, self.boundary_depth, before=before
        )
        if self.observe(self.root) != before:
            raise AssertionError(
                f"copying the {noun} to try routes around it changed the {noun} itself: its copy "
                f"shares state with it; override fresh_copy(){self._after()}"
            )
        if leak is None:
            return
        if leak.error is not None:
            now = f"after it, observe({noun}) raises {type(leak.error).__name__}: {leak.error}"
        else:
            now = f"observe({noun}) read {describe(leak.before)}, now {describe(leak.after)}"
        raise AssertionError(
            f"{leak.route} changed the aggregate behind the root's back: {now}; only the "
            f"root's commands may change it, so hand out copies or immutable values"
            f"{self._after()}"
        )

    def _after(self) -> str:
        return self.session.after() or " -- on a new root, before any command"


def _rule_attribute(name: str) -> str:
    return f"command {name}"


def _command_rule(name: str, strategy: st.SearchStrategy[Any]) -> Callable[..., None]:
    def command(self: AggregateMachine[Any], argument: Any) -> None:
        self.run_command(name, argument)

    # Hypothesis prints counterexamples as state.<function name>(argument=...).
    command.__name__ = name if name.isidentifier() else "command"
    return rule(argument=strategy)(command)


def _snake_case(name: str) -> str:
    """``Room`` -> ``room``, ``OnCallRotation`` -> ``on_call_rotation``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _expect_comparable(session: AggregateSession[Any]) -> None:
    """``observe`` must compare by value, or every check would see a change that is not there."""
    first, second = session.state(), session.state()
    if first != second:
        raise AssertionError(
            f"observe({session.noun}) is not equal to itself read twice ({describe(first)}); "
            f"return values compared by == (tuples, strings, dataclasses), not objects "
            f"compared by identity"
        )


def aggregate_machine(
    *,
    new_root: Callable[[], Root],
    commands: Mapping[str, tuple[Callable[[Root, Any], object], st.SearchStrategy[Any]]],
    observe: Callable[[Root], object],
    invariants: Mapping[str, Callable[[Root], bool]] | None = None,
    refusals: tuple[type[Exception], ...] = (),
    round_trip: Callable[[Root], Root] | None = None,
) -> type[AggregateMachine[Root]]:
    """Build a state machine that checks any aggregate; use ``.TestCase`` as a pytest class.

    ``new_root()`` makes an empty root; ``commands`` maps a name to
    ``(apply(root, argument), strategy for the argument)``; ``observe(root)``
    is the whole public state, compared with ``==``; ``invariants`` maps a
    name to a predicate on the root; ``refusals`` are the exceptions meaning
    "the command was refused"; ``round_trip(root)``, if given, saves the root
    and loads it back through a repository. After every step the machine
    checks that a refused command left no trace, that no other exception
    escaped, that every invariant holds, that the boundary is sealed, and
    that the round trip gives an equal ``observe``::

        RoomMachine = aggregate_machine(
            new_root=lambda: Room("room-1", capacity=3),
            commands={
                "book": (lambda room, booking: room.book(booking), bookings()),
                "cancel": (lambda room, booking_id: room.cancel(booking_id), booking_ids()),
            },
            observe=lambda room: (room.room_id, room.bookings),
            invariants={"no two bookings overlap": no_overlap},
            refusals=(BookingRefused,),
        )
        TestRoom = RoomMachine.TestCase

    To add rules of your own, subclass :class:`AggregateMachine` instead:
    mypy cannot check a class built at run time as a base class.
    """
    saved = round_trip
    declared_commands = dict(commands)
    declared_invariants = dict(invariants or {})
    declared_refusals = tuple(refusals)

    class Machine(AggregateMachine[Any]):
        commands = declared_commands
        named_invariants = declared_invariants
        refusals = declared_refusals

        def new_root(self) -> Any:
            return new_root()

        def observe(self, root: Any) -> object:
            return observe(root)

        def round_trip(self, root: Any) -> Any:
            return None if saved is None else saved(root)

    # Hypothesis prints the class name in every counterexample: make it read as a name.
    made_by = getattr(new_root, "__name__", "<lambda>")
    Machine.__name__ = Machine.__qualname__ = (
        "AggregateMachine" if made_by == "<lambda>" else f"{made_by}Machine"
    )
    return Machine


__all__ = ["STEPS_PER_PROGRAM", "AggregateMachine", "Command", "Invariant", "aggregate_machine"]
