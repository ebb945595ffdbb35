"""`Rubric`: named reward functions combined with weights; weight 0 means logged only.

Every function is TRL-shaped, `f(completions, **fields) -> list[float | None]`, and receives
the same fields. The rubric is TRL-shaped too (calling it returns the weighted totals, so it can
stand in `reward_funcs`), and `rubric.score(...)` also returns each component, for logging.

A None from a function means "does not apply to this completion" (as in TRL): it adds nothing
to the total. A completion to which no weighted function applies gets a None total.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rlvr.core.hints import did_you_mean

RewardFunction = Callable[..., Sequence[float | None]]


@dataclass(frozen=True)
class RubricScores:
    """Weighted totals and every named component, one entry per completion."""

    totals: list[float | None]
    components: dict[str, list[float | None]]

    def rows(self) -> list[dict[str, float | None]]:
        """Per completion: {"total": ..., name: value, ...} (for JSONL logs)."""
        return [
            {"total": total, **{name: values[i] for name, values in self.components.items()}}
            for i, total in enumerate(self.totals)
        ]


class Rubric:
    """Weighted sum of named reward functions (see the module doc).

    >>> def length(completions, **kw): return [min(len(c), 10) / 10 for c in completions]
    >>> def polite(completions, **kw): return [1.0 if "please" in c else 0.0 for c in completions]
    >>> def shouts(completions, **kw): return [float(c.isupper()) for c in completions]
    >>> rubric = Rubric({"length": length, "polite": polite, "shouts": shouts},
    ...                 weights={"length": 0.5, "polite": 2.0, "shouts": 0.0})
    >>> rubric(["please wait", "NO"])
    [2.5, 0.1]
    >>> rubric.score(["please wait", "NO"]).components["shouts"]  # weight 0: logged, not added
    [0.0, 1.0]
    """

    def __init__(
        self,
        functions: Mapping[str, RewardFunction],
        weights: Mapping[str, float] | None = None,
        *,
        name: str = "rubric",
    ) -> None:
        if not functions:
            raise ValueError("a Rubric needs at least one named function")
        for key, function in functions.items():
            if not callable(function):
                raise TypeError(f"rubric function {key!r} must be callable, got {type(function).__name__}")
        weights = dict(weights or {})
        for key, weight in weights.items():
            if key not in functions:
                raise KeyError(f"weight given for unknown function {key!r}; the functions are "
                               f"{sorted(functions)}" + did_you_mean(key, functions))
            if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not math.isfinite(weight):
                raise ValueError(f"weight of {key!r} must be a finite number, got {weight!r}")
        self.functions = dict(functions)
        self.weights = {key: float(weights.get(key, 1.0)) for key in self.functions}
        """Missing weights default to 1."""
        self.__name__ = name  # TRL logs reward functions by __name__

    def score(self, completions: Sequence[Any], **fields: Any) -> RubricScores:
        """Run every function once and combine (see the module doc)."""
        components: dict[str, list[float | None]] = {}
        for key, function in self.functions.items():
            values = list(function(completions, **fields))
            if len(values) != len(completions):
                raise ValueError(f"rubric function {key!r} returned {len(values)} values for "
                                 f"{len(completions)} completions; expected one each")
            components[key] = [_as_value(key, v) for v in values]
        totals: list[float | None] = []
        for index in range(len(completions)):
            applied = [(self.weights[key], values[index]) for key, values in components.items()
                       if self.weights[key] != 0.0 and values[index] is not None]
            totals.append(sum(w * v for w, v in applied) if applied else None)
        return RubricScores(totals, components)

    def __call__(self, completions: Sequence[Any], **fields: Any) -> list[float | None]:
        return self.score(completions, **fields).totals

    def __repr__(self) -> str:
        return f"Rubric({', '.join(f'{k}={w:g}' for k, w in self.weights.items())})"


def _as_value(key: str, value: Any) -> float | None:
    """A function's value as a float; None and NaN both mean "does not apply"."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"rubric function {key!r} returned {value!r}; expected a number or None") from None
    return None if math.isnan(number) else number
