"""rlvr verifiers as TRL `reward_funcs`: each completion scored by its row's problem."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.integrations.trl.problems import PROBLEM_COLUMN, problem_from_json, resolve_task


def completion_text(completion: Any) -> str | None:
    """The text to score: a string as is, chat messages -> the last assistant message's text;
    None when the value is neither.

    >>> completion_text([{"role": "assistant", "content": "7"}]), completion_text(3)
    ('7', None)
    >>> completion_text([{"role": "assistant", "content": 5}]) is None  # not text: scored 0, never raised
    True
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and all(isinstance(m, Mapping) for m in completion):
        for message in reversed(completion):
            if message.get("role", "assistant") == "assistant":
                content = message.get("content")
                if content is None or isinstance(content, str):
                    return content or ""
                if not isinstance(content, Sequence):  # a number or any other non-text: nothing to read
                    return None
                # typed content blocks: [{"type": "text", "text": ...}, ...]
                return "".join(b["text"] for b in content if isinstance(b, Mapping) and b.get("type") == "text"
                               and isinstance(b.get("text"), str))
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
    >>> from rlvr.integrations.trl import problem_to_json
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
