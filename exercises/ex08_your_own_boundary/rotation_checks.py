"""Exercise 8: your checks, a declaration of the rotation's rules for ``aggregate_machine``.

Define ``rotation_machine(new_rotation)``. ``new_rotation(rotation_id, start,
end, engineer)`` makes a fresh rotation: yours, or another class with the same
surface (``contract.RotationLike``). Return the state machine that
``aggregates_course.testing.aggregate_machine`` builds for it, given:

* ``new_root``: a function making a fresh rotation through ``new_rotation``;
* ``commands``: for each command, ``name -> (apply(rotation, argument), strategy)``;
  an apply function may read the rotation, to aim at shifts that really exist;
* ``observe``: everything a reader of the rotation can see, compared with ``==``;
* ``invariants``: ``name -> predicate on the rotation``, one per business rule;
* ``refusals``: ``(RotationRefused,)``, the errors that mean "refused".

Use only the surface: the tests run your checks on your rotation, on a sound
one that is not yours, and on broken ones (``specimens.py``), where they must
fail. What raises: nothing of yours; ``aggregate_machine`` reports what broke.
"""

from __future__ import annotations

from hypothesis import strategies as st  # noqa: F401 -- strategies for the commands' arguments
from hypothesis.stateful import RuleBasedStateMachine

from aggregates_course.testing import aggregate_machine  # noqa: F401 -- builds the machine

from .contract import NewRotation, RotationLike, RotationRefused  # noqa: F401


def rotation_machine(new_rotation: NewRotation) -> type[RuleBasedStateMachine]:
    """A state machine checking every rule of the README on rotations ``new_rotation`` makes."""
    raise NotImplementedError(
        "rotation_machine: return aggregate_machine(new_root=lambda: new_rotation(...), "
        "commands={...}, observe=..., invariants={...}, refusals=(RotationRefused,))"
    )
