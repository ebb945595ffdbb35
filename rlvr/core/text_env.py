"""`TextEnv`: observation = prompt text, action = any string (a whole response).

The policy generates; the env never steps per token. Chat messages ride in `info["messages"]`.
Any string is a valid action: one the task cannot parse is scored zero with the reason in
`info["error"]`, never an exception. Multi-turn envs override `step` and keep the episode open.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rlvr.core.problem import Score
from rlvr.core.spaces import UnicodeText
from rlvr.core.task_env import TaskEnv, action_repr, check_render_mode, guarded_score

MAX_TEXT_LENGTH = 1 << 20
"""Longest action (response) the action space admits."""
MAX_PROMPT_LENGTH = 1 << 16
"""Longest prompt (observation). Every built-in generator stays far below it; it is also what a
shared-memory vector env reserves per env (4 bytes a character), so it is kept realistic."""


def env_reply(info: Any, previous_observation: Any, observation: Any, separator: str = "\n") -> str:
    """What a multi-turn env said back after an action, for token-level rollouts.

    `info["reply"]` when the env gives one (tool results, an answerer's words, a world's
    feedback); else the part of the new observation that extends the previous one; else the whole
    new observation after `separator`.

    >>> env_reply({"reply": " (left: 7)"}, "Q", "Q 3+4=7"), env_reply({}, "Q", "Q, then 1"), env_reply({}, "Q", "R")
    (' (left: 7)', ', then 1', '\\nR')
    """
    reply = info.get("reply") if isinstance(info, Mapping) else None
    if isinstance(reply, str):
        return reply
    new, old = str(observation), str(previous_observation)
    return new[len(old):] if new.startswith(old) else separator + new


class TextEnv(TaskEnv):
    """Single-turn text env over a `Task`: reset shows the prompt, one step scores the response."""

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(self, *args: Any, render_mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.render_mode = check_render_mode(render_mode)
        self.observation_space = UnicodeText(MAX_PROMPT_LENGTH)
        self.action_space = UnicodeText(MAX_TEXT_LENGTH)
        self._response: str | None = None
        self._score: Score | None = None
        self._done = True

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None):
        super().reset(seed=seed)
        problem = self._choose_problem(seed, options)
        if len(problem.prompt) > self.observation_space.max_length:
            raise ValueError(f"the prompt of problem {problem.problem_id} has {len(problem.prompt)} characters, "
                             f"more than the observation space's {self.observation_space.max_length}")
        self._response, self._score, self._done = None, None, False
        return problem.prompt, self._problem_info()

    def score_action(self, action: Any) -> Score:
        """Score one action; anything that is not a string earns zero with the reason."""
        if not isinstance(action, str):
            return Score.zero(f"action must be a string, got {type(action).__name__}")
        return self.task.score(self.problem, action)

    def oracle_action(self) -> str | None:
        """The action the task's oracle would take now (None where the task has no oracle)."""
        if self.problem is None or self._done:
            return None
        return self.task.solve(self.problem)

    def step(self, action: Any):
        if self._done or self.problem is None:
            raise RuntimeError("step() called on a finished episode; call reset() first")
        score = guarded_score(self.score_action, action)
        self._response, self._score, self._done = action if isinstance(action, str) else action_repr(action), score, True
        info = {**self._problem_info(), "gold": self.problem.answer, **score.info()}
        return "", float(score.reward), True, False, info

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self.problem is None:
            return None
        lines = [f"[prompt] {self.problem.prompt}"]
        if self._response is not None:
            lines.append(f"[response] {self._response}")
            lines.append(f"[reward] {self._score.reward} {dict(self._score.components)} {self._score.error or ''}")
        return "\n".join(lines)
