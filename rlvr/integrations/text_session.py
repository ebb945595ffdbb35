"""`TextSession`: any registered single-agent id played as chat text, for the turn-based adapters.

SkyRL-Gym, GEM and TextArena all ask the same of an env: a first prompt, then one string per turn
in, and back what the env says, a reward and whether the episode is over. This module is that
view of an rlvr id, once, so each adapter is only the glue to its peer's method names:

- ids whose env speaks text (observation and action spaces are text) are played through
  `gym.make(env_id, **env_kwargs)`, single- or multi-turn; an env whose default action mode is
  not text but that has `action_mode="text"` (the elicitation family) is built in that mode;
- any other id (the MathTree token MDP) is played through its task: one turn, the response scored
  by the task's verifier, as `rlvr export` rows and the TRL reward functions score it.

`start()` returns the chat messages of the first prompt and `act(text)` a `Turn`: the env's reply
(what a multi-turn env said back, `rlvr.core.text_env.env_reply`), the reward, done, and an info
dict of plain JSON values (numbers, strings, lists, dicts: safe to log or send). Nothing the policy
writes raises: a non-string, an env that refuses the action, a turn after the end, all give
reward 0, done, and the reason in `info["error"]`. `max_turns` ends an episode after that many
turns (truncated), as trainers that cap turns expect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rlvr.core.problem import Problem, Score
from rlvr.core.task_env import guarded_score
from rlvr.core.text_env import env_reply

MAX_INFO_TEXT = 4096
"""Longest string kept in a turn's info (longer ones are cut, with a marker)."""
MAX_INFO_DEPTH = 4


def plain(value: Any, depth: int = 0) -> Any:
    """`value` as plain JSON data: numpy scalars as numbers, tuples and small arrays as lists,
    long strings cut, anything else (and anything nested deeper than `MAX_INFO_DEPTH`) dropped.

    >>> plain({"a": np.float32(0.5), "b": (1, "x" * 3), "c": object()})
    {'a': 0.5, 'b': [1, 'xxx']}
    """
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str):
        return value if len(value) <= MAX_INFO_TEXT else value[:MAX_INFO_TEXT] + "...[cut]"
    if depth >= MAX_INFO_DEPTH:
        return None
    if isinstance(value, np.ndarray) and value.size <= 64:
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in value[:64]]
    if isinstance(value, Mapping):
        out = {}
        for key, item in list(value.items())[:64]:
            converted = plain(item, depth + 1)
            if converted is not None or item is None:
                out[str(key)] = converted
        return out
    return None


def _is_text(env: Any) -> bool:
    from gymnasium.spaces import Text

    return isinstance(env.observation_space, Text) and isinstance(env.action_space, Text)


def make_text_env(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> tuple[Any, bool]:
    """(env, speaks_text): `gym.make(env_id, **env_kwargs)`, in text action mode where the env has
    one and the caller chose no mode; `speaks_text` False means: play it through its task."""
    import gymnasium as gym

    import rlvr  # noqa: F401  (registers the ids)

    kwargs = dict(env_kwargs or {})
    env = gym.make(env_id, disable_env_checker=True, **kwargs)
    if _is_text(env) or "action_mode" in kwargs:
        return env, _is_text(env)
    try:
        text_env = gym.make(env_id, disable_env_checker=True, action_mode="text", **kwargs)
    except (TypeError, ValueError):  # no text mode: the task plays it
        return env, False
    if _is_text(text_env):
        env.close()
        return text_env, True
    text_env.close()
    return env, False


@dataclass
class Turn:
    """What one action brought: the env's reply (None once the episode is over), reward, done."""

    reply: str | None
    reward: float
    done: bool
    terminated: bool
    truncated: bool
    info: dict[str, Any] = field(default_factory=dict)


class TextSession:
    """One env of `env_id`, played episode after episode as text (see the module doc)."""

    def __init__(self, env_id: str, env_kwargs: Mapping[str, Any] | None = None, *,
                 max_turns: int | None = None) -> None:
        if max_turns is not None and (isinstance(max_turns, bool) or not isinstance(max_turns, int)
                                      or max_turns < 1):
            raise ValueError(f"max_turns must be a positive integer or None, got {max_turns!r}")
        self.env_id, self.max_turns = env_id, max_turns
        self.env, self.speaks_text = make_text_env(env_id, env_kwargs)
        self.task = getattr(self.env.unwrapped, "task", None)
        self.problem: Problem | None = None
        self.turns, self.total_reward, self.done, self.correct = 0, 0.0, True, False
        self.observation = ""
        """The env's latest observation text (the problem's prompt for ids played through the task)."""

    def start(self, *, problem: Problem | None = None, seed: int | None = None,
              index: int | None = None) -> tuple[list[dict[str, str]], dict[str, Any]]:
        """Begin an episode on `problem`, or on problem `index` of stream `seed` (the next one when
        None); returns the first prompt's chat messages and the reset info."""
        options: dict[str, Any] = {}
        if problem is not None:
            options["problem"] = problem
        if index is not None:
            options["index"] = int(index)
        observation, info = self.env.reset(seed=seed, options=options or None)
        self.problem = self.env.unwrapped.problem
        self.turns, self.total_reward, self.done, self.correct = 0, 0.0, False, False
        self.observation = observation if self.speaks_text else self.problem.prompt
        messages = info.get("messages") or [{"role": "user", "content": self.observation}]
        return [dict(m) for m in messages], plain({k: v for k, v in info.items() if k != "messages"})

    def act(self, action: Any) -> Turn:
        """Play one turn; never raises for anything the policy wrote."""
        if self.done:
            return self._end(Score.zero("the episode is over; call start() for a new one"), truncated=False)
        self.turns += 1
        if not self.speaks_text:
            if not isinstance(action, str):
                reason = f"an action is text, got {type(action).__name__}"
                return self._end(Score.zero(reason), truncated=False)
            return self._end(guarded_score(self.task.score, self.problem, action), truncated=False)
        try:
            observation, reward, terminated, truncated, info = self.env.step(action)
        except Exception as error:  # an env refusing an action ends the episode, never the run
            return self._end(Score.zero(f"the env refused the action: {type(error).__name__}: {error}"),
                             truncated=False)
        reward = float(reward) if np.isfinite(reward) else 0.0
        capped = self.max_turns is not None and self.turns >= self.max_turns
        done = bool(terminated or truncated or capped)
        # no separator: the reply is a message of its own
        reply = None if done else env_reply(info, self.observation, observation, separator="")
        self.observation = observation
        self.total_reward += reward
        self.correct = bool(info.get("correct", False))
        self.done = done
        details = plain({k: v for k, v in info.items() if k != "messages"})
        return Turn(reply, reward, done, bool(terminated), bool(truncated or (capped and not terminated)),
                    {**details, "turn": self.turns})

    def _end(self, score: Score, truncated: bool) -> Turn:
        """A turn that ends the episode with `score` (task-played ids and refused actions)."""
        first_end = not self.done
        self.done = True
        if first_end:
            self.total_reward += score.reward
            self.correct = score.correct
        return Turn(None, float(score.reward) if first_end else 0.0, True, True, truncated,
                    {**plain(score.info()), "turn": self.turns})

    def close(self) -> None:
        self.env.close()


__all__ = ["TextSession", "Turn", "make_text_env", "plain"]
