"""The one problem stream: problem `i` of seed `s` of a task, at a difficulty, in a split.

An env id means a task *and* the settings its env gives it: the prompt template, the difficulty
defaults (`rlvr/MathTreeStep-v0` plays 4-number countdown, `rlvr/KGPathLong-v0` 4-5 hops) and a
split. A `TaskSource` holds exactly those, so every consumer of an id — `gym.make` envs, the
trainer, `rlvr export`, TRL datasets, the debate env — draws the same problems:

    source = rlvr.registration.resolve("rlvr/MathTreeStep-v0")
    [p.problem_id for p in source.problems(seed=0, n=5)]
    # == the ids of env.reset(seed=0), then env.reset() four times, on gym.make of the same id

Problem `i` is `task.problem_at(seed, i, difficulty, split)` (one `SeedSequence([seed, i])` per
problem, see `rlvr.core.seeding`), which is also what `TaskEnv.reset` serves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from rlvr.core.problem import Problem, check_split
from rlvr.core.task import Task

ALL_SPLITS = "all"
"""The split name that means every problem (the same as `split=None`)."""


def split_option(split: str | None) -> str | None:
    """A `split=` option as the stream takes it: 'train' / 'eval' / 'test', or None for 'all'.

    >>> split_option("all"), split_option("eval"), split_option(None)
    (None, 'eval', None)
    """
    return None if split == ALL_SPLITS else check_split(split)


@dataclass(frozen=True)
class TaskSource:
    """A task with the difficulty and split an id (or a caller) gives it; see the module doc."""

    task: Task
    difficulty: Mapping[str, Any] = field(default_factory=dict)
    """Every knob, resolved and validated."""
    split: str | None = None
    """'train', 'eval', 'test', or None for every problem."""
    env_id: str | None = None
    """The id it was resolved from, when it came from one."""

    def __post_init__(self) -> None:
        if not isinstance(self.task, Task):
            raise TypeError(f"TaskSource needs an rlvr Task, got {type(self.task).__name__}")
        object.__setattr__(self, "difficulty", MappingProxyType(self.task.difficulty(self.difficulty)))
        object.__setattr__(self, "split", split_option(self.split))

    def with_options(self, difficulty: Mapping[str, Any] | None = None, split: Any = ...) -> TaskSource:
        """The same task with knobs changed on top of these (unknown knobs are errors naming close
        matches) and, when given, another split ('all' or None for every problem)."""
        return TaskSource(self.task, self.task.difficulty(self.difficulty, difficulty),
                          self.split if split is ... else split, self.env_id)

    def problem_at(self, seed: int, index: int) -> Problem:
        """Problem `index` of stream `seed`."""
        return self.task.problem_at(seed, index, self.difficulty, self.split)

    def problems(self, seed: int, n: int, start: int = 0) -> Iterator[Problem]:
        """Problems `start .. start + n - 1` of stream `seed`, in order."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        for index in range(start, start + n):
            yield self.problem_at(seed, index)


__all__ = ["ALL_SPLITS", "TaskSource", "split_option"]
