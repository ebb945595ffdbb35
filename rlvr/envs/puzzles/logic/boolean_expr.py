"""`BooleanExprTask` and `BooleanExprEnv` (`rlvr/BooleanExpr-v0`): evaluate a nested Boolean expression.

The prompt shows an expression over `True`/`False` with `not`, `and`, `or` and parentheses, such as
`not (True and False) or (False or not True)`; the answer is its value, True or False (yes/no
also read), found by the rules of `answers.answer_text`. Precedence is Python's: `not` binds
tighter than `and`, which binds tighter than `or`; every binary sub-expression the generator
nests is parenthesised, so only `not` relies on precedence.

The label comes from `evaluate`, a small recursive-descent evaluator with bounded length and
nesting (nothing is ever `eval`ed), run on the expression text at scoring time, so no stored
answer is trusted. Generation draws the label first (fair coin) and then expressions until one
has that value, so labels are balanced.

Knobs: `depth` (exact nesting depth of binary operators), `negation` (chance of a `not` in
front of each operand).

>>> evaluate("not (True and False) or False")
(True, None)
>>> evaluate("True and")[1]
'expected True, False, not or (, got the end of the expression'
>>> import numpy as np
>>> task = BooleanExprTask()
>>> problem = task.sample(np.random.default_rng(0), {"depth": 2})
>>> task.score(problem, task.solve(problem)).reward
1.0
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from rlvr.core.cards import EnvCard
from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.core.text_env import TextEnv
from rlvr.envs.puzzles.answers import answer_text, read_truth_value

MAX_EXPRESSION_CHARS = 20_000
MAX_NESTING = 200
MAX_GENERATION_ATTEMPTS = 200
_TOKEN = re.compile(r"\s*(True|False|not\b|and\b|or\b|\(|\))")


def tokenize(text: str) -> tuple[list[str] | None, str | None]:
    """The expression's tokens, or (None, reason) at the first character that is not one."""
    tokens, position = [], 0
    stripped_end = len(text.rstrip())
    while position < stripped_end:
        match = _TOKEN.match(text, position)
        if match is None:
            return None, f"unexpected text {text[position:position + 20].strip()!r} at character {position}"
        tokens.append(match.group(1))
        position = match.end()
    return tokens, None


class _Parser:
    """or_expr := and_expr ('or' and_expr)*; and_expr := unary ('and' unary)*;
    unary := 'not' unary | 'True' | 'False' | '(' or_expr ')'."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.position, self.depth = tokens, 0, 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.position += 1
        return token

    def or_expr(self) -> bool:
        value = self.and_expr()
        while self.peek() == "or":
            self.take()
            right = self.and_expr()  # always parse the right side: short-circuiting would skip syntax errors
            value = value or right
        return value

    def and_expr(self) -> bool:
        value = self.unary()
        while self.peek() == "and":
            self.take()
            right = self.unary()
            value = value and right
        return value

    def unary(self) -> bool:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ValueError(f"the expression nests deeper than {MAX_NESTING}")
        token = self.take()
        if token == "not":
            value = not self.unary()
        elif token in ("True", "False"):
            value = token == "True"
        elif token == "(":
            value = self.or_expr()
            closing = self.take()
            if closing != ")":
                raise ValueError(f"expected ')', got {_describe(closing)}")
        else:
            raise ValueError(f"expected True, False, not or (, got {_describe(token)}")
        self.depth -= 1
        return value


def _describe(token: str | None) -> str:
    return "the end of the expression" if token is None else repr(token)


def evaluate(text: str) -> tuple[bool | None, str | None]:
    """(value, None) of a Boolean expression, or (None, reason); never raises, never `eval`s."""
    if len(text) > MAX_EXPRESSION_CHARS:
        return None, f"expression has {len(text)} characters, more than {MAX_EXPRESSION_CHARS}"
    tokens, error = tokenize(text)
    if tokens is None:
        return None, error
    parser = _Parser(tokens)
    try:
        value = parser.or_expr()
    except ValueError as exc:
        return None, str(exc)
    if parser.position != len(tokens):
        return None, f"unexpected {parser.peek()!r} after a complete expression"
    return value, None


def draw_expression(rng: np.random.Generator, depth: int, negation: float) -> str:
    """An expression whose binary operators nest exactly `depth` deep (0: a single operand)."""
    if depth == 0:
        text = "True" if rng.random() < 0.5 else "False"
    else:
        deep_side = int(rng.integers(2))
        other_depth = int(rng.integers(depth))
        sides = [draw_expression(rng, depth - 1 if side == deep_side else other_depth, negation)
                 for side in range(2)]
        sides = [f"({s})" if " and " in s or " or " in s else s for s in sides]
        text = f"{sides[0]} {'and' if rng.random() < 0.5 else 'or'} {sides[1]}"
    if rng.random() < negation:
        return f"not ({text})" if depth > 0 else f"not {text}"
    return text


class BooleanExprTask(Task):
    """Evaluate a random nested Boolean expression (see the module doc)."""

    name: ClassVar[str] = "boolean_expr"
    version: ClassVar[int] = 1  # 1: answers read by rlvr.rewards.answers (think tails, tags, boxes)
    reward_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob("depth", 3, "exact nesting depth of and/or operators", low=1, high=8),
        Knob("negation", 0.3, "chance of a 'not' in front of each operand or sub-expression", low=0.0, high=1.0),
    )
    default_template: ClassVar[PromptTemplate] = PromptTemplate(
        instruction="Give only True or False in <answer> </answer> tags, for example <answer>True</answer>."
    )

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        label = bool(rng.random() < 0.5)
        for _ in range(MAX_GENERATION_ATTEMPTS):
            expression = draw_expression(rng, difficulty["depth"], difficulty["negation"])
            value, _ = evaluate(expression)
            if value is label:
                break
        else:  # a knob setting that almost always gives one value: keep the last draw's own label
            label = bool(value)
        question = f"Evaluate the Boolean expression (not binds tighter than and, and tighter than or):\n\n{expression}"
        return self.make_problem(question, {"expression": expression}, str(label), difficulty)

    def score(self, problem: Problem, response: str) -> Score:
        text, error = answer_text(response)
        if text is None:
            return Score.zero(error or "no answer found")
        answer, error = read_truth_value(text)
        if answer is None:
            return Score.zero(error or "unreadable answer", parsed_answer=text)
        gold, error = evaluate(problem.content["expression"])
        if gold is None:
            return Score.zero(f"the problem's expression cannot be evaluated: {error}", parsed_answer=str(answer))
        return Score.binary(answer is gold, str(answer), None if answer is gold else f"the expression is {gold}")

    def solve(self, problem: Problem) -> str:
        value, _ = evaluate(problem.content["expression"])
        return f"<answer>{value}</answer>"


class BooleanExprEnv(TextEnv):
    """`rlvr/BooleanExpr-v0`: one expression per episode, one response per episode (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = BooleanExprTask
    card = EnvCard(
        summary="Boolean expressions: evaluate a random nested expression over True/False with not/and/or "
        "and parentheses (depth knob); labels balanced; evaluated by a bounded parser, never eval.",
        observation="text prompt",
        action="text response: True or False in <answer></answer> tags",
        reward="1 if the answer equals the expression's value, else 0; components: correct",
        task=task_class,
    )
