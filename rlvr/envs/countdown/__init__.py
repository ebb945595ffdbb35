"""Countdown: use each given number exactly once to write an expression equal to a target."""

from rlvr.envs.countdown.answer import check_expression, read_expression
from rlvr.envs.countdown.solver import count_solutions, find_solution, solvable_multisets
from rlvr.envs.countdown.task import CountdownEnv, CountdownTask, ExpressionPuzzleTask

__all__ = [
    "CountdownEnv",
    "CountdownTask",
    "ExpressionPuzzleTask",
    "check_expression",
    "count_solutions",
    "find_solution",
    "read_expression",
    "solvable_multisets",
]
