"""RandomCalc's expression drawer: a random tree with exactly k operations, valued exactly.

Nodes are `(value, text, precedence)` tuples: the exact `Fraction` value, the printed text with
the fewest parentheses the usual precedence needs, and the precedence of its top operator (an
operand, or a parenthesised negative such as `(-3)`, is an atom). `^` (a power with a small literal
exponent) binds tightest and groups to the right. Every intermediate value stays within the
numerator and denominator caps; a zero divisor or a value past a cap is rejected and re-drawn
(first the other operators on the same operands, then the subtree).

Families that print random arithmetic (RandomCalc, MultiSelectCalc) draw through this one class,
so the same difficulty gives the same kind of expression in each.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import numpy as np

from rlvr.envs.arithmetic.exact import BINARY_OPERATORS, PRECEDENCE, apply_operator, join_operands

OPERATORS = (*BINARY_OPERATORS, "^")
"""The operators a drawer may use: the binary four and `^`."""

Node = tuple[Fraction, str, int]
"""(exact value, printed text, precedence of the top operator)."""

# Precedence levels used for printing: `^` binds tighter than the binary operators; an operand
# (or a parenthesised negative) is an atom.
OPERATOR_PRECEDENCE = {**PRECEDENCE, "^": 3}
ATOM = 4
NODE_DRAWS_PER_OP = 200
"""Node draws allowed per operation before a difficulty is declared too tight to sample."""


class ExpressionDrawer:
    """Draws one expression tree; nodes are (value, text, precedence) tuples."""

    def __init__(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> None:
        self.rng = rng
        self.low, self.high = difficulty["min_operand"], difficulty["max_operand"]
        self.operators = difficulty["operators"]
        self.binary = [op for op in self.operators if op != "^"]
        self.max_exponent = difficulty["max_exponent"]
        self.max_numerator = difficulty["max_numerator"]
        self.max_denominator = difficulty["max_denominator"]
        self.draws_left = NODE_DRAWS_PER_OP * difficulty["num_ops"] + 100
        # Uniforms drawn in blocks: one numpy call per block instead of one per choice.
        self._block = 4 * difficulty["num_ops"] + 8
        self._uniforms: list[float] = []

    def below(self, n: int) -> int:
        """A uniform integer in [0, n)."""
        if not self._uniforms:
            self._uniforms = self.rng.random(self._block).tolist()
        return int(self._uniforms.pop() * n)

    def fits(self, value: Fraction) -> bool:
        return abs(value.numerator) <= self.max_numerator and value.denominator <= self.max_denominator

    def leaf(self) -> Node:
        return operand_node(self.low + self.below(self.high - self.low + 1))

    def draw(self, num_ops: int) -> Node:
        """A subtree with exactly `num_ops` operations whose every value fits the caps."""
        if num_ops == 0:
            return self.leaf()
        while True:
            self.draws_left -= 1
            if self.draws_left < 0:
                raise TooTight
            op = self.operators[self.below(len(self.operators))]
            if op == "^" or not self.binary:
                node = self._power(num_ops)
            else:
                node = self._binary(op, num_ops)
            if node is not None:
                return node

    def _power(self, num_ops: int) -> Node | None:
        base = self.draw(num_ops - 1)
        base_value, base_text, base_precedence = base
        # `^` groups to the right, so a power as the base needs parentheses too.
        if base_precedence <= OPERATOR_PRECEDENCE["^"]:
            base_text = f"({base_text})"
        # Smaller exponents, then the binary operators with a fresh operand, before giving up:
        # keeping the (num_ops - 1)-operation base is much cheaper than drawing it again.
        for exponent in range(2 + self.below(self.max_exponent - 1), 1, -1):
            # Both parts of a reduced fraction are raised alike, so the caps can be tested first.
            if abs(base_value.numerator) ** exponent <= self.max_numerator and (
                base_value.denominator**exponent <= self.max_denominator
            ):
                return base_value**exponent, f"{base_text}^{exponent}", OPERATOR_PRECEDENCE["^"]
        return self.combine(None, base, self.leaf())

    def _binary(self, op: str, num_ops: int) -> Node | None:
        left_ops = self.below(num_ops)
        left = self.draw(left_ops)
        right = self.draw(num_ops - 1 - left_ops)
        # Try the drawn operator first, then the others on the same operands (cheaper than a redraw).
        return self.combine(op, left, right)

    def combine(self, first: str | None, left: Node, right: Node) -> Node | None:
        """`left first right` if its value fits the caps, else the other binary operators in random
        order; None when none fits."""
        if first is not None:
            value = apply_operator(left[0], first, right[0])
            if value is not None and self.fits(value):
                return value, join_nodes(first, left, right), OPERATOR_PRECEDENCE[first]
        others = [op for op in self.binary if op != first]
        while others:
            candidate = others.pop(self.below(len(others)))
            value = apply_operator(left[0], candidate, right[0])
            if value is not None and self.fits(value):
                return value, join_nodes(candidate, left, right), OPERATOR_PRECEDENCE[candidate]
        return None


def operand_node(number: int) -> Node:
    """The node of an integer operand; a negative one is printed in parentheses: `(-3)`."""
    return Fraction(number), (f"({number})" if number < 0 else str(number)), ATOM


def join_nodes(op: str, left: Node, right: Node) -> str:
    """`left op right`, spaced, with the fewest parentheses that keep the value under precedence."""
    return join_operands(op, left[1], left[2], right[1], right[2], " ")


class TooTight(Exception):
    """The node-draw budget ran out: the caps leave (almost) no valid expression."""
