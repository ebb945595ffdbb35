"""`KukurasuTask` and `KukurasuEnv` (`rlvr/Kukurasu-v0`): fill cells so weighted sums match.

Rules: each cell of an R x C grid is filled (1) or empty (0). A filled cell in column c (from 1)
is worth c towards its row's total, and a filled cell in row r is worth r towards its column's
total; every row total and column total must equal its clue, and given cells stay. Content:
`rows`, `cols`, `row_sums`, `col_sums`, `givens` (rows of '1'/'0'/'.').

Generation: a random grid (each cell filled with probability `density`) gives the sums. All
sums are always shown; to make the solution unique (`unique`, default) cells are revealed as
givens: starting from every cell given, givens are dropped in random order while more than
`given_share` of the cells are given and the solver still proves exactly one solution. With
`unique=False` givens are dropped blindly and any grid meeting every rule is accepted.

>>> import numpy as np
>>> task = KukurasuTask()
>>> problem = task.sample(np.random.default_rng(0), {"size": 4})
>>> task.score(problem, task.solve(problem)).reward
1.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from itertools import product
from typing import Any, ClassVar

import numpy as np

from rlvr.core.cards import EnvCard
from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.core.text_env import TextEnv
from rlvr.envs.puzzles.grid.board import (
    Grid,
    GridPuzzleTask,
    cell_name,
    digit_rows,
    parse_digit_rows,
    remove_clues,
)
from rlvr.envs.puzzles.grid.csp import Csp, Table

BOTH = 0b11


@lru_cache(maxsize=1024)
def _lines_with_sum(length: int, total: int) -> tuple[tuple[int, ...], ...]:
    """Every 0/1 line of `length` whose weighted sum (position from 1) is `total`."""
    return tuple(line for line in product((0, 1), repeat=length)
                 if sum((i + 1) * v for i, v in enumerate(line)) == total)


def weighted_sums(grid: Sequence[Sequence[int]]) -> tuple[list[int], list[int]]:
    """(row totals, column totals) of a 0/1 grid."""
    rows, cols = len(grid), len(grid[0])
    row_sums = [sum((c + 1) * grid[r][c] for c in range(cols)) for r in range(rows)]
    col_sums = [sum((r + 1) * grid[r][c] for r in range(rows)) for c in range(cols)]
    return row_sums, col_sums


def kukurasu_model(row_sums: Sequence[int], col_sums: Sequence[int], givens: Sequence[Sequence[int | None]]) -> Csp:
    rows, cols = len(row_sums), len(col_sums)
    domains = [BOTH if v is None else 1 << v for row in givens for v in row]
    tables = [Table([r * cols + c for c in range(cols)], _lines_with_sum(cols, total))
              for r, total in enumerate(row_sums)]
    tables += [Table([r * cols + c for r in range(rows)], _lines_with_sum(rows, total))
               for c, total in enumerate(col_sums)]
    return Csp(domains, tables)


class KukurasuTask(GridPuzzleTask):
    """Kukurasu on square boards (see the module doc)."""

    name: ClassVar[str] = "kukurasu"
    version: ClassVar[int] = 0
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob("size", 5, "rows and columns of the board", low=2, high=9),
        Knob("density", 0.5, "probability that a cell of the hidden grid is filled", low=0.05, high=0.95),
        Knob("given_share", 0.0, "keep at least this share of cells given", low=0.0, high=1.0),
        Knob("unique", True, "promise exactly one solution (proved by the solver)"),
    )
    default_template: ClassVar[PromptTemplate] = PromptTemplate(
        instruction="Think it through, then give the completed grid inside <answer> </answer> tags, one row per "
        "line, 1 for a filled cell and 0 for an empty one, separated by spaces."
    )

    def shape(self, content: Mapping[str, Any]) -> tuple[int, int]:
        return content["rows"], content["cols"]

    def symbols(self, content: Mapping[str, Any]) -> str:
        return "01"

    def rules(self, content: Mapping[str, Any], grid: Grid) -> list[tuple[str, bool]]:
        rows, cols = content["rows"], content["cols"]
        checks = []
        for r, total in enumerate(content["row_sums"]):
            line = grid[r]
            checks.append((f"row {r + 1}'s filled cells must sum to {total} by column number",
                           None not in line and sum((c + 1) * v for c, v in enumerate(line)) == total))
        for c, total in enumerate(content["col_sums"]):
            line = [grid[r][c] for r in range(rows)]
            checks.append((f"column {c + 1}'s filled cells must sum to {total} by row number",
                           None not in line and sum((r + 1) * v for r, v in enumerate(line)) == total))
        checks += [(f"cell {cell_name(r, c)} is given as {char}", grid[r][c] == int(char))
                   for r, row in enumerate(content["givens"]) for c, char in enumerate(row[:cols]) if char != "."]
        return checks

    def build_csp(self, content: Mapping[str, Any]) -> Csp:
        return kukurasu_model(content["row_sums"], content["col_sums"], parse_digit_rows(content["givens"]))

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        size, unique = difficulty["size"], difficulty["unique"]
        solution = (rng.random((size, size)) < difficulty["density"]).astype(int).tolist()
        row_sums, col_sums = weighted_sums(solution)
        cells = size * size
        target = math.ceil(difficulty["given_share"] * cells)

        def givens_of(kept: Sequence[bool]) -> list[list[int | None]]:
            return [[solution[r][c] if kept[r * size + c] else None for c in range(size)] for r in range(size)]

        def rival(kept: Sequence[bool], index: int) -> Csp:
            model = kukurasu_model(row_sums, col_sums, givens_of(kept))
            model.domains[index] = 1 << (1 - solution[index // size][index % size])  # the dropped cell flips
            return model

        kept = remove_clues(cells, rng.permutation(cells).tolist(),
                            lambda kept: kukurasu_model(row_sums, col_sums, givens_of(kept)),
                            stop=lambda kept, _: sum(kept) <= target, unique=unique, rival=rival)
        givens = digit_rows(givens_of(kept))
        board = "\n".join(" ".join(row) + f" | {total}" for row, total in zip(givens, row_sums, strict=False))
        board += "\n" + "-" * (2 * size + 1) + "\n" + " ".join(str(total) for total in col_sums)
        question = (f"Solve this {size}x{size} Kukurasu. Decide for every cell whether it is filled (1) or "
                    f"empty (0). A filled cell in column c (counting from 1 on the left) adds c to its row's "
                    f"total; a filled cell in row r (counting from 1 at the top) adds r to its column's total. "
                    f"Every row total (right of the bar) and column total (below the line) must match, and "
                    f"given cells (1 or 0) stay; '.' is a cell to decide.\n\n{board}\n\n"
                    f"Row totals, top to bottom: {row_sums}\nColumn totals, left to right: {col_sums}")
        content = {"rows": size, "cols": size, "row_sums": row_sums, "col_sums": col_sums, "givens": givens}
        return self.make_grid_problem(question, content, solution, difficulty, unique)


class KukurasuEnv(TextEnv):
    """`rlvr/Kukurasu-v0`: one Kukurasu per episode, the 0/1 grid as the response (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = KukurasuTask
    task_options: ClassVar[tuple[str, ...]] = ("partial_reward",)
    card = EnvCard(
        summary="Kukurasu: fill cells of a 0/1 grid so each row's filled column numbers and each column's "
        "filled row numbers sum to the clues; cells are revealed until the solution is unique.",
        observation="text prompt (row and column totals, revealed cells)",
        action="text response: the 0/1 grid in <answer></answer>, one row per line",
        reward="1 if every weighted row and column sum and every revealed cell holds (any valid grid), else "
        "0; components: correct, format, cells_filled, rules_satisfied (logged)",
        task=task_class,
    )
