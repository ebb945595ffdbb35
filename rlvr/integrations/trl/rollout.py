"""`EnvRollout`: rlvr text envs, single- or multi-turn, played through TRL's `rollout_func` hook."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rlvr.core.problem import Problem
from rlvr.core.text_env import env_reply
from rlvr.integrations.trl.problems import PROBLEM_COLUMN, _make_registered_env, problem_from_json

_ROLLOUT_SEED_STRIDE = 1_000_003


@dataclass
class _Episode:
    env: Any
    prompt_ids: list[int]
    observation: str
    completion: list[int] = field(default_factory=list)
    env_mask: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    reward: float = 0.0
    turns: int = 0
    done: bool = False
    info: dict[str, Any] = field(default_factory=dict)

    def room(self, budget: int) -> int:
        return budget - len(self.completion)

    def add(self, ids: Sequence[int], logprobs: Sequence[float] | None) -> None:
        """Append model tokens (with their log-probs) or env tokens (logprobs None: masked out)."""
        from_model = logprobs is not None
        self.completion.extend(int(i) for i in ids)
        self.env_mask.extend([int(from_model)] * len(ids))
        self.logprobs.extend([float(v) for v in logprobs] if from_model else [0.0] * len(ids))


class EnvRollout:
    """A TRL `rollout_func` that plays an rlvr TextEnv per prompt with the trainer's model.

    `env`: a registered id (made with `env_kwargs`) or a zero-argument factory; one env per
    rollout row, reused across calls. `problems`: the dataset given to the trainer (or its rows,
    or `Problem`s), so each prompt finds its problem. `max_turns` caps the actions per episode
    (None: until the env ends it or the token budget is spent); `max_turn_tokens` caps one action.
    """

    def __init__(self, env: str | Callable[[], Any], problems: Iterable[Any], *, max_turns: int | None = None,
                 max_turn_tokens: int | None = None, separator: str = "\n", env_kwargs: Mapping[str, Any] | None = None,
                 problem_column: str = PROBLEM_COLUMN) -> None:
        self._make_env = functools.partial(_make_registered_env, env, dict(env_kwargs or {})) if isinstance(env, str) else env
        self.max_turns, self.max_turn_tokens, self.separator = max_turns, max_turn_tokens, separator
        self.problems: dict[str, Problem] = {}
        for item in problems:
            problem = item if isinstance(item, Problem) else problem_from_json(item[problem_column])
            known = self.problems.setdefault(problem.prompt, problem)
            if known.problem_id != problem.problem_id:
                raise ValueError(
                    f"problems {known.problem_id} and {problem.problem_id} share the prompt {problem.prompt[:80]!r}; "
                    "TRL's rollout hook sees only the prompt, so it could not tell them apart"
                )
        if not self.problems:
            raise ValueError("EnvRollout needs at least one problem")
        self._pool: list[Any] = []
        self._calls = 0

    def _problem(self, prompt: Any) -> Problem:
        if not isinstance(prompt, str):
            raise ValueError("EnvRollout plays text prompts: build the dataset with conversational=False")
        if prompt not in self.problems:
            raise KeyError(f"prompt {prompt[:80]!r} is not among the problems given to EnvRollout; "
                           "give it the same dataset as the trainer")
        return self.problems[prompt]

    def _start(self, row: int, prompt: str, problem: Problem, prompt_ids: list[int], tokenizer: Any,
               budget: int) -> _Episode:
        while len(self._pool) <= row:
            self._pool.append(self._make_env())
        env = self._pool[row]
        observation, info = env.reset(options={"problem": problem})
        if not isinstance(observation, str):
            raise TypeError(f"EnvRollout needs text observations, got {type(observation).__name__}")
        episode = _Episode(env, list(prompt_ids), observation, info=dict(info))
        if observation != prompt:  # an env that shows more than the dataset's prompt
            extra = tokenizer(env_reply(info, prompt, observation, self.separator), add_special_tokens=False)["input_ids"]
            episode.add(extra[:budget], None)
        return episode

    def __call__(self, prompts: list[Any], trainer: Any) -> dict[str, list]:
        from rlvr.agents.hf import TransformersPolicy

        model = trainer.accelerator.unwrap_model(trainer.model) if hasattr(trainer, "accelerator") else trainer.model
        tokenizer, args = trainer.processing_class, trainer.args
        budget = int(args.max_completion_length)
        per_turn = budget if self.max_turn_tokens is None else min(budget, int(self.max_turn_tokens))
        parameter = next(model.parameters())
        policy = TransformersPolicy(model, tokenizer, device=str(parameter.device), dtype=parameter.dtype,
                                    temperature=float(args.temperature), top_p=float(args.top_p))
        problems = [self._problem(prompt) for prompt in prompts]  # check every prompt before any work
        prompt_ids = tokenizer(text=list(prompts))["input_ids"] if prompts else []
        episodes = [self._start(row, prompt, problem, ids, tokenizer, budget)
                    for row, (prompt, problem, ids) in enumerate(zip(prompts, problems, prompt_ids, strict=True))]
        seed = int(args.seed) * _ROLLOUT_SEED_STRIDE + self._calls * 1009
        self._calls += 1
        was_training = model.training
        model.eval()
        try:
            turn = 0
            while self.max_turns is None or turn < self.max_turns:
                active = [e for e in episodes if not e.done and e.room(budget) > 0]
                if not active:
                    break
                new_tokens = min(per_turn, max(e.room(budget) for e in active))
                sample = policy.sample([e.prompt_ids + e.completion for e in active], num_samples=1,
                                       max_new_tokens=new_tokens, seed=seed + turn)
                rows = zip(active, sample.completion_lists(), sample.logprobs.tolist(), sample.texts, strict=True)
                for episode, ids, logprobs, text in rows:
                    self._play(episode, ids, logprobs, text, tokenizer, budget)
                turn += 1
        finally:
            model.train(was_training)
        return {
            "prompt_ids": [e.prompt_ids for e in episodes],
            "completion_ids": [e.completion for e in episodes],
            "logprobs": [e.logprobs for e in episodes],
            "env_mask": [e.env_mask for e in episodes],
            "env_reward": [e.reward for e in episodes],
            "env_turns": [e.turns for e in episodes],
            "env_correct": [float(bool(e.info.get("correct", False))) for e in episodes],
            "env_error": [e.info.get("error") for e in episodes],
        }

    def _play(self, episode: _Episode, ids: list[int], logprobs: list[float], text: str, tokenizer: Any, budget: int) -> None:
        """Append one action, step the env with its text, append what the env says next."""
        keep = min(len(ids), episode.room(budget))
        if keep < len(ids):
            ids, text = ids[:keep], tokenizer.decode(ids[:keep], skip_special_tokens=True)
        episode.add(ids, logprobs[:keep])
        observation, reward, terminated, truncated, info = episode.env.step(text)
        episode.reward += float(reward)
        episode.turns += 1
        episode.info = dict(info)
        if terminated or truncated:
            episode.done = True
            return
        feedback = env_reply(info, episode.observation, observation, self.separator)
        episode.observation = observation
        feedback_ids = tokenizer(feedback, add_special_tokens=False)["input_ids"]
        episode.add(feedback_ids[: episode.room(budget)], None)
