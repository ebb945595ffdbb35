"""Spaces for text envs, and their place in Gymnasium's shared-memory vector envs.

Gymnasium's `Text` space defaults to an alphanumeric charset and its `contains()` rejects any
other character, so a model's answer with a space or a `\\boxed{}` would be "out of space". Text
envs use `UnicodeText`: any Python string up to a length is a member; sampling draws printable
ASCII (a space must be able to sample, and the checker compares samples under a seed).

`gym.make_vec(id, vectorization_mode="async")` keeps observations in shared memory by default.
Gymnasium 1.x decodes a `Text` space's shared memory once, when the vector env is built, into
strings that never change again (every observation then reads as the zero-filled buffer: '0'
repeated `max_length` times), and it stores characters as charset indices, which fails on any
character outside the charset. `UnicodeText` therefore registers its own shared-memory functions
(Gymnasium's documented extension point for custom spaces): each env's slot holds the length and
the code points of the string, and reading gives a live view (`SharedTexts`) that decodes the
current strings when accessed, as a Box's shared memory is a live numpy view. With the vector
env's default `copy=True` callers get a plain tuple of strings, as from the sync vector env.
"""

from __future__ import annotations

import multiprocessing
import string
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from gymnasium.spaces import Text
from gymnasium.vector.utils import create_shared_memory, read_from_shared_memory, write_to_shared_memory

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


def _slots(space: UnicodeText, shared_memory: Any, n: int) -> np.ndarray:
    """The shared buffer as (n, 1 + max_length) int32: the length, then the code points."""
    return np.frombuffer(shared_memory.get_obj(), dtype=np.int32).reshape(n, space.max_length + 1)


def _decode(slot: np.ndarray) -> str:
    length = int(slot[0])
    # surrogatepass: a lone surrogate is a legal Python str character, so it must round-trip
    return slot[1 : 1 + length].astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")


class SharedTexts(Sequence):
    """The strings in a vector env's shared memory, decoded at access time (see the module doc).

    `copy.deepcopy` (what the vector env does with `copy=True`) and pickling give a plain tuple.
    """

    def __init__(self, space: UnicodeText, shared_memory: Any, n: int) -> None:
        self._space, self._memory, self._n = space, shared_memory, n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(self._n)))
        if not -self._n <= index < self._n:
            raise IndexError(f"index {index} out of range for {self._n} texts")
        return _decode(_slots(self._space, self._memory, self._n)[index])

    def __iter__(self) -> Iterator[str]:
        slots = _slots(self._space, self._memory, self._n)
        return iter([_decode(slot) for slot in slots])

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Sequence) and not isinstance(other, str) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __deepcopy__(self, memo: dict) -> tuple[str, ...]:
        return tuple(self)

    def __copy__(self) -> tuple[str, ...]:
        return tuple(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return tuple, (tuple(self),)

    def __repr__(self) -> str:
        return f"SharedTexts({tuple(self)!r})"


@create_shared_memory.register(UnicodeText)
def _create_unicode_text_memory(space: UnicodeText, n: int = 1, ctx: Any = multiprocessing) -> Any:
    return ctx.Array(np.dtype(np.int32).char, n * (space.max_length + 1))


@read_from_shared_memory.register(UnicodeText)
def _read_unicode_texts(space: UnicodeText, shared_memory: Any, n: int = 1) -> SharedTexts:
    return SharedTexts(space, shared_memory, n)


@write_to_shared_memory.register(UnicodeText)
def _write_unicode_text(space: UnicodeText, index: int, value: Any, shared_memory: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(f"a {space!r} observation must be a str, got {type(value).__name__}")
    codes = np.frombuffer(value.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    if len(codes) > space.max_length:
        raise ValueError(f"an observation of {len(codes)} characters does not fit {space!r}")
    slot = np.frombuffer(shared_memory.get_obj(), dtype=np.int32)[index * (space.max_length + 1):]
    slot[0] = len(codes)
    slot[1 : 1 + len(codes)] = codes.view(np.int32)


__all__ = ["PRINTABLE", "SharedTexts", "UnicodeText"]
