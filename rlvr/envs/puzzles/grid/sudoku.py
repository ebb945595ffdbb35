"""`SudokuTask` and `SudokuEnv` (`rlvr/Sudoku-v0`): fill an N x N grid (N = 4, 6 or 9).

Rules: every row, every column and every box (2x2, 2x3 or 3x3) holds 1..N once each, and the
given digits stay. Content: `size`, `box` ([rows, cols] of a box) and `givens` (rows of digits,
'.' for empty).

Generation: a random full grid (the solver with random value order on an empty board), then the
cells in random order are emptied while more than `given_share` of the cells are shown; with
`unique` (default) a cell is emptied only when the solver still proves exactly one solution, so
the puzzle may keep more givens than asked. With `unique=False` cells are emptied blindly and
several solutions may exist; every one of them is accepted.

>>> import numpy as np
>>> task = SudokuTask()
>>> problem = task.sample(np.random.default_rng(0), {"size": 4})
>>> task.score(problem, task.solve(problem)).reward
1.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from rlvr.core.cards import EnvCard
from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem
from rlvr.core.task import Task
from rlvr.core.text_env import TextEnv
from rlvr.envs.puzzles.grid.board import (
    Grid,
    GridPuzzleTask,
    digit_rows,
    given_rules,
    latin_constraints,
    latin_rules,
    parse_digit_rows,
    random_fill,
    remove_clues,
)
from rlvr.envs.puzzles.grid.csp import AllDifferent, Csp, mask_of

BOXES = {4: (2, 2), 6: (2, 3), 9: (3, 3)}


def _box_cells(size: int) -> list[list[tuple[int, int]]]:
    box_rows, box_cols = BOXES[size]
    return [[(top + r, left + c) for r in range(box_rows) for c in range(box_cols)]
            for top in range(0, size, box_rows) for left in range(0, size, box_cols)]


def render_sudoku(givens: list[str], size: int) -> str:
    """The board with '.' for empty cells and `|` / `-` between boxes."""
    box_rows, box_cols = BOXES[size]
    lines = []
    for r, row in enumerate(givens):
        if r and r % box_rows == 0:
            lines.append("-" * (2 * size + 2 * (size // box_cols - 1) - 1))
        parts = [" ".join(row[c : c + box_cols]) for c in range(0, size, box_cols)]
        lines.append(" | ".join(parts))
    return "\n".join(lines)


class SudokuTask(GridPuzzleTask):
    """Classic Sudoku on 4x4, 6x6 or 9x9 boards (see the module doc)."""

    name: ClassVar[str] = "sudoku"
    version: ClassVar[int] = 0
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob("size", 9, "side of the board (boxes 2x2, 2x3 or 3x3)", choices=(4, 6, 9)),
        Knob("given_share", 0.4, "stop emptying cells once at most this share is shown", low=0.0, high=1.0),
        Knob("unique", True, "promise exactly one solution (proved by the solver)"),
    )

    def shape(self, content: Mapping[str, Any]) -> tuple[int, int]:
        return content["size"], content["size"]

    def symbols(self, content: Mapping[str, Any]) -> str:
        return "0123456789"[: content["size"] + 1]

    def rules(self, content: Mapping[str, Any], grid: Grid) -> list[tuple[str, bool]]:
        size = content["size"]
        wanted = set(range(1, size + 1))
        checks = latin_rules(grid, size)
        checks += [(f"box {i + 1} must hold 1-{size} once each", {grid[r][c] for r, c in cells} == wanted)
                   for i, cells in enumerate(_box_cells(size))]
        return checks + given_rules(content["givens"], grid)

    def build_csp(self, content: Mapping[str, Any]) -> Csp:
        return self._model(content["size"], parse_digit_rows(content["givens"]))

    @staticmethod
    def _model(size: int, givens: list[list[int | None]]) -> Csp:
        full = mask_of(range(1, size + 1))
        domains = [full if v is None else 1 << v for row in givens for v in row]
        boxes = [AllDifferent([r * size + c for r, c in cells], permutation=True) for cells in _box_cells(size)]
        return Csp(domains, latin_constraints(size) + boxes)

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        size, unique = difficulty["size"], difficulty["unique"]
        blank: list[list[int | None]] = [[None] * size for _ in range(size)]
        solution = random_fill(self._model(size, blank), size, rng)
        target = math.ceil(difficulty["given_share"] * size * size)

        def build(kept: list[bool]) -> Csp:
            return self._model(size, [[solution[r][c] if kept[r * size + c] else None for c in range(size)]
                                      for r in range(size)])

        def rival(kept: list[bool], index: int) -> Csp:
            model = build(kept)  # the emptied cell takes another value
            model.domains[index] &= ~(1 << solution[index // size][index % size])
            return model

        kept = remove_clues(size * size, rng.permutation(size * size).tolist(), build,
                            stop=lambda kept, _: sum(kept) <= target, unique=unique, rival=rival)
        givens = digit_rows([[solution[r][c] if kept[r * size + c] else None for c in range(size)]
                             for r in range(size)])
        box_rows, box_cols = BOXES[size]
        question = (f"Solve this {size}x{size} Sudoku. Fill every empty cell ('.') with a digit from 1 to {size} "
                    f"so that every row, every column and every {box_rows}x{box_cols} box (separated by lines) "
                    f"contains each digit from 1 to {size} exactly once. Given digits stay as they are.\n\n"
                    + render_sudoku(givens, size))
        content = {"size": size, "box": [box_rows, box_cols], "givens": givens}
        return self.make_grid_problem(question, content, solution, difficulty, unique)


class SudokuEnv(TextEnv):
    """`rlvr/Sudoku-v0`: one Sudoku per episode, the completed grid as the response (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = SudokuTask
    task_options: ClassVar[tuple[str, ...]] = ("partial_reward",)
    card = EnvCard(
        summary="Sudoku on 4x4, 6x6 or 9x9 boards; random full grid, cells emptied while the solver proves "
        "a unique solution (given_share sets how many stay; unique=False allows several).",
        observation="text prompt (the board, '.' for empty cells)",
        action="text response: the completed grid in <answer></answer>, one row per line",
        reward="1 if every row, column and box holds 1..N once and the givens stay (any valid grid), else "
        "0; components: correct, format, cells_filled, rules_satisfied (logged)",
        task=task_class,
    )
