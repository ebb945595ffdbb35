"""A verifiers-style `load_environment` for any registered single-agent id, without importing verifiers.

    env = load_environment("rlvr/Countdown-v0", num_examples=200, seed=0, number_count=4)
    env.dataset[0]      # {"question", "answer", "info": {"problem": <problem JSON>, ...}}
    env.rubric.funcs    # [reward, then one function per score component]
    env.rubric.weights  # [1.0, 0.0, ...]: components are logged, the task's reward is trained on

The shape is the classic verifiers contract (a dataset of `question` / `answer` / `info` rows and
a `Rubric` of reward functions `f(completion, answer, info, **kwargs) -> float` with weights),
so `vf.SingleTurnEnv(dataset=..., rubric=vf.Rubric(funcs=..., weights=...))` can be built from it
(`to_hf_dataset()` gives the `datasets.Dataset` it takes). The rows are `rlvr export`'s: `question`
is the prompt (answer-format instruction included), `answer` the export's `answer` column, `info`
the problem as JSON with its id, split and env id, so scoring needs nothing else.

Why the reward is one function and the components ride at weight 0: a task's reward is not always
a weighted sum of its components (a wrong Countdown answer earns 0.1 for format whatever its other
parts), so summing components with weights would train on a different reward than `task.score`.
Each function scores through the task's verifier (one scoring per completion and problem, cached)
and returns 0.0 for unusable input (a completion that is not text, a garbled `info`).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rlvr.core.problem import Problem, Score, problem_from_json
from rlvr.core.task import Task
from rlvr.core.task_env import guarded_score
from rlvr.export import DEFAULT_SPLIT, problem_row, task_source
from rlvr.integrations.trl.rewards import completion_text

RewardFunc = Callable[..., float]


class _ScoreCache:
    """The last few verdicts by (problem JSON, completion text): a rubric calls every function on
    the same completion, and only the first call should run the verifier."""

    def __init__(self, task: Task, size: int = 1024) -> None:
        self.task, self.size = task, size
        self._scores: OrderedDict[tuple[str, str], Score] = OrderedDict()

    def score(self, completion: Any, info: Any) -> Score:
        try:
            text = completion_text(completion)
        except (TypeError, AttributeError):  # malformed messages (content an int, blocks of odd types)
            text = None
        if not isinstance(text, str):
            return Score.zero(f"a completion is text or chat messages, got {type(completion).__name__}")
        try:
            problem_json, problem = _problem_of(info)
        except ValueError as error:
            return Score.zero(f"unusable info: {error}")
        if problem.task != self.task.name:
            return Score.zero(f"info holds a problem of task {problem.task!r}, not of {self.task.name!r}")
        key = (problem_json, text)
        if key in self._scores:
            self._scores.move_to_end(key)
            return self._scores[key]
        score = guarded_score(self.task.score, problem, text)
        self._scores[key] = score
        if len(self._scores) > self.size:
            self._scores.popitem(last=False)
        return score


def _problem_of(info: Any) -> tuple[str, Problem]:
    """(problem JSON, problem) of a row's info: a dict, or its JSON text (some datasets store it so)."""
    if isinstance(info, (str, bytes, bytearray)):
        try:
            info = json.loads(info)
        except (ValueError, RecursionError):
            raise ValueError("info must be a dict or its JSON text") from None
    if not isinstance(info, Mapping) or not isinstance(info.get("problem"), str):
        raise ValueError(f"info must hold 'problem' (problem JSON text), got {type(info).__name__}")
    return info["problem"], problem_from_json(info["problem"])


def _safe_float(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number == number else 0.0  # NaN -> 0


def _reward_function(cache: _ScoreCache, component: str | None) -> RewardFunc:
    def reward(completion: Any = None, answer: Any = None, info: Any = None, **kwargs: Any) -> float:
        score = cache.score(completion, info)
        return _safe_float(score.reward if component is None else score.components.get(component, 0.0))

    reward.__name__ = f"rlvr_{cache.task.name}" + (f"_{component}" if component else "")
    reward.__doc__ = (f"The reward of {cache.task.name}'s verifier." if component is None
                      else f"The {component!r} component of {cache.task.name}'s verifier.")
    return reward


@dataclass
class Rubric:
    """Reward functions with their weights, shaped like verifiers' `Rubric(funcs=..., weights=...)`."""

    funcs: list[RewardFunc]
    weights: list[float]
    components: list[str | None] = field(default_factory=list)
    """What each function returns: None for the reward, else the component's name."""

    def score(self, completion: Any, answer: Any, info: Any) -> dict[str, float]:
        """Every function's value by name, and `reward`: the weighted sum, as verifiers computes it."""
        values = {f.__name__: f(completion=completion, answer=answer, info=info) for f in self.funcs}
        values["reward"] = sum(w * values[f.__name__] for f, w in zip(self.funcs, self.weights, strict=True))
        return values


@dataclass
class RlvrEnvironment:
    """What `load_environment` returns: rows, rubric and the prompt settings of a single-turn env."""

    env_id: str
    task: Task
    dataset: list[dict[str, Any]]
    rubric: Rubric
    system_prompt: str | None = None
    """None: the answer-format instruction is already in each question."""
    parser: Any = None
    """None: the task's verifier reads the final answer itself (one reader for every family)."""

    def to_hf_dataset(self) -> Any:
        """The rows as a `datasets.Dataset` (what `vf.SingleTurnEnv(dataset=...)` takes)."""
        try:
            import datasets
        except ImportError as error:
            raise ImportError("to_hf_dataset needs the `datasets` package: pip install datasets") from error
        return datasets.Dataset.from_list(self.dataset)

    def to_verifiers(self, **kwargs: Any) -> Any:
        """A real `verifiers.SingleTurnEnv` (verifiers releases with the classic API; newer ones moved
        to `verifiers.v1`, which has no `SingleTurnEnv`)."""
        try:
            import verifiers as vf
        except ImportError as error:
            raise ImportError("to_verifiers needs the `verifiers` package: pip install verifiers") from error
        if not hasattr(vf, "SingleTurnEnv") or not hasattr(vf, "Rubric"):
            raise ImportError(f"verifiers {getattr(vf, '__version__', '?')} has no SingleTurnEnv/Rubric (the "
                              f"classic API); use env.dataset and env.rubric with its own interface")
        rubric = vf.Rubric(funcs=list(self.rubric.funcs), weights=list(self.rubric.weights))
        return vf.SingleTurnEnv(dataset=self.to_hf_dataset(), rubric=rubric, system_prompt=self.system_prompt,
                                **kwargs)


def component_names(task: Task, problems: Sequence[Problem]) -> list[str]:
    """The score components the task reports, `correct` first: read from its verdicts on the oracle's
    response (where it has one), the gold answer and an empty response for a few problems."""
    names: dict[str, None] = {"correct": None}
    for problem in problems:
        responses = [task.solve(problem), problem.answer if isinstance(problem.answer, str) else None, ""]
        for response in responses:
            if isinstance(response, str):
                names.update(dict.fromkeys(guarded_score(task.score, problem, response).components))
    return list(names)


def load_environment(env_id: str, num_examples: int = 100, seed: int = 0, *, split: str | None = DEFAULT_SPLIT,
                     env_kwargs: Mapping[str, Any] | None = None, **difficulty: Any) -> RlvrEnvironment:
    """`num_examples` rows of `env_id` (problem i of stream `seed`, as `rlvr export` writes them) and
    a rubric: the task's reward at weight 1, each score component at weight 0."""
    if not isinstance(num_examples, int) or isinstance(num_examples, bool) or num_examples < 0:
        raise ValueError(f"num_examples must be a non-negative integer, got {num_examples!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    source = task_source(env_id, split, difficulty, env_kwargs)
    problems = list(source.problems(seed, num_examples))
    dataset = []
    for problem in problems:
        row = problem_row(problem)
        info = {"problem": row["problem"], "problem_id": row["problem_id"], "split": row["split"],
                "env_id": source.env_id or env_id, "answer_kind": row["answer_kind"]}
        dataset.append({"question": row["prompt"], "answer": row["answer"], "info": info})
    # a few problems suffice to see the components; the stream's first ones even when num_examples is 0
    sample = problems[:3] or list(source.problems(seed, 1))
    names = component_names(source.task, sample)
    cache = _ScoreCache(source.task)
    funcs = [_reward_function(cache, None)] + [_reward_function(cache, name) for name in names]
    rubric = Rubric(funcs, [1.0] + [0.0] * len(names), [None, *names])
    return RlvrEnvironment(source.env_id or env_id, source.task, dataset, rubric)


__all__ = ["RlvrEnvironment", "Rubric", "component_names", "load_environment"]
