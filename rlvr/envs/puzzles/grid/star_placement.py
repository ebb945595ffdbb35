"""`StarPlacementTask` and `StarPlacementEnv` (`rlvr/StarPlacement-v0`): a Star Battle puzzle.

An N x N grid is split into N regions (shown as a grid of letters). Place stars so that every
row, every column and every region holds exactly k stars and no two stars touch, diagonally
included. The answer lists the stars as 1-based `(row, column)` pairs, e.g. `(1, 2), (2, 4)`,
found by the rules of `answers.answer_text`. The verifier applies the rules to the listed stars,
so any valid placement passes; a stored solution is never compared.

Generation: a random valid placement (row-by-row backtracking in random order), then regions
grown around it: N of the stars seed the regions, which grow one random frontier cell at a time,
a region taking a star cell only while it holds fewer than k stars. With `unique=True`,
`make_unique` then reshapes regions while `count_placements` (row-by-row search with column,
region and adjacency pruning, bounded by `SEARCH_NODE_LIMIT`) finds another solution: a star of
that other solution, empty in the intended one, moves to a neighbouring region, which kills the
other solution and keeps the intended one. The puzzle is kept only once the search proves the
placement unique; a search that hits its bound counts as not proved and the draw is rejected.

Knobs: `size` (N), `stars` (k), `unique`, `max_attempts`. Unique puzzles take about 10 ms at
N = 6, 0.1 s at N = 8 and seconds at N = 10 (one star); two stars need N >= 8 and at N = 10 are
rarely proved unique within the search bound, so `unique=False` is the setting for those. Components: "correct", "rules"
(logged only: share of the 3N counting rules plus the no-touching rule that hold), "format".

>>> regions = ["AABB", "AABB", "CCDD", "CCDD"]
>>> check_placement(regions, 1, [(0, 1), (1, 3), (2, 0), (3, 2)])
(True, 1.0, None)
>>> check_placement(regions, 1, [(0, 0), (1, 1), (2, 3), (3, 2)])
(False, 0.6153846153846154, 'stars at (1, 1) and (2, 2) touch...')
>>> import numpy as np
>>> task = StarPlacementTask()
>>> problem = task.sample(np.random.default_rng(0), {"size": 5})
>>> task.score(problem, task.solve(problem)).reward
1.0
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from rlvr.core.cards import EnvCard
from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.core.text_env import TextEnv
from rlvr.envs.puzzles.answers import answer_text, strip_label

SEARCH_NODE_LIMIT = 200_000
"""Search nodes a placement search may visit before it gives up (uniqueness then unproved)."""
MAX_REPAIRS = 60
"""Region reshapes tried on one draw to remove other solutions before drawing again."""
REGION_LETTERS = "ABCDEFGHIJKLMNOP"
_PAIR = re.compile(r"\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)")
_SEPARATORS = re.compile(r"[\s,;]+|\band\b")


def _row_choices(size: int, stars: int) -> list[tuple[int, ...]]:
    """Column sets a row may hold: `stars` columns, no two side by side."""
    return [cols for cols in itertools.combinations(range(size), stars)
            if all(b - a > 1 for a, b in itertools.pairwise(cols))]


def _touches(cols: Sequence[int], previous: Sequence[int]) -> bool:
    return any(abs(c - p) <= 1 for c in cols for p in previous)


def random_placement(rng: np.random.Generator, size: int, stars: int) -> list[tuple[int, ...]] | None:
    """Star columns per row of a random valid placement (regions ignored), or None if none found."""
    choices = _row_choices(size, stars)
    column_count = [0] * size
    rows: list[tuple[int, ...]] = []
    budget = [SEARCH_NODE_LIMIT]

    def extend() -> bool:
        if len(rows) == size:
            return True
        budget[0] -= 1
        if budget[0] < 0:
            return False
        remaining = size - len(rows)
        for index in rng.permutation(len(choices)):
            cols = choices[int(index)]
            if any(column_count[c] >= stars for c in cols) or (rows and _touches(cols, rows[-1])):
                continue
            for c in cols:
                column_count[c] += 1
            # a column gains at most one star every other row, so each must still be able to
            # reach k stars in the remaining - 1 rows left: at most remaining // 2 more
            if all(stars - n <= remaining // 2 for n in column_count):
                rows.append(cols)
                if extend():
                    return True
                rows.pop()
            for c in cols:
                column_count[c] -= 1
        return False

    return rows if extend() and all(n == stars for n in column_count) else None


def grow_regions(rng: np.random.Generator, size: int, stars: int, placement: Sequence[Sequence[int]]) -> list[str] | None:
    """Regions (rows of letters) holding `stars` stars each, grown at random around the placement."""
    star_cells = [(r, c) for r, cols in enumerate(placement) for c in cols]
    is_star = {cell: True for cell in star_cells}
    owner = [[-1] * size for _ in range(size)]
    held = [0] * size
    seeds = [star_cells[int(i)] for i in rng.choice(len(star_cells), size=size, replace=False)]
    for region, (r, c) in enumerate(seeds):
        owner[r][c], held[region] = region, 1
    unassigned = size * size - size
    while unassigned:
        frontier = []
        for r in range(size):
            for c in range(size):
                if owner[r][c] >= 0:
                    continue
                for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                    nr, nc = r + dr, c + dc
                    if 0 <= nr < size and 0 <= nc < size and owner[nr][nc] >= 0:
                        region = owner[nr][nc]
                        if not is_star.get((r, c)) or held[region] < stars:
                            frontier.append((r, c, region))
        if not frontier:
            return None
        r, c, region = frontier[int(rng.integers(len(frontier)))]
        owner[r][c] = region
        held[region] += bool(is_star.get((r, c)))
        unassigned -= 1
    if any(n != stars for n in held):
        return None
    return ["".join(REGION_LETTERS[owner[r][c]] for c in range(size)) for r in range(size)]


def count_placements(regions: Sequence[str], stars: int, limit: int = 2) -> tuple[list[list[tuple[int, ...]]], bool]:
    """(up to `limit` valid placements as star columns per row, whether the search finished)."""
    size = len(regions)
    names = sorted({ch for row in regions for ch in row})
    index = {name: i for i, name in enumerate(names)}
    cell_region = [[index[ch] for ch in row] for row in regions]
    last_row = [max(r for r in range(size) if i in cell_region[r]) for i in range(len(names))]
    choices = _row_choices(size, stars)
    column_count, region_count = [0] * size, [0] * len(names)
    rows: list[tuple[int, ...]] = []
    found: list[list[tuple[int, ...]]] = []
    budget = [SEARCH_NODE_LIMIT]

    def extend() -> None:
        row = len(rows)
        if row == size:
            if all(n == stars for n in column_count):
                found.append(list(rows))
            return
        budget[0] -= 1
        if budget[0] < 0 or len(found) >= limit:
            return
        for cols in choices:
            if any(column_count[c] >= stars for c in cols) or (rows and _touches(cols, rows[-1])):
                continue
            touched = [cell_region[row][c] for c in cols]
            for c, region in zip(cols, touched, strict=True):
                column_count[c] += 1
                region_count[region] += 1
            closing_ok = all(region_count[i] == stars for i in range(len(names)) if last_row[i] == row)
            if closing_ok and all(region_count[i] <= stars for i in touched):
                rows.append(cols)
                extend()
                rows.pop()
            for c, region in zip(cols, touched, strict=True):
                column_count[c] -= 1
                region_count[region] -= 1
            if len(found) >= limit or budget[0] < 0:
                return

    if names and len(names) == size and all(len(row) == size for row in regions):
        extend()
    return found, budget[0] >= 0


def _connected(cells: set[tuple[int, int]]) -> bool:
    if not cells:
        return False
    start = next(iter(cells))
    seen, stack = {start}, [start]
    while stack:
        r, c = stack.pop()
        for nxt in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
            if nxt in cells and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return len(seen) == len(cells)


def make_unique(
    rng: np.random.Generator, regions: Sequence[str], stars: int, placement: Sequence[Sequence[int]]
) -> list[str] | None:
    """Reshape regions until `placement` is the only solution, or None when that fails.

    While another solution exists, move one of its stars that `placement` leaves empty into a
    neighbouring region (keeping both regions connected): the other solution then has a region
    with k - 1 stars and one with k + 1, so it dies, while `placement`'s counts do not change."""
    grid = [list(row) for row in regions]
    size = len(grid)
    intended = [tuple(cols) for cols in placement]
    for _ in range(MAX_REPAIRS):
        found, finished = count_placements(["".join(row) for row in grid], stars)
        if not finished:
            return None
        others = [solution for solution in found if solution != intended]
        if not others:
            return ["".join(row) for row in grid]
        stars_of_intended = {(r, c) for r, cols in enumerate(intended) for c in cols}
        moves = []
        for r, cols in enumerate(others[0]):
            for c in cols:
                if (r, c) in stars_of_intended:
                    continue
                old = grid[r][c]
                rest = {(i, j) for i in range(size) for j in range(size) if grid[i][j] == old} - {(r, c)}
                if not _connected(rest):
                    continue
                for nr, nc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                    if 0 <= nr < size and 0 <= nc < size and grid[nr][nc] != old:
                        moves.append((r, c, grid[nr][nc]))
        if not moves:
            return None
        r, c, new = moves[int(rng.integers(len(moves)))]
        grid[r][c] = new
    return None


def check_placement(regions: Sequence[str], stars: int, cells: Sequence[tuple[int, int]]) -> tuple[bool, float, str | None]:
    """(all rules hold, share of rules that hold, first broken rule) for 0-based star cells."""
    size = len(regions)
    outside = [cell for cell in cells if not (0 <= cell[0] < size and 0 <= cell[1] < size)]
    if outside:
        r, c = outside[0]
        return False, 0.0, f"({r + 1}, {c + 1}) is outside the {size}x{size} grid"
    if len(set(cells)) != len(cells):
        return False, 0.0, "a cell is listed twice"
    problems: list[str] = []
    total = 3 * size + 1  # the counting rules of every row, column and region, and no touching
    groups = {"row": [r for r, _ in cells], "column": [c for _, c in cells],
              "region": [regions[r][c] for r, c in cells]}
    labels = {"row": range(size), "column": range(size), "region": sorted({ch for row in regions for ch in row})}
    for kind, values in groups.items():
        for label in labels[kind]:
            count = values.count(label)
            if count != stars:
                shown = label + 1 if isinstance(label, int) else label
                problems.append(f"{kind} {shown} has {count} stars, expected {stars}")
    chosen = sorted(cells)
    touching = [(a, b) for a, b in itertools.combinations(chosen, 2)
                if max(abs(a[0] - b[0]), abs(a[1] - b[1])) <= 1]
    if touching:
        (ar, ac), (br, bc) = touching[0]
        problems.insert(0, f"stars at ({ar + 1}, {ac + 1}) and ({br + 1}, {bc + 1}) touch")
    share = max(0.0, 1.0 - len(problems) / total)
    if problems:
        return False, share, problems[0] + ("..." if len(problems) > 1 else "")
    return True, 1.0, None


def read_cells(text: str) -> tuple[list[tuple[int, int]] | None, str | None]:
    """0-based cells from 1-based `(row, column)` pairs; any other text is an error."""
    text = strip_label(text).strip("[]{} ")
    pairs = [(int(m.group(1)) - 1, int(m.group(2)) - 1) for m in _PAIR.finditer(text)]
    leftover = _SEPARATORS.sub("", _PAIR.sub("", text))
    if not pairs or leftover:
        return None, f"expected (row, column) pairs like '(1, 2), (3, 4)', got {text[:80]!r}"
    return pairs, None


class StarPlacementTask(Task):
    """Place stars in a region grid by the Star Battle rules (see the module doc)."""

    name: ClassVar[str] = "star_placement"
    version: ClassVar[int] = 1  # 1: answers read by rlvr.rewards.answers (think tails, tags, boxes)
    reward_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob("size", 6, "grid side N (also the number of regions)", low=4, high=10),
        Knob("stars", 1, "stars per row, column and region", low=1, high=2),
        Knob("unique", True, "keep only puzzles whose solution is proved unique"),
        Knob("max_attempts", 2000, "draws allowed to find a puzzle", low=1, high=100_000),
    )
    default_template: ClassVar[PromptTemplate] = PromptTemplate(
        instruction="List the stars as (row, column) pairs, rows and columns numbered from 1 at the top left, "
        "in <answer> </answer> tags, for example <answer>(1, 2), (2, 4)</answer>."
    )

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        size, stars = difficulty["size"], difficulty["stars"]
        for _ in range(difficulty["max_attempts"]):
            placement = random_placement(rng, size, stars)
            if placement is None:
                break  # no placement exists for this size and star count
            regions = grow_regions(rng, size, stars, placement)
            if regions is None:
                continue
            if difficulty["unique"]:
                regions = make_unique(rng, regions, stars, placement)
                if regions is None:
                    continue
            return self._build(difficulty, regions, placement)
        raise RuntimeError(f"{self.name}: no {'unique ' if difficulty['unique'] else ''}{size}x{size} puzzle "
                           f"with {stars} star(s) per row in {difficulty['max_attempts']} draws; change the knobs")

    def _build(self, difficulty: Mapping[str, Any], regions: list[str], placement: Sequence[Sequence[int]]) -> Problem:
        stars = difficulty["stars"]
        grid = "\n".join(" ".join(row) for row in regions)
        question = (f"Regions of this {len(regions)}x{len(regions)} grid are marked by letters:\n\n{grid}\n\n"
                    f"Place stars so that every row, every column and every region contains exactly {stars} "
                    f"star{'s' if stars > 1 else ''}, and no two stars touch, not even diagonally.")
        # the gold answer is one valid placement (the only one when `unique`); scoring never uses it
        answer = ", ".join(f"({r + 1}, {c + 1})" for r, cols in enumerate(placement) for c in cols)
        return self.make_problem(question, {"regions": regions, "stars": stars}, answer, difficulty)

    def score(self, problem: Problem, response: str) -> Score:
        text, error = answer_text(response)
        if text is None:
            return Score.zero(error or "no answer found", rules=0.0, format=0.0)
        cells, error = read_cells(text)
        if cells is None:
            return Score.zero(error or "unreadable answer", text, rules=0.0, format=0.0)
        correct, share, error = check_placement(problem.content["regions"], problem.content["stars"], cells)
        parsed = ", ".join(f"({r + 1}, {c + 1})" for r, c in cells)
        return Score(float(correct), {"correct": float(correct), "rules": share, "format": 1.0}, parsed, error)

    def solve(self, problem: Problem) -> str | None:
        found, _ = count_placements(problem.content["regions"], problem.content["stars"], limit=1)
        if not found:
            return None
        cells = [(r + 1, c + 1) for r, cols in enumerate(found[0]) for c in cols]
        return "<answer>" + ", ".join(f"({r}, {c})" for r, c in cells) + "</answer>"


class StarPlacementEnv(TextEnv):
    """`rlvr/StarPlacement-v0`: one region grid per episode, one response per episode (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = StarPlacementTask
    card = EnvCard(
        summary="Star Battle: an NxN grid split into N lettered regions; place k stars in every row, column "
        "and region with no two stars touching (diagonals included); unique solution proved by search by "
        "default.",
        observation="text prompt: the region grid",
        action="text response: the stars as 1-based (row, column) pairs in <answer></answer> tags",
        reward="1 if the listed stars obey every rule (any valid placement passes), else 0 with the broken "
        "rule; components: correct, rules (share of rules met, logged), format",
        task=task_class,
    )
