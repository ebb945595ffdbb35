"""Independent references for the arithmetic kit's tests, written apart from `rlvr.envs.arithmetic`
so tests compare two implementations rather than one with itself.

- `reference_evaluate`: recursive descent over the grammar (the kit's parser is a shunting-yard pass).
- `independent_value`: Python's own parser (`ast`) on a digits/operators/parentheses-only string.
- `brute_force_count`: every expression tree by index subsets, deduplicated by canonical strings.
- `mutations`: near misses of an expression (a literal changed, an operator swapped).
"""

from __future__ import annotations

import ast
import itertools
import re
from fractions import Fraction

import numpy as np


class _Invalid(Exception):
    pass


def reference_evaluate(text: str, syntax_only: bool = False) -> tuple[Fraction, list[int]] | None:
    """(value, literals) of a valid expression, None if invalid or dividing by zero (with
    `syntax_only`, a division by zero gives 0 instead, to test the grammar alone)."""
    position = 0
    literals: list[int] = []

    def peek() -> str:
        return text[position] if position < len(text) else ""

    def literal() -> Fraction:
        nonlocal position
        start = position
        while peek() != "" and peek() in "0123456789":
            position += 1
        digits = text[start:position]
        if not digits or (len(digits) > 1 and digits[0] == "0"):
            raise _Invalid
        literals.append(int(digits))
        return Fraction(int(digits))

    def factor() -> Fraction:
        nonlocal position
        if peek() == "(":
            position += 1
            value = expression()
            if peek() != ")":
                raise _Invalid
            position += 1
            return value
        return literal()

    def term() -> Fraction:
        nonlocal position
        value = factor()
        while peek() in ("*", "/"):
            op = peek()
            position += 1
            right = factor()
            if op == "*":
                value *= right
            elif right == 0:
                if not syntax_only:
                    raise _Invalid
                value = Fraction(0)
            else:
                value /= right
        return value

    def expression() -> Fraction:
        nonlocal position
        value = term()
        while peek() in ("+", "-"):
            op = peek()
            position += 1
            right = term()
            value = value + right if op == "+" else value - right
        return value

    try:
        value = expression()
    except _Invalid:
        return None
    if position != len(text):
        return None
    return value, literals


SAFE = re.compile(r"[0-9+\-*/() ]+")


def independent_value(expression: str) -> tuple[Fraction | None, list[int]]:
    """(exact value or None on x/0, literals) of a digits/operators/parentheses-only string."""
    assert SAFE.fullmatch(expression), expression
    literals: list[int] = []

    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            literals.append(node.value)
            return Fraction(node.value)
        assert isinstance(node, ast.BinOp), ast.dump(node)
        left, right = walk(node.left), walk(node.right)
        if isinstance(node.op, ast.Div):
            if right == 0:
                raise ZeroDivisionError
            return left / right
        return {ast.Add: left + right, ast.Sub: left - right, ast.Mult: left * right}[type(node.op)]

    try:
        return walk(ast.parse(expression, mode="eval").body), literals
    except ZeroDivisionError:
        return None, literals


def brute_force_count(numbers: tuple[int, ...], target: int) -> int:
    """Distinct trees (+ and * operands unordered) equal to `target`, by full enumeration."""

    def trees(indices: tuple[int, ...]) -> dict[str, Fraction]:
        if len(indices) == 1:
            return {str(numbers[indices[0]]): Fraction(numbers[indices[0]])}
        out: dict[str, Fraction] = {}
        for size in range(1, len(indices)):
            for left in itertools.combinations(indices, size):
                right = tuple(i for i in indices if i not in left)
                for (lt, lv), (rt, rv) in itertools.product(trees(left).items(), trees(right).items()):
                    out["(" + "+".join(sorted((lt, rt))) + ")"] = lv + rv
                    out["(" + "*".join(sorted((lt, rt))) + ")"] = lv * rv
                    out[f"({lt}-{rt})"] = lv - rv
                    if rv != 0:
                        out[f"({lt}/{rt})"] = lv / rv
        return out

    return sum(1 for value in trees(tuple(range(len(numbers)))).values() if value == target)


def mutations(expression: str, rng: np.random.Generator) -> list[str]:
    """Each literal changed by a random non-zero amount, and each operator replaced by the others."""
    out = []
    for match in re.finditer(r"\d+", expression):
        changed = int(match.group()) + int(rng.choice([-3, -1, 1, 2, 5]))
        if changed >= 0:
            out.append(expression[: match.start()] + str(changed) + expression[match.end():])
    for index, char in enumerate(expression):
        if char in "+-*/":
            out += [expression[:index] + op + expression[index + 1:] for op in "+-*/" if op != char]
    return out
