"""Exact rational arithmetic shared by the arithmetic families (no floats, no `eval`).

Also the one table of the binary operators and their precedence, which the parsers, the
solvers and the printers of minimal parentheses all read.
"""

from __future__ import annotations

from fractions import Fraction

BINARY_OPERATORS = ("+", "-", "*", "/")
"""The four binary operators, in the order problems list them."""
PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
"""Binding strength of each binary operator; both levels group left to right."""
ATOM_PRECEDENCE = 3
"""The precedence of a literal or a parenthesised expression: it never needs parentheses."""


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


def join_operands(op: str, left: str, left_precedence: int, right: str, right_precedence: int,
                  separator: str = "") -> str:
    """`left op right` with the fewest parentheses that keep its value under the usual precedence.

    A left operand is wrapped only when it binds more loosely than `op`; a right operand also when
    it binds equally after - or / (a-(b-c), a/(b*c)), since after + and * regrouping keeps the
    exact value. `separator` goes on each side of the operator.

    >>> join_operands("-", "8", 3, "2-1", 1), join_operands("*", "1+2", 1, "3", 3, " ")
    ('8-(2-1)', '(1+2) * 3')
    """
    precedence = PRECEDENCE[op]
    if left_precedence < precedence:
        left = f"({left})"
    if right_precedence < precedence or (right_precedence == precedence and op in "-/"):
        right = f"({right})"
    return f"{left}{separator}{op}{separator}{right}"
