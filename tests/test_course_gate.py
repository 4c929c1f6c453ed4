"""The two-way gate: every exercise's tests pass on its solution and fail on wrong answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

from aggregates_course.course.decoys import Decoy
from aggregates_course.course.outcomes import ExerciseRun
from aggregates_course.course.shipped import load_manifest
from aggregates_course.course.target import current_target
from tests.course_gate import (
    CATALOG,
    COURSE_ROOT,
    DECOYS,
    ImportRecorder,
    errors,
    exercise_test_modules,
    modules,
    run_exercise,
    write_shipped_stubs,
)

SLUGS = [exercise.slug for exercise in CATALOG]


@pytest.mark.parametrize("slug", SLUGS)
def test_solution_passes_every_test(pytester: pytest.Pytester, slug: str) -> None:
    run = run_exercise(pytester, slug, "solutions")
    assert errors(run) == []
    assert len(run.failures) == 0, run.first_failure
    assert modules(run, "passed") == set(exercise_test_modules(slug))


@pytest.fixture(scope="module")
def shipped_stubs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A target folder holding every stub as shipped (never the learner's edited copies)."""
    return write_shipped_stubs(tmp_path_factory.mktemp("shipped-stubs"))


_STUB_RUNS: dict[str, tuple[ExerciseRun, frozenset[Path]]] = {}


def stub_run(
    pytester: pytest.Pytester, slug: str, stubs: Path
) -> tuple[ExerciseRun, frozenset[Path]]:
    """The learner's path: the exercise's tests against its shipped stub (run once per slug).

    Returns the run and the files it imported.
    """
    if slug not in _STUB_RUNS:
        imports = ImportRecorder()
        _STUB_RUNS[slug] = run_exercise(pytester, slug, stubs, imports=imports), imports.files
    return _STUB_RUNS[slug]


@pytest.mark.parametrize("slug", SLUGS)
def test_untouched_stub_fails_in_every_module_without_errors(
    pytester: pytest.Pytester, slug: str, shipped_stubs: Path
) -> None:
    run, _ = stub_run(pytester, slug, shipped_stubs)
    assert errors(run) == [], "a stub must fail as test failures, not collection or setup errors"
    assert modules(run, "failed") == set(exercise_test_modules(slug))


@pytest.mark.parametrize("slug", SLUGS)
def test_the_learner_path_never_imports_solutions(
    pytester: pytest.Pytester, slug: str, shipped_stubs: Path
) -> None:
    solutions = (COURSE_ROOT / "solutions").resolve()
    _, imported_files = stub_run(pytester, slug, shipped_stubs)
    learner_files = shipped_stubs.resolve() / slug
    assert any(path.is_relative_to(learner_files) for path in imported_files)
    leaked = sorted(str(path) for path in imported_files if path.is_relative_to(solutions))
    assert leaked == [], f"a learner run imported {leaked}"


def test_the_import_recorder_sees_solutions_when_they_are_the_target(
    pytester: pytest.Pytester,
) -> None:
    imports = ImportRecorder()
    run_exercise(pytester, SLUGS[0], "solutions", first_failure_only=True, imports=imports)
    assert any(path.is_relative_to(COURSE_ROOT / "solutions") for path in imports.files)


@pytest.mark.parametrize("decoy", DECOYS, ids=[decoy.name for decoy in DECOYS])
def test_decoy_fails_on_every_run(pytester: pytest.Pytester, decoy: Decoy, tmp_path: Path) -> None:
    # No generated examples at all: if plain tests and @example cases catch the decoy,
    # no random seed can let it pass.
    folder = decoy.materialize(COURSE_ROOT, tmp_path / decoy.name)
    run = run_exercise(
        pytester, decoy.exercise, folder, first_failure_only=True, profile="explicit"
    )
    assert errors(run) == []
    assert len(run.failures) >= 1, f"decoy {decoy.name} passed every test of {decoy.exercise}"


@pytest.mark.parametrize("slug", SLUGS)
def test_every_exercise_has_at_least_six_decoys_one_of_them_gaming(slug: str) -> None:
    names = [decoy.name for decoy in DECOYS if decoy.exercise == slug]
    assert len(names) >= 6, f"{slug} has decoys {names}"
    # A gaming answer special-cases what the tests use; every exercise must refuse one.
    gaming = [d.name for d in DECOYS if d.exercise == slug and d.mistake.startswith("gaming:")]
    assert gaming, f"{slug} has no decoy whose mistake starts with 'gaming:' among {names}"


@pytest.mark.parametrize("slug", SLUGS)
def test_exercise_has_its_files(slug: str) -> None:
    exercise = next(e for e in CATALOG if e.slug == slug)
    manifest = load_manifest(COURSE_ROOT)
    assert exercise.readme.is_file()
    for name in exercise.files:
        # The stub as shipped: the learner's copy in exercises/ may be edited, or deleted.
        assert manifest.pristine_bytes(exercise, name)
        assert (exercise.solution_folder / name).is_file()
    assert list(exercise.solution_folder.glob("test_*.py")) == [], "solutions hold no tests"
    assert (COURSE_ROOT / "exercises" / slug / "__init__.py").is_file()


@pytest.mark.parametrize("slug", SLUGS)
def test_readme_shows_the_nudge_only_and_points_to_the_hint_command(slug: str) -> None:
    exercise = next(e for e in CATALOG if e.slug == slug)
    readme = exercise.readme.read_text(encoding="utf-8")
    assert exercise.check_command in readme
    for heading in (
        "## Goal",
        "## Background",
        "## What to change",
        "## Hints",
        "## Review question",
    ):
        assert heading in readme, f"{exercise.readme} lacks {heading!r}"
    hints = readme.split("## Hints", 1)[1].split("\n## ", 1)[0]
    assert "uv run aggregates-course hint" in hints, f"{exercise.readme} does not point to `hint`"
    nudge, *later = exercise.hints
    assert nudge in hints, f"{exercise.readme} and exercises.toml disagree on the nudge"
    # The pointer and the worked step spoil the exercise: only `hint` shows them, on request.
    for hint in later:
        assert hint not in readme, f"{exercise.readme} gives away a later hint: {hint!r}"


def test_a_gate_run_leaves_the_outer_profile_and_target_alone(pytester: pytest.Pytester) -> None:
    outer = (settings.get_current_profile_name(), current_target())
    run_exercise(pytester, SLUGS[0], "solutions", first_failure_only=True, profile="explicit")
    assert (settings.get_current_profile_name(), current_target()) == outer
