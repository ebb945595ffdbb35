"""Difficulty knobs: named, typed, documented, validated with close-match suggestions.

Every task declares its knobs; users set them in the env constructor (`difficulty={...}` or as
keyword arguments) or per episode with `reset(options={"difficulty": {...}})`, which also reaches
envs inside vector envs because Gymnasium forwards `options` to each sub-env.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rlvr.core.hints import did_you_mean


@dataclass(frozen=True)
class Knob:
    """One difficulty knob: a default, a doc line and what values it accepts."""

    name: str
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None

    def check(self, value: Any) -> Any:
        expected = type(self.default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if expected is tuple and isinstance(value, list):
            value = tuple(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise TypeError(f"difficulty knob {self.name!r} expects {expected.__name__}, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"difficulty knob {self.name!r} must be one of {self.choices}, got {value!r}")
        if self.low is not None and value < self.low:
            raise ValueError(f"difficulty knob {self.name!r} must be >= {self.low}, got {value!r}")
        if self.high is not None and value > self.high:
            raise ValueError(f"difficulty knob {self.name!r} must be <= {self.high}, got {value!r}")
        return value

    def describe(self) -> str:
        allowed = ""
        if self.choices is not None:
            allowed = f" one of {list(self.choices)}"
        elif self.low is not None or self.high is not None:
            allowed = f" in [{self.low if self.low is not None else '-inf'}, {self.high if self.high is not None else 'inf'}]"
        return f"{self.name}={self.default!r}{allowed}: {self.doc}"


def resolve_difficulty(
    knobs: Sequence[Knob], *overrides: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Defaults, then each override in order; unknown names and bad values are clear errors."""
    by_name = {k.name: k for k in knobs}
    resolved = {k.name: k.default for k in knobs}
    for override in overrides:
        for name, value in (override or {}).items():
            if name not in by_name:
                raise KeyError(
                    f"unknown difficulty knob {name!r}; this task has {sorted(by_name)}"
                    + did_you_mean(name, by_name)
                )
            resolved[name] = by_name[name].check(value)
    return resolved
