"""Spaces for text envs.

Gymnasium's `Text` space defaults to an alphanumeric charset and its `contains()` rejects any
other character, so a model's answer with a space or a `\\boxed{}` would be "out of space". Text
envs use `UnicodeText`: any Python string up to a length is a member; sampling draws printable
ASCII (a space must be able to sample, and the checker compares samples under a seed).
"""

from __future__ import annotations

import string
from typing import Any

from gymnasium.spaces import Text

PRINTABLE = string.printable


class UnicodeText(Text):
    """A text space whose members are all strings of length in [min_length, max_length]."""

    def __init__(self, max_length: int = 1 << 16, *, min_length: int = 0, seed: Any = None) -> None:
        super().__init__(max_length, min_length=min_length, charset=PRINTABLE, seed=seed)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText({self.min_length}, {self.max_length})"

    def __eq__(self, other: Any) -> bool:
        return (
            isinstance(other, UnicodeText)
            and self.min_length == other.min_length
            and self.max_length == other.max_length
        )
