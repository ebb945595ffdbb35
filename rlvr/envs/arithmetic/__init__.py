"""The arithmetic kit: what the arithmetic families (MathTree, Countdown, Game24, RandomCalc,
Calcudoko) share, so that none of them imports another.

- `exact`: exact rational operations, the operator table and printing with minimal parentheses.
- `drawer`: `ExpressionDrawer`, RandomCalc's random expression trees with exactly k operations.
- `targeted`: `draw_valued`, an expression drawn the same way to a given exact value.
- `grammar`: the expression grammar and exact, bounded evaluation of expression text.
- `knobs`: `OperatorsKnob`, the difficulty knob naming the operators a problem may use.
- `answer`: reading and checking a "use each number once" expression answer.
- `solver`: exhaustive solvers for those puzzles (count the solutions, find one).
- `puzzle`: `ExpressionPuzzleTask`, the scoring Countdown and Game24 share.
- `step_env`: `ArithmeticStepEnv`, the base of the "a op b = c" step-level envs.
"""

from rlvr.envs.arithmetic.answer import check_expression, read_expression
from rlvr.envs.arithmetic.exact import BINARY_OPERATORS, PRECEDENCE, apply_operator, join_operands
from rlvr.envs.arithmetic.grammar import ExpressionError, evaluate, evaluate_cached, expression_tree
from rlvr.envs.arithmetic.knobs import OperatorsKnob
from rlvr.envs.arithmetic.puzzle import ExpressionPuzzleTask
from rlvr.envs.arithmetic.solver import count_solutions, find_solution, solvable_multisets
from rlvr.envs.arithmetic.step_env import ArithmeticStepEnv, StepState, parse_step

__all__ = [
    "BINARY_OPERATORS",
    "PRECEDENCE",
    "ArithmeticStepEnv",
    "ExpressionError",
    "ExpressionPuzzleTask",
    "OperatorsKnob",
    "StepState",
    "apply_operator",
    "check_expression",
    "count_solutions",
    "evaluate",
    "evaluate_cached",
    "expression_tree",
    "find_solution",
    "join_operands",
    "parse_step",
    "read_expression",
    "solvable_multisets",
]
