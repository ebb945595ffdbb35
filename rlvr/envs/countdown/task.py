"""`CountdownTask`: reach a target with given numbers (the env, `rlvr/Countdown-v0`, is in `env.py`).

Given numbers and a target, the response writes one arithmetic expression (`+ - * /`,
parentheses) that uses each given number exactly once and equals the target exactly
(`fractions.Fraction`: intermediate fractions are fine, `8/(3-8/3)` is 24). How the answer is
found and read is in the arithmetic kit (`rlvr.envs.arithmetic.answer`): `<answer>...</answer>` tags, else the last `\\boxed{}`, else the
last line; one trailing "= N" is allowed when N is the expression's value.

Reward, as in the Countdown setup used for ROVER: 1 for a correct expression, `format_reward`
(0.1 by default) for a well-formed expression that is wrong (wrong numbers, wrong value, an
operator the problem does not allow, a false "= N" claim), 0 when no expression can be read. Components: "correct", "format",
"uses_numbers". Any valid expression passes: no stored solution is compared.

Generation is solvable by construction: draw the numbers, combine random neighbours with random
operators until two values are left, then try the operators (from a random one) on those two
and keep the first whose exact value is an integer in the target range, else draw again; that
expression is the oracle's answer. `count_solutions` (`rlvr.envs.arithmetic.solver`) counts all of them.

>>> import numpy as np
>>> task = CountdownTask()
>>> problem = task.sample(np.random.default_rng(0), {"number_count": 3})
>>> task.score(problem, task.solve(problem)).reward
1.0
>>> task.score(problem, "<answer>1 + 1</answer>").reward, task.score(problem, "no idea").reward
(0.1, 0.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem
from rlvr.core.templates import PromptTemplate
from rlvr.envs.arithmetic.exact import (
    ATOM_PRECEDENCE,
    BINARY_OPERATORS,
    PRECEDENCE,
    apply_operator,
    join_operands,
)
from rlvr.envs.arithmetic.knobs import OperatorsKnob
from rlvr.envs.arithmetic.puzzle import ExpressionPuzzleTask

MAX_GENERATION_ATTEMPTS = 2000
COUNTDOWN_FORMAT_REWARD = 0.1


def _draw_expression(
    numbers: list[int], operators: tuple[str, ...], uniforms: list[float], low: int, high: int
) -> tuple[int, str] | None:
    """(target, expression) from combining neighbours in random order, or None when no operator at
    the last combination gives an integer in [low, high]. Every tree shape and operator can come
    out; at the last combination every operator is tried (from a random start), which keeps
    most draws instead of rejecting three in four."""
    items: list[tuple[Fraction, str, int]] = [(Fraction(n), str(n), ATOM_PRECEDENCE) for n in numbers]
    draws = iter(uniforms)
    while len(items) > 2:
        index = int(next(draws) * (len(items) - 1))
        op = operators[int(next(draws) * len(operators))]
        combined = _combine(items[index], op, items[index + 1])
        if combined is None:
            return None
        items[index : index + 2] = [combined]
    start = int(next(draws) * len(operators))
    for shift in range(len(operators)):
        op = operators[(start + shift) % len(operators)]
        combined = _combine(items[0], op, items[1])
        if combined is not None and combined[0].denominator == 1 and low <= combined[0] <= high:
            return int(combined[0]), combined[1]
    return None


def _combine(left: tuple[Fraction, str, int], op: str, right: tuple[Fraction, str, int]):
    """(value, text, precedence) of `left op right` with the fewest parentheses; None on x/0."""
    value = apply_operator(left[0], op, right[0])
    if value is None:
        return None
    return value, join_operands(op, left[1], left[2], right[1], right[2]), PRECEDENCE[op]


class CountdownTask(ExpressionPuzzleTask):
    """Use each given number exactly once to make the target (see the module doc)."""

    name: ClassVar[str] = "countdown"
    version: ClassVar[int] = 1  # 1: answers read by rlvr.rewards.answers (think tails, tags, boxes)
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob("number_count", 4, "how many numbers are given (all must be used)", low=2, high=6),
        Knob("number_min", 1, "smallest given number", low=0, high=10_000),
        Knob("number_max", 99, "largest given number", low=0, high=10_000),
        Knob("target_min", 1, "smallest target", low=-(10**6), high=10**6),
        Knob("target_max", 100, "largest target", low=-(10**6), high=10**6),
        OperatorsKnob("operators", BINARY_OPERATORS, f"operators allowed, a subset of {BINARY_OPERATORS}"),
    )
    default_template: ClassVar[PromptTemplate] = PromptTemplate(
        instruction="Show your work, then give only the expression in <answer> </answer> tags, "
        "for example <answer>(1 + 2) / 3</answer>."
    )

    def __init__(self, template: PromptTemplate | None = None, *,
                 format_reward: float = COUNTDOWN_FORMAT_REWARD) -> None:
        super().__init__(template, format_reward=format_reward)

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        d = difficulty
        low, high, target_low, target_high = d["number_min"], d["number_max"], d["target_min"], d["target_max"]
        if low > high or target_low > target_high:
            raise ValueError(f"need number_min <= number_max and target_min <= target_max, got numbers "
                             f"[{low}, {high}] and targets [{target_low}, {target_high}]")
        operators = d["operators"]
        count = d["number_count"]
        for _ in range(MAX_GENERATION_ATTEMPTS):
            # One numpy call an attempt: numbers, then a (position, operator) pair per combination.
            uniforms = rng.random(3 * count).tolist()
            numbers = [low + int(u * (high - low + 1)) for u in uniforms[:count]]
            found = _draw_expression(numbers, operators, uniforms[count:], target_low, target_high)
            if found is not None:
                return self._build(d, sorted(numbers), *found)
        raise RuntimeError(
            f"{self.name}: no expression of {d['number_count']} numbers in [{low}, {high}] with operators "
            f"{operators!r} had an integer value in [{target_low}, {target_high}] in {MAX_GENERATION_ATTEMPTS} "
            "draws; widen the target range"
        )

    def _build(self, d: Mapping[str, Any], numbers: list[int], target: int, solution: str) -> Problem:
        listed = ", ".join(str(n) for n in numbers)
        question = (f"Using the numbers [{listed}], write an arithmetic expression that equals {target}. "
                    f"Use each number exactly once; you may use the operators {' '.join(d['operators'])} "
                    "and parentheses.")
        content = {"numbers": numbers, "target": target, "operators": "".join(d["operators"])}
        return self.make_problem(question, content, str(target), d, {"solution": solution})
