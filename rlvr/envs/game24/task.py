"""`Game24Task`: make 24 from four numbers, each used once (the envs are in `env.py` and `step_env.py`).

The response writes one expression with `+ - * /` and parentheses over the four given numbers,
each exactly once, whose exact value (`fractions.Fraction`) is the target: `8/(3-8/3)` makes 24
from 3, 3, 8, 8. Answers are read as in Countdown (`<answer>` tags, else the last `\\boxed{}`,
else the last line; a trailing "= 24" is allowed). Reward 1 when correct, else 0 (a
`format_reward` for well-formed wrong expressions can be set); components "correct",
"format", "uses_numbers". Any valid expression passes; the stored solution is never compared.

Generation draws uniformly (seeded) from the multisets that have a solution. They are not
shipped: `solvable_multisets` finds them by exhaustive search, once per (number range, target,
operators), in under a second for 1..13 (1,362 of the 1,820 multisets make 24). The difficulty
measure is the number of distinct solutions (expression trees, `+` and `*` operands unordered;
see `rlvr.envs.arithmetic.solver`): `max_solutions=2` keeps the hard ones such as 3, 3, 8, 8 (one
solution).

>>> import numpy as np
>>> task = Game24Task()
>>> problem = task.sample(np.random.default_rng(0))
>>> task.score(problem, task.solve(problem)).reward
1.0
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem
from rlvr.core.templates import PromptTemplate
from rlvr.envs.arithmetic.exact import BINARY_OPERATORS
from rlvr.envs.arithmetic.knobs import OperatorsKnob
from rlvr.envs.arithmetic.puzzle import ExpressionPuzzleTask
from rlvr.envs.arithmetic.solver import find_solution, solvable_multisets

NUMBER_COUNT = 4
MAX_RANGE_WIDTH = 20
"""Widest number range: the exhaustive search over C(width + 3, 4) multisets stays a few seconds."""


def problem_pool(difficulty: Mapping[str, Any]) -> tuple[tuple[tuple[int, ...], int], ...]:
    """(sorted numbers, solution count) of every multiset the difficulty allows."""
    d = difficulty
    low, high = d["number_min"], d["number_max"]
    if low > high or high - low + 1 > MAX_RANGE_WIDTH:
        raise ValueError(f"need number_min <= number_max and at most {MAX_RANGE_WIDTH} numbers in the range, "
                         f"got [{low}, {high}]")
    most = d["max_solutions"] or None
    if most is not None and most < d["min_solutions"]:
        raise ValueError(f"max_solutions ({most}) must be 0 (no cap) or >= min_solutions ({d['min_solutions']})")
    pool = _filtered_pool(low, high, d["target"], d["operators"], d["min_solutions"], most)
    if not pool:
        raise ValueError(f"no multiset of {NUMBER_COUNT} numbers in [{low}, {high}] makes {d['target']} with "
                         f"{d['min_solutions']} to {most or 'any number of'} solutions")
    return pool


@lru_cache(maxsize=64)
def _filtered_pool(low: int, high: int, target: int, operators: tuple[str, ...], fewest: int,
                   most: int | None) -> tuple[tuple[tuple[int, ...], int], ...]:
    every = solvable_multisets(low, high, NUMBER_COUNT, target, operators)
    return tuple(item for item in every if item[1] >= fewest and (most is None or item[1] <= most))


class Game24Task(ExpressionPuzzleTask):
    """Make the target (24) from four numbers, each used once (see the module doc)."""

    name: ClassVar[str] = "game24"
    version: ClassVar[int] = 1  # 1: answers read by rlvr.rewards.answers (think tails, tags, boxes)
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob("number_min", 1, "smallest number", low=0, high=1000),
        Knob("number_max", 13, "largest number", low=0, high=1000),
        Knob("target", 24, "the value to make", low=-1000, high=1000),
        OperatorsKnob("operators", BINARY_OPERATORS, f"operators allowed, a subset of {BINARY_OPERATORS}"),
        Knob("min_solutions", 1, "fewest distinct solutions a problem has", low=1, high=10**6),
        Knob("max_solutions", 0, "most distinct solutions a problem has (0: no cap); few = hard",
             low=0, high=10**6),
    )
    default_template: ClassVar[PromptTemplate] = PromptTemplate(
        instruction="Show your work, then give only the expression in <answer> </answer> tags, "
        "for example <answer>(1 + 2 + 3) * 4</answer>."
    )

    def __init__(self, template: PromptTemplate | None = None, *, format_reward: float = 0.0) -> None:
        super().__init__(template, format_reward=format_reward)

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        pool = problem_pool(difficulty)
        numbers, solutions = pool[int(rng.integers(len(pool)))]
        target, operators = difficulty["target"], difficulty["operators"]
        listed = ", ".join(str(n) for n in numbers)
        question = (f"Use the numbers {listed} and the operators {' '.join(operators)} (with parentheses) to make "
                    f"{target}. Use each number exactly once.")
        content = {"numbers": list(numbers), "target": target, "operators": "".join(operators)}
        metadata = {"solution": find_solution(numbers, target, operators), "solutions": solutions}
        return self.make_problem(question, content, str(target), difficulty, metadata, numbers=listed)
