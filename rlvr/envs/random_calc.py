"""RandomCalc: leakage-free arithmetic with exactly k operations, evaluated exactly.

Each problem is a fresh random expression tree with exactly `num_ops` binary operations over
random integer operands, so no problem is likely to have been seen in any corpus. The operator
set is `+ - * /` by default; `^` (a power with a small literal exponent) can be added. Values are
`fractions.Fraction` throughout: a zero divisor, or any intermediate value whose numerator or
denominator passes its cap, is rejected and re-drawn (first by trying the other operators on the
same operands, then by re-drawing the subtree).

Printing uses minimal parentheses under the usual precedence (`^` binds tightest and groups to
the right, then `* /`, then `+ -`, both left to right): a child is wrapped only when precedence or
order demands it, and a negative operand is always written `(-3)`. The gold answer is the exact
value: an integer, or a reduced fraction "a/b".

Reward: 1 when the extracted answer equals the gold exactly. A plain number (integer, decimal,
a/b, \\frac{a}{b}; a fraction need not be reduced) is compared as a Fraction; an expression
("3 + 4") scores zero, since the checkers would evaluate it and boxing the question would pass;
other forms go to `verify_answer`. The dense component `relative_error_reward` is our own
design (no paper defines one): 1 for the exact value, else
`0.9 * max(0, 1 - |answer - gold| / max(|gold|, 1))`, so a wrong answer never reaches 1 and an
answer off by 100% or with the wrong sign earns 0. It is logged only, unless
`dense_reward=True` makes it the reward.

>>> import numpy as np
>>> task = RandomCalcTask()
>>> problem = task.sample(np.random.default_rng(0), {"num_ops": 3})
>>> task.score(problem, task.solve(problem)).reward
1.0
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from rlvr.core.cards import EnvCard
from rlvr.core.difficulty import Knob
from rlvr.core.formatting import format_number
from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.core.text_env import TextEnv
from rlvr.envs.arithmetic.drawer import NODE_DRAWS_PER_OP, OPERATORS, ExpressionDrawer, TooTight
from rlvr.envs.arithmetic.exact import BINARY_OPERATORS
from rlvr.envs.arithmetic.knobs import OperatorsKnob
from rlvr.rewards.math import MODES, check_extraction, extract_answer, parse_number, read_value

_ASSIGNMENT = re.compile(r"^\s*[A-Za-z][A-Za-z0-9_]*\s*=\s*")
"""A leading "x =" before the value of an answer."""

MAX_INEXACT_REWARD = 0.9
"""The most a wrong answer earns from `relative_error_reward`: exactness keeps a visible margin."""

def relative_error_reward(gold: Fraction, answer: Fraction) -> float:
    """Dense closeness reward (ours): 1 when exact, else at most 0.9, falling to 0 at 100% error.

    >>> relative_error_reward(Fraction(10), Fraction(10)), relative_error_reward(Fraction(10), Fraction(9))
    (1.0, 0.81)
    >>> relative_error_reward(Fraction(10), Fraction(-10))
    0.0
    """
    if answer == gold:
        return 1.0
    error = abs(answer - gold) / max(abs(gold), Fraction(1))
    return float(MAX_INEXACT_REWARD * max(Fraction(0), 1 - error))


class RandomCalcTask(Task):
    """Evaluate a random k-operation arithmetic expression exactly."""

    name: ClassVar[str] = "random_calc"
    version: ClassVar[int] = 1  # 1: answers read by rlvr.rewards.answers (think tails, tags, boxes)
    reward_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob("num_ops", 4, "number of binary operations in the expression (exactly)", low=1, high=20),
        Knob("min_operand", 1, "smallest integer operand (negatives are printed as (-n))", low=-10**6, high=10**6),
        Knob("max_operand", 20, "largest integer operand", low=-10**6, high=10**6),
        OperatorsKnob("operators", BINARY_OPERATORS, f"operators to draw from, a subset of {OPERATORS}",
                      alphabet=OPERATORS, keep_order=True),
        Knob("max_exponent", 3, "largest exponent of a power (exponents are 2..max_exponent)", low=2, high=6),
        Knob("max_numerator", 10**6, "cap on |numerator| of every intermediate value", low=1, high=10**18),
        Knob("max_denominator", 10**4, "cap on the denominator of every value (1: integers only)", low=1, high=10**18),
    )
    default_template: ClassVar[PromptTemplate] = PromptTemplate(
        instruction="Give the exact value as an integer or a fraction a/b, "
        "and put your final answer within \\boxed{}."
    )

    def __init__(
        self,
        template: PromptTemplate | None = None,
        *,
        dense_reward: bool = False,
        extraction: Sequence[str] = MODES,
    ) -> None:
        super().__init__(template)
        self.dense_reward = bool(dense_reward)
        self.extraction = check_extraction(extraction)

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        low, high = difficulty["min_operand"], difficulty["max_operand"]
        if low > high:
            raise ValueError(f"min_operand must be <= max_operand, got {low} > {high}")
        if max(abs(low), abs(high)) > difficulty["max_numerator"]:
            raise ValueError(
                f"operands up to {max(abs(low), abs(high))} exceed max_numerator={difficulty['max_numerator']}"
            )
        drawer = ExpressionDrawer(rng, difficulty)
        try:
            value, expression, _ = drawer.draw(difficulty["num_ops"])
        except TooTight:
            raise RuntimeError(
                f"{self.name}: no expression fits the caps after {NODE_DRAWS_PER_OP} draws per operation "
                f"at difficulty {dict(difficulty)}; raise max_numerator/max_denominator or add operators"
            ) from None
        power_note = ", where ^ is exponentiation" if "^" in expression else ""
        question = f"Evaluate the following expression exactly, using the usual order of operations{power_note}.\n\n{expression}"
        return self.make_problem(
            question,
            content={"expression": expression},
            answer=format_number(value),
            difficulty=difficulty,
            metadata={"num_ops": difficulty["num_ops"]},
            expression=expression,
        )

    def score(self, problem: Problem, response: str) -> Score:
        gold = parse_number(str(problem.answer))
        extraction = extract_answer(response, self.extraction)
        if extraction.error is not None or extraction.answer is None:
            # A hedged ("3 or 4") or ambiguous answer comes back with its text and an error.
            return self._zero(extraction.error or "no answer found", extraction.answer)
        value, reason = read_value(extraction.answer)
        if reason is not None:
            return self._zero(reason, extraction.answer)
        if value is None:
            # The gold is always a number: other forms ("x = 7/3", "twelve", "1.2e3") are read
            # exactly, and anything else earns zero here rather than a trip to math-verify,
            # which a policy's early, random outputs would otherwise pay for at every step.
            value = parse_number(_ASSIGNMENT.sub("", extraction.answer, count=1))
            if value is None:
                return self._zero(f"expected a number, got {extraction.answer[:80]!r}", extraction.answer)
        correct = value == gold
        dense = relative_error_reward(gold, value)
        components = {"correct": 1.0 if correct else 0.0, "relative_error_reward": dense}
        reward = dense if self.dense_reward else components["correct"]
        error = None if correct else f"expected {problem.answer}, got {extraction.answer}"
        return Score(reward, components, extraction.answer, error)

    def _zero(self, reason: str, parsed: str | None) -> Score:
        return Score.zero(reason, parsed, relative_error_reward=0.0)

    def solve(self, problem: Problem) -> str:
        return f"The expression evaluates to \\boxed{{{problem.answer}}}."


class RandomCalcEnv(TextEnv):
    """`rlvr/RandomCalc-v0`: one random expression per episode, one response per episode
    (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = RandomCalcTask
    task_options = ("dense_reward", "extraction")
    card = EnvCard(
        summary="Leakage-free arithmetic: a random expression tree with exactly k operations (k = 1..20), "
        "evaluated exactly.",
        observation="text prompt",
        action="text response (answer in \\boxed{}, an 'Answer:' line or the last number)",
        reward="1 if the extracted answer equals the exact value; components: correct, "
        "relative_error_reward (logged only)",
        task=task_class,
    )
