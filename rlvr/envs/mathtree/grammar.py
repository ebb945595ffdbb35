"""MathTree's own grammar parts: the grammar as a prefix automaton over token ids, and the
canonical form that counts distinct solutions.

The grammar itself (and exact evaluation of text) is the arithmetic kit's
(`rlvr.envs.arithmetic.grammar`); the automaton is built from its `next_phase`, so the token view
and the text view accept exactly the same expressions.

`PrefixAutomaton` decides, token by token, whether a prefix can still become a valid expression.
It is a table `transitions[state, token] -> state` (numpy, so a batched env can advance many
prefixes at once with fancy indexing) with masks `accepting` (what was read, EOS excluded, is a
complete expression), `ended` (EOS was read) and `min_to_complete` (fewest further tokens that
make the prefix complete), which prunes subtrees that can never earn a reward.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rlvr.envs.arithmetic.grammar import EXPECT_OPERAND, PHASES, expression_tree, next_phase
from rlvr.envs.mathtree.vocab import EOS_TEXT


@dataclass(frozen=True)
class PrefixAutomaton:
    """The grammar as a finite automaton over a vocabulary's token ids.

    States are `phase * (max_depth + 1) + depth` for the three phases, then `end` (EOS read)
    and `dead` (no continuation is valid). Both are absorbing apart from `end -> dead`.
    """

    tokens: tuple[str, ...]
    max_depth: int
    transitions: np.ndarray
    accepting: np.ndarray
    ended: np.ndarray
    min_to_complete: np.ndarray

    @property
    def start(self) -> int:
        return EXPECT_OPERAND * (self.max_depth + 1)

    @property
    def end(self) -> int:
        return 3 * (self.max_depth + 1)

    @property
    def dead(self) -> int:
        return 3 * (self.max_depth + 1) + 1

    def run(self, ids: Sequence[int], state: int | None = None) -> int:
        """The state after reading `ids` from `state` (the start by default)."""
        current = self.start if state is None else state
        table = self.transitions
        for token in ids:
            current = int(table[current, token])
        return current


@lru_cache(maxsize=64)
def build_automaton(tokens: tuple[str, ...], max_depth: int) -> PrefixAutomaton:
    """The automaton for a token list (EOS written as `EOS_TEXT`) and a nesting bound."""
    width = max_depth + 1
    end, dead = 3 * width, 3 * width + 1
    count = dead + 1
    transitions = np.full((count, len(tokens)), dead, dtype=np.int32)
    accepting = np.zeros(count, dtype=bool)
    ended = np.zeros(count, dtype=bool)
    min_to_complete = np.full(count, np.iinfo(np.int32).max, dtype=np.int64)
    for phase in PHASES:
        for depth in range(width):
            state = phase * width + depth
            complete = phase != EXPECT_OPERAND and depth == 0
            accepting[state] = complete
            # An operand needs one digit, then every open "(" needs its ")".
            min_to_complete[state] = depth + (1 if phase == EXPECT_OPERAND else 0)
            for index, token in enumerate(tokens):
                if token == EOS_TEXT:
                    transitions[state, index] = end if complete else dead
                    continue
                nxt = next_phase(phase, depth, token, max_depth)
                if nxt is not None:
                    transitions[state, index] = nxt[0] * width + nxt[1]
    accepting[end] = ended[end] = True
    min_to_complete[end] = 0
    for array in (transitions, accepting, ended, min_to_complete):
        array.setflags(write=False)
    return PrefixAutomaton(tuple(tokens), max_depth, transitions, accepting, ended, min_to_complete)


def canonical_expression(text: str) -> str:
    """A form shared by expressions that differ only by commutativity and associativity of + and *.

    Sums flatten into signed terms and products into factors with exponent +1 or -1 (division),
    each list sorted, so '3*6+3', '3+6*3' and '(3+6*3)' agree while '3*(6+3)' does not. Distinct
    correct solutions are counted in this form. Raises `ExpressionError` on text that does not parse.

    >>> canonical_expression("3*6+3") == canonical_expression("3+(6*3)")
    True
    >>> canonical_expression("8-2-1") == canonical_expression("8-(2+1)"), canonical_expression("8-(2-1)") == canonical_expression("8-2-1")
    (True, False)
    """
    return _render(_flatten(expression_tree(text)))


def _flatten(node: int | tuple) -> tuple:
    if isinstance(node, int):
        return ("n", node)
    op, left, right = node
    kind = "sum" if op in "+-" else "product"
    inverse = "-" if kind == "sum" else "/"
    items: list[tuple[int, tuple]] = []
    for child, sign in ((left, 1), (right, -1 if op == inverse else 1)):
        flat = _flatten(child)
        if flat[0] == kind:  # a - (b - c) = a - b + c: the child's signs flip with its own sign
            items.extend((sign * child_sign, grandchild) for child_sign, grandchild in flat[1])
        else:
            items.append((sign, flat))
    return (kind, tuple(sorted(items, key=repr)))


def _render(flat: tuple) -> str:
    if flat[0] == "n":
        return str(flat[1])
    joiner = {"sum": ("+", "-"), "product": ("*", "/")}[flat[0]]
    return "(" + "".join(joiner[0 if sign > 0 else 1] + _render(child) for sign, child in flat[1]) + ")"
