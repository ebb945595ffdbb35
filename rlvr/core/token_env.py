"""`TokenEnv`: the token-level view of a task — the MDP that ROVER's theorem is about.

State = prompt ids + the response prefix; an action appends token ids (deterministic, so every
state has exactly one parent: the MDP is a tree); the reward comes only when the episode ends,
by decoding the response (EOS dropped) and scoring the text with the task.

- `action_mode="token"` (default): `Discrete(num_actions)`, one token a step.
- `action_mode="chunk"`: a `Box(0, num_actions, shape=(horizon,), int64)` of ids read in order up
  to the first entry equal to `num_actions` (the chunk padding, `env.chunk_pad_id`); a whole
  response or a piece of one. A chunk with no ids counts as a lone EOS, so every step makes
  progress and chunk mode reaches the same leaves as token mode.
- The episode ends on EOS or when the response reaches the horizon; a response cut at the horizon
  is scored as it stands. An id outside `[0, num_actions)` ends the episode with reward 0 and the
  reason in `info["error"]` (a model may emit ids beyond its tokenizer's length).

Observation (fixed shapes, so vector envs and Stable-Baselines3 take it): `prompt_ids`
(`max_prompt_length`) and `response_ids` (`horizon`), padded with `pad_id` = the tokenizer's
length (never a real id), and their lengths `prompt_length`, `response_length`.

Tokenizers are duck-typed: `encode(text) -> list[int]`, `decode(ids) -> str`, a size from
`len(tok)` or `tok.vocab_size`, and `eos_token_id`; a Hugging Face tokenizer qualifies, and
this module imports none. `get_state()`/`set_state()`/`clone()` support tree search.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from rlvr.core.problem import Problem, Score
from rlvr.core.task_env import TaskEnv, action_repr, check_render_mode, guarded_score

ACTION_MODES = ("token", "chunk")


def tokenizer_size(tokenizer: Any) -> int:
    """Number of ids a tokenizer-like object uses: `len(tok)`, else `tok.vocab_size`."""
    try:
        return int(len(tokenizer))
    except TypeError:
        size = getattr(tokenizer, "vocab_size", None)
        if size is None:
            raise TypeError(
                f"tokenizer {type(tokenizer).__name__} has neither len() nor .vocab_size"
            ) from None
        return int(size)


def check_tokenizer(tokenizer: Any) -> int:
    """Validate the duck-typed protocol; returns the EOS id."""
    for method in ("encode", "decode"):
        if not callable(getattr(tokenizer, method, None)):
            raise TypeError(f"tokenizer must have an {method}() method; {type(tokenizer).__name__} has none")
    eos = getattr(tokenizer, "eos_token_id", None)
    if not isinstance(eos, (int, np.integer)) or isinstance(eos, bool):
        raise TypeError(f"tokenizer.eos_token_id must be an int, got {eos!r}")
    return int(eos)


@dataclass(frozen=True)
class TokenState:
    """Everything that decides what the next steps do (immutable, so it can be stored in trees)."""

    problem: Problem | None
    prompt_ids: tuple[int, ...]
    response_ids: tuple[int, ...]
    horizon: int
    done: bool
    score: Score | None
    stream: tuple[int | None, int, tuple[tuple[str, Any], ...]]


class TokenEnv(TaskEnv):
    """Generic token-level env over a `Task` and a tokenizer (see the module doc)."""

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(
        self,
        task: Any = None,
        *,
        tokenizer: Any = None,
        horizon: int | None = None,
        action_mode: str = "token",
        num_actions: int | None = None,
        max_prompt_length: int | None = None,
        render_mode: str | None = None,
        **task_env_kwargs: Any,
    ) -> None:
        super().__init__(task, **task_env_kwargs)
        if action_mode not in ACTION_MODES:
            raise ValueError(f"action_mode must be one of {ACTION_MODES}, got {action_mode!r}")
        check_render_mode(render_mode)
        self.tokenizer = tokenizer if tokenizer is not None else self.default_tokenizer()
        self.eos_id = check_tokenizer(self.tokenizer)
        size = tokenizer_size(self.tokenizer)
        self.num_actions = int(num_actions if num_actions is not None else self.default_num_actions())
        if not 0 <= self.eos_id < self.num_actions <= size:
            raise ValueError(
                f"need 0 <= eos_token_id < num_actions <= tokenizer size, got {self.eos_id}, "
                f"{self.num_actions}, {size}"
            )
        self.horizon = int(horizon if horizon is not None else self.default_horizon())
        self.max_prompt_length = int(max_prompt_length or self.default_max_prompt_length())
        if self.horizon < 1 or self.max_prompt_length < 1:
            raise ValueError(f"horizon and max_prompt_length must be >= 1, got {self.horizon}, {self.max_prompt_length}")
        self.action_mode, self.render_mode = action_mode, render_mode
        self.pad_id = size
        self.chunk_pad_id = self.num_actions
        self.observation_space = spaces.Dict({
            "prompt_ids": spaces.Box(0, self.pad_id, (self.max_prompt_length,), np.int64),
            "prompt_length": spaces.Discrete(self.max_prompt_length + 1),
            "response_ids": spaces.Box(0, self.pad_id, (self.horizon,), np.int64),
            "response_length": spaces.Discrete(self.horizon + 1),
        })
        if action_mode == "token":
            self.action_space = spaces.Discrete(self.num_actions)
        else:
            self.action_space = spaces.Box(0, self.chunk_pad_id, (self.horizon,), np.int64)
        self._prompt_ids: tuple[int, ...] = ()
        self._prompt_array = np.full(self.max_prompt_length, self.pad_id, np.int64)
        self._response: list[int] = []
        self._episode_horizon = self.horizon
        self._done = True
        self._score: Score | None = None

    # ------------------------------------------------------------------ hooks for subclasses
    def default_tokenizer(self) -> Any:
        raise TypeError(f"{type(self).__name__} needs tokenizer=... (any object with encode/decode/eos_token_id)")

    def default_num_actions(self) -> int:
        return tokenizer_size(self.tokenizer)

    def default_horizon(self) -> int:
        raise TypeError(f"{type(self).__name__} needs horizon=...")

    def default_max_prompt_length(self) -> int:
        return 512

    def episode_horizon(self) -> int:
        """Horizon of the episode being reset (at most the constructed `horizon`)."""
        return self.horizon

    def encode_prompt(self, problem: Problem) -> list[int]:
        return list(self.tokenizer.encode(problem.prompt))

    def decode_response(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids))

    def terminal_score(self, ids: Sequence[int]) -> Score:
        """Score a finished response (EOS, if any, is the last id)."""
        content = ids[:-1] if ids and ids[-1] == self.eos_id else ids
        try:
            text = self.decode_response(content)
        except Exception as error:  # a foreign tokenizer may reject ids; that is a zero, not a crash
            return Score.zero(f"could not decode the response ids: {error}")
        return self.task.score(self.problem, text)

    def error_score(self, reason: str) -> Score:
        """The zero score of an unusable action (subclasses add their components so info keys stay fixed)."""
        return Score.zero(reason)

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None):
        super().reset(seed=seed)
        problem = self._choose_problem(seed, options)
        prompt = [int(i) for i in self.encode_prompt(problem)]
        if len(prompt) > self.max_prompt_length:
            raise ValueError(
                f"the prompt has {len(prompt)} tokens, more than max_prompt_length={self.max_prompt_length}; "
                "pass a larger max_prompt_length"
            )
        horizon = int(self.episode_horizon())
        if not 1 <= horizon <= self.horizon:
            raise ValueError(f"episode horizon must be in [1, {self.horizon}] (fixed at construction), got {horizon}")
        self._set_prompt(tuple(prompt))
        self._response, self._episode_horizon, self._done, self._score = [], horizon, False, None
        return self._observation(), self._problem_info()

    def step(self, action: Any):
        if self._done or self.problem is None:
            raise RuntimeError("step() called on a finished episode; call reset() first")
        ids, error = self._action_ids(action)
        response, horizon, eos = self._response, self._episode_horizon, self.eos_id
        for token in ids:
            if not 0 <= token < self.num_actions:
                error = f"token id {action_repr(token)} is outside the action vocabulary [0, {self.num_actions})"
                break
            response.append(token)
            if token == eos or len(response) >= horizon:
                self._done = True
                break
        if error is not None:
            self._done, self._score = True, self.error_score(error)
        elif self._done:
            self._score = guarded_score(self.terminal_score, tuple(response))
        if not self._done:
            return self._observation(), 0.0, False, False, {"problem_id": self.problem.problem_id}
        score = self._score
        info = {
            **self._problem_info(),
            "gold": self.problem.answer,
            **score.info(),
            **score.components,
            "response_ids": tuple(response),
        }
        return self._observation(), float(score.reward), True, False, info

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self.problem is None:
            return None
        lines = [f"[prompt] {self.problem.prompt}", f"[response ids] {self._response}"]
        if self._score is not None:
            lines.append(f"[reward] {self._score.reward} {dict(self._score.components)} {self._score.error or ''}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ oracle
    def oracle_action(self) -> Any:
        """The next action of the task's solution, encoded with this env's tokenizer.

        Token mode gives one id, chunk mode the whole rest of the solution (padded); None when the
        task has no oracle or the response so far has left the solution's path.
        """
        if self._done or self.problem is None:
            return None
        solution = self.task.solve(self.problem)
        if solution is None:
            return None
        ids = [*self.tokenizer.encode(solution), self.eos_id][: self._episode_horizon]
        taken = len(self._response)
        if ids[:taken] != self._response or taken >= len(ids):
            return None
        rest = ids[taken:]
        if self.action_mode == "token":
            return rest[0]
        chunk = np.full(self.horizon, self.chunk_pad_id, np.int64)
        chunk[: len(rest)] = rest
        return chunk

    # ------------------------------------------------------------------ tree search
    def get_state(self) -> TokenState:
        return TokenState(
            self.problem, self._prompt_ids, tuple(self._response), self._episode_horizon, self._done,
            self._score, (self._stream_seed, self._index, tuple(self.difficulty.items())),
        )

    def set_state(self, state: TokenState) -> None:
        """Restore a state from `get_state()`; stepping from it repeats what followed it."""
        if not isinstance(state, TokenState):
            raise TypeError(f"set_state expects a TokenState from get_state(), got {type(state).__name__}")
        self.problem = state.problem
        self._set_prompt(state.prompt_ids)
        self._response = list(state.response_ids)
        self._episode_horizon, self._done, self._score = state.horizon, state.done, state.score
        self._stream_seed, self._index, difficulty = state.stream
        self.difficulty = dict(difficulty)

    def clone(self) -> TokenEnv:
        """An independent env in the same state (shares the task and tokenizer, which are read-only)."""
        twin = copy.copy(self)
        twin._np_random = copy.deepcopy(self._np_random)
        twin.set_state(self.get_state())
        return twin

    # ------------------------------------------------------------------ internals
    def _set_prompt(self, prompt: tuple[int, ...]) -> None:
        self._prompt_ids = prompt
        array = np.full(self.max_prompt_length, self.pad_id, np.int64)
        array[: len(prompt)] = prompt
        self._prompt_array = array

    def _observation(self) -> dict[str, Any]:
        response = np.full(self.horizon, self.pad_id, np.int64)
        response[: len(self._response)] = self._response
        return {
            "prompt_ids": self._prompt_array.copy(),  # fresh data each call: users may keep it
            "prompt_length": np.int64(len(self._prompt_ids)),
            "response_ids": response,
            "response_length": np.int64(len(self._response)),
        }

    def _action_ids(self, action: Any) -> tuple[list[int], str | None]:
        """The ids an action appends, or an error saying why the action is not usable."""
        if self.action_mode == "token":
            if isinstance(action, (int, np.integer)) and not isinstance(action, bool):
                return [int(action)], None
            try:
                array = np.asarray(action)
            except Exception:  # ragged or exotic input: a zero, not a crash
                array = None
            if array is not None and array.shape == () and np.issubdtype(array.dtype, np.integer):
                return [int(array)], None
            return [], f"a token action must be an integer id, got {action_repr(action)}"
        try:
            array = np.asarray(action)
        except Exception as error:  # ragged or exotic input: a zero, not a crash
            return [], f"a chunk action must be a sequence of integer ids: {error}"
        if array.ndim != 1 or not (array.size == 0 or np.issubdtype(array.dtype, np.integer)):
            return [], f"a chunk action must be a 1-d sequence of integer ids, got shape {array.shape} {array.dtype}"
        ids = array.tolist()
        if self.chunk_pad_id in ids:
            ids = ids[: ids.index(self.chunk_pad_id)]
        return (ids or [self.eos_id]), None
