"""Agents that need no model: uniform random actions and the task's oracle.

The random agent is the floor every learner must beat; the oracle proves instances are solvable
and produces demonstrations. The oracle asks each env for `oracle_action()` (the next action of
the task's solver in the current state), so it works for single-turn text envs, token envs and
multi-turn envs alike.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from rlvr.core.spaces import UnicodeText

_RANDOM_TEXT_CHARS = np.array(list(string.digits + string.ascii_letters + " +-*/()=.\\{}"))


class RandomAgent:
    """Samples each action uniformly from the env's action space.

    For text envs (any-string actions) it writes short random strings over a math-flavoured
    alphabet; for discrete or box action spaces it uses the space's own sampler, seeded here.
    """

    def __init__(self, action_space: gym.Space, seed: int | None = None, max_text_length: int = 16) -> None:
        self.action_space = action_space
        self.rng = np.random.default_rng(seed)
        self.max_text_length = max_text_length
        action_space.seed(int(self.rng.integers(2**31)))

    def _one(self) -> Any:
        if isinstance(self.action_space, UnicodeText):
            length = int(self.rng.integers(1, self.max_text_length + 1))
            return "".join(self.rng.choice(_RANDOM_TEXT_CHARS, size=length))
        return self.action_space.sample()

    def act(self, observations: Sequence[Any], infos: Sequence[dict[str, Any]]) -> list[Any]:
        return [self._one() for _ in observations]


class OracleAgent:
    """Plays the task's solver: asks each env (one per observation) for its `oracle_action()`."""

    def __init__(self, envs: Sequence[gym.Env]) -> None:
        self.envs = list(envs)

    def act(self, observations: Sequence[Any], infos: Sequence[dict[str, Any]]) -> list[Any]:
        if len(observations) != len(self.envs):
            raise ValueError(f"expected {len(self.envs)} observations (one per env), got {len(observations)}")
        actions = []
        for env in self.envs:
            oracle = getattr(env.unwrapped, "oracle_action", None)
            action = oracle() if oracle is not None else None
            if action is None:
                raise RuntimeError(f"{env.spec.id if env.spec else type(env.unwrapped).__name__} has no oracle")
            actions.append(action)
        return actions
