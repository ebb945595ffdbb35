"""Reward transforms: group-level shaping of a step's rewards [B, G] after scoring and before the
advantage, applied in the order a scenario lists them:

    reward_transforms: [{name: corrupt, mode: random}, {name: overlong, buffer: 4}]

`REWARD_TRANSFORMS` is the one registry the trainer uses:

- `overlong` (DAPO [paper]): the soft overlong penalty (`buffer`, optional `max_len`); the config's
  `overlong_buffer: N` is a shorthand for `{name: overlong, buffer: N}` and runs as before;
- `maxmin` (MaxMin-RLHF [paper]): the listed verifier component with the lowest batch expectation
  of group means is the step's reward;
- `corrupt`: `mode: accurate | random | inverted` for the reward-corruption comparison (random:
  rewards shuffled within each group by a (seed, step) permutation; inverted: 1 - r, 0/1 only).

Both take single responses only (multi-turn configs are refused). The `unlikeliness` reward stays an
advantage plug-in: it needs pi_old's log-probs. The spec gives no length reward besides DAPO's
penalty and HBPO's budget reward, which needs budget prompts per subgroup (a generator), so there
is no `length` transform.

>>> import torch
>>> transform = make_reward_transform("overlong", {"buffer": 4})
>>> transform.bind(seed=0, max_new_tokens=20)
>>> transform(RewardBatch(torch.ones(1, 3), torch.tensor([[10, 18, 25]]), {}, step=0))
tensor([[1.0000, 0.5000, 0.0000]])
"""

from __future__ import annotations

from rlvr.training.reward_transforms.base import (
    REQUIRED,
    REWARD_TRANSFORMS,
    RewardBatch,
    RewardTransformPlugin,
    apply_reward_transforms,
    make_reward_transform,
    make_reward_transforms,
    register,
    setting,
)
from rlvr.training.reward_transforms.corrupt import Corrupt, invert_binary, shuffle_in_groups
from rlvr.training.reward_transforms.maxmin import MaxMin, maxmin_choice
from rlvr.training.reward_transforms.overlong import Overlong

__all__ = ["REQUIRED", "REWARD_TRANSFORMS", "Corrupt", "MaxMin", "Overlong", "RewardBatch", "RewardTransformPlugin",
           "apply_reward_transforms", "invert_binary", "make_reward_transform", "make_reward_transforms", "maxmin_choice", "register",
           "setting", "shuffle_in_groups"]
