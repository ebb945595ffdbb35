"""Problems as dataset rows for TRL: JSON in a `problem` column, and the dataset builder."""

from __future__ import annotations

import copy
import importlib
from collections.abc import Mapping
from typing import Any

from rlvr.core.problem import problem_from_json, problem_to_json  # noqa: F401  (re-exported)
from rlvr.core.stream import TaskSource
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate

PROBLEM_COLUMN = "problem"
"""Dataset column holding each problem as JSON text (`problem_to_json`); `rlvr export` writes the same."""


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
    """(task, default difficulty) of a `Task` or a registered env id (`rlvr.registration.resolve`:
    the id's registry and constructor settings are its defaults); `template` (a format string such
    as '{expression}=' or a `PromptTemplate`) replaces the prompt template, on a copy of a given task."""
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
    from rlvr.registration import resolve  # local: registration is only needed for ids

    source = resolve(task_or_env_id, **({} if template is None else {"template": template}))
    return source.task, dict(source.difficulty)


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
    # an unknown knob fails here, naming close matches; the rows are the stream the env serves
    problems = list(TaskSource(task, task.difficulty(defaults, difficulty), split).problems(seed, n))
    prompts = [[dict(m) for m in p.messages] if conversational else p.prompt for p in problems]
    return datasets.Dataset.from_dict({
        "prompt": prompts,
        PROBLEM_COLUMN: [problem_to_json(p) for p in problems],
        "problem_id": [p.problem_id for p in problems],
    })
