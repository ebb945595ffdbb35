"""Grid logic puzzles whose verifiers check the rules: Sudoku, Futoshiki, Skyscraper, Kukurasu,
Calcudoko.

Every puzzle is a `GridPuzzleTask` (`grid.py`: answer reading, scoring, oracle) over the small
constraint solver in `csp.py`, which generates clue sets, proves uniqueness and solves.
"""

from rlvr.envs.puzzles.calcudoko import CalcudokoEnv, CalcudokoTask
from rlvr.envs.puzzles.csp import Csp, SearchResult, search
from rlvr.envs.puzzles.futoshiki import FutoshikiEnv, FutoshikiTask
from rlvr.envs.puzzles.grid import GridPuzzleTask, GridReading, read_grid, render_grid
from rlvr.envs.puzzles.kukurasu import KukurasuEnv, KukurasuTask
from rlvr.envs.puzzles.skyscraper import SkyscraperEnv, SkyscraperTask
from rlvr.envs.puzzles.sudoku import SudokuEnv, SudokuTask

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
    "SudokuEnv",
    "SudokuTask",
    "read_grid",
    "render_grid",
    "search",
]
