"""Shared machinery for grid puzzles: reading a grid answer, rendering, and the Task base.

Where the answer grid is found:
1. inside the last `<answer>...</answer>` block (an `<answer>` never closed is an error): its
   row lines, which must be exactly R rows of C cells (or one line of R*C cells);
2. otherwise the last run of R consecutive row lines of the response.
A row line holds exactly C cells, one character each (every puzzle here uses single-character
symbols); spaces, `|`, `,`, `;`, `[`, `]` between cells are ignored, and a leading label such as
"Row 3:" is dropped. Lines made only of `-`, `+`, `=`, `|` (box separators) and code fences are
skipped. `.`, `_` and `?` mark a cell left blank: the grid still reads, but cannot be correct.

`GridPuzzleTask` scores every puzzle the same way: components "correct" (1 when every cell is
filled and every rule holds), "format" (1 when a grid was read), "cells_filled" and
"rules_satisfied" (shares, logged). Reward = correct, or `partial_reward * rules_satisfied` when
the grid is wrong (0 by default). Any grid that satisfies every rule is correct: the verifier
checks the rules against the clues and never compares with a stored solution.

>>> read_grid("Thinking...\\n<answer>\\n1 2\\n2 1\\n</answer>", 2, 2, "012").grid
((1, 2), (2, 1))
>>> read_grid("12 | 34\\n-----\\n34 | 12\\n21 | 43\\n43 | 21", 4, 4, "01234").grid[0]
(1, 2, 3, 4)
>>> read_grid("<answer>1 2</answer>", 2, 2, "012").error
'expected 2 rows of 2 cells inside <answer></answer>, found 1 row(s)'
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.envs.puzzles.grid.csp import DEFAULT_MAX_NODES, AllDifferent, Constraint, Csp, is_unique, search

MAX_RESPONSE_CHARS = 100_000
"""Longer responses are refused before any scan."""
BLANKS = "._?"
_ANSWER_OPEN, _ANSWER_CLOSE = "<answer>", "</answer>"
_IGNORED = re.compile(r"[\s|,;\[\]]")
_LABEL = re.compile(r"^\s*(?:row|r)\s*\d+\s*[:=]", re.I)
_SEPARATOR = re.compile(r"^[\s\-+=|:]*$")
_MAX_REPORTED_RULES = 3

Grid = tuple[tuple[int | None, ...], ...]
"""Rows of cell values; None is a blank cell."""


@dataclass(frozen=True)
class GridReading:
    """What `read_grid` found: the grid (values, None for blanks), or why there is none."""

    grid: Grid | None
    error: str | None = None


def _row_cells(line: str, cols: int, symbols: str) -> tuple[int | None, ...] | None:
    """The cells of a row line, or None when the line is not one."""
    text = _IGNORED.sub("", _LABEL.sub("", line, count=1))
    if len(text) != cols or any(char not in symbols and char not in BLANKS for char in text):
        return None
    return tuple(None if char in BLANKS else symbols.index(char) for char in text)


def _content_lines(text: str) -> list[str]:
    """Lines that are neither empty, box separators nor code fences."""
    return [line for line in text.splitlines()
            if not _SEPARATOR.match(line) and not line.strip().startswith("```")]


def read_grid(response: str, rows: int, cols: int, symbols: str) -> GridReading:
    """Find and read an R x C grid (rules in the module doc); symbol i of `symbols` is value i.
    Never raises."""
    if not isinstance(response, str):
        return GridReading(None, f"response must be a string, got {type(response).__name__}")
    if len(response) > MAX_RESPONSE_CHARS:
        return GridReading(None, f"response has {len(response)} characters, more than {MAX_RESPONSE_CHARS}")
    start = response.rfind(_ANSWER_OPEN)
    if start >= 0:
        end = response.find(_ANSWER_CLOSE, start)
        if end < 0:
            return GridReading(None, "an <answer> tag is never closed")
        lines = _content_lines(response[start + len(_ANSWER_OPEN) : end])
        if len(lines) == 1 and rows > 1:
            flat = _row_cells(lines[0], rows * cols, symbols)
            if flat is not None:
                return GridReading(tuple(flat[r * cols : (r + 1) * cols] for r in range(rows)))
        parsed = [_row_cells(line, cols, symbols) for line in lines]
        if len(parsed) != rows or any(row is None for row in parsed):
            return GridReading(None, f"expected {rows} rows of {cols} cells inside <answer></answer>, "
                               f"found {sum(row is not None for row in parsed)} row(s)"
                               + (f" and {sum(row is None for row in parsed)} other line(s)"
                                  if any(row is None for row in parsed) else ""))
        return GridReading(tuple(parsed))  # type: ignore[arg-type]
    run: list[tuple[int | None, ...]] = []
    for line in reversed(response.splitlines()):
        if _SEPARATOR.match(line):
            continue
        row = _row_cells(line, cols, symbols)
        if row is None:
            run = []
            continue
        run.append(row)
        if len(run) == rows:
            return GridReading(tuple(reversed(run)))
    return GridReading(None, f"no <answer></answer> block and no {rows} consecutive lines of {cols} cells "
                       f"({symbols} or a blank {BLANKS}) in the response")


def render_grid(grid: Sequence[Sequence[int | None]], symbols: str, blank: str = ".") -> str:
    """Rows of space-separated symbols, `blank` for None.

    >>> print(render_grid([[1, None], [2, 1]], "012"))
    1 .
    2 1
    """
    return "\n".join(" ".join(blank if v is None else symbols[v] for v in row) for row in grid)


def cell_name(row: int, col: int) -> str:
    """1-based (row, column) as prompts show it."""
    return f"(r{row + 1},c{col + 1})"


def remove_clues(
    clue_count: int,
    order: Sequence[int],
    build: Callable[[Sequence[bool]], Csp],
    *,
    stop: Callable[[Sequence[bool], int], bool],
    unique: bool = True,
    rival: Callable[[Sequence[bool], int], Csp] | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> list[bool]:
    """Which clues to keep: try dropping each clue in `order`, skipping those `stop(kept, i)` says
    to keep; with `unique`, a drop stands only when the solver proves exactly one solution of
    `build(kept)` (a search that runs out of nodes keeps the clue).

    `rival(kept, i)`, where given, models the clues `kept` plus the negation of clue i. Before the
    drop the solution was unique, so any second solution after it must break clue i: the drop
    stands exactly when the rival model has no solution, a cheaper proof than counting to two."""
    kept = [True] * clue_count
    for index in order:
        if stop(kept, index):
            continue
        kept[index] = False
        if not unique:
            continue
        if rival is not None:
            result = search(rival(kept, index), limit=1, max_nodes=max_nodes)
            safe = result.complete and not result.solutions
        else:
            safe = is_unique(build(kept), max_nodes)
        if not safe:
            kept[index] = True
    return kept


def latin_constraints(size: int) -> list[Constraint]:
    """Row and column permutation constraints of an N x N Latin square over cells r*N + c."""
    rows = [AllDifferent([r * size + c for c in range(size)], permutation=True) for r in range(size)]
    cols = [AllDifferent([r * size + c for r in range(size)], permutation=True) for c in range(size)]
    return rows + cols


def random_fill(csp: Csp, size: int, rng: np.random.Generator) -> tuple[tuple[int, ...], ...]:
    """A random solution of `csp` (random value order), as rows of a size x size grid."""
    result = search(csp, limit=1, rng=rng)
    if not result.solutions:
        raise RuntimeError("the solver found no way to fill the grid; the constraints are contradictory")
    values = result.values()[0]
    return tuple(tuple(values[r * size : (r + 1) * size]) for r in range(size))


class GridPuzzleTask(Task):
    """Base of the grid puzzles. Subclasses implement `shape`, `symbols`, `rules` (one
    (description, holds) pair per rule instance, checked directly on the grid) and
    `build_csp` (the solver's model of the clues), plus `generate`."""

    reward_range: ClassVar[tuple[float, float]] = (0.0, 1.0)

    default_template: ClassVar[PromptTemplate] = PromptTemplate(
        instruction="Think it through, then give the completed grid inside <answer> </answer> tags, "
        "one row per line, cells separated by spaces."
    )
    max_solver_nodes: ClassVar[int] = 200_000

    def __init__(self, template: PromptTemplate | None = None, *, partial_reward: float = 0.0) -> None:
        super().__init__(template)
        if not 0.0 <= partial_reward < 1.0:
            raise ValueError(f"partial_reward must be in [0, 1), got {partial_reward!r}")
        self.partial_reward = float(partial_reward)

    @abstractmethod
    def shape(self, content: Mapping[str, Any]) -> tuple[int, int]:
        """(rows, cols) of the answer grid."""

    @abstractmethod
    def symbols(self, content: Mapping[str, Any]) -> str:
        """Symbol i stands for value i (a symbol that is not allowed may be a placeholder such as '0')."""

    @abstractmethod
    def rules(self, content: Mapping[str, Any], grid: Grid) -> list[tuple[str, bool]]:
        """Every rule instance as (what it says, whether `grid` satisfies it); a rule over a blank
        cell does not hold."""

    @abstractmethod
    def build_csp(self, content: Mapping[str, Any]) -> Csp:
        """The solver's model: cell r*cols + c, the puzzle's clues as constraints."""

    def score(self, problem: Problem, response: str) -> Score:
        content = problem.content
        rows, cols = self.shape(content)
        reading = read_grid(response, rows, cols, self.symbols(content))
        if reading.grid is None:
            return Score.zero(reading.error or "no grid found", format=0.0, cells_filled=0.0, rules_satisfied=0.0)
        grid = reading.grid
        filled = sum(v is not None for row in grid for v in row) / (rows * cols)
        checks = self.rules(content, grid)
        broken = [what for what, holds in checks if not holds]
        satisfied = 1.0 - len(broken) / len(checks) if checks else 1.0
        correct = filled == 1.0 and not broken
        parsed = render_grid(grid, self.symbols(content))
        components = {"correct": float(correct), "format": 1.0, "cells_filled": filled, "rules_satisfied": satisfied}
        reward = 1.0 if correct else self.partial_reward * satisfied
        error = None
        if not correct:
            reasons = [f"{rows * cols - round(filled * rows * cols)} cell(s) left blank"] if filled < 1.0 else []
            reasons += broken[:_MAX_REPORTED_RULES]
            more = len(broken) - _MAX_REPORTED_RULES
            error = "; ".join(reasons) + (f"; and {more} more rule(s) broken" if more > 0 else "")
        return Score(reward, components, parsed, error)

    def solve(self, problem: Problem) -> str | None:
        """The solver's first solution (the stored one if the solver's node budget runs out)."""
        content = problem.content
        rows, cols = self.shape(content)
        result = search(self.build_csp(content), limit=1, max_nodes=self.max_solver_nodes)
        if result.solutions:
            values = result.values()[0]
            grid = [values[r * cols : (r + 1) * cols] for r in range(rows)]
        elif "solution" in problem.metadata:
            grid = problem.metadata["solution"]
        else:
            return None
        return f"<answer>\n{render_grid(grid, self.symbols(content))}\n</answer>"

    def count_solutions(self, content: Mapping[str, Any], limit: int = 2) -> tuple[int, bool]:
        """(solutions found up to `limit`, whether the search finished)."""
        result = search(self.build_csp(content), limit=limit, max_nodes=self.max_solver_nodes)
        return len(result.solutions), result.complete

    def make_grid_problem(self, question: str, content: Mapping[str, Any], solution: Sequence[Sequence[int]],
                          difficulty: Mapping[str, Any], unique: bool) -> Problem:
        """The Problem, with the generator's solution as the gold answer and in metadata."""
        solution = [list(row) for row in solution]
        answer = render_grid(solution, self.symbols(content))
        return self.make_problem(question, content, answer, difficulty, {"solution": solution, "unique": unique})


def digit_rows(grid: Sequence[Sequence[int | None]]) -> list[str]:
    """Rows as strings of digits with '.' for blanks (the canonical content form of givens)."""
    return ["".join("." if v is None else str(v) for v in row) for row in grid]


def parse_digit_rows(rows: Sequence[str]) -> list[list[int | None]]:
    """Inverse of `digit_rows`."""
    return [[None if char == "." else int(char) for char in row] for row in rows]


def latin_rules(grid: Grid, size: int) -> list[tuple[str, bool]]:
    """Each row and column holds 1..N once each."""
    wanted = set(range(1, size + 1))
    checks = [(f"row {r + 1} must hold 1-{size} once each", set(grid[r]) == wanted) for r in range(size)]
    checks += [(f"column {c + 1} must hold 1-{size} once each", {grid[r][c] for r in range(size)} == wanted)
               for c in range(size)]
    return checks


def given_rules(givens: Sequence[str], grid: Grid) -> list[tuple[str, bool]]:
    """Each given digit stays as given."""
    return [(f"cell {cell_name(r, c)} is given as {char}", grid[r][c] == int(char))
            for r, row in enumerate(givens) for c, char in enumerate(row) if char != "."]
