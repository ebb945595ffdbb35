"""TRL integration: rlvr verifiers as `GRPOTrainer` reward functions, problem datasets, env rollouts.

    from trl import GRPOConfig, GRPOTrainer
    from rlvr.integrations.trl import problems_dataset, reward_funcs

    dataset = problems_dataset("rlvr/RandomCalc-v0", n=2000, seed=0, difficulty={"num_ops": 2})
    funcs = reward_funcs("rlvr/RandomCalc-v0", components=("correct",))
    config = GRPOConfig(output_dir="runs/trl", reward_weights=[f.weight for f in funcs])
    GRPOTrainer(model, reward_funcs=funcs, args=config, train_dataset=dataset).train()

Each row carries its problem as JSON text in a `problem` column; TRL hands every dataset column to
reward functions as a keyword list (one entry per completion), so `RlvrReward` rebuilds the
`Problem` and returns `task.score(problem, completion).reward`, the verdict the env and the
project's trainer give. `components=` adds one function per score component (e.g. `correct`),
with weight 0: logged by TRL (`rewards/<name>/mean`), not trained on. A batch is scored once.

Completions may be text or chat messages (the last assistant message is scored). TRL decodes them
without special tokens, so "42" cut off at the length limit reads like "42<EOS>";
`require_eos=True` (with the EOS id) gives zero where `completion_ids` do not end with EOS. It is
off by default, as in the project's trainer. A row whose `problem` is empty or of another task
gets None, which TRL leaves out, so several tasks can share a dataset.

Environments: TRL 1.16's `GRPOTrainer` has two hooks. `environment_factory` exposes an env's
methods as tools called through a tool-calling chat template; rlvr's TextEnvs take free-text
actions, so they do not fit it. `rollout_func(prompts, trainer)` (experimental in TRL) replaces
generation: `EnvRollout` plays any rlvr TextEnv, single- or multi-turn, with the trainer's model
(not vLLM) and the project's KV-cached sampler. A rollout is one token sequence: prompt, action 1,
the env's new text, action 2, ... The new text is the env's `info["reply"]` when it gives one, else
what the next observation adds to the previous one (or `separator` + the whole observation when it
does not extend it: `rlvr.core.text_env.env_reply`); it is masked out of the loss (TRL's
`env_mask`). The episode return arrives in the `env_reward` column, which the `env_reward` reward
function hands to TRL:

    rollout = EnvRollout("rlvr/MathTreeStep-v0", dataset, max_turns=4)
    GRPOTrainer(model, reward_funcs=env_reward, rollout_func=rollout, train_dataset=dataset, ...)

TRL passes the hook only prompts, so the rollout finds each problem by its prompt text: give it
the trainer's dataset (it refuses two problems with one prompt). It samples with TRL's
`temperature` and `top_p` (not `top_k`, `min_p`, penalties), `max_completion_length` tokens at most.

Importing this module imports neither trl, datasets nor torch; `problems_dataset` and `EnvRollout`
import what they need when called, and an ImportError names the extra to install.
"""

from __future__ import annotations

import copy
import functools
import importlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.core.text_env import env_reply

PROBLEM_COLUMN = "problem"
"""Dataset column holding each problem as JSON text (`problem_to_json`)."""
_RECORD_FIELDS = ("task", "version", "content", "prompt", "messages", "answer", "difficulty", "metadata", "problem_id")
_ROLLOUT_SEED_STRIDE = 1_000_003


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(f"rlvr.integrations.trl needs {module!r}: pip install 'rlvr[trl]'") from error


def _make_registered_env(env_id: str, env_kwargs: Mapping[str, Any]) -> Any:
    import gymnasium as gym

    import rlvr  # noqa: F401  (registers the ids)

    return gym.make(env_id, **env_kwargs)


# ---- tasks and problems ---------------------------------------------------------------------------
def resolve_task(task_or_env_id: Task | str, template: PromptTemplate | str | None = None) -> tuple[Task, dict]:
    """(task, default difficulty) of a `Task` or a registered env id (whose registry and constructor
    settings are its defaults); `template` (a format string such as '{expression}=' or a
    `PromptTemplate`) replaces the prompt template, on a copy of a given task."""
    if isinstance(template, str):
        template = PromptTemplate(instruction="", text=template)
    if isinstance(task_or_env_id, Task):
        task = task_or_env_id
        if template is not None:
            task = copy.copy(task)  # leave the caller's task as it was
            task.template = template
        return task, {}
    if not isinstance(task_or_env_id, str):
        raise TypeError(f"expected a Task or an env id such as 'rlvr/RandomCalc-v0', got {type(task_or_env_id).__name__}")
    env = _make_registered_env(task_or_env_id, {} if template is None else {"template": template})
    task, defaults = getattr(env.unwrapped, "task", None), dict(getattr(env.unwrapped, "difficulty", None) or {})
    env.close()
    if not isinstance(task, Task):
        raise ValueError(f"{task_or_env_id} has no rlvr Task behind it, so there is no verifier to score with")
    return task, defaults


def problem_to_json(problem: Problem) -> str:
    """The text a dataset's `problem` column holds: the problem's full record as JSON."""
    return json.dumps(problem.to_record(), sort_keys=True, ensure_ascii=False)


def problem_from_json(text: str) -> Problem:
    """Rebuild the `Problem` that `problem_to_json` wrote; ValueError names what is missing.

    >>> from rlvr.envs.random_calc import RandomCalcTask
    >>> problem = RandomCalcTask().problem_at(0, 0)
    >>> problem_from_json(problem_to_json(problem)).problem_id == problem.problem_id
    True
    """
    record = json.loads(text)
    missing = [name for name in _RECORD_FIELDS if not isinstance(record, dict) or name not in record]
    if missing:
        raise ValueError(f"a problem record needs the fields {list(_RECORD_FIELDS)}; missing {missing}")
    return Problem(**{**{name: record[name] for name in _RECORD_FIELDS}, "messages": tuple(record["messages"])})


def problems_dataset(task: Task | str, n: int, seed: int = 0, split: str | None = "train",
                     difficulty: Mapping[str, Any] | None = None, conversational: bool = False, *,
                     template: PromptTemplate | str | None = None) -> Any:
    """A `datasets.Dataset` of problems `0..n-1` of the task's stream `seed` in `split`.

    Columns: `prompt` (text, or chat messages when `conversational`), `problem` (JSON, what the
    reward functions score against) and `problem_id`. Row i is `task.problem_at(seed, i, ...)`,
    so the same arguments always give the same rows (a small problem space repeats problems).
    `difficulty` names the knobs it changes, over an env id's own settings.
    """
    datasets = _require("datasets")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    task, defaults = resolve_task(task, template)
    resolved = task.difficulty(defaults, difficulty)  # an unknown knob fails here, naming close matches
    problems = [task.problem_at(seed, index, resolved, split) for index in range(n)]
    prompts = [[dict(m) for m in p.messages] if conversational else p.prompt for p in problems]
    return datasets.Dataset.from_dict({
        "prompt": prompts,
        PROBLEM_COLUMN: [problem_to_json(p) for p in problems],
        "problem_id": [p.problem_id for p in problems],
    })


# ---- reward functions -----------------------------------------------------------------------------
def completion_text(completion: Any) -> str | None:
    """The text to score: a string as is, chat messages -> the last assistant message's text;
    None when the value is neither.

    >>> completion_text([{"role": "assistant", "content": "7"}]), completion_text(3)
    ('7', None)
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and all(isinstance(m, Mapping) for m in completion):
        for message in reversed(completion):
            if message.get("role", "assistant") == "assistant":
                content = message.get("content")
                if content is None or isinstance(content, str):
                    return content or ""
                # typed content blocks: [{"type": "text", "text": ...}, ...]
                return "".join(b.get("text", "") for b in content if isinstance(b, Mapping) and b.get("type") == "text")
        return ""
    return None


class _Scorer:
    """Scores one batch for a reward function and the component views that share it."""

    def __init__(self, task: Task, problem_column: str, require_eos: bool, eos_token_ids: frozenset[int]) -> None:
        self.task, self.problem_column = task, problem_column
        self.require_eos, self.eos_token_ids = require_eos, eos_token_ids
        self._last: tuple[Any, Any, Any, list[Score | None]] | None = None

    def scores(self, completions: Sequence[Any], completion_ids: Any, columns: Mapping[str, Any]) -> list[Score | None]:
        if self.problem_column not in columns:
            raise KeyError(
                f"rlvr reward functions read each problem from the dataset column {self.problem_column!r} "
                f"(build the dataset with problems_dataset()); the columns given were {sorted(columns)}"
            )
        problems = columns[self.problem_column]
        # TRL calls every reward function with the same list objects: score the batch once. The
        # objects stay referenced while cached, so `is` cannot match a recycled id.
        if self._last is not None and self._last[0] is completions and self._last[1] is problems \
                and self._last[2] is completion_ids:
            return self._last[3]
        if len(problems) != len(completions):
            raise ValueError(f"got {len(completions)} completions but {len(problems)} problems")
        if self.require_eos and completion_ids is None:
            raise ValueError("require_eos=True needs completion_ids (TRL passes them)")
        parsed: dict[str, Problem] = {}
        scores = []
        for row, (completion, text) in enumerate(zip(completions, problems, strict=True)):
            if not text:
                scores.append(None)  # a row of another task in a mixed dataset
                continue
            problem = parsed.get(text) or parsed.setdefault(text, problem_from_json(text))
            scores.append(None if problem.task != self.task.name else self._score(problem, completion, completion_ids, row))
        self._last = (completions, problems, completion_ids, scores)
        return scores

    def _score(self, problem: Problem, completion: Any, completion_ids: Any, row: int) -> Score:
        text = completion_text(completion)
        if text is None:
            return Score.zero(f"a completion must be text or chat messages, got {type(completion).__name__}")
        if self.require_eos:
            ids = completion_ids[row]
            if len(ids) == 0 or int(ids[-1]) not in self.eos_token_ids:
                return Score.zero("no EOS: the completion was cut off at the length limit")
        return self.task.score(problem, text)


class RlvrReward:
    """A TRL reward function: `task.score(problem, completion)` for each completion.

    `component=None` returns the reward; a component name (e.g. "correct") returns that score
    component instead (0 where the verifier did not report it), for logging with weight 0.
    `last_scores` holds the `Score` of each completion of the latest batch (errors included).

    >>> reward = RlvrReward("rlvr/RandomCalc-v0")
    >>> problem = reward.task.problem_at(0, 0, {"num_ops": 1, "operators": ("+",)})
    >>> column = [problem_to_json(problem)] * 3
    >>> reward(completions=[f"\\\\boxed{{{problem.answer}}}", "\\\\boxed{-1}", "no idea"], problem=column)
    [1.0, 0.0, 0.0]
    >>> reward.last_scores[2].error
    'no answer found'
    """

    def __init__(self, task: Task | str, component: str | None = None, *, problem_column: str = PROBLEM_COLUMN,
                 require_eos: bool = False, eos_token_id: int | Iterable[int] | None = None) -> None:
        if require_eos and eos_token_id is None:
            raise ValueError("require_eos=True needs eos_token_id (the tokenizer's eos_token_id)")
        eos_ids = frozenset([eos_token_id] if isinstance(eos_token_id, int) else (eos_token_id or ()))
        self.task = resolve_task(task)[0]
        self.component = component
        self._scorer = _Scorer(self.task, problem_column, require_eos, eos_ids)
        # TRL logs each reward function under its __name__ (rewards/<name>/mean)
        self.__name__ = f"rlvr_{self.task.name}" + (f"_{component}" if component else "")

    @property
    def weight(self) -> float:
        """1 for the reward, 0 for a component (logged, not trained on): use in `reward_weights`."""
        return 1.0 if self.component is None else 0.0

    @property
    def last_scores(self) -> list[Score | None]:
        return [] if self._scorer._last is None else list(self._scorer._last[3])

    def for_component(self, component: str) -> RlvrReward:
        """The same scorer (one scoring pass per batch) returning `component`."""
        view = copy.copy(self)
        view.component = component
        view.__name__ = f"rlvr_{self.task.name}_{component}"
        return view

    def __call__(self, prompts: Any = None, completions: Sequence[Any] | None = None, completion_ids: Any = None,
                 **kwargs: Any) -> list[float | None]:
        if completions is None:
            raise TypeError(f"{self.__name__} needs completions= (and the dataset columns as keyword lists)")
        scores = self._scorer.scores(completions, completion_ids, kwargs)
        log_extra = kwargs.get("log_extra")
        if self.component is None and callable(log_extra):
            # why a completion earned nothing, in TRL's completions table
            log_extra(f"{self.__name__}_error", [None if s is None else s.error for s in scores])
        if self.component is None:
            return [None if s is None else float(s.reward) for s in scores]
        return [None if s is None else float(s.components.get(self.component, 0.0)) for s in scores]


def reward_funcs(task_or_env_id: Task | str, components: Iterable[str] = (), *, problem_column: str = PROBLEM_COLUMN,
                 require_eos: bool = False, eos_token_id: int | Iterable[int] | None = None) -> list[RlvrReward]:
    """[the reward, then one function per named component]; pass `[f.weight for f in funcs]` as
    `GRPOConfig(reward_weights=...)` so the components are logged only."""
    main = RlvrReward(task_or_env_id, problem_column=problem_column, require_eos=require_eos, eos_token_id=eos_token_id)
    return [main, *(main.for_component(name) for name in components)]


def env_reward(completions: Sequence[Any], env_reward: Sequence[float] | None = None, **kwargs: Any) -> list[float]:
    """The episode return that `EnvRollout` put in the `env_reward` column.

    >>> env_reward(["a", "b"], env_reward=[1, 0.5])
    [1.0, 0.5]
    """
    if env_reward is None:
        raise KeyError("no env_reward column: pass rollout_func=EnvRollout(...) to GRPOTrainer")
    return [float(value) for value in env_reward]


# ---- env rollouts through TRL's rollout_func --------------------------------------------------------
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
