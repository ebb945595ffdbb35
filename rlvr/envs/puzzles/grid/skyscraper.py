"""`SkyscraperTask` and `SkyscraperEnv` (`rlvr/Skyscraper-v0`): a Latin square of building heights
with visibility clues on the edges.

Rules: an N x N grid where every row and column holds the heights 1..N once each, given heights
stay, and each edge clue k says that, looking along its row or column from that edge, exactly k
buildings are visible (a building is hidden by any taller one in front of it). Content: `size`,
`givens` (rows of digits, '.' for empty) and the clue lists `top`, `bottom` (per column, left
to right), `left`, `right` (per row, top to bottom), 0 meaning no clue.

Generation: a random Latin square; the clue pool is every edge clue and every cell as a given.
Givens are dropped first (random order) while more than `given_share` of the cells are given,
then edge clues while more than `clue_share` of the 4N are shown; with `unique` (default) a clue
is dropped only when the solver still proves exactly one solution. With `unique=False` clues are
dropped blindly and any valid grid is accepted.

>>> import numpy as np
>>> task = SkyscraperTask()
>>> problem = task.sample(np.random.default_rng(0), {"size": 4})
>>> task.score(problem, task.solve(problem)).reward
1.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from itertools import permutations
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
    latin_rules,
    parse_digit_rows,
    random_fill,
    remove_clues,
)
from rlvr.envs.puzzles.grid.csp import Csp, Table
from rlvr.envs.puzzles.grid.futoshiki import latin_model

SIDES = ("top", "bottom", "left", "right")


def visible(heights: Sequence[int | None]) -> int:
    """How many buildings are seen from the front of `heights` (blanks hide nothing and count not)."""
    seen, tallest = 0, 0
    for height in heights:
        if height is not None and height > tallest:
            seen, tallest = seen + 1, height
    return seen


def line_cells(size: int, side: str, index: int) -> list[tuple[int, int]]:
    """The (row, col) cells seen from clue `index` on `side`, nearest first."""
    if side == "top":
        return [(r, index) for r in range(size)]
    if side == "bottom":
        return [(r, index) for r in reversed(range(size))]
    if side == "left":
        return [(index, c) for c in range(size)]
    return [(index, c) for c in reversed(range(size))]


@lru_cache(maxsize=32)
def _by_visibility(size: int) -> dict[int, tuple[tuple[int, ...], ...]]:
    """Every permutation of 1..size, grouped by how many buildings it shows from its front."""
    groups: dict[int, list[tuple[int, ...]]] = {}
    for perm in permutations(range(1, size + 1)):
        groups.setdefault(visible(perm), []).append(perm)
    return {k: tuple(v) for k, v in groups.items()}


def clue_table(size: int, side: str, index: int, clue: int, *, negate: bool = False) -> Table:
    """The clue as a table constraint; `negate` allows exactly the lines that break it."""
    cells = [r * size + c for r, c in line_cells(size, side, index)]
    groups = _by_visibility(size)
    allowed = [perm for k, perms in groups.items() if (k != clue) == negate for perm in perms]
    return Table(cells, allowed)


@lru_cache(maxsize=512)
def _line_allowed(size: int, front: int, back: int) -> tuple[tuple[int, ...], ...]:
    """Permutations of 1..size showing `front` buildings from the front and `back` from the back
    (0: no clue)."""
    return tuple(perm for k, perms in _by_visibility(size).items() if not front or k == front
                 for perm in perms if not back or visible(perm[::-1]) == back)


def line_tables(size: int, clues: Mapping[str, Sequence[int]]) -> list[Table]:
    """One table per row or column with a clue, both of its ends folded in (fewer, smaller tables
    than one per clue)."""
    tables = []
    for front, back in (("top", "bottom"), ("left", "right")):
        for index in range(size):
            a, b = clues[front][index], clues[back][index]
            if a or b:
                cells = [r * size + c for r, c in line_cells(size, front, index)]
                tables.append(Table(cells, _line_allowed(size, a, b)))
    return tables


def render_skyscraper(givens: Sequence[str], clues: Mapping[str, Sequence[int]], size: int) -> str:
    """The board framed by its clues ('.' empty cell, blank edge = no clue)."""

    def mark(value: int) -> str:
        return str(value) if value else " "

    lines = ["    " + " ".join(mark(v) for v in clues["top"])]
    lines += [f"{mark(clues['left'][r])} | {' '.join(givens[r])} | {mark(clues['right'][r])}" for r in range(size)]
    lines.append("    " + " ".join(mark(v) for v in clues["bottom"]))
    return "\n".join(lines)


class SkyscraperTask(GridPuzzleTask):
    """Skyscrapers on N x N boards (see the module doc)."""

    name: ClassVar[str] = "skyscraper"
    version: ClassVar[int] = 0
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob("size", 5, "side of the board (7 takes tens of seconds to generate, so 6 is the limit)",
             low=3, high=6),
        Knob("clue_share", 0.0, "keep at least this share of the 4N edge clues", low=0.0, high=1.0),
        Knob("given_share", 0.0, "keep at least this share of cells given", low=0.0, high=1.0),
        Knob("unique", True, "promise exactly one solution (proved by the solver)"),
    )

    def shape(self, content: Mapping[str, Any]) -> tuple[int, int]:
        return content["size"], content["size"]

    def symbols(self, content: Mapping[str, Any]) -> str:
        return "0123456789"[: content["size"] + 1]

    def rules(self, content: Mapping[str, Any], grid: Grid) -> list[tuple[str, bool]]:
        size = content["size"]
        checks = latin_rules(grid, size) + given_rules(content["givens"], grid)
        for side in SIDES:
            for index, clue in enumerate(content[side]):
                if clue:
                    line = [grid[r][c] for r, c in line_cells(size, side, index)]
                    what = "column" if side in ("top", "bottom") else "row"
                    checks.append((f"{clue} building(s) must be visible from the {side} of {what} {index + 1}",
                                   None not in line and visible(line) == clue))
        return checks

    def build_csp(self, content: Mapping[str, Any]) -> Csp:
        size = content["size"]
        return latin_model(size, parse_digit_rows(content["givens"]), line_tables(size, content))

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        size, unique = difficulty["size"], difficulty["unique"]
        solution = random_fill(latin_model(size, [[None] * size] * size), size, rng)
        cells = size * size
        edge = [(side, index) for side in SIDES for index in range(size)]
        edge_clues = [visible([solution[r][c] for r, c in line_cells(size, side, index)]) for side, index in edge]
        given_target = math.ceil(difficulty["given_share"] * cells)
        clue_target = math.ceil(difficulty["clue_share"] * len(edge))

        def split(kept: Sequence[bool]):
            givens = [[solution[r][c] if kept[r * size + c] else None for c in range(size)] for r in range(size)]
            shown = {side: [0] * size for side in SIDES}
            for (side, index), clue, keep in zip(edge, edge_clues, kept[cells:], strict=False):
                if keep:
                    shown[side][index] = clue
            return givens, shown

        def build(kept: Sequence[bool]) -> Csp:
            givens, shown = split(kept)
            return latin_model(size, givens, line_tables(size, shown))

        def rival(kept: Sequence[bool], index: int) -> Csp:
            model = build(kept)
            if index < cells:  # the dropped given takes another value
                model.domains[index] &= ~(1 << solution[index // size][index % size])
                return model
            side, line = edge[index - cells]
            return Csp(model.domains, [*model.constraints,
                                       clue_table(size, side, line, edge_clues[index - cells], negate=True)])

        def stop(kept: Sequence[bool], index: int) -> bool:
            if index < cells:
                return sum(kept[:cells]) <= given_target
            return sum(kept[cells:]) <= clue_target

        order = rng.permutation(cells).tolist() + (cells + rng.permutation(len(edge))).tolist()
        kept = remove_clues(cells + len(edge), order, build, stop=stop, unique=unique, rival=rival)
        givens, shown = split(kept)
        given_text = digit_rows(givens)
        question = (f"Solve this {size}x{size} Skyscraper puzzle. Place a building of height 1 to {size} in every "
                    f"cell so that every row and every column contains each height exactly once and the given "
                    f"heights stay. A number outside the grid says how many buildings are visible from that "
                    f"edge, looking along its row or column: a building is hidden when a taller one stands "
                    f"in front of it. '.' is an empty cell; an edge without a number has no clue.\n\n"
                    + render_skyscraper(given_text, shown, size))
        content = {"size": size, "givens": given_text, **shown}
        return self.make_grid_problem(question, content, solution, difficulty, unique)


class SkyscraperEnv(TextEnv):
    """`rlvr/Skyscraper-v0`: one Skyscraper puzzle per episode, the completed grid as the response
    (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = SkyscraperTask
    task_options: ClassVar[tuple[str, ...]] = ("partial_reward",)
    card = EnvCard(
        summary="Skyscrapers: an N x N Latin square of heights with visibility clues on the edges (N = "
        "3..6); clues are removed while the solver proves a unique solution.",
        observation="text prompt (the board framed by its edge clues)",
        action="text response: the completed grid in <answer></answer>, one row per line",
        reward="1 if the grid is a Latin square meeting every given and edge clue (any valid grid), else 0; "
        "components: correct, format, cells_filled, rules_satisfied (logged)",
        task=task_class,
    )
