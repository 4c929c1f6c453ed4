"""Exercise 8 specification, part 2: your checks pass what is right and fail what is wrong.

``rotation_machine`` from your ``rotation_checks.py`` is run three ways: on
your rotation (it must pass), on ``specimens.SoundRotation``, a correct
rotation that is not yours (it must pass), and on each rotation of
``specimens.BROKEN_ROTATIONS`` (it must fail). Any failure counts on a broken
one; checks that fail for a wrong reason (a name only your class has, a rule
the README does not state) fail on the sound one too, and that test says so.

On the specimens the verdict comes from fixed settings, the same on every run
and every machine, whatever Hypothesis profile is loaded: derandomized, with
enough random programs for checks whose commands reach the states where each
mistake shows.

Run: uv run pytest exercises/ex08_your_own_boundary
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any
from unittest import SkipTest

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from aggregates_course.course.target import load_target
from aggregates_course.testing import STEPS_PER_PROGRAM

SLUG = "ex08_your_own_boundary"

# A hundred programs of twenty steps: declarations that aim their commands as the README
# suggests catch every broken specimen within fifty, and even ones drawing instants from a
# wide range with no aim within a hundred.
VERDICT = settings(
    max_examples=100,
    stateful_step_count=STEPS_PER_PROGRAM,
    derandomize=True,
    database=None,
    deadline=None,
    # No shrinking: a verdict needs only pass or fail, and nobody reads the steps.
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    report_multiple_bugs=False,
    suppress_health_check=list(HealthCheck),
)
"""How your checks are run on the specimens: the same verdict on every run."""
EXPLAINED = settings(VERDICT, phases=(*VERDICT.phases, Phase.shrink))
"""How your checks are run on the sound specimen: a failure is shrunk to steps worth reading."""


def your_checks() -> Callable[..., type[RuleBasedStateMachine]]:
    checks: Callable[..., type[RuleBasedStateMachine]] = load_target(
        SLUG, "rotation_checks"
    ).rotation_machine
    return checks


def specimens() -> ModuleType:
    return load_target(SLUG, "specimens")


def failure_of(machine: type[RuleBasedStateMachine], verdict: settings | None) -> Exception | None:
    """What running ``machine`` raised, or ``None`` when every program passed.

    ``verdict=None`` runs it as pytest would run its ``TestCase``: under the loaded profile.
    """
    try:
        run_state_machine_as_test(machine, settings=verdict)
    except SkipTest:
        raise  # a profile that generates no programs (explicit) skips the test, as pytest would
    except Exception as failure:
        return failure
    return None


def test_your_checks_pass_on_your_rotation() -> None:
    machine = your_checks()(load_target(SLUG, "rotation").Rotation)
    failure = failure_of(machine, None)
    if failure is not None:
        raise AssertionError(
            "your checks fail on your own Rotation. If test_rotation.py passes, your rotation "
            "keeps the rules and a check asks for more than they say; if not, mend the rotation "
            f"first. They said: {type(failure).__name__}: {failure}"
        ) from failure


def test_your_checks_pass_on_a_sound_rotation_that_is_not_yours() -> None:
    machine = your_checks()(specimens().SoundRotation)
    failure = failure_of(machine, EXPLAINED)
    if failure is not None:
        raise AssertionError(
            "your checks fail on SoundRotation (specimens.py), which keeps every rule of the "
            "README: check only what the rules say, through the surface of "
            f"contract.RotationLike. They said: {type(failure).__name__}: {failure}"
        ) from failure


@pytest.mark.parametrize(
    "broken", specimens().BROKEN_ROTATIONS, ids=lambda broken: str(broken.__name__)
)
def test_your_checks_fail_on_a_broken_rotation(broken: Any) -> None:
    name = broken.__name__
    machine = your_checks()(broken)
    if failure_of(machine, VERDICT) is None:
        raise AssertionError(
            f"your checks let {name} (specimens.py) through: it passed all "
            f"{VERDICT.max_examples} random programs, yet {broken.mistake}. "
            f"Checks that catch it: {broken.caught_by}."
        )
