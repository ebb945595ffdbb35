"""Tensor helpers for groups of rollouts: rewards [B, G], B prompts with G rollouts each.

The advantage plug-ins (`rlvr.training.advantages`) and the reward shaping (`rlvr.training.shaping`)
both work on groups; their shared helpers live here, below both, so neither imports the other
for them.
"""

from __future__ import annotations

import torch
from torch import Tensor

STD_EPS = 1e-6
"""GRPO's eps_std: keeps the division finite when the group's std is tiny."""


def as_groups(rewards: Tensor | list, name: str = "rewards") -> Tensor:
    """Return `rewards` as a float tensor [B, G]; reject any other shape with a clear message.

    >>> as_groups([[1, 0]])
    tensor([[1., 0.]])
    """
    groups = torch.as_tensor(rewards)
    if not torch.is_floating_point(groups):
        groups = groups.to(torch.float32)
    if groups.dim() != 2 or groups.shape[1] == 0:
        raise ValueError(
            f"expected {name} shaped [prompts, rollouts per prompt] with at least one rollout, "
            f"got shape {tuple(groups.shape)}"
        )
    return groups


def group_std(rewards: Tensor) -> Tensor:
    """Unbiased (n - 1) standard deviation of each group, [B, 1]; 0 for groups of one.

    The unbiased estimator is torch's default and the one GRPO implementations use: pinned here
    because [1, 0, 0, 0] gives std 0.5 (unbiased) but 0.433 (biased).
    """
    if rewards.shape[1] < 2:
        return torch.zeros_like(rewards[:, :1])
    return rewards.std(dim=1, keepdim=True, unbiased=True)


def centre(rewards: Tensor) -> Tensor:
    """r - group mean, exactly 0 for a group whose rewards are all equal.

    Floating-point means of equal values can miss them by an ulp (7 x 1.4029 averages to
    1.4029 + 1e-7); divided by GRPO's std + 1e-6 that rounding error would become an advantage of
    0.1, so all-equal groups are zeroed explicitly.
    """
    centred = rewards - rewards.mean(dim=1, keepdim=True)
    all_equal = (rewards == rewards[:, :1]).all(dim=1, keepdim=True)
    return centred.masked_fill(all_equal, 0.0)


def zscore_in_group(values: Tensor, eps: float = STD_EPS) -> Tensor:
    """(v - group mean) / (unbiased group std + eps), [B, G]."""
    values = as_groups(values, "values")
    return centre(values) / (group_std(values) + eps)


def mean_token_logprob(logprobs: Tensor, mask: Tensor) -> Tensor:
    """Mean log-prob over each row's generated tokens, [N] (0 for an empty row).

    >>> mean_token_logprob(torch.tensor([[-1.0, -3.0, 9.0]]), torch.tensor([[True, True, False]]))
    tensor([-2.])
    """
    weights = mask.to(logprobs.dtype)
    return (logprobs * weights).sum(dim=-1) / weights.sum(dim=-1).clamp_min(1.0)
