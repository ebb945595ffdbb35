"""Logic puzzles with rule-checking verifiers: web of lies, cryptarithms, Dyck-word completion and
Boolean expressions (one module each, holding its Task and its env).

Every verifier applies the puzzle's rules to the response, so any valid answer passes and no
stored solution is compared; every task has an oracle (`solve`) and draws problems only from
the numpy Generator it is given.
"""

from rlvr.envs.puzzles.logic.boolean_expr import BooleanExprEnv, BooleanExprTask, evaluate
from rlvr.envs.puzzles.logic.cryptarithm import (
    CryptarithmEnv,
    CryptarithmTask,
    check_mapping,
    count_solutions,
    find_solutions,
    read_mapping,
)
from rlvr.envs.puzzles.logic.dyck import DyckEnv, DyckTask, check_completion, closing_sequence
from rlvr.envs.puzzles.logic.web_of_lies import WebOfLiesEnv, WebOfLiesTask, consistent_answers

__all__ = [
    "BooleanExprEnv",
    "BooleanExprTask",
    "CryptarithmEnv",
    "CryptarithmTask",
    "DyckEnv",
    "DyckTask",
    "WebOfLiesEnv",
    "WebOfLiesTask",
    "check_completion",
    "check_mapping",
    "closing_sequence",
    "consistent_answers",
    "count_solutions",
    "evaluate",
    "find_solutions",
    "read_mapping",
]
