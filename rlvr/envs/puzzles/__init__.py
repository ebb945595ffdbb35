"""Puzzles with rule-checking verifiers, by kind (task names and problem ids do not depend on it):

- `grid/`: puzzles played on a board of cells, whose answer is the filled board or a set of cells:
  Sudoku, Futoshiki, Skyscraper, Kukurasu and Calcudoko (Latin-square and digit-grid constraint
  puzzles over the small solver in `grid/csp.py`, sharing the board reading of `grid/board.py`)
  and Star Battle placement (`grid/star_placement.py`, regions of a square board).
- `logic/`: puzzles over a symbolic statement, solved by deduction and answered on one line:
  Boolean expressions and webs of lies (truth values), cryptarithms (a letter-to-digit mapping)
  and Dyck words (the closing brackets).
- `answers.py`: reading the answer text out of a response, shared by Star Battle and the logic
  puzzles (the board puzzles read whole boards, see `grid/board.py`).

Import a puzzle from its kind: `from rlvr.envs.puzzles.grid import SudokuEnv`,
`from rlvr.envs.puzzles.logic import DyckTask`.
"""
