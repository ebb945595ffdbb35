"""Token weighting by intra-group variance (TW-GRPO, the video-reasoning paper) [abs]: the `tw_grpo`
plug-in. The spec gives the idea, not the formula ("weight tokens by informational density"
estimated from the group), so this is our reading:

position t of a group's rollouts is informative when the rollouts disagree there: v_t is the
variance, across the group's rollouts that reach position t, of pi_old's log-prob of their token
(`token_logprob`, the sampler's, no extra pass; 0 where fewer than two reach t). Each rollout's
token weights are v_t over their mean along the rollout, w_t = v_t / mean_t v_t (all 1 where the
rollout's v are all 0), so a response's total weight stays its length, and A_t = A * w_t with A the
GRPO advantage. Tokens every rollout writes alike (the answer format) weigh less; the places where
the rollouts' certainty splits weigh more. The spec's soft multi-choice partial credit is the
reward of a task, not of the advantage: `rlvr/MultiSelectCalc-v0` with `task_options: {reward_mode:
partial}` (0 for any wrong pick, else |chosen ∩ gold| / |gold|), trained with this plug-in as the
paper pairs them (`advantage: tw_grpo`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from rlvr.training.advantages.base import AdvantagePlugin, RolloutView, register, within_groups
from rlvr.training.advantages.baselines import grpo_advantages


def intra_group_token_weights(logprobs: Tensor, mask: Tensor, group_size: int) -> Tensor:
    """w_t [B * G, T] from token log-probs and the mask [B * G, T] (see the module doc).

    >>> logprobs = torch.tensor([[-1.0, -0.1], [-3.0, -0.1]])
    >>> intra_group_token_weights(logprobs, torch.ones(2, 2, dtype=torch.bool), 2)
    tensor([[2., 0.],
            [2., 0.]])
    """
    rows, width = logprobs.shape
    weights = mask.to(logprobs.dtype).view(-1, group_size, width)
    values = logprobs.view(-1, group_size, width) * weights
    count = weights.sum(1, keepdim=True)
    mean = values.sum(1, keepdim=True) / count.clamp_min(1.0)
    variance = (((values - mean) * weights) ** 2).sum(1, keepdim=True) / (count - 1).clamp_min(1.0)
    variance = torch.where(count >= 2, variance, torch.zeros_like(variance)).expand_as(values) * weights
    per_row = variance.reshape(rows, width)
    flat = mask.to(logprobs.dtype)
    row_mean = per_row.sum(1, keepdim=True) / flat.sum(1, keepdim=True).clamp_min(1.0)
    return torch.where(row_mean > 0, per_row / row_mean.clamp_min(1e-30), flat)


@register
@dataclass(frozen=True)
class TWGRPO(AdvantagePlugin):
    """GRPO advantages weighted per token by the group's log-prob variance at its position."""

    name: ClassVar[str] = "tw_grpo"
    ragged: ClassVar[bool] = True
    needs: ClassVar[tuple[str, ...]] = ("token_logprob",)
    source: ClassVar[str] = "token weighting by intra-group variance (TW-GRPO) [abs]; the formula is our reading"
    summary: ClassVar[str] = ("GRPO advantage times v_t / mean v, v_t the variance of the group's token log-probs "
                              "at position t; its soft multi-choice credit: rlvr/MultiSelectCalc-v0, reward_mode partial")

    @within_groups  # ragged groups: each group over its valid rollouts alone
    def __call__(self, view: RolloutView) -> Tensor:
        logprobs = view["token_logprob"]
        mask = view.mask if view.mask is not None else torch.ones(logprobs.shape, dtype=torch.bool)
        weights = intra_group_token_weights(logprobs, mask, view.rewards.shape[1])
        return grpo_advantages(view.rewards).reshape(-1, 1) * weights
