"""`maxmin`: MaxMin-RLHF over several reward functions: each step trains on the one the policy
currently serves worst.

The reward functions are named components of the verifier's score (`components: [correct,
relative_error_reward]`). Per step, each function's expected reward is the mean over the batch of
its group expectations (each group's mean of that component); the function with the lowest one
becomes the step's reward for every rollout. That is the min over expectations, not the expectation of a per-rollout min: in a group whose two
rollouts score (1.0, 0.2) and (0.6, 0.6) on two functions, the expectations (0.8, 0.4) pick the
second function, so the (0.6, 0.6) rollout is preferred; with rollouts (1, 0) and (0, 0.5) the
per-rollout min is 0 for both, while the expectations (0.5, 0.25) still pick the lagging second
function and prefer the second rollout. Ties go to the function listed first. The step's line records the index of the
chosen function (`maxmin_choice`) and each function's expectation (`maxmin_<name>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from rlvr.training.ragged import group_means
from rlvr.training.reward_transforms.base import (
    REQUIRED,
    RewardBatch,
    RewardTransformPlugin,
    register,
    setting,
)


def maxmin_choice(expectations: Tensor) -> int:
    """Index of the lowest expected reward (the first among equals).

    >>> maxmin_choice(torch.tensor([0.6, 0.2]))
    1
    """
    return int(torch.argmin(expectations))


@register
@dataclass
class MaxMin(RewardTransformPlugin):
    """The step's reward is the component with the lowest batch expectation of group means."""

    name: ClassVar[str] = "maxmin"
    source: ClassVar[str] = "MaxMin-RLHF [paper], over the verifier's reward components"
    summary: ClassVar[str] = ("each step the reward is the listed component whose mean of group expectations over "
                              "the batch is lowest (min over expectations)")
    keeps_binary: ClassVar[bool] = False
    ragged: ClassVar[bool] = True  # group expectations over each group's valid rollouts
    components: list = setting(REQUIRED, "names of the verifier's score components to choose from (two or more)")

    def __post_init__(self) -> None:
        super().__post_init__()
        names = self.components
        if len(names) < 2 or not all(isinstance(name, str) for name in names) or len(set(names)) != len(names):
            raise ValueError(f"reward transform 'maxmin' setting components expects two or more distinct component "
                             f"names, got {names!r}")

    def __call__(self, batch: RewardBatch) -> Tensor:
        missing = [name for name in self.components if name not in batch.components]
        if missing:
            raise ValueError(f"reward transform 'maxmin' needs components {missing}, the verifier reports "
                             f"{sorted(batch.components)}")
        values = torch.stack([batch.components[name].to(torch.float32) for name in self.components])  # [F, B, G]
        if batch.valid is None:
            expectations = values.mean(dim=2).mean(dim=1)  # group expectations, then over the batch
        else:  # ragged groups: each group's expectation over its valid rollouts
            expectations = torch.stack([group_means(value, batch.valid) for value in values]).mean(dim=1)
        choice = maxmin_choice(expectations)
        self._metrics = {"maxmin_choice": float(choice),
                         **{f"maxmin_{name}": float(value) for name, value in zip(self.components, expectations,
                                                                                   strict=True)}}
        return values[choice].to(batch.rewards.dtype)
