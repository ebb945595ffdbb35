"""Puzzles on a board of cells whose verifiers check the rules: Sudoku, Futoshiki, Skyscraper,
Kukurasu, Calcudoko and Star Battle placement (one module each, holding its Task and its env).

The first five are `GridPuzzleTask`s (`board.py`: board reading, scoring, oracle) over the small
constraint solver in `csp.py`, which generates clue sets, proves uniqueness and solves. Star
Battle (`star_placement.py`) has its own region generator and counter, and its answer is a list
of cells, read as the logic puzzles read theirs (`rlvr.envs.puzzles.answers`).
"""

from rlvr.envs.puzzles.grid.board import GridPuzzleTask, GridReading, read_grid, render_grid
from rlvr.envs.puzzles.grid.calcudoko import CalcudokoEnv, CalcudokoTask
from rlvr.envs.puzzles.grid.csp import Csp, SearchResult, search
from rlvr.envs.puzzles.grid.futoshiki import FutoshikiEnv, FutoshikiTask
from rlvr.envs.puzzles.grid.kukurasu import KukurasuEnv, KukurasuTask
from rlvr.envs.puzzles.grid.skyscraper import SkyscraperEnv, SkyscraperTask
from rlvr.envs.puzzles.grid.star_placement import (
    StarPlacementEnv,
    StarPlacementTask,
    check_placement,
    count_placements,
    read_cells,
)
from rlvr.envs.puzzles.grid.sudoku import SudokuEnv, SudokuTask

__all__ = [
    "CalcudokoEnv",
    "CalcudokoTask",
    "Csp",
    "FutoshikiEnv",
    "FutoshikiTask",
    "GridPuzzleTask",
    "GridReading",
    "KukurasuEnv",
    "KukurasuTask",
    "SearchResult",
    "SkyscraperEnv",
    "SkyscraperTask",
    "StarPlacementEnv",
    "StarPlacementTask",
    "SudokuEnv",
    "SudokuTask",
    "check_placement",
    "count_placements",
    "read_cells",
    "read_grid",
    "render_grid",
    "search",
]
