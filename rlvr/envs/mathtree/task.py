"""`MathTreeTask`: write an arithmetic expression equal to a target, with a restricted vocabulary.

Two modes:
- "target": any expression over the allowed digits, operators and (optionally) parentheses whose
  exact value equals the target. Restricting the digits is what makes this non-trivial: with
  digits "12" a target of 7 needs something like "2*2+2+1".
- "countdown": given numbers must each be used exactly once (as literals), like Countdown.

Every problem is built from a random solution expression that fits the horizon (kept in
`metadata["solution"]`, returned by `solve`), so every instance is solvable. `score` is the
response-level view: it parses the text with the same grammar as the token env (whitespace
ignored), evaluates exactly, and reports the components "parsed", "correct" and, in countdown
mode, "uses_numbers". The horizon is a limit of the token view only; text is not cut.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.envs.arithmetic.exact import ATOM_PRECEDENCE, PRECEDENCE, join_operands
from rlvr.envs.arithmetic.grammar import DIGITS, OPERATORS, ExpressionError, evaluate_cached
from rlvr.envs.mathtree.grammar import canonical_expression
from rlvr.envs.mathtree.vocab import Vocabulary, canonical_charset

MAX_GENERATION_ATTEMPTS = 2000
MAX_RESPONSE_CHARS = 1 << 16
"""Raw responses longer than this are rejected before any whitespace handling."""


@dataclass(frozen=True)
class CharsetKnob(Knob):
    """A knob whose value is a set of characters from `alphabet`, kept in alphabet order."""

    alphabet: str = ""
    allow_empty: bool = False

    def check(self, value: Any) -> Any:
        return canonical_charset(value, self.alphabet, f"difficulty knob {self.name!r}", self.allow_empty)

    def describe(self) -> str:
        return f"{self.name}={self.default!r} characters of {self.alphabet!r}: {self.doc}"


@lru_cache(maxsize=256)
def writable_numbers(digits: str, low: int, high: int) -> tuple[int, ...]:
    """The integers in [low, high] written with the allowed digits only (no leading zeros)."""
    allowed = set(digits)
    return tuple(n for n in range(low, high + 1) if set(str(n)) <= allowed)


@lru_cache(maxsize=256)
def allowed_characters(digits: str, operators: str, parentheses: bool) -> frozenset[str]:
    return frozenset(cached_vocabulary(digits, operators, parentheses).characters)


def random_expression(
    rng: np.random.Generator, numbers: Sequence[int], operators: str, parentheses: bool
) -> str:
    """A random binary expression over `numbers` in order, with the fewest parentheses it needs.

    Without parentheses the expression is flat and precedence decides its shape.
    """
    ops = [operators[i] for i in rng.integers(len(operators), size=len(numbers) - 1)] if operators else []
    if not parentheses:
        parts = [str(numbers[0])]
        for op, number in zip(ops, numbers[1:], strict=True):
            parts += [op, str(number)]
        return "".join(parts)
    items = [(str(n), ATOM_PRECEDENCE) for n in numbers]
    for op in ops:
        index = int(rng.integers(len(items) - 1))
        items[index : index + 2] = [(join_operands(op, *items[index], *items[index + 1]), PRECEDENCE[op])]
    return items[0][0]


@lru_cache(maxsize=256)
def solution_pool(digits: str, operators: str, count: int, number_min: int, number_max: int,
                  target_min: int, target_max: int, horizon: int) -> tuple[int, ...]:
    """Cross-knob checks (memoised: generation calls this for every problem); returns the numbers
    a solution may use."""
    if number_min > number_max or target_min > target_max:
        raise ValueError(
            f"need number_min <= number_max and target_min <= target_max, got numbers "
            f"[{number_min}, {number_max}] and targets [{target_min}, {target_max}]"
        )
    pool = writable_numbers(digits, number_min, number_max)
    if not pool:
        raise ValueError(f"no number in [{number_min}, {number_max}] can be written with digits {digits!r}")
    if count > 1 and not operators:
        raise ValueError(f"number_count={count} needs at least one operator, got operators=''")
    shortest = count * min(len(str(n)) for n in pool) + count - 1
    if shortest + 1 > horizon:
        raise ValueError(
            f"horizon={horizon} cannot hold a solution with {count} numbers and EOS (at least {shortest + 1} tokens)"
        )
    return pool


@lru_cache(maxsize=256)
def cached_vocabulary(digits: str, operators: str, parentheses: bool) -> Vocabulary:
    return Vocabulary(digits, operators, parentheses)


class MathTreeTask(Task):
    """Arithmetic expressions equal to a target (see the module doc)."""

    name = "mathtree"
    version = 0
    reward_range = (0.0, 1.0)
    knobs = (
        Knob("mode", "target", "'target': any expression; 'countdown': use each given number once",
             choices=("target", "countdown")),
        Knob("horizon", 8, "most response tokens, EOS included (token view)", low=2, high=64),
        CharsetKnob("digits", DIGITS, "digits the response may write", alphabet=DIGITS),
        CharsetKnob("operators", OPERATORS, "operators the response may write", alphabet=OPERATORS,
                    allow_empty=True),
        Knob("parentheses", True, "whether the response may write parentheses"),
        Knob("number_count", 2, "numbers in the generated solution (countdown: numbers given)", low=1, high=8),
        Knob("number_min", 1, "smallest number used by a solution", low=0, high=9999),
        Knob("number_max", 9, "largest number used by a solution", low=0, high=9999),
        Knob("target_min", 0, "smallest target", low=-(10**6), high=10**6),
        Knob("target_max", 100, "largest target", low=-(10**6), high=10**6),
    )
    default_template = PromptTemplate(
        instruction="Answer with the expression only (for example 3*(4+2)), nothing else."
    )

    # ------------------------------------------------------------------ generation
    def check_difficulty(self, difficulty: Mapping[str, Any]) -> tuple[int, ...]:
        """Cross-knob checks; returns the pool of numbers a solution may use."""
        d = difficulty
        return solution_pool(d["digits"], d["operators"], d["number_count"], d["number_min"], d["number_max"],
                             d["target_min"], d["target_max"], d["horizon"])

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        d = difficulty
        pool = self.check_difficulty(d)
        low, high, horizon = d["target_min"], d["target_max"], d["horizon"]
        for _ in range(MAX_GENERATION_ATTEMPTS):
            numbers = [pool[i] for i in rng.integers(len(pool), size=d["number_count"])]
            text = random_expression(rng, numbers, d["operators"], d["parentheses"])
            if len(text) + 1 > horizon:
                continue
            value, _, error = evaluate_cached(text)
            if error is None and value.denominator == 1 and low <= value <= high:
                return self._build(d, int(value), numbers, text)
        raise RuntimeError(
            f"{self.name}: no solution found in {MAX_GENERATION_ATTEMPTS} random expressions with "
            f"{d['number_count']} numbers in [{d['number_min']}, {d['number_max']}], operators "
            f"{d['operators']!r}, horizon {horizon}, with an integer value in [{low}, {high}]; widen the targets"
        )

    def _build(self, d: Mapping[str, Any], target: int, numbers: list[int], solution: str) -> Problem:
        vocab = cached_vocabulary(d["digits"], d["operators"], bool(d["parentheses"]))
        content: dict[str, Any] = {
            "mode": d["mode"],
            "target": target,
            "digits": vocab.digits,
            "operators": vocab.operators,
            "parentheses": vocab.parentheses,
        }
        ops = " ".join(vocab.operators) if vocab.operators else "no operators"
        parens = " and parentheses" if vocab.parentheses else ", no parentheses"
        if d["mode"] == "countdown":
            content["numbers"] = sorted(numbers)
            listed = ", ".join(str(n) for n in content["numbers"])
            question = (f"Using each of the numbers {listed} exactly once, with the operators {ops}{parens}, "
                        f"write an expression that equals {target}.")
        else:
            question = (f"Write an arithmetic expression that equals {target}, using only the digits "
                        f"{' '.join(vocab.digits)}, the operators {ops}{parens}.")
        # template fields for compact prompts such as '{numbers}>{target}=' (small models learn faster)
        listed = ",".join(str(n) for n in content.get("numbers", ()))
        return self.make_problem(question, content, str(target), d, {"solution": solution},
                                 target=target, numbers=listed, operators=vocab.operators)

    # ------------------------------------------------------------------ scoring
    def score(self, problem: Problem, response: str) -> Score:
        countdown = problem.content.get("mode") == "countdown"
        extra = {"parsed": 0.0, **({"uses_numbers": 0.0} if countdown else {})}
        if not isinstance(response, str):
            return Score.zero(f"response must be a string, got {type(response).__name__}", None, **extra)
        if len(response) > MAX_RESPONSE_CHARS:
            return Score.zero(f"response has {len(response)} characters, more than {MAX_RESPONSE_CHARS}",
                              None, **extra)
        text = "".join(response.split())
        if not text:
            return Score.zero("empty response", text, **extra)
        allowed = allowed_characters(problem.content["digits"], problem.content["operators"],
                                     problem.content["parentheses"])
        for position, char in enumerate(text):
            if char not in allowed:
                return Score.zero(f"character {char!r} at position {position} is not in this problem's "
                                  f"vocabulary {''.join(sorted(allowed))!r}", text, **extra)
        value, literals, error = evaluate_cached(text)
        if error is not None:
            return Score.zero(error, text, **extra)
        components = {"parsed": 1.0}
        reasons = []
        if countdown:
            uses = sorted(literals) == list(problem.content["numbers"])
            components["uses_numbers"] = 1.0 if uses else 0.0
            if not uses:
                reasons.append(f"numbers used {sorted(literals)} differ from the given {problem.content['numbers']}")
        if value != problem.content["target"]:
            reasons.append(f"expression equals {value}, expected {problem.content['target']}")
        correct = not reasons
        components["correct"] = 1.0 if correct else 0.0
        return Score(components["correct"], components, text, "; ".join(reasons) or None)

    def solve(self, problem: Problem) -> str:
        return problem.metadata["solution"]

    def canonical_answer(self, parsed_answer: str | None) -> str | None:
        """Expressions equal up to reordering sums and products are one solution."""
        if parsed_answer is None:
            return None
        try:
            return canonical_expression(parsed_answer)
        except ExpressionError:
            return parsed_answer


def compact_prompt(problem: Problem) -> str:
    """The synthetic tokenizer's prompt: '=24' (target mode) or '3,5,8=24' (countdown).

    >>> from rlvr.core.problem import Problem
    >>> compact_prompt(Problem("mathtree", 0, {"mode": "countdown", "numbers": [3, 5], "target": 8}, "", (), "8"))
    '3,5=8'
    """
    numbers = problem.content.get("numbers") if problem.content.get("mode") == "countdown" else None
    prefix = ",".join(str(n) for n in numbers) if numbers else ""
    return f"{prefix}={problem.content['target']}"
