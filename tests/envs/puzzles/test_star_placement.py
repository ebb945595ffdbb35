"""Tests for Star Battle placement (`rlvr.envs.puzzles.grid.star_placement`).

The verdicts are compared with a checker written here from the rules (no two stars touch, each
row, column and region holds exactly `stars` of them), and uniqueness is re-proved by brute force
over every column permutation.
"""

from __future__ import annotations

import itertools
import re

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.envs.puzzles.grid import StarPlacementEnv, StarPlacementTask
from rlvr.testing import check_env_conformance, check_task


def stars_valid(regions, stars, cells) -> bool:
    size = len(regions)
    if len(set(cells)) != len(cells) or any(not (0 <= r < size and 0 <= c < size) for r, c in cells):
        return False
    for a, b in itertools.combinations(cells, 2):
        if abs(a[0] - b[0]) <= 1 and abs(a[1] - b[1]) <= 1:
            return False
    rows = [r for r, _ in cells]
    cols = [c for _, c in cells]
    names = [regions[r][c] for r, c in cells]
    return (all(rows.count(i) == stars and cols.count(i) == stars for i in range(size))
            and all(names.count(n) == stars for n in {ch for row in regions for ch in row}))


def one_star_solutions(regions) -> list:
    size = len(regions)
    return [p for p in itertools.permutations(range(size))
            if stars_valid(regions, 1, [(r, c) for r, c in enumerate(p)])]


def cells_of(response: str) -> list[tuple[int, int]]:
    return [(int(a) - 1, int(b) - 1) for a, b in re.findall(r"\((\d+), (\d+)\)", response)]


def cells_text(cells) -> str:
    return "<answer>" + ", ".join(f"({r + 1}, {c + 1})" for r, c in cells) + "</answer>"



@pytest.mark.parametrize("size", [5, 6])
def test_star_placement_unique_by_brute_force(size):
    task = StarPlacementTask()
    rng = np.random.default_rng(3)
    for index in range(15):
        problem = task.problem_at(8, index, {"size": size})
        regions = problem.content["regions"]
        solutions = one_star_solutions(regions)
        assert len(solutions) == 1
        response = task.solve(problem)
        cells = cells_of(response)
        assert cells == [(r, c) for r, c in enumerate(solutions[0])]
        assert task.score(problem, response).correct
        moved = cells.copy()
        moved[int(rng.integers(len(cells)))] = tuple(int(v) for v in rng.integers(size, size=2))
        assert task.score(problem, cells_text(moved)).correct == stars_valid(regions, 1, moved)
        assert not task.score(problem, cells_text(cells[:-1])).correct


def test_star_placement_two_stars_and_non_unique_accepts_any_valid_placement():
    task = StarPlacementTask()
    problem = task.problem_at(9, 0, {"size": 8, "stars": 2})
    assert stars_valid(problem.content["regions"], 2, cells_of(task.solve(problem)))
    for index in range(10):
        problem = task.problem_at(9, index, {"size": 5, "unique": False})
        regions = problem.content["regions"]
        for solution in one_star_solutions(regions):
            assert task.score(problem, cells_text(list(enumerate(solution)))).correct


def test_task_contract_and_determinism():
    problems = check_task(StarPlacementTask(), n=10)
    again = [StarPlacementTask().problem_at(0, i) for i in range(10)]
    assert [p.prompt for p in problems] == [p.prompt for p in again]
    assert len({p.problem_id for p in problems}) > 5


def test_check_env_and_conformance():
    check_env(StarPlacementEnv(), skip_render_check=True)
    env_id = "rlvr_test/StarPlacementEnv-v0"
    gymnasium.register(id=env_id, entry_point="rlvr.envs.puzzles.grid.star_placement:StarPlacementEnv")
    try:
        check_env_conformance(env_id, episodes=6)
    finally:
        gymnasium.registry.pop(env_id)


_PROBLEM = StarPlacementTask().problem_at(0, 0)


@settings(max_examples=60, deadline=None)
@given(response=st.text(max_size=300))
def test_any_string_is_scored(response):
    task = StarPlacementTask()
    assert 0.0 <= task.score(_PROBLEM, response).reward <= 1.0
    score = task.score(_PROBLEM, f"<answer>{response}</answer>")
    assert score.correct or score.error
