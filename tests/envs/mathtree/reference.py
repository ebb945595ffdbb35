"""References for the MathTree tests: answer correctness by the kit's independent evaluator, and
tokenizer-like objects built in code."""

from __future__ import annotations

from tests.envs.arithmetic.reference import reference_evaluate


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
