"""MathTree's expression grammar: a prefix automaton over token ids and exact evaluation of text.

Grammar (no unary minus, no leading zeros, binary + - * / with the usual precedence, left
associative, optional parentheses):

    expr    := operand (op operand)*
    operand := literal | "(" expr ")"
    literal := "0" | nonzero-digit digit*

`PrefixAutomaton` decides, token by token, whether a prefix can still become a valid expression.
It is a table `transitions[state, token] -> state` (numpy, so a batched env can advance many
prefixes at once with fancy indexing) with masks `accepting` (what was read, EOS excluded, is a
complete expression), `ended` (EOS was read) and `min_to_complete` (fewest further tokens that
make the prefix complete), which prunes subtrees that can never earn a reward.

`evaluate(text)` parses and evaluates with `fractions.Fraction` (exact, bounded in length,
digits per literal and nesting; iterative, so no recursion limit); never `eval`.
`evaluate_cached` memoises it, since a token env scores the same short strings again and again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

from rlvr.envs.mathtree.vocab import DIGITS, EOS_TEXT, OPERATORS

MAX_EXPRESSION_CHARS = 1024
"""Longer texts are rejected before parsing: they cannot be a short arithmetic answer."""
MAX_LITERAL_DIGITS = 30
MAX_NESTING = 64
PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}

# Phases of the automaton (and of the text scanner below).
EXPECT_OPERAND = 0  # start, after an operator or "("
IN_LITERAL = 1  # inside a literal that may still grow (first digit was not 0)
OPERAND_DONE = 2  # after ")" or a literal "0": an operator, ")" or the end may follow


class ExpressionError(ValueError):
    """The text is not a valid expression, or it cannot be evaluated (division by zero)."""


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


def _step(phase: int, depth: int, token: str, max_depth: int) -> tuple[int, int] | None:
    """One grammar transition on (phase, depth); None means the prefix is dead."""
    if token in DIGITS:
        if phase == EXPECT_OPERAND:
            return (OPERAND_DONE if token == "0" else IN_LITERAL), depth
        return (phase, depth) if phase == IN_LITERAL else None
    if token in OPERATORS:
        return (EXPECT_OPERAND, depth) if phase != EXPECT_OPERAND else None
    if token == "(":
        return (EXPECT_OPERAND, depth + 1) if phase == EXPECT_OPERAND and depth < max_depth else None
    if token == ")":
        return (OPERAND_DONE, depth - 1) if phase != EXPECT_OPERAND and depth > 0 else None
    return None


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
    for phase in (EXPECT_OPERAND, IN_LITERAL, OPERAND_DONE):
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
                nxt = _step(phase, depth, token, max_depth)
                if nxt is not None:
                    transitions[state, index] = nxt[0] * width + nxt[1]
    accepting[end] = ended[end] = True
    min_to_complete[end] = 0
    for array in (transitions, accepting, ended, min_to_complete):
        array.setflags(write=False)
    return PrefixAutomaton(tuple(tokens), max_depth, transitions, accepting, ended, min_to_complete)


def _tail(text: str, keep: int = 24) -> str:
    """The end of a long text, for error messages of bounded size."""
    return text if len(text) <= keep else "..." + text[-keep:]


def to_rpn(text: str) -> list[str]:
    """Tokens of `text` in reverse Polish order; raises `ExpressionError` saying what is wrong."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"expression has {len(text)} characters, more than {MAX_EXPRESSION_CHARS}")
    if not text:
        raise ExpressionError("empty expression")
    output: list[str] = []
    stack: list[str] = []
    phase, depth, start = EXPECT_OPERAND, 0, 0
    for position, char in enumerate(text):
        if char not in DIGITS and char not in OPERATORS and char not in "()":
            raise ExpressionError(f"unexpected character {char!r} at position {position}")
        nxt = _step(phase, depth, char, MAX_NESTING)
        if nxt is None:
            what = f"nesting deeper than {MAX_NESTING}" if char == "(" and depth >= MAX_NESTING else "syntax error"
            raise ExpressionError(f"{what}: {char!r} cannot follow {_tail(text[:position])!r}")
        if char in DIGITS and phase == EXPECT_OPERAND:
            start = position
        if phase == IN_LITERAL and char not in DIGITS:
            output.append(text[start:position])
        if char in OPERATORS:
            while stack and stack[-1] != "(" and PRECEDENCE[stack[-1]] >= PRECEDENCE[char]:
                output.append(stack.pop())
            stack.append(char)
        elif char == "(":
            stack.append(char)
        elif char == ")":
            while stack[-1] != "(":
                output.append(stack.pop())
            stack.pop()
        elif char == "0" and phase == EXPECT_OPERAND:
            output.append("0")
        phase, depth = nxt
        if phase == IN_LITERAL and position - start >= MAX_LITERAL_DIGITS:
            raise ExpressionError(f"a number has more than {MAX_LITERAL_DIGITS} digits")
    if phase == EXPECT_OPERAND or depth:
        raise ExpressionError(
            f"incomplete expression {_tail(text)!r}: " + ("unclosed '('" if depth else "an operand is missing")
        )
    if phase == IN_LITERAL:
        output.append(text[start:])
    while stack:
        output.append(stack.pop())
    return output


def evaluate_rpn(rpn: Sequence[str]) -> Fraction:
    # Plain ints until a division needs a Fraction: exact either way, and ints are much faster.
    values: list[int | Fraction] = []
    for item in rpn:
        if item in PRECEDENCE:
            right, left = values.pop(), values.pop()
            if item == "+":
                values.append(left + right)
            elif item == "-":
                values.append(left - right)
            elif item == "*":
                values.append(left * right)
            elif right == 0:
                raise ExpressionError("division by zero")
            else:
                values.append(Fraction(left) / right)
        else:
            values.append(int(item))
    return Fraction(values[0])


def evaluate(text: str) -> tuple[Fraction, tuple[int, ...]]:
    """Exact value of `text` and the literals it uses, in order.

    >>> evaluate("3*(4+2)/8")
    (Fraction(9, 4), (3, 4, 2, 8))
    """
    rpn = to_rpn(text)
    return evaluate_rpn(rpn), tuple(int(t) for t in rpn if t not in PRECEDENCE)


@lru_cache(maxsize=1 << 16)
def evaluate_cached(text: str) -> tuple[Fraction | None, tuple[int, ...], str | None]:
    """(value, literals, None) or (None, (), reason): `evaluate` that never raises, memoised."""
    try:
        value, literals = evaluate(text)
    except ExpressionError as error:
        return None, (), str(error)
    return value, literals, None


def expression_tree(text: str) -> int | tuple:
    """The parse tree: an int literal or `(op, left, right)`; raises `ExpressionError`.

    >>> expression_tree("1+2*3")
    ('+', 1, ('*', 2, 3))
    """
    nodes: list = []
    for item in to_rpn(text):
        if item in PRECEDENCE:
            right, left = nodes.pop(), nodes.pop()
            nodes.append((item, left, right))
        else:
            nodes.append(int(item))
    return nodes[0]


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


def format_number(value: Fraction) -> str:
    """'7', '-3' or '3/4'.

    >>> format_number(Fraction(-3, 4))
    '-3/4'
    """
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
