"""The batched `Agent` protocol: a list of observations in, a list of actions out.

Batch first, so the same call serves one env, a vector env's sub-envs or a model that samples a
whole batch at once. Trainable policies (later) extend this with log-probs and scoring.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Agent(Protocol):
    """Anything with `act(observations, infos) -> actions` (all lists of equal length)."""

    def act(self, observations: Sequence[Any], infos: Sequence[dict[str, Any]]) -> list[Any]: ...
