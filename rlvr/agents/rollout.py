"""Play whole episodes with an agent: the loop behind `rlvr play` and the conformance checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from rlvr.agents.base import Agent


@dataclass
class Episode:
    """What one episode produced: its return, the last step's info and a readable transcript."""

    total_reward: float
    steps: int
    final_info: dict[str, Any]
    transcript: str = ""
    actions: list[Any] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        return bool(self.final_info.get("correct", False))


def play_episode(env: gym.Env, agent: Agent, seed: int | None = None, max_steps: int = 10_000) -> Episode:
    """Run one episode of `agent` in `env`; the transcript comes from `env.render()` in ansi mode."""
    observation, info = env.reset(seed=seed)
    total, steps, actions = 0.0, 0, []
    terminated = truncated = False
    while not (terminated or truncated):
        if steps >= max_steps:
            raise RuntimeError(f"episode did not end within {max_steps} steps")
        action = agent.act([observation], [info])[0]
        actions.append(action)
        observation, reward, terminated, truncated, info = env.step(action)
        total += float(reward)
        steps += 1
    transcript = env.render() if getattr(env, "render_mode", None) == "ansi" else ""
    return Episode(total, steps, dict(info), transcript or "", actions)
