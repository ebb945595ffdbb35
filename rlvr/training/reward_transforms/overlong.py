"""DAPO's soft overlong punishment [paper] as a reward transform.

r += min(-(|y| - (L_max - L_cache)) / L_cache, 0), floored at -1: a response that runs into the
last L_cache tokens of the budget loses reward linearly, -1 at L_max. The ramp itself is
`rlvr.training.shaping.overlong_penalty`; the config's `overlong_buffer: N` is a shorthand for
`reward_transforms: [{name: overlong, buffer: N}]` and gives the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor

from rlvr.training.ragged import valid_mean
from rlvr.training.reward_transforms.base import (
    REQUIRED,
    RewardBatch,
    RewardTransformPlugin,
    register,
    setting,
)
from rlvr.training.shaping import overlong_penalty


@register
@dataclass
class Overlong(RewardTransformPlugin):
    """Adds DAPO's overlong penalty to each rollout's reward (single responses)."""

    name: ClassVar[str] = "overlong"
    source: ClassVar[str] = "DAPO overlong reward shaping [paper]"
    summary: ClassVar[str] = "penalise responses in the last `buffer` tokens of the budget, linearly down to -1"
    keeps_binary: ClassVar[bool] = False
    ragged: ClassVar[bool] = True

    buffer: int = setting(REQUIRED, "L_cache: tokens before L_max over which the penalty ramps from 0 to -1", low=1)
    max_len: int | None = setting(None, "L_max; unset: the run's max_new_tokens", low=1)

    def check(self, max_new_tokens: int) -> None:
        limit = self.max_len or max_new_tokens
        if self.buffer > limit:
            raise ValueError(f"reward transform 'overlong' setting buffer must be <= L_max={limit} "
                             f"({'max_len' if self.max_len else 'max_new_tokens'}), got {self.buffer}")

    def __call__(self, batch: RewardBatch) -> Tensor:
        penalty = overlong_penalty(batch.lengths, self.max_len or self.max_new_tokens, self.buffer)
        self._metrics = {"overlong_penalty_mean": valid_mean(penalty, batch.valid)}
        return batch.rewards + penalty.to(batch.rewards.device)
