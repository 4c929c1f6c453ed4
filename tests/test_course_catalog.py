"""The catalog's time and difficulty fields: optional, and refused when they make no sense."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregates_course.course.catalog import DIFFICULTIES, CatalogError, load_catalog

_ENTRY = """
[[exercise]]
slug = "ex01_demo"
title = "A demo exercise"
files = ["policy.py"]
hints = ["a nudge", "a pointer", "a worked step"]
"""


def _course(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "exercises.toml").write_text(_ENTRY + extra, encoding="utf-8")
    return tmp_path


def test_an_exercise_without_an_estimate_loads_with_none(tmp_path: Path) -> None:
    (exercise,) = load_catalog(_course(tmp_path))
    assert (exercise.minutes, exercise.difficulty) == (None, None)


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_an_estimate_is_read_as_written(tmp_path: Path, difficulty: str) -> None:
    (exercise,) = load_catalog(_course(tmp_path, f'minutes = 25\ndifficulty = "{difficulty}"\n'))
    assert (exercise.minutes, exercise.difficulty) == (25, difficulty)


@pytest.mark.parametrize("minutes", ["0", "-5", "2.5", '"25"', "true"])
def test_minutes_must_be_a_positive_whole_number(tmp_path: Path, minutes: str) -> None:
    with pytest.raises(CatalogError, match="minutes must be a positive whole number"):
        load_catalog(_course(tmp_path, f"minutes = {minutes}\n"))


def test_a_difficulty_outside_the_scale_is_refused_naming_the_scale(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="introductory, intermediate, advanced"):
        load_catalog(_course(tmp_path, 'difficulty = "easy"\n'))


def test_the_course_catalog_gives_every_exercise_an_estimate() -> None:
    exercises = load_catalog(Path(__file__).resolve().parents[1])
    missing = [e.slug for e in exercises if e.minutes is None or e.difficulty is None]
    assert missing == [], f"add minutes and difficulty to exercises.toml for {missing}"


@pytest.mark.parametrize(
    "catalog",
    [
        "",
        _ENTRY.replace("[[exercise]]", "[[exercises]]"),  # a typo in the table's name
        "exercise = 3\n",
        "exercise = [1, 2]\n",
    ],
    ids=["empty", "misnamed table", "a number", "a list of numbers"],
)
def test_a_catalog_that_lists_no_exercises_is_refused(tmp_path: Path, catalog: str) -> None:
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "exercises.toml").write_text(catalog, encoding="utf-8")
    with pytest.raises(CatalogError, match=r"lists no exercises.*\[\[exercise\]\]"):
        load_catalog(tmp_path)
