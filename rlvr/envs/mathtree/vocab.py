"""MathTree's default synthetic vocabulary and the character-level tokenizer built on it.

Action tokens come first, so the action space is `Discrete(|V|)` over ids `0..|V|-1`:

    digits (in the order given) | operators | "(" ")" (when parentheses are on) | EOS

|V| runs from 2 (one digit and EOS) to 17 (ten digits, + - * /, parentheses, EOS); the
difficulty knobs `digits`, `operators` and `parentheses` pick it.

Prompts need symbols the response may not use (a target of 7 when only the digits 1 and 2
are allowed), so the tokenizer appends prompt-only ids after the action ids for every character
of `PROMPT_ALPHABET` that is not an action token. The synthetic prompt is a compact form:
`"=24"` (target mode: write something equal to 24) or `"3,5,8=24"` (countdown: combine 3, 5
and 8 into 24). `SyntheticTokenizer` offers the duck-typed tokenizer protocol that `TokenEnv`
accepts (`encode`, `decode`, `len()`, `vocab_size`, `eos_token_id`), so the synthetic and any
Hugging Face tokenizer are interchangeable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rlvr.envs.arithmetic.grammar import DIGITS, OPERATORS

PARENTHESES = "()"
EOS_TEXT = "<eos>"
PROMPT_ALPHABET = DIGITS + OPERATORS + PARENTHESES + "=,"
"""Every character a synthetic prompt can contain."""


def canonical_charset(value: str, alphabet: str, name: str, allow_empty: bool) -> str:
    """`value` checked to be distinct characters of `alphabet`, returned in alphabet order.

    >>> canonical_charset("31", DIGITS, "digits", False)
    '13'
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string of characters from {alphabet!r}, got {value!r}")
    unknown = sorted(set(value) - set(alphabet))
    if unknown:
        raise ValueError(f"{name} may only contain characters of {alphabet!r}, got {''.join(unknown)!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"{name} must not repeat a character, got {value!r}")
    if not value and not allow_empty:
        raise ValueError(f"{name} must name at least one character of {alphabet!r}")
    return "".join(c for c in alphabet if c in value)


@dataclass(frozen=True)
class Vocabulary:
    """The response vocabulary: which digits and operators, whether parentheses, and EOS."""

    digits: str = DIGITS
    operators: str = OPERATORS
    parentheses: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "digits", canonical_charset(self.digits, DIGITS, "digits", False))
        object.__setattr__(self, "operators", canonical_charset(self.operators, OPERATORS, "operators", True))

    @classmethod
    def from_difficulty(cls, difficulty: Mapping[str, Any]) -> Vocabulary:
        return cls(difficulty["digits"], difficulty["operators"], bool(difficulty["parentheses"]))

    @property
    def tokens(self) -> tuple[str, ...]:
        """Token text by id; EOS is the last id."""
        parens = tuple(PARENTHESES) if self.parentheses else ()
        return (*self.digits, *self.operators, *parens, EOS_TEXT)

    @property
    def size(self) -> int:
        return len(self.tokens)

    @property
    def eos_id(self) -> int:
        return self.size - 1

    @property
    def characters(self) -> str:
        """Characters a response may contain (EOS excluded)."""
        return self.digits + self.operators + (PARENTHESES if self.parentheses else "")


class SyntheticTokenizer:
    """One character per token over a `Vocabulary`, plus prompt-only ids (see the module doc).

    >>> tok = SyntheticTokenizer(Vocabulary("12", "+"))
    >>> tok.encode("1+2"), tok.decode([0, 2, 1, tok.eos_token_id]), tok.num_actions, len(tok)
    ([0, 2, 1], '1+2', 6, 19)
    """

    def __init__(self, vocabulary: Vocabulary | None = None) -> None:
        self.vocabulary = vocabulary or Vocabulary()
        action_tokens = self.vocabulary.tokens
        extra = [c for c in PROMPT_ALPHABET if c not in action_tokens]
        self.symbols: tuple[str, ...] = (*action_tokens, *extra)
        self.num_actions = len(action_tokens)
        self.eos_token_id = self.vocabulary.eos_id
        # Decoding drops EOS, as a Hugging Face tokenizer does with skip_special_tokens=True.
        self._decode_table = tuple("" if i == self.eos_token_id else s for i, s in enumerate(self.symbols))
        # Action ids come first in `symbols`, so a character shared by both takes its action id.
        self._char_to_id: dict[str, int] = {}
        for index, symbol in enumerate(self.symbols):
            if len(symbol) == 1:
                self._char_to_id.setdefault(symbol, index)

    @property
    def vocab_size(self) -> int:
        return len(self.symbols)

    def __len__(self) -> int:
        return len(self.symbols)

    def encode(self, text: str) -> list[int]:
        """Ids of `text`'s characters; whitespace is skipped, an unknown character is an error."""
        ids = []
        for char in text:
            if char.isspace():
                continue
            token = self._char_to_id.get(char)
            if token is None:
                raise ValueError(
                    f"character {char!r} is not in the synthetic vocabulary {''.join(self._char_to_id)!r}"
                )
            ids.append(token)
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        table = self._decode_table
        return "".join(table[int(i)] for i in ids)

    def __repr__(self) -> str:
        return f"SyntheticTokenizer({self.vocabulary!r})"
