"""An independent reference evaluator for MathTree expressions (recursive descent, Fractions).

Written separately from `rlvr.envs.mathtree.grammar` (which uses a shunting-yard pass) so tests
compare two implementations rather than one with itself.
"""

from __future__ import annotations

from fractions import Fraction


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


def reference_correct(text: str, target: int, numbers: list[int] | None) -> bool:
    """Would `text` be a correct answer (target mode when `numbers` is None)?"""
    result = reference_evaluate(text)
    if result is None:
        return False
    value, literals = result
    return value == target and (numbers is None or sorted(literals) == sorted(numbers))


class CharTokenizer:
    """A tokenizer-like object built in code: one id per printable ASCII character, then EOS.

    Only the duck-typed protocol (encode, decode, len, eos_token_id), like a Hugging Face
    tokenizer; `decode` keeps unknown ids visible as '?' instead of failing.
    """

    def __init__(self) -> None:
        import string

        self.alphabet = string.printable
        self.eos_token_id = len(self.alphabet)

    def __len__(self) -> int:
        return len(self.alphabet) + 1

    def encode(self, text: str) -> list[int]:
        return [self.alphabet.index(c) if c in self.alphabet else self.alphabet.index("?") for c in text]

    def decode(self, ids) -> str:
        return "".join(self.alphabet[i] if 0 <= i < len(self.alphabet) else "" for i in ids)


class VocabSizeTokenizer(CharTokenizer):
    """The same, with only `.vocab_size` (no len()), as some tokenizers have."""

    __len__ = None  # type: ignore[assignment]

    @property
    def vocab_size(self) -> int:
        return len(self.alphabet) + 1
