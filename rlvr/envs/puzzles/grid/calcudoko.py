"""`CalcudokoTask` and `CalcudokoEnv` (`rlvr/Calcudoko-v0`): a Latin square split into arithmetic
cages (KenKen-style).

Rules: an N x N grid where every row and column holds 1..N once each, and the values of each
cage combine to its target with its operator: `+` sum, `*` product, `-` the difference of its two
cells (larger minus smaller), `/` their quotient (larger over smaller, exact), `=` a one-cell cage
holding the target. Digits may repeat inside a cage when they are in different rows and columns.
Content: `size` and `cages`, each {"cells": [[r, c], ...] (0-based), "op", "target"}.

Generation: a random Latin square, cut into connected cages by growing each from a random free
cell to a random size in 1..`max_cage` (one-cell cages are drawn half as often); a two-cell cage
takes a random allowed operator that fits (`/` only when one divides the other), larger ones `+`
or `*`. With `unique` (default) the partition is redrawn until the solver proves exactly one
solution; after `MAX_PARTITIONS` draws, cages where two solutions differ are broken into one-cell
cages until the solution is unique. With `unique=False` any grid meeting every rule is accepted.

>>> import numpy as np
>>> task = CalcudokoTask()
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
from rlvr.core.text_env import TextEnv
from rlvr.envs.arithmetic.knobs import OperatorsKnob
from rlvr.envs.puzzles.grid.board import Grid, GridPuzzleTask, cell_name, latin_rules, random_fill
from rlvr.envs.puzzles.grid.csp import Csp, Table, search
from rlvr.envs.puzzles.grid.futoshiki import latin_model

MAX_PARTITIONS = 30
CAGE_LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def cage_value(op: str, values: Sequence[int]) -> int | None:
    """What a cage's values make with `op` (None when `/` is not exact or the op needs other sizes)."""
    if op == "+":
        return sum(values)
    if op == "*":
        return math.prod(values)
    if op == "=":
        return values[0] if len(values) == 1 else None
    if len(values) != 2:
        return None
    high, low = max(values), min(values)
    if op == "-":
        return high - low
    return high // low if low and high % low == 0 else None


@lru_cache(maxsize=4096)
def _cage_tuples(size: int, op: str, target: int, conflicts: tuple[tuple[int, int], ...], count: int):
    """Every assignment of 1..size to `count` cells meeting the cage, with the cell pairs in
    `conflicts` (same row or column) different."""
    return tuple(values for values in product(range(1, size + 1), repeat=count)
                 if cage_value(op, values) == target and all(values[i] != values[j] for i, j in conflicts))


def cage_table(size: int, cage: Mapping[str, Any]) -> Table:
    cells = [tuple(cell) for cell in cage["cells"]]
    conflicts = tuple((i, j) for i in range(len(cells)) for j in range(i + 1, len(cells))
                      if cells[i][0] == cells[j][0] or cells[i][1] == cells[j][1])
    allowed = _cage_tuples(size, cage["op"], cage["target"], conflicts, len(cells))
    return Table([r * size + c for r, c in cells], allowed)


def calcudoko_model(size: int, cages: Sequence[Mapping[str, Any]]) -> Csp:
    return latin_model(size, [[None] * size] * size, [cage_table(size, cage) for cage in cages])


def _partition(size: int, max_cage: int, rng: np.random.Generator) -> list[list[tuple[int, int]]]:
    """Connected cages covering the grid, grown from random free cells."""
    owner = [[-1] * size for _ in range(size)]
    cages: list[list[tuple[int, int]]] = []
    weights = np.array([0.5] + [1.0] * (max_cage - 1))
    for start in rng.permutation(size * size).tolist():
        r, c = divmod(start, size)
        if owner[r][c] >= 0:
            continue
        wanted = 1 + int(rng.choice(max_cage, p=weights / weights.sum()))
        cage = [(r, c)]
        owner[r][c] = len(cages)
        while len(cage) < wanted:
            free = sorted({(y, x) for cy, cx in cage for y, x in ((cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1))
                           if 0 <= y < size and 0 <= x < size and owner[y][x] < 0})
            if not free:
                break
            y, x = free[int(rng.integers(len(free)))]
            owner[y][x] = len(cages)
            cage.append((y, x))
        cages.append(sorted(cage))
    return cages


def _label(cells: list[tuple[int, int]], solution: Sequence[Sequence[int]], operators: str,
           rng: np.random.Generator) -> dict[str, Any]:
    values = [solution[r][c] for r, c in cells]
    if len(cells) == 1:
        ops = ["="]
    else:
        ops = [op for op in operators if cage_value(op, values) is not None]
    op = ops[int(rng.integers(len(ops)))]
    return {"cells": [list(cell) for cell in cells], "op": op, "target": cage_value(op, values)}


class CalcudokoTask(GridPuzzleTask):
    """Calcudoko (KenKen-style cages) on N x N boards (see the module doc)."""

    name: ClassVar[str] = "calcudoko"
    version: ClassVar[int] = 0
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob("size", 4, "side of the board", low=3, high=7),
        Knob("max_cage", 3, "largest cage, in cells", low=2, high=5),
        OperatorsKnob("operators", ("+", "-", "*", "/"), "operators cages may use (+ or * must be among them)"),
        Knob("unique", True, "promise exactly one solution (proved by the solver)"),
    )

    def shape(self, content: Mapping[str, Any]) -> tuple[int, int]:
        return content["size"], content["size"]

    def symbols(self, content: Mapping[str, Any]) -> str:
        return "0123456789"[: content["size"] + 1]

    def rules(self, content: Mapping[str, Any], grid: Grid) -> list[tuple[str, bool]]:
        checks = latin_rules(grid, content["size"])
        for cage in content["cages"]:
            values = [grid[r][c] for r, c in cage["cells"]]
            holds = None not in values and cage_value(cage["op"], values) == cage["target"]
            where = ", ".join(cell_name(r, c) for r, c in cage["cells"])
            checks.append((f"cage {where} must make {cage['target']} with {cage['op']}", holds))
        return checks

    def build_csp(self, content: Mapping[str, Any]) -> Csp:
        return calcudoko_model(content["size"], content["cages"])

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        size, unique, operators = difficulty["size"], difficulty["unique"], "".join(difficulty["operators"])
        if "+" not in operators and "*" not in operators:
            raise ValueError(f"cages of three or more cells need + or *; got operators {operators!r}")
        solution = random_fill(latin_model(size, [[None] * size] * size), size, rng)
        for _ in range(MAX_PARTITIONS):
            cages = [_label(cells, solution, operators, rng) for cells in _partition(size, difficulty["max_cage"], rng)]
            if not unique or self._is_unique(size, cages):
                break
        else:
            cages = self._break_until_unique(size, cages, solution)
        cages.sort(key=lambda cage: cage["cells"][0])
        content = {"size": size, "cages": cages}
        return self.make_grid_problem(self._question(size, cages), content, solution, difficulty, unique)

    def _is_unique(self, size: int, cages: list[dict[str, Any]]) -> bool:
        result = search(calcudoko_model(size, cages), limit=2, max_nodes=self.max_solver_nodes)
        return result.complete and len(result.solutions) == 1

    def _break_until_unique(self, size: int, cages: list[dict[str, Any]], solution) -> list[dict[str, Any]]:
        """Split into one-cell cages every cage where a second solution differs, until unique."""
        while True:
            result = search(calcudoko_model(size, cages), limit=2, max_nodes=self.max_solver_nodes)
            if result.complete and len(result.solutions) == 1:
                return cages
            if len(result.solutions) == 2:
                first, second = result.values()
                differing = {divmod(i, size) for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b}
            else:  # the search ran out of nodes: break the largest cage
                differing = {tuple(max(cages, key=lambda cage: len(cage["cells"]))["cells"][0])}
            broken = [cage for cage in cages if any(tuple(cell) in differing for cell in cage["cells"])]
            cages = [cage for cage in cages if cage not in broken]
            cages += [{"cells": [cell], "op": "=", "target": solution[cell[0]][cell[1]]}
                      for cage in broken for cell in cage["cells"]]

    @staticmethod
    def _question(size: int, cages: list[dict[str, Any]]) -> str:
        board = [["?"] * size for _ in range(size)]
        for label, cage in zip(CAGE_LABELS, cages, strict=False):
            for r, c in cage["cells"]:
                board[r][c] = label
        listed = "\n".join(f"{label}: {cage['target']}{'' if cage['op'] == '=' else ' ' + cage['op']} "
                           f"({len(cage['cells'])} cell{'s' if len(cage['cells']) > 1 else ''})"
                           for label, cage in zip(CAGE_LABELS, cages, strict=False))
        return (f"Solve this {size}x{size} Calcudoko (KenKen). Fill the grid with digits 1 to {size} so that every "
                f"row and every column contains each digit exactly once. The grid is divided into cages (cells "
                f"with the same letter); the digits of a cage must combine to its target with its operator: + "
                f"sum, * product, - the larger minus the smaller of its two cells, / the larger divided by the "
                f"smaller; a cage with no operator holds its target. A digit may repeat inside a cage when the "
                f"copies are in different rows and columns.\n\n" + "\n".join(" ".join(row) for row in board)
                + f"\n\nCages:\n{listed}")


class CalcudokoEnv(TextEnv):
    """`rlvr/Calcudoko-v0`: one Calcudoko per episode, the completed grid as the response
    (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = CalcudokoTask
    task_options: ClassVar[tuple[str, ...]] = ("partial_reward",)
    card = EnvCard(
        summary="Calcudoko (KenKen-style): an N x N Latin square cut into cages, each with a target and an "
        "operator (+ - * / or a single given); cage layouts are redrawn until the solution is unique.",
        observation="text prompt (a letter map of the cages and the list of targets)",
        action="text response: the completed grid in <answer></answer>, one row per line",
        reward="1 if the grid is a Latin square and every cage makes its target (any valid grid), else 0; "
        "components: correct, format, cells_filled, rules_satisfied (logged)",
        task=task_class,
    )
