"""Exact rational arithmetic shared by the arithmetic families (no floats, no `eval`)."""

from __future__ import annotations

from fractions import Fraction


def apply_operator(a: Fraction, op: str, b: Fraction) -> Fraction | None:
    """a op b exactly for op in + - * /; None for a division by zero.

    >>> apply_operator(Fraction(1, 2), "/", Fraction(3)), apply_operator(Fraction(1), "/", Fraction(0))
    (Fraction(1, 6), None)
    """
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return None if b == 0 else a / b
    raise ValueError(f"operator must be one of + - * /, got {op!r}")
