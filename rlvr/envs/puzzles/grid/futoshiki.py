"""`FutoshikiTask` and `FutoshikiEnv` (`rlvr/Futoshiki-v0`): a Latin square with inequalities.

Rules: an N x N grid where every row and column holds 1..N once each, the given digits stay,
and every inequality between two neighbouring cells holds. Content: `size`, `givens` (rows of
digits, '.' for empty) and `inequalities`, a list of [r1, c1, r2, c2] (0-based) meaning cell
(r1, c1) < cell (r2, c2).

Generation: a random Latin square; the clue pool is every cell as a given and every neighbouring
pair as an inequality. Givens are dropped first (random order) while more than `given_share` of
the cells are given, then inequalities while more than `inequality_share` of the pairs are
shown; with `unique` (default) a clue is dropped only when the solver still proves exactly one
solution. With `unique=False` clues are dropped blindly and any valid grid is accepted.

>>> import numpy as np
>>> task = FutoshikiTask()
>>> problem = task.sample(np.random.default_rng(0), {"size": 4})
>>> task.score(problem, task.solve(problem)).reward
1.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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
    cell_name,
    digit_rows,
    given_rules,
    latin_constraints,
    latin_rules,
    parse_digit_rows,
    random_fill,
    remove_clues,
)
from rlvr.envs.puzzles.grid.csp import Csp, Less, mask_of


def latin_model(size: int, givens: Sequence[Sequence[int | None]], extra: Sequence[Any] = ()) -> Csp:
    """An N x N Latin square with `givens` fixed and `extra` constraints."""
    full = mask_of(range(1, size + 1))
    domains = [full if v is None else 1 << v for row in givens for v in row]
    return Csp(domains, latin_constraints(size) + list(extra))


def render_futoshiki(givens: Sequence[str], inequalities: Sequence[Sequence[int]], size: int) -> str:
    """Cells with '<'/'>' between row neighbours and '^'/'v' between column neighbours."""
    signs: dict[tuple[int, int, int, int], str] = {}
    for r1, c1, r2, c2 in inequalities:
        if r1 == r2:
            signs[(r1, min(c1, c2), r1, max(c1, c2))] = "<" if c1 < c2 else ">"
        else:
            signs[(min(r1, r2), c1, max(r1, r2), c1)] = "^" if r1 < r2 else "v"
    lines = []
    for r in range(size):
        line = givens[r][0]
        for c in range(1, size):
            line += f" {signs.get((r, c - 1, r, c), ' ')} {givens[r][c]}"
        lines.append(line)
        if r < size - 1:
            lines.append("   ".join(signs.get((r, c, r + 1, c), " ") for c in range(size)).rstrip())
    return "\n".join(lines)


class FutoshikiTask(GridPuzzleTask):
    """Futoshiki on N x N boards (see the module doc)."""

    name: ClassVar[str] = "futoshiki"
    version: ClassVar[int] = 0
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob("size", 5, "side of the board", low=3, high=9),
        Knob("given_share", 0.0, "keep at least this share of cells given", low=0.0, high=1.0),
        Knob("inequality_share", 0.0, "keep at least this share of neighbouring pairs as inequalities",
             low=0.0, high=1.0),
        Knob("unique", True, "promise exactly one solution (proved by the solver)"),
    )

    def shape(self, content: Mapping[str, Any]) -> tuple[int, int]:
        return content["size"], content["size"]

    def symbols(self, content: Mapping[str, Any]) -> str:
        return "0123456789"[: content["size"] + 1]

    def rules(self, content: Mapping[str, Any], grid: Grid) -> list[tuple[str, bool]]:
        checks = latin_rules(grid, content["size"]) + given_rules(content["givens"], grid)
        for r1, c1, r2, c2 in content["inequalities"]:
            low, high = grid[r1][c1], grid[r2][c2]
            checks.append((f"{cell_name(r1, c1)} < {cell_name(r2, c2)} must hold",
                           low is not None and high is not None and low < high))
        return checks

    def build_csp(self, content: Mapping[str, Any]) -> Csp:
        size = content["size"]
        order = [Less(r1 * size + c1, r2 * size + c2) for r1, c1, r2, c2 in content["inequalities"]]
        return latin_model(size, parse_digit_rows(content["givens"]), order)

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        size, unique = difficulty["size"], difficulty["unique"]
        solution = random_fill(latin_model(size, [[None] * size] * size), size, rng)
        cells = size * size
        pairs = [(r, c, r, c + 1) for r in range(size) for c in range(size - 1)]
        pairs += [(r, c, r + 1, c) for r in range(size - 1) for c in range(size)]
        # Each pair as "smaller < larger", in the solution's order.
        inequalities = [(r1, c1, r2, c2) if solution[r1][c1] < solution[r2][c2] else (r2, c2, r1, c1)
                        for r1, c1, r2, c2 in pairs]
        given_target = math.ceil(difficulty["given_share"] * cells)
        pair_target = math.ceil(difficulty["inequality_share"] * len(pairs))

        def split(kept: Sequence[bool]):
            givens = [[solution[r][c] if kept[r * size + c] else None for c in range(size)] for r in range(size)]
            return givens, [ineq for ineq, keep in zip(inequalities, kept[cells:], strict=False) if keep]

        def build(kept: Sequence[bool]) -> Csp:
            givens, shown = split(kept)
            return latin_model(size, givens, [Less(r1 * size + c1, r2 * size + c2) for r1, c1, r2, c2 in shown])

        def rival(kept: Sequence[bool], index: int) -> Csp:
            model = build(kept)
            if index < cells:  # the dropped given takes another value
                model.domains[index] &= ~(1 << solution[index // size][index % size])
                return model
            r1, c1, r2, c2 = inequalities[index - cells]
            return Csp(model.domains, [*model.constraints, Less(r2 * size + c2, r1 * size + c1)])

        def stop(kept: Sequence[bool], index: int) -> bool:
            if index < cells:
                return sum(kept[:cells]) <= given_target
            return sum(kept[cells:]) <= pair_target

        order = rng.permutation(cells).tolist() + (cells + rng.permutation(len(pairs))).tolist()
        kept = remove_clues(cells + len(pairs), order, build, stop=stop, unique=unique, rival=rival)
        givens, shown = split(kept)
        given_text = digit_rows(givens)
        shown_sorted = sorted([list(ineq) for ineq in shown])
        listed = "\n".join(f"{cell_name(r1, c1)} < {cell_name(r2, c2)}" for r1, c1, r2, c2 in shown_sorted)
        question = (f"Solve this {size}x{size} Futoshiki. Fill the grid with digits 1 to {size} so that every row "
                    f"and every column contains each digit exactly once, the given digits stay, and every "
                    f"inequality holds. '.' is an empty cell; '<' and '>' compare row neighbours; '^' means "
                    f"the cell above is smaller than the cell below, 'v' that it is larger.\n\n"
                    f"{render_futoshiki(given_text, shown_sorted, size)}\n\n"
                    f"The same inequalities as a list (r = row, c = column, from 1):\n{listed or '(none)'}")
        content = {"size": size, "givens": given_text, "inequalities": shown_sorted}
        return self.make_grid_problem(question, content, solution, difficulty, unique)


class FutoshikiEnv(TextEnv):
    """`rlvr/Futoshiki-v0`: one Futoshiki per episode, the completed grid as the response
    (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = FutoshikiTask
    task_options: ClassVar[tuple[str, ...]] = ("partial_reward",)
    card = EnvCard(
        summary="Futoshiki: an N x N Latin square with inequality clues between neighbouring cells; givens "
        "then inequalities are removed while the solver proves a unique solution.",
        observation="text prompt (board with < > ^ v signs, plus the inequalities as a list)",
        action="text response: the completed grid in <answer></answer>, one row per line",
        reward="1 if the grid is a Latin square meeting every given and inequality (any valid grid), else "
        "0; components: correct, format, cells_filled, rules_satisfied (logged)",
        task=task_class,
    )
