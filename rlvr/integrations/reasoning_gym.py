"""rlvr tasks as reasoning-gym-style procedural datasets, so they can join reasoning-gym mixes.

    data = RlvrDataset("rlvr/Countdown-v0", size=100, seed=0, number_count=4)
    entry = data[0]                      # {"question", "answer", "metadata"}
    data.score_answer(response, entry)   # our task's verifier, a float in [0, 1]

The contract is reasoning-gym's (a dataset is indexable, iterable and has a `len`; an item holds
`question`, `answer` and `metadata`; `score_answer(answer, entry)` returns a float in [0, 1] and
never raises), met without importing reasoning-gym. Item `i` is problem `i` of stream `seed` from
`rlvr.export`'s problem stream, so `question` and `answer` equal `rlvr export`'s `prompt` and
`answer` columns for the same id, seed, split and knobs. `metadata` carries everything scoring
needs: `problem` (the whole problem as JSON, what `rlvr export` writes), plus `env_id`,
`problem_id`, `split`, `answer_kind`, and reasoning-gym's `source_dataset` / `source_index`.

What `answer` holds depends on the family (`answer_kind`, see `rlvr.export.ANSWER_KINDS`): for
`target` families (Countdown, Game24, MathTree) it is the number to reach, not a response, so it
does not score 1; the verifier checks the expression a response gives.

`score_answer` passes the text to the task's verifier as a response; a bare answer (what
reasoning-gym trainers pass after taking it out of `<answer>` tags) is read as the final answer
when the text carries no answer markup of its own. Rewards outside [0, 1] (penalties, bonuses) are
clipped into it, as the contract asks; `score_entry` gives the full `Score` with components and the
reason for a zero. Bad input (a non-string answer, a garbled or foreign entry) scores 0.0.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from rlvr.core.problem import Problem, Score, problem_from_json
from rlvr.core.stream import TaskSource
from rlvr.core.task import Task
from rlvr.core.task_env import guarded_score
from rlvr.export import DEFAULT_SPLIT, problem_row, task_source
from rlvr.registration import ids


def entry_of(problem: Problem, env_id: str, index: int) -> dict[str, Any]:
    """The reasoning-gym item of one problem (`question` and `answer` as `rlvr export` writes them)."""
    row = problem_row(problem)
    metadata = {
        "source_dataset": env_id,
        "source_index": index,
        "env_id": env_id,
        "problem_id": row["problem_id"],
        "split": row["split"],
        "answer_kind": row["answer_kind"],
        "difficulty": json.loads(row["difficulty"]),  # plain JSON values, as the export's column
        "problem": row["problem"],
    }
    return {"question": row["prompt"], "answer": row["answer"], "metadata": metadata}


def _problem_of(entry: Any) -> Problem:
    """The problem an entry carries; ValueError says what was wrong with the entry."""
    if not isinstance(entry, Mapping):
        raise ValueError(f"an entry is a dict with a 'metadata' dict, got {type(entry).__name__}")
    metadata = entry.get("metadata")
    if not isinstance(metadata, Mapping) or "problem" not in metadata:
        raise ValueError("an entry's metadata must hold 'problem' (the problem JSON of an RlvrDataset item)")
    return problem_from_json(metadata["problem"])


def _wrapped(answer: str) -> str:
    return f"<answer>{answer}</answer>"


def score_with(task: Task, answer: Any, entry: Any) -> Score:
    """`task`'s verdict on `answer` for `entry`, never raising: a zero with the reason on bad input."""
    if not isinstance(answer, str):
        return Score.zero(f"an answer is text, got {type(answer).__name__}")
    try:
        problem = _problem_of(entry)
    except ValueError as error:
        return Score.zero(f"unusable entry: {error}")
    if problem.task != task.name:
        return Score.zero(f"the entry is a problem of task {problem.task!r}, not of {task.name!r}")
    score = guarded_score(task.score, problem, answer)
    if score.parsed_answer is None and "<answer>" not in answer:
        # a bare answer, as reasoning-gym trainers pass it once taken out of the model's tags
        bare = guarded_score(task.score, problem, _wrapped(answer))
        if bare.parsed_answer is not None:
            return bare
    return score


def clip_reward(score: Score) -> float:
    """The score's reward in [0, 1] (NaN counts as 0), the range reasoning-gym's contract promises."""
    reward = float(score.reward)
    return 0.0 if math.isnan(reward) else min(1.0, max(0.0, reward))


@lru_cache(maxsize=64)
def _task_of(env_id: str) -> Task:
    return task_source(env_id, None).task


def score_entry(answer: Any, entry: Any) -> Score:
    """The full `Score` of `answer` on any RlvrDataset entry, with the task its metadata names
    (the id's default task options); a zero with the reason when the entry is unusable."""
    metadata = entry.get("metadata") if isinstance(entry, Mapping) else None
    env_id = metadata.get("env_id") if isinstance(metadata, Mapping) else None
    if not isinstance(env_id, str):
        return Score.zero("unusable entry: its metadata names no env_id (an RlvrDataset item has one)")
    if env_id not in ids("gymnasium"):  # checked first: an entry's text never reaches the id resolver
        return Score.zero(f"unusable entry: env_id {env_id[:80]!r} is not a registered single-agent rlvr id")
    try:
        task = _task_of(env_id)
    except Exception as error:  # an unknown or unbuildable id is the entry's fault, not a crash
        return Score.zero(f"unusable entry: env_id {env_id[:80]!r} gives no task ({type(error).__name__}: "
                          f"{str(error)[:200]})")
    return score_with(task, answer, entry)


def score_answer(answer: Any, entry: Any) -> float:
    """reasoning-gym's scoring contract for any RlvrDataset entry: a float in [0, 1], never raising.

    >>> data = RlvrDataset("rlvr/RandomCalc-v0", size=1, seed=0)
    >>> score_answer(data[0]["answer"], data[0]), score_answer("no idea", data[0]), score_answer(7, {})
    (1.0, 0.0, 0.0)
    """
    return clip_reward(score_entry(answer, entry))


class RlvrDataset:
    """A registered single-agent id as a reasoning-gym-style procedural dataset (see the module doc).

    `difficulty` knobs go as keywords; `split` is 'train' (the default, as `rlvr export`), 'eval',
    'test' or 'all'; `env_kwargs` are other constructor keywords of the env (task options,
    `data_path`), which the dataset's own `score_answer` scores with.
    """

    def __init__(self, env_id: str, size: int, seed: int, *, split: str | None = DEFAULT_SPLIT,
                 env_kwargs: Mapping[str, Any] | None = None, **difficulty: Any) -> None:
        for name, value in (("size", size), ("seed", seed)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        self.source: TaskSource = task_source(env_id, split, difficulty, env_kwargs)
        self.env_id = self.source.env_id or env_id
        self.size, self.seed = size, seed

    @property
    def task(self) -> Task:
        return self.source.task

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError(f"an RlvrDataset index is an integer, got {type(index).__name__}")
        if not -self.size <= index < self.size:
            raise IndexError(f"index {index} out of range for a dataset of size {self.size}")
        index %= self.size
        return entry_of(self.source.problem_at(self.seed, index), self.env_id, index)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for index in range(self.size):
            yield self[index]

    def score_entry(self, answer: Any, entry: Any) -> Score:
        """The full `Score` (components, reason for a zero) with this dataset's task."""
        return score_with(self.task, answer, entry)

    def score_answer(self, answer: Any, entry: Any) -> float:
        """A float in [0, 1] from this dataset's task; 0.0 with no exception on bad input."""
        return clip_reward(self.score_entry(answer, entry))

    def __repr__(self) -> str:
        return f"RlvrDataset({self.env_id!r}, size={self.size}, seed={self.seed}, split={self.source.split!r})"


__all__ = ["RlvrDataset", "clip_reward", "entry_of", "score_answer", "score_entry", "score_with"]
