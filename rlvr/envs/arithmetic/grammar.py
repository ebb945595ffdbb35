"""The arithmetic expression grammar shared by the arithmetic families: exact evaluation of text.

Grammar (no unary minus, no leading zeros, binary + - * / with the usual precedence, left
associative, optional parentheses):

    expr    := operand (op operand)*
    operand := literal | "(" expr ")"
    literal := "0" | nonzero-digit digit*

`next_phase` is the grammar as one transition on (phase, depth) per character; the text scanner
here and MathTree's token automaton (`rlvr.envs.mathtree.grammar`) are both built on it, so the
two can never disagree on what parses.

`evaluate(text)` parses and evaluates with `fractions.Fraction` (exact, bounded in length,
digits per literal and nesting; iterative, so no recursion limit); never `eval`.
`evaluate_cached` memoises it, since a token env scores the same short strings again and again.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache

from rlvr.envs.arithmetic.exact import BINARY_OPERATORS, PRECEDENCE

DIGITS = "0123456789"
OPERATORS = "".join(BINARY_OPERATORS)
"""The operator characters, as a string (the form MathTree's character knobs take)."""
MAX_EXPRESSION_CHARS = 1024
"""Longer texts are rejected before parsing: they cannot be a short arithmetic answer."""
MAX_LITERAL_DIGITS = 30
MAX_NESTING = 64

# Phases of the grammar (of the text scanner below and of MathTree's token automaton).
EXPECT_OPERAND = 0  # start, after an operator or "("
IN_LITERAL = 1  # inside a literal that may still grow (first digit was not 0)
OPERAND_DONE = 2  # after ")" or a literal "0": an operator, ")" or the end may follow
PHASES = (EXPECT_OPERAND, IN_LITERAL, OPERAND_DONE)


class ExpressionError(ValueError):
    """The text is not a valid expression, or it cannot be evaluated (division by zero)."""


def next_phase(phase: int, depth: int, token: str, max_depth: int) -> tuple[int, int] | None:
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
        nxt = next_phase(phase, depth, char, MAX_NESTING)
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
