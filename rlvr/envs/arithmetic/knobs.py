"""The operator knob of the arithmetic families: which operators a problem may use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rlvr.core.difficulty import Knob
from rlvr.envs.arithmetic.exact import BINARY_OPERATORS


@dataclass(frozen=True)
class OperatorsKnob(Knob):
    """A non-empty tuple of distinct operators from `alphabet` (a string such as "+-*" is read as
    its characters).

    By default the value comes back in the alphabet's order, so two spellings of one set are one
    difficulty. `keep_order=True` keeps the order given instead, for a generator whose draws depend
    on it (RandomCalc picks operators by position).

    >>> OperatorsKnob("operators", BINARY_OPERATORS, "").check("*+")
    ('+', '*')
    >>> OperatorsKnob("operators", BINARY_OPERATORS, "", keep_order=True).check(["*", "+"])
    ('*', '+')
    """

    alphabet: tuple[str, ...] = BINARY_OPERATORS
    keep_order: bool = False

    def check(self, value: Any) -> Any:
        if isinstance(value, str):
            value = tuple(value)
        value = super().check(value)
        if not value or any(op not in self.alphabet for op in value) or len(set(value)) != len(value):
            raise ValueError(f"difficulty knob {self.name!r} expects a non-empty tuple of distinct operators "
                             f"from {self.alphabet}, got {value!r}")
        return value if self.keep_order else tuple(op for op in self.alphabet if op in value)
