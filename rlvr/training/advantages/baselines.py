"""The spec's baselines, estimators that need only the rewards: GRPO, Dr. GRPO and RLOO.

Each function takes rewards [B, G] (B prompts, G rollouts each) and returns [B, G]; the plug-ins
`grpo`, `dr_grpo` and `rloo` wrap them. With `valid` (ragged groups, `rlvr.training.ragged`) each
group's mean and std are over its valid rollouts, exactly as that group alone; padding gets 0. GRPO and Dr. GRPO also take multi-turn episodes, where
each turn's reward-to-go is compared within the group (`rlvr.training.advantages.turns`).
Provenance tags are those of the algorithms spec: [paper] checked against the paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor

from rlvr.training.advantages.base import AdvantagePlugin, RolloutView, register
from rlvr.training.advantages.turns import turn_token_advantages
from rlvr.training.groups import STD_EPS, as_groups, centre, group_std
from rlvr.training.ragged import in_valid_groups


def grpo_advantages(rewards: Tensor, eps: float = STD_EPS, valid: Tensor | None = None) -> Tensor:
    """GRPO [paper]: A_i = (r_i - mean r) / (std r + eps), unbiased std within the group.

    A group whose rewards are all equal gets A = 0 (the numerator is exactly 0), so it teaches
    nothing rather than dividing noise by eps.

    >>> import torch
    >>> grpo_advantages(torch.tensor([[1.0, 0.0, 0.0, 0.0]])).round(decimals=4)
    tensor([[ 1.5000, -0.5000, -0.5000, -0.5000]])
    """
    rewards = as_groups(rewards)
    return in_valid_groups(lambda group: centre(group) / (group_std(group) + eps), rewards, valid)


def dr_grpo_advantages(rewards: Tensor, valid: Tensor | None = None) -> Tensor:
    """Dr. GRPO [paper]: A_i = r_i - mean r.

    Subtract the mean only: dividing by the std up-weights groups that are nearly all right or
    all wrong, a question-difficulty bias the Dr. GRPO paper removes.

    >>> import torch
    >>> dr_grpo_advantages(torch.tensor([[1.0, 0.0, 0.0, 0.0]]))
    tensor([[ 0.7500, -0.2500, -0.2500, -0.2500]])
    """
    return in_valid_groups(centre, as_groups(rewards), valid)


def rloo_advantages(rewards: Tensor, valid: Tensor | None = None) -> Tensor:
    """RLOO [paper]: A_i = r_i - mean_{j != i} r_j (leave-one-out baseline).

    Computed as G / (G - 1) * (r_i - mean r), which is the same number without a G x G loop.
    The baseline of a rollout must not depend on the rollout itself, so G >= 2 is required.

    >>> import torch
    >>> rloo_advantages(torch.tensor([[1.0, 0.0, 0.0, 0.0]])).round(decimals=4)
    tensor([[ 1.0000, -0.3333, -0.3333, -0.3333]])
    """
    def leave_one_out(groups: Tensor) -> Tensor:
        group_size = groups.shape[1]
        if group_size < 2:
            raise ValueError(
                f"RLOO needs at least 2 rollouts per prompt for a leave-one-out baseline, got {group_size}"
            )
        return group_size / (group_size - 1) * centre(groups)

    return in_valid_groups(leave_one_out, as_groups(rewards), valid)


@register
@dataclass(frozen=True)
class GRPO(AdvantagePlugin):
    """(r - mean) / (std + 1e-6) in each group; per turn (reward-to-go) for multi-turn episodes."""

    name: ClassVar[str] = "grpo"
    ragged: ClassVar[bool] = True
    turn_level: ClassVar[bool] = True
    source: ClassVar[str] = "GRPO [paper]"
    summary: ClassVar[str] = "(r - mean) / (std + 1e-6) in each group; per turn on rewards-to-go for episodes"

    def __call__(self, view: RolloutView) -> Tensor:
        if view.episodes:
            return turn_token_advantages(view.turn_rewards, view.token_turns, view.rewards.shape[1], normalise=True)
        return grpo_advantages(view.rewards, valid=view.valid)


@register
@dataclass(frozen=True)
class DrGRPO(AdvantagePlugin):
    """r - mean in each group; per turn (reward-to-go) for multi-turn episodes."""

    name: ClassVar[str] = "dr_grpo"
    ragged: ClassVar[bool] = True
    turn_level: ClassVar[bool] = True
    source: ClassVar[str] = "Dr. GRPO [paper]"
    summary: ClassVar[str] = "r - mean in each group (no division by std); per turn for episodes"

    def __call__(self, view: RolloutView) -> Tensor:
        if view.episodes:
            return turn_token_advantages(view.turn_rewards, view.token_turns, view.rewards.shape[1], normalise=False)
        return dr_grpo_advantages(view.rewards, view.valid)


@register
@dataclass(frozen=True)
class RLOO(AdvantagePlugin):
    """r minus the mean of the group's other rewards (needs G >= 2)."""

    name: ClassVar[str] = "rloo"
    ragged: ClassVar[bool] = True
    source: ClassVar[str] = "RLOO [paper]"
    summary: ClassVar[str] = "r minus the mean of the group's other rewards (leave-one-out; G >= 2)"
    min_group_size: ClassVar[int] = 2

    def __call__(self, view: RolloutView) -> Tensor:
        return rloo_advantages(view.rewards, view.valid)
