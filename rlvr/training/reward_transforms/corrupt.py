"""Reward corruption: train on accurate, random or inverted rewards, for the comparison that asks
how much of what RL learns comes from the verifier's signal (RandomCalc with each mode, issue 12).

- `accurate`: the rewards as they came (the control arm: a comparison differs in `mode` only);
- `random`: the rewards of each group shuffled among its rollouts by a seeded permutation. Our
  reading of "random rewards": each rollout gets a reward drawn from its own group's rewards,
  whatever it answered, so the reward a rollout receives carries no information about it; the
  reward distribution is kept exactly (each group keeps its multiset of rewards, hence the mean
  reward, the groups with signal and the size of the advantages), unlike a uniform 0/1 coin, which
  would give a 50% reward rate and signal to nearly every group whatever the task's difficulty;
- `inverted`: 1 - r, for 0/1 rewards only (anything else is refused with the values found): right
  answers are punished and wrong ones rewarded.

The permutation of step s is a function of (seed, s) alone, so a resumed run corrupts as the
uninterrupted one did; no state is kept. The verifier's `correct` is not touched: `accuracy` in
the metrics stays the true one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from rlvr.training.ragged import is_ragged, valid_mean
from rlvr.training.reward_transforms.base import (
    REQUIRED,
    RewardBatch,
    RewardTransformPlugin,
    register,
    setting,
)

MODES = ("accurate", "random", "inverted")
_SEED_STRIDE = 1_000_033
_SEED_SALT = 0x5EED_C0DE
"""Step s of seed k shuffles with seed k * stride + s + salt: fixed per (seed, step), and away from
the sampling seeds (k * stride + s) so the shuffle is not tied to the samples."""


def shuffle_in_groups(rewards: Tensor, seed: int, valid: Tensor | None = None) -> Tensor:
    """Each row of `rewards` [B, G] permuted by its own uniform random permutation from `seed`; with
    `valid` (ragged groups) each group's valid rollouts among themselves, padding left in place.

    >>> shuffle_in_groups(torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5]]), seed=3).sum(dim=1)
    tensor([1.0000, 1.5000])
    """
    generator = torch.Generator().manual_seed(int(seed))
    keys = torch.rand(rewards.shape, generator=generator, dtype=torch.float64)
    if is_ragged(valid):  # padding sorts last, so each group's valid prefix is permuted within itself
        keys = keys.masked_fill(~valid.cpu(), float("inf"))
    order = keys.argsort(dim=1)
    return rewards.gather(1, order.to(rewards.device))


def invert_binary(rewards: Tensor) -> Tensor:
    """1 - r for 0/1 rewards; anything else is refused, naming the values found.

    >>> invert_binary(torch.tensor([[1.0, 0.0]]))
    tensor([[0., 1.]])
    """
    binary = (rewards == 0) | (rewards == 1)
    if not bool(binary.all()):
        found = sorted({round(float(value), 4) for value in rewards[~binary].flatten()[:5]})
        raise ValueError(f"reward transform 'corrupt' mode 'inverted' expects 0/1 rewards, got {found}; use a "
                         "binary reward (e.g. no dense_reward task option) or mode 'random'")
    return 1.0 - rewards


@register
@dataclass
class Corrupt(RewardTransformPlugin):
    """Replaces the verifier's rewards by random or inverted ones (or keeps them: `accurate`)."""

    name: ClassVar[str] = "corrupt"
    source: ClassVar[str] = "reward corruption for the accurate / random / inverted comparison (random as a " \
                           "shuffle within each group: our reading)"
    summary: ClassVar[str] = "accurate: unchanged; random: rewards shuffled within each group; inverted: 1 - r"
    ragged: ClassVar[bool] = True

    mode: str = setting(REQUIRED, "accurate, random (shuffled within each group) or inverted (1 - r, 0/1 only)",
                        choices=MODES)

    @property
    def needs_binary(self) -> bool:
        return self.mode == "inverted"

    def seed_of(self, step: int) -> int:
        """The shuffle's seed at `step`."""
        return self.seed * _SEED_STRIDE + step + _SEED_SALT

    def __call__(self, batch: RewardBatch) -> Tensor:
        rewards = batch.rewards
        if self.mode == "random":
            result = shuffle_in_groups(rewards, self.seed_of(batch.step), batch.valid)
        elif self.mode == "inverted":
            result = invert_binary(rewards) if batch.valid is None else \
                torch.where(batch.valid.to(rewards.device), invert_binary(rewards), rewards)
        else:
            result = rewards
        self._metrics = {"corrupt_changed": valid_mean((result != rewards).float(), batch.valid)}
        return result
