"""Built-in generator of free-form math problems with exact, known answers.

Families (each draws from a numpy Generator and returns a `Generated` record):
- `linear_equation`: solve a*x + b = c*x + d for x (a != c); the answer may be a fraction.
- `fraction_arithmetic`: two or three fractions joined by + - \\times \\div; answer "a/b" reduced.
- `percentage`: p% of n, or m is what percent of n.
- `gcd_lcm`: greatest common divisor or least common multiple of two integers.
- `linear_inequality`: solve a*x + b < c (or <=, >, >=); the answer is an interval.

`max_value` bounds the size of the numbers drawn. Numeric answers are written as an integer, a
terminating decimal or a reduced fraction "a/b"; intervals in LaTeX interval notation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from rlvr.core.formatting import format_number

FAMILIES = ("linear_equation", "fraction_arithmetic", "percentage", "gcd_lcm", "linear_inequality")


@dataclass(frozen=True)
class Generated:
    """One generated problem: question text, gold answer and the kind of answer expected."""

    family: str
    question: str
    answer: str
    answer_kind: str
    """'number' (a single exact value) or 'interval'."""


def latex_number(value: Fraction) -> str:
    """LaTeX for a value inside an expression: integers plain, fractions as \\frac{a}{b}."""
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def linear_side(coefficient: int, constant: int) -> str:
    """'3x - 5', '-x', 'x + 2' or '7': a*x + b written the usual way.

    >>> linear_side(3, -5), linear_side(-1, 0), linear_side(1, 2), linear_side(0, 7)
    ('3x - 5', '-x', 'x + 2', '7')
    """
    if coefficient == 0:
        return str(constant)
    term = {1: "x", -1: "-x"}.get(coefficient, f"{coefficient}x")
    if constant == 0:
        return term
    return f"{term} {'+' if constant > 0 else '-'} {abs(constant)}"


def _nonzero(rng: np.random.Generator, bound: int) -> int:
    value = int(rng.integers(1, bound + 1))
    return value if rng.random() < 0.5 else -value


def linear_equation(rng: np.random.Generator, max_value: int) -> Generated:
    a = _nonzero(rng, max_value)
    c = int(rng.integers(-max_value, max_value + 1))
    while c == a:
        c = int(rng.integers(-max_value, max_value + 1))
    b, d = (int(v) for v in rng.integers(-max_value, max_value + 1, size=2))
    x = Fraction(d - b, a - c)
    question = f"Solve for x: {linear_side(a, b)} = {linear_side(c, d)}."
    return Generated("linear_equation", question, format_number(x, decimals=True), "number")


_FRACTION_OPS: dict[str, tuple[str, Callable[[Fraction, Fraction], Fraction]]] = {
    "+": ("+", lambda p, q: p + q),
    "-": ("-", lambda p, q: p - q),
    "*": ("\\times", lambda p, q: p * q),
    "/": ("\\div", lambda p, q: p / q),
}


def fraction_arithmetic(rng: np.random.Generator, max_value: int) -> Generated:
    count = 2 + int(rng.integers(2))
    fractions = [
        Fraction(int(rng.integers(1, max_value + 1)), int(rng.integers(2, max_value + 2))) for _ in range(count)
    ]
    symbols = [str(s) for s in rng.choice(list(_FRACTION_OPS), size=count - 1)]
    # Evaluate left to right with * and / first, as the printed expression reads.
    terms, pending = [fractions[0]], []
    for symbol, operand in zip(symbols, fractions[1:], strict=True):
        if symbol in "*/":
            terms[-1] = _FRACTION_OPS[symbol][1](terms[-1], operand)
        else:
            terms.append(operand)
            pending.append(symbol)
    value = terms[0]
    for symbol, term in zip(pending, terms[1:], strict=True):
        value = _FRACTION_OPS[symbol][1](value, term)
    parts = [latex_number(fractions[0])]
    for symbol, operand in zip(symbols, fractions[1:], strict=True):
        parts += [_FRACTION_OPS[symbol][0], latex_number(operand)]
    question = f"Compute ${' '.join(parts)}$. Give the result as a reduced fraction or an integer."
    return Generated("fraction_arithmetic", question, format_number(value), "number")


def percentage(rng: np.random.Generator, max_value: int) -> Generated:
    percent = int(rng.integers(1, 100)) if rng.random() < 0.8 else int(rng.integers(100, 301))
    whole = int(rng.integers(1, 10 * max_value + 1))
    part = Fraction(percent * whole, 100)
    if rng.random() < 0.5:
        question = f"What is {percent}% of {whole}?"
        return Generated("percentage", question, format_number(part, decimals=True), "number")
    question = f"{format_number(part, decimals=True)} is what percent of {whole}? Give the number of percent."
    return Generated("percentage", question, str(percent), "number")


def gcd_lcm(rng: np.random.Generator, max_value: int) -> Generated:
    common = int(rng.integers(1, max_value + 1))
    first, second = (common * int(v) for v in rng.integers(1, max_value + 1, size=2))
    if rng.random() < 0.5:
        question = f"What is the greatest common divisor of {first} and {second}?"
        return Generated("gcd_lcm", question, str(math.gcd(first, second)), "number")
    question = f"What is the least common multiple of {first} and {second}?"
    return Generated("gcd_lcm", question, str(math.lcm(first, second)), "number")


_RELATIONS = {"<": ("<", False, True), "\\le": ("\\le", True, True), ">": (">", False, False), "\\ge": ("\\ge", True, False)}
"""symbol -> (LaTeX, endpoint included, solution lies below the endpoint when a > 0)."""


def linear_inequality(rng: np.random.Generator, max_value: int) -> Generated:
    a = _nonzero(rng, max_value)
    b, c = (int(v) for v in rng.integers(-max_value, max_value + 1, size=2))
    relation = str(rng.choice(list(_RELATIONS)))
    latex, closed, below = _RELATIONS[relation]
    endpoint = latex_number(Fraction(c - b, a))
    if a < 0:  # dividing by a negative number flips the inequality
        below = not below
    if below:
        interval = f"(-\\infty, {endpoint}{']' if closed else ')'}"
    else:
        interval = f"{'[' if closed else '('}{endpoint}, \\infty)"
    question = f"Solve for x: ${linear_side(a, b)} {latex} {c}$. Write the solution set in interval notation."
    return Generated("linear_inequality", question, interval, "interval")


GENERATORS: dict[str, Callable[[np.random.Generator, int], Generated]] = {
    "linear_equation": linear_equation,
    "fraction_arithmetic": fraction_arithmetic,
    "percentage": percentage,
    "gcd_lcm": gcd_lcm,
    "linear_inequality": linear_inequality,
}
