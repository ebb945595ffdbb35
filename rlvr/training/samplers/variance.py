"""`variance`: variance-aware sampling (MMR1 [code]): re-train on the problems whose groups disagree.

A problem's variance-promotion score is VPS = p(1 - p), p its pass rate: 0 for a problem the policy
always or never solves (its group has no signal), at most 1/4 at p = 1/2. Each batch draws a share
`share` (the spec's lambda = 0.5) from a pool of problems already seen, with probability
proportional to VPS and without replacement; the rest are fresh problems of the train stream
(the stream is the task's uniform distribution, the spec's "rest uniform").

>>> [vps(p) for p in (0.0, 0.5, 1.0)]
[0.0, 0.25, 0.0]

Our reading where MMR1 re-estimates pass rates every 4 steps from 8 extra rollouts per problem:
here the estimate is the group the step itself scored (G rollouts under that step's policy), kept
as the problem's latest accuracy; no extra rollouts are spent. The optional diversity term is not
implemented. The pool is bounded (`pool_size`): when full, the entries with the lowest VPS go
first (the oldest among equals), so problems that still split their groups stay.

State: each pooled problem is kept as its position in the train stream (plus its id, latest
accuracy and the step it was last seen), so the checkpoint holds plain numbers and the problem is
regenerated exactly on resume. Draws use a generator seeded by (seed, step, call), so a resumed
run draws what the uninterrupted run drew.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from rlvr.core.problem import Problem
from rlvr.training.ragged import group_means
from rlvr.training.samplers.base import SamplerPlugin, register, setting

_SEED_TAG = 0x5A3D
"""Mixed into the draw generator's seed so its stream differs from any other (seed, step) user."""


def vps(accuracy: float) -> float:
    """Variance-promotion score p(1 - p) of a pass rate p."""
    return float(accuracy * (1.0 - accuracy))


@dataclass
class _Entry:
    index: int
    """Position of the problem in the train stream (how it is regenerated)."""
    accuracy: float
    """Mean of `correct` over the problem's latest group."""
    seen: int
    """Step (RL steps taken before it) of the latest observation."""


@register
@dataclass
class Variance(SamplerPlugin):
    """A share of each batch re-drawn from seen problems in proportion to p(1 - p), the rest fresh."""

    name: ClassVar[str] = "variance"
    source: ClassVar[str] = "variance-aware sampling, MMR1 [code]; pass rates from the step's own groups (our reading)"
    summary: ClassVar[str] = "a share of each batch re-drawn from a pool of seen problems in proportion to p(1 - p)"
    share: float = setting(0.5, "fraction of each batch drawn from the pool in proportion to p(1-p) (lambda)",
                           low=0.0, high=1.0)
    pool_size: int = setting(256, "most seen problems remembered with their latest group accuracy", low=1)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.pool: dict[str, _Entry] = {}  # problem id -> entry, oldest observation first
        self._problems: dict[str, Problem] = {}  # id -> problem, for pooled and pending problems
        self._pending: dict[str, int] = {}  # id -> stream index of problems selected, not yet observed
        self._step, self._calls, self._taken = -1, 0, set()
        self._reused = 0

    def select(self, step: int) -> list[Problem]:
        stream = self._stream()
        if step != self._step:  # a new step: DAPO's refills within one step share `_taken`
            self._step, self._calls, self._taken, self._reused = step, 0, set(), 0
        rng = np.random.default_rng([self.seed, int(step), self._calls, _SEED_TAG])
        self._calls += 1
        candidates = [key for key, entry in self.pool.items() if vps(entry.accuracy) > 0 and key not in self._taken]
        wanted = int(np.floor(self.share * self.prompts_per_step + 0.5))
        count = min(wanted, len(candidates))
        chosen: list[str] = []
        if count:
            weights = self._weights(candidates)
            picks = rng.choice(len(candidates), size=count, replace=False, p=weights / weights.sum())
            chosen = [candidates[i] for i in sorted(picks.tolist())]  # pool order: independent of draw order
        problems = [self._problem(key) for key in chosen]
        for key in chosen:
            self._pending[key] = self.pool[key].index
        start = stream.index
        fresh = stream.take(self.prompts_per_step - count)
        for offset, problem in enumerate(fresh):
            self._pending[problem.problem_id] = start + offset
            self._problems[problem.problem_id] = problem
        self._taken.update(chosen)
        self._taken.update(problem.problem_id for problem in fresh)
        self._reused += count
        return problems + fresh

    def _weights(self, candidates: list[str]) -> np.ndarray:
        """Draw weights of the pooled candidates (all with signal): p(1 - p) here."""
        return np.array([vps(self.pool[key].accuracy) for key in candidates])

    def observe(self, problems: Sequence[Problem], rewards: torch.Tensor, correct: torch.Tensor,
                valid: torch.Tensor | None = None) -> None:
        correct = torch.as_tensor(correct, dtype=torch.float32)
        if correct.dim() != 2 or correct.shape[0] != len(problems):
            raise ValueError(f"sampler {self.name!r} expects correct shaped [{len(problems)}, G] (one row per "
                             f"problem), got {tuple(correct.shape)}")
        for problem, row in zip(problems, group_means(correct, valid).tolist(), strict=True):
            key = problem.problem_id
            if key not in self._pending and key not in self.pool:
                raise ValueError(f"sampler {self.name!r} observed problem {key} it did not select; the trainer "
                                 "must take every problem from the sampler")
            index = self._pending.get(key, self.pool[key].index if key in self.pool else -1)
            self.pool.pop(key, None)  # re-inserted last: the newest observation
            self.pool[key] = _Entry(index, float(row), self._step)
            self._problems[key] = problem
        self._pending.clear()
        self._evict()

    def _evict(self) -> None:
        """Keep `pool_size` entries: drop the lowest VPS first, the oldest among equals."""
        excess = len(self.pool) - self.pool_size
        if excess > 0:
            order = sorted(enumerate(self.pool), key=lambda item: (vps(self.pool[item[1]].accuracy), item[0]))
            for _, key in order[:excess]:
                del self.pool[key]
        self._problems = {key: problem for key, problem in self._problems.items() if key in self.pool}

    def _problem(self, key: str) -> Problem:
        """The pooled problem, regenerated from its stream position after a resume."""
        if key not in self._problems:
            stream, index = self._stream(), self.pool[key].index
            problem = stream.task.problem_at(stream.seed, index, stream.difficulty, stream.split)
            if problem.problem_id != key:
                raise ValueError(f"sampler {self.name!r}: problem {index} of the train stream has id "
                                 f"{problem.problem_id}, the checkpoint's pool says {key}; the task, its "
                                 "difficulty or the seed changed since the checkpoint was written")
            self._problems[key] = problem
        return self._problems[key]

    def metrics(self) -> dict[str, float]:
        positive = sum(vps(entry.accuracy) > 0 for entry in self.pool.values())
        return {"sampler_reused": float(self._reused), "sampler_pool": float(len(self.pool)),
                "sampler_pool_with_signal": float(positive)}

    def state_dict(self) -> dict[str, Any]:
        entries = list(self.pool.items())
        return {"ids": [key for key, _ in entries], "indices": [entry.index for _, entry in entries],
                "accuracy": [entry.accuracy for _, entry in entries], "seen": [entry.seen for _, entry in entries]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if not state:
            return
        columns = ("ids", "indices", "accuracy", "seen")
        missing = [name for name in columns if name not in state]
        if missing or len({len(state[name]) for name in columns}) != 1:
            raise ValueError(f"sampler {self.name!r} state needs equally long lists {list(columns)}, got keys "
                             f"{sorted(state)}")
        self.pool = {str(key): _Entry(int(index), float(accuracy), int(seen))
                     for key, index, accuracy, seen in zip(*(state[name] for name in columns), strict=True)}
        self._problems, self._pending = {}, {}
