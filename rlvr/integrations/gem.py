"""GEM's `Env` protocol over any rlvr id: `reset(seed) -> (observation, info)` and
`step(action) -> (observation, reward, terminated, truncated, info)`, text in and out.

    env = GemEnv("rlvr/Countdown-v0", number_count=4)
    observation, info = env.reset(seed=0)       # the prompt text
    observation, reward, terminated, truncated, info = env.step("<answer>(3+5)*2</answer>")

A single-turn id returns `TERMINAL_STATE` (GEM's end-of-episode observation) after its one step;
a multi-turn id returns what the env said back until the episode ends. The class is duck-typed
to GEM's interface rather than a subclass of `gem.Env`: the `gem-llm` package pins nltk,
reasoning-gym and msgspec to exact versions (15 packages in all) and its `Env.reset` seeds the
global `random`, which rlvr never does, so it is not a dependency; GEM's own wrappers and
vectorisation take any object with these methods. Play goes through `TextSession`: nothing the
policy writes raises (see `rlvr.integrations.text_session`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlvr.integrations.text_session import TextSession

TERMINAL_STATE = "<｜TERMINAL_STATE｜>"
"""GEM's observation once an episode is over (the value of `gem.utils.constants.TERMINAL_STATE`)."""
RANDOM_CHARACTERS = "0123456789+-*/() "


class GemEnv:
    """An rlvr id as a GEM env (see the module doc); `difficulty` are knobs of the id's task."""

    def __init__(self, env_id: str, *, env_kwargs: dict[str, Any] | None = None, max_turns: int | None = None,
                 **difficulty: Any) -> None:
        kwargs = {**dict(env_kwargs or {}), **({"difficulty": difficulty} if difficulty else {})}
        self._settings = (env_id, kwargs, max_turns)
        self.session = TextSession(env_id, kwargs, max_turns=max_turns)
        self._rng = np.random.default_rng()

    def reset(self, seed: int | None = None) -> tuple[str, dict[str, Any]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        _, info = self.session.start(seed=seed)
        return self.session.observation, info

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        turn = self.session.act(action)
        observation = TERMINAL_STATE if turn.done else turn.reply
        return observation, turn.reward, turn.terminated, turn.truncated, turn.info

    def sample_random_action(self) -> str:
        """A random short string of digits, operators and spaces (a baseline with no knowledge)."""
        return "".join(self._rng.choice(list(RANDOM_CHARACTERS), size=int(self._rng.integers(1, 16))))

    def spawn(self, same_state: bool = False, **kwargs: Any) -> GemEnv:
        """A new env with the same settings; with `same_state`, on the same problem (not yet played)."""
        env_id, env_kwargs, max_turns = self._settings
        child = GemEnv(env_id, env_kwargs={**env_kwargs, **kwargs}, max_turns=max_turns)
        if same_state and self.session.problem is not None:
            child.session.start(problem=self.session.problem)
        return child

    @property
    def unwrapped(self) -> GemEnv:
        return self

    def close(self) -> None:
        self.session.close()
