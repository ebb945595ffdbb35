"""Logic puzzles with rule-checking verifiers: Star Battle placement, web of lies, cryptarithms,
Dyck-word completion and Boolean expressions (one module each).

Every verifier applies the puzzle's rules to the response, so any valid answer passes and no
stored solution is compared; every task has an oracle (`solve`) and draws problems only from
the numpy Generator it is given.
"""

from rlvr.envs.puzzles2.boolean_expr import BooleanExprEnv, BooleanExprTask, evaluate
from rlvr.envs.puzzles2.cryptarithm import (
    CryptarithmEnv,
    CryptarithmTask,
    check_mapping,
    count_solutions,
    find_solutions,
    read_mapping,
)
from rlvr.envs.puzzles2.dyck import DyckEnv, DyckTask, check_completion, closing_sequence
from rlvr.envs.puzzles2.star_placement import (
    StarPlacementEnv,
    StarPlacementTask,
    check_placement,
    count_placements,
    read_cells,
)
from rlvr.envs.puzzles2.web_of_lies import WebOfLiesEnv, WebOfLiesTask, consistent_answers

__all__ = [
    "BooleanExprEnv",
    "BooleanExprTask",
    "CryptarithmEnv",
    "CryptarithmTask",
    "DyckEnv",
    "DyckTask",
    "StarPlacementEnv",
    "StarPlacementTask",
    "WebOfLiesEnv",
    "WebOfLiesTask",
    "check_completion",
    "check_mapping",
    "check_placement",
    "closing_sequence",
    "consistent_answers",
    "count_placements",
    "count_solutions",
    "evaluate",
    "find_solutions",
    "read_cells",
    "read_mapping",
]
