"""Drawing an expression with exactly k operations and a given exact value.

`draw_valued(drawer, k, value)` grows the tree the way `ExpressionDrawer.draw` does (the left
child gets a uniform share of the k - 1 remaining operations), except that one child, picked at
random, is drawn to order: the other child is a free draw of the drawer, and the operator and the
value the drawn-to-order child must have follow from it (`needed_value`). At the bottom a child with
no operation must be an operand in range, and one with a single operation is looked up in a table
of every "a op b" over the operand range. Dead ends back off and retry within a fixed budget of
node draws, so a call is bounded and may return None; the caller re-draws the value or the problem.

Every node is checked against the drawer's caps as it is built, and the result is asserted to
have exactly the requested value (the value is computed, never read back from the text).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

from rlvr.envs.arithmetic.drawer import (
    OPERATOR_PRECEDENCE,
    ExpressionDrawer,
    Node,
    TooTight,
    join_nodes,
    operand_node,
)
from rlvr.envs.arithmetic.exact import apply_operator

TABLE_SPAN = 64
"""The widest operand range that gets a one-operation table (span**2 * 4 entries)."""
TRIES_PER_NODE = 3
"""Free draws tried at one node before it backs off to its parent."""


def needed_value(op: str, targeted_left: bool, other: Fraction, value: Fraction) -> Fraction | None:
    """What the child drawn to order must equal so that the node equals `value`, given the other
    child's value `other`; None when no value works (a zero divisor on either side).

    >>> needed_value("-", True, Fraction(3), Fraction(4)), needed_value("-", False, Fraction(3), Fraction(4))
    (Fraction(7, 1), Fraction(-1, 1))
    >>> needed_value("/", False, Fraction(0), Fraction(5)) is None  # 0 / T is never 5
    True
    """
    if op == "+":
        return value - other
    if op == "-":
        return value + other if targeted_left else other - value
    if op == "*":
        return None if other == 0 else value / other
    if targeted_left:  # T / other = value
        return None if other == 0 else value * other
    # other / T = value: T = other / value, which must not be zero (it divides)
    return None if other == 0 or value == 0 else other / value


@lru_cache(maxsize=16)
def _one_operation(low: int, high: int, operators: tuple[str, ...]) -> dict[Fraction, tuple[tuple[int, str, int], ...]]:
    """value -> every (a, op, b) with a, b in [low, high] whose exact value it is."""
    table: dict[Fraction, list[tuple[int, str, int]]] = {}
    for a in range(low, high + 1):
        for b in range(low, high + 1):
            for op in operators:
                value = apply_operator(Fraction(a), op, Fraction(b))
                if value is not None:
                    table.setdefault(value, []).append((a, op, b))
    return {value: tuple(forms) for value, forms in table.items()}


class _Spent(Exception):
    """The node-draw budget of one `draw_valued` call ran out."""


def draw_valued(drawer: ExpressionDrawer, num_ops: int, value: Fraction, budget: int) -> Node | None:
    """An expression with exactly `num_ops` binary operations whose exact value is `value`, drawn
    with `drawer` (its operand range, binary operators and caps), or None when `budget` node draws
    find none."""
    if not drawer.binary:
        return None
    left = [budget]
    try:
        while left[0] > 0:
            left[0] -= 1  # charged here too: with 0 or 1 operation no node is drawn below
            node = _valued(drawer, num_ops, Fraction(value), left)
            if node is not None:
                assert node[0] == value, (node, value)
                return node
    except (_Spent, TooTight):
        pass
    return None


def _valued(drawer: ExpressionDrawer, num_ops: int, value: Fraction, budget: list[int]) -> Node | None:
    if not drawer.fits(value):
        return None
    if num_ops == 0:
        if value.denominator == 1 and drawer.low <= value <= drawer.high:
            return operand_node(int(value))
        return None
    if num_ops == 1 and drawer.high - drawer.low < TABLE_SPAN:
        forms = _one_operation(drawer.low, drawer.high, tuple(drawer.binary)).get(value)
        if not forms:
            return None
        a, op, b = forms[drawer.below(len(forms))]
        return value, join_nodes(op, operand_node(a), operand_node(b)), OPERATOR_PRECEDENCE[op]
    for _ in range(TRIES_PER_NODE):
        budget[0] -= 1
        if budget[0] < 0:
            raise _Spent
        left_ops = drawer.below(num_ops)
        targeted_left = drawer.below(2) == 0
        targeted_ops = left_ops if targeted_left else num_ops - 1 - left_ops
        other = drawer.draw(num_ops - 1 - targeted_ops)
        operators = list(drawer.binary)
        while operators:
            op = operators.pop(drawer.below(len(operators)))
            needed = needed_value(op, targeted_left, other[0], value)
            if needed is None:
                continue
            child = _valued(drawer, targeted_ops, needed, budget)
            if child is None:
                continue
            left, right = (child, other) if targeted_left else (other, child)
            if apply_operator(left[0], op, right[0]) != value:  # exact by construction; kept as a guard
                continue
            return value, join_nodes(op, left, right), OPERATOR_PRECEDENCE[op]
    return None
