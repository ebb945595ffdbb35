"""Tests for the board puzzles over the CSP solver (`rlvr.envs.puzzles.grid`): Sudoku, Futoshiki,
Skyscraper, Kukurasu, Calcudoko (Star Battle: test_star_placement.py).

Every verdict is compared with rule checkers written here from the puzzle rules, independent of
the package's own `rules`; uniqueness on small boards is re-proved by brute force over every
Latin square (or every 0/1 grid), and the solver's counts are checked against known totals
(576 Latin squares of order 4, 288 4x4 Sudoku grids).
"""

from __future__ import annotations

import itertools
import math

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.envs.puzzles.grid import (
    CalcudokoEnv,
    CalcudokoTask,
    FutoshikiEnv,
    FutoshikiTask,
    KukurasuEnv,
    KukurasuTask,
    SkyscraperEnv,
    SkyscraperTask,
    SudokuEnv,
    SudokuTask,
    read_grid,
    search,
)
from rlvr.envs.puzzles.grid.futoshiki import latin_model
from rlvr.testing import check_env_conformance, check_task

# ---------------------------------------------------------------- independent rule checkers


def latin_ok(grid, n):
    full = set(range(1, n + 1))
    return all(set(row) == full for row in grid) and all({grid[r][c] for r in range(n)} == full for c in range(n))


def givens_ok(givens, grid):
    return all(ch == "." or grid[r][c] == int(ch) for r, row in enumerate(givens) for c, ch in enumerate(row))


def sudoku_valid(content, grid):
    n = content["size"]
    br, bc = content["box"]
    boxes_ok = all({grid[top + i][left + j] for i in range(br) for j in range(bc)} == set(range(1, n + 1))
                   for top in range(0, n, br) for left in range(0, n, bc))
    return latin_ok(grid, n) and boxes_ok and givens_ok(content["givens"], grid)


def futoshiki_valid(content, grid):
    return (latin_ok(grid, content["size"]) and givens_ok(content["givens"], grid)
            and all(grid[a][b] < grid[c][d] for a, b, c, d in content["inequalities"]))


def seen(line):
    count, top = 0, 0
    for h in line:
        if h > top:
            count, top = count + 1, h
    return count


def skyscraper_valid(content, grid):
    n = content["size"]
    cols = [[grid[r][c] for r in range(n)] for c in range(n)]
    views = {"top": cols, "bottom": [col[::-1] for col in cols], "left": [list(row) for row in grid],
             "right": [list(row)[::-1] for row in grid]}
    clues_ok = all(not k or seen(views[side][i]) == k for side in views for i, k in enumerate(content[side]))
    return latin_ok(grid, n) and givens_ok(content["givens"], grid) and clues_ok


def kukurasu_valid(content, grid):
    rows, cols = content["rows"], content["cols"]
    if any(v not in (0, 1) for row in grid for v in row):
        return False
    return (all(sum((c + 1) * grid[r][c] for c in range(cols)) == content["row_sums"][r] for r in range(rows))
            and all(sum((r + 1) * grid[r][c] for r in range(rows)) == content["col_sums"][c] for c in range(cols))
            and givens_ok(content["givens"], grid))


def cage_ok(cage, values):
    op, target = cage["op"], cage["target"]
    if op == "+":
        return sum(values) == target
    if op == "*":
        return math.prod(values) == target
    if op == "=":
        return values == [target]
    a, b = sorted(values)
    return b - a == target if op == "-" else b == a * target


def calcudoko_valid(content, grid):
    return latin_ok(grid, content["size"]) and all(
        cage_ok(cage, [grid[r][c] for r, c in cage["cells"]]) for cage in content["cages"])


def latin_squares(n):
    """Every Latin square of order n, rows as permutations (brute force)."""
    perms = list(itertools.permutations(range(1, n + 1)))

    def extend(rows):
        if len(rows) == n:
            yield tuple(rows)
            return
        for perm in perms:
            if all(perm[c] != row[c] for row in rows for c in range(n)):
                yield from extend([*rows, perm])

    yield from extend([])


# ---------------------------------------------------------------- the puzzles under test

SMALL = {
    "sudoku": (SudokuTask(), {"size": 4}, sudoku_valid),
    "futoshiki": (FutoshikiTask(), {"size": 4}, futoshiki_valid),
    "skyscraper": (SkyscraperTask(), {"size": 4}, skyscraper_valid),
    "kukurasu": (KukurasuTask(), {"size": 4}, kukurasu_valid),
    "calcudoko": (CalcudokoTask(), {"size": 4}, calcudoko_valid),
}
ENVS = {"sudoku": SudokuEnv, "futoshiki": FutoshikiEnv, "skyscraper": SkyscraperEnv, "kukurasu": KukurasuEnv,
        "calcudoko": CalcudokoEnv}
MULTI = {  # knobs that allow several solutions
    "sudoku": {"size": 4, "given_share": 0.25, "unique": False},
    "futoshiki": {"size": 4, "inequality_share": 0.2, "unique": False},
    "skyscraper": {"size": 4, "clue_share": 0.25, "unique": False},
    "kukurasu": {"size": 4, "unique": False},
    "calcudoko": {"size": 4, "max_cage": 4, "operators": ("+",), "unique": False},
}


def answer(grid, symbols="0123456789"):
    return "<answer>\n" + "\n".join(" ".join(symbols[v] for v in row) for row in grid) + "\n</answer>"


def grid_of(problem):
    return [list(row) for row in problem.metadata["solution"]]


# ---------------------------------------------------------------- solver


def test_solver_counts_match_known_totals():
    assert len(search(latin_model(3, [[None] * 3] * 3), limit=100).solutions) == 12
    assert len(search(latin_model(4, [[None] * 4] * 4), limit=1000).solutions) == 576
    assert sum(1 for _ in latin_squares(4)) == 576
    content = {"size": 4, "box": [2, 2], "givens": ["...."] * 4}
    assert SudokuTask().count_solutions(content, limit=1000) == (288, True)


def test_solver_node_budget_is_reported():
    result = search(latin_model(6, [[None] * 6] * 6), limit=10**6, max_nodes=50)
    assert not result.complete and result.nodes > 50


# ---------------------------------------------------------------- oracle, uniqueness, mutations


LATIN_4 = list(latin_squares(4))
BINARY_4 = np.array(list(itertools.product((0, 1), repeat=16))).reshape(-1, 4, 4)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_oracle_is_correct_and_unique_by_brute_force(name):
    """On 4x4 boards every candidate grid is judged by the task and by the checker here: the
    verdicts agree, and exactly one candidate is valid (the promised unique solution)."""
    task, difficulty, valid = SMALL[name]
    rng = np.random.default_rng(0)
    for seed in range(5):
        problem = task.problem_at(seed, 0, difficulty)
        assert task.score(problem, task.solve(problem)).correct
        assert valid(problem.content, grid_of(problem))
        assert task.count_solutions(problem.content) == (1, True)
        if name == "kukurasu":
            weights = np.arange(1, 5)
            ok = ((BINARY_4 @ weights == problem.content["row_sums"]).all(axis=1)
                  & ((weights @ BINARY_4) == problem.content["col_sums"]).all(axis=1))
            ok &= np.array([givens_ok(problem.content["givens"], grid) for grid in BINARY_4])
            assert ok.sum() == 1, (name, seed)
            sampled = [BINARY_4[i].tolist() for i in [*np.flatnonzero(ok), *rng.integers(len(BINARY_4), size=300)]]
            symbols = "01"
        else:
            sampled, symbols = LATIN_4, "0123456789"
            assert sum(valid(problem.content, grid) for grid in LATIN_4) == 1, (name, seed)
        for grid in sampled:
            assert task.score(problem, answer(grid, symbols)).correct == valid(problem.content, grid), (seed, grid)


def test_calcudoko_worked_example_over_every_latin_square():
    """Hand-made cages where '-' and '/' see their smaller cell first: the task's verdict on all
    576 Latin squares matches the checker here, and the intended grid passes."""
    grid = [[1, 2, 3, 4], [2, 1, 4, 3], [3, 4, 1, 2], [4, 3, 2, 1]]
    cages = [([(0, 0), (0, 1)], "-", 1), ([(0, 2), (0, 3)], "*", 12), ([(1, 0), (2, 0)], "+", 5),
             ([(1, 1), (1, 2)], "/", 4), ([(1, 3), (2, 3)], "-", 1), ([(2, 1), (2, 2)], "+", 5),
             ([(3, 0), (3, 1)], "*", 12), ([(3, 2)], "=", 2), ([(3, 3)], "=", 1)]
    content = {"size": 4, "cages": [{"cells": [list(c) for c in cells], "op": op, "target": t}
                                    for cells, op, t in cages]}
    task = CalcudokoTask()
    problem = task.make_grid_problem("worked example", content, grid, task.difficulty(), False)
    assert task.score(problem, answer(grid)).correct
    verdicts = [task.score(problem, answer(square)).correct for square in LATIN_4]
    assert verdicts == [calcudoko_valid(content, square) for square in LATIN_4]
    assert 1 <= sum(verdicts) < 576
    assert task.score(problem, task.solve(problem)).correct


@pytest.mark.parametrize("name,difficulty", [
    ("sudoku", {"size": 9}), ("sudoku", {"size": 6}), ("futoshiki", {"size": 5}), ("skyscraper", {"size": 5}),
    ("kukurasu", {"size": 6}), ("calcudoko", {"size": 5}), ("calcudoko", {"size": 6, "max_cage": 4}),
])
def test_single_cell_mutations_match_the_rules(name, difficulty):
    task, _, valid = SMALL[name]
    values = (0, 1) if name == "kukurasu" else range(1, difficulty["size"] + 1)
    for seed in range(3):
        problem = task.problem_at(seed, 0, difficulty)
        assert task.count_solutions(problem.content) == (1, True)
        solution = grid_of(problem)
        score = task.score(problem, task.solve(problem))
        assert score.correct and score.components["rules_satisfied"] == 1.0
        for r, c in itertools.product(range(len(solution)), repeat=2):
            for value in values:
                if value == solution[r][c]:
                    continue
                mutated = [row.copy() for row in solution]
                mutated[r][c] = value
                score = task.score(problem, answer(mutated))
                assert score.correct == valid(problem.content, mutated), (name, seed, r, c, value)
                assert score.reward == float(score.correct) and score.components["format"] == 1.0
                assert score.components["rules_satisfied"] < 1.0 and score.error


@pytest.mark.parametrize("name", sorted(MULTI))
def test_alternative_solutions_are_accepted(name):
    task, _, valid = SMALL[name]
    for seed in range(40):
        problem = task.problem_at(seed, 0, MULTI[name])
        result = search(task.build_csp(problem.content), limit=2)
        if len(result.solutions) == 2:
            break
    else:
        pytest.fail(f"{name}: no instance with two solutions in 40 seeds at {MULTI[name]}")
    assert problem.metadata["unique"] is False
    for flat in result.values():
        grid = [flat[r * 4:(r + 1) * 4] for r in range(4)]
        assert valid(problem.content, grid)
        assert task.score(problem, answer(grid, "01" if name == "kukurasu" else "0123456789")).correct


def test_generated_clue_counts_follow_the_knobs():
    sudoku = SudokuTask()
    for share in (0.3, 0.6):
        problem = sudoku.sample(np.random.default_rng(1), {"size": 9, "given_share": share})
        givens = sum(ch != "." for row in problem.content["givens"] for ch in row)
        assert math.ceil(share * 81) <= givens <= math.ceil(share * 81) + 3
    blind = sudoku.sample(np.random.default_rng(1), {"size": 9, "given_share": 0.2, "unique": False})
    assert sum(ch != "." for row in blind.content["givens"] for ch in row) == math.ceil(0.2 * 81)
    many = FutoshikiTask().sample(np.random.default_rng(2), {"size": 5, "inequality_share": 0.5})
    assert len(many.content["inequalities"]) >= 20


def test_generation_is_deterministic_and_seeds_differ():
    for task, difficulty, _ in SMALL.values():
        first = task.sample(np.random.default_rng(5), difficulty)
        assert first == task.sample(np.random.default_rng(5), difficulty)
        assert first.problem_id != task.sample(np.random.default_rng(6), difficulty).problem_id


# ---------------------------------------------------------------- reading answers


def test_answer_formats():
    task = SudokuTask()
    problem = task.problem_at(0, 0, {"size": 4})
    rows = ["".join(str(v) for v in row) for row in grid_of(problem)]
    boxed = f"{rows[0][:2]} | {rows[0][2:]}\n-----+-----\n" + "\n".join(f"{r[:2]} | {r[2:]}" for r in rows[1:])
    accepted = [
        answer(grid_of(problem)),
        "I think:\n" + "\n".join(rows) + "\n",
        "```\n" + boxed + "\n```",
        "<answer>" + "".join(rows) + "</answer>",
        "\n".join(f"Row {i + 1}: {' '.join(r)}" for i, r in enumerate(rows)),
        "<answer>\n" + "\n".join(f"[{', '.join(r)}]" for r in rows) + "\n</answer> done",
    ]
    for text in accepted:
        assert task.score(problem, text).correct, text
    blank = task.score(problem, "<answer>\n" + "\n".join(["." + r[1:] for r in rows]) + "\n</answer>")
    assert not blank.correct and blank.components["cells_filled"] == 0.75 and "blank" in blank.error
    assert task.score(problem, "<answer>\n" + "\n".join(rows)).error == "an <answer> tag is never closed"
    late = task.score(problem, answer(grid_of(problem)) + "\n<answer>1 2 3 4</answer>")
    assert not late.correct and late.components["format"] == 0.0
    assert read_grid("1 2 3\n4 5 6", 2, 2, "0123456").grid is None


def test_partial_reward_is_opt_in():
    task = KukurasuTask(partial_reward=0.5)
    problem = task.problem_at(0, 0, {"size": 4})
    wrong = [[1 - v for v in row] for row in grid_of(problem)]
    score = task.score(problem, answer(wrong, "01"))
    assert not score.correct and score.reward == pytest.approx(0.5 * score.components["rules_satisfied"])
    with pytest.raises(ValueError):
        SudokuTask(partial_reward=1.0)


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(SMALL)),
       text=st.one_of(st.text(max_size=300), st.lists(st.text("0123456789 .|-<>", max_size=12), max_size=8).map(
           "\n".join), st.lists(st.text("0123456789 ", max_size=9), max_size=6).map(
           lambda rows: "<answer>" + "\n".join(rows) + "</answer>")))
def test_any_string_is_scored_without_raising(name, text):
    task, difficulty, valid = SMALL[name]
    problem = task.problem_at(0, 0, difficulty)
    score = task.score(problem, text)
    assert score.reward in (0.0, 1.0)
    if score.correct:
        grid = read_grid(text, 4, 4, "01" if name == "kukurasu" else "01234").grid
        assert valid(problem.content, grid)


# ---------------------------------------------------------------- contracts


@pytest.mark.parametrize("name", sorted(SMALL))
def test_check_task(name):
    task, difficulty, _ = SMALL[name]
    check_task(task, difficulty=difficulty)
    check_task(task, n=6)


@pytest.mark.parametrize("name", sorted(ENVS))
def test_gymnasium_check_env(name):
    check_env(ENVS[name](size=4), skip_render_check=True)


@pytest.mark.parametrize("name", sorted(ENVS))
def test_env_conformance(name):
    env_class = ENVS[name]
    env_id = f"rlvr-test/{env_class.__name__}-v0"
    gymnasium.register(id=env_id, entry_point=f"{env_class.__module__}:{env_class.__name__}", kwargs={"size": 4})
    try:
        check_env_conformance(env_id)
    finally:
        gymnasium.registry.pop(env_id)
