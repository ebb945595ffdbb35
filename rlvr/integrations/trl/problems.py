"""Problems as dataset rows for TRL: JSON in a `problem` column, and the dataset builder."""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Mapping
from typing import Any

from rlvr.core.problem import Problem
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate

PROBLEM_COLUMN = "problem"
"""Dataset column holding each problem as JSON text (`problem_to_json`)."""
_RECORD_FIELDS = ("task", "version", "content", "prompt", "messages", "answer", "difficulty", "metadata", "problem_id")


def _make_registered_env(env_id: str, env_kwargs: Mapping[str, Any]) -> Any:
    import gymnasium as gym

    import rlvr  # noqa: F401  (registers the ids)

    return gym.make(env_id, **env_kwargs)


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(f"rlvr.integrations.trl needs {module!r}: pip install 'rlvr[trl]'") from error


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
