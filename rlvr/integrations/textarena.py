"""TextArena's single-player protocol over any rlvr id: `reset(num_players=1, seed)`, then per
turn `get_observation() -> (player_id, text)` and `step(action) -> (done, info)`, and at the end
`close() -> (rewards, game_info)`, both keyed by player id.

    env = TextArenaEnv("rlvr/TwentyQuestions-v0")
    env.reset(num_players=1, seed=0)
    done = False
    while not done:
        player_id, observation = env.get_observation()
        done, info = env.step(agent(observation))
    rewards, game_info = env.close()     # {0: episode reward}, {0: {"reason", "turn_count", ...}}

TextArena hands out rewards only at `close()`; rlvr envs may reward every turn, so `rewards[0]` is
the episode's sum. The class is duck-typed to TextArena's `Env` rather than a subclass: the
`textarena` package brings openai, chess, nltk and websockets (9 packages) and its games seed the
global `random`; its agents and wrappers call only these methods. Play goes through
`TextSession`: nothing the agent writes raises (see `rlvr.integrations.text_session`).
"""

from __future__ import annotations

from typing import Any

from rlvr.integrations.text_session import TextSession


class TextArenaEnv:
    """An rlvr id as a TextArena single-player env (see the module doc)."""

    def __init__(self, env_id: str, *, env_kwargs: dict[str, Any] | None = None, max_turns: int | None = None,
                 **difficulty: Any) -> None:
        kwargs = {**dict(env_kwargs or {}), **({"difficulty": difficulty} if difficulty else {})}
        self.session = TextSession(env_id, kwargs, max_turns=max_turns)
        self._pending, self._last_info = "", {}

    def reset(self, num_players: int = 1, seed: int | None = None) -> None:
        if num_players != 1:
            raise ValueError(f"rlvr envs are single-player here (multi-agent ids are PettingZoo envs: "
                             f"rlvr.make_multi), got num_players={num_players}")
        self.session.start(seed=seed)
        self._pending, self._last_info = self.session.observation, {}

    def get_observation(self) -> tuple[int, str]:
        return 0, self._pending

    def step(self, action: Any) -> tuple[bool, dict[str, Any]]:
        turn = self.session.act(action)
        self._pending, self._last_info = turn.reply or "", turn.info
        return turn.done, turn.info

    def close(self) -> tuple[dict[int, float], dict[int, dict[str, Any]]]:
        session = self.session
        reason = self._last_info.get("error") or ("correct" if session.correct else "episode over")
        game_info = {0: {"reason": reason, "turn_count": session.turns, "correct": session.correct,
                         "invalid_move": bool(self._last_info.get("error"))}}
        return {0: session.total_reward}, game_info
