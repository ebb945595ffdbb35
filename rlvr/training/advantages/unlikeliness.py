"""Unlikeliness reward [code], then GRPO's normalisation: the `unlikeliness` plug-in.

r~_i = r_i * (1 - beta_rank * rank_i / G), with rank_i the rollout's place when its group is sorted
by ascending mean token log-prob under pi_old (the least likely rollout has rank 0 and keeps its
full reward); then A = (r~ - mean r~) / (std r~ + 1e-6). Likely correct answers are ones the policy
already produces; cutting their reward moves probability towards correct answers it rarely samples,
which is what raises pass@k for large k. pi_old's mean log-probs are the sampler's own
(`mean_logprob`), so the plug-in costs no extra forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor

from rlvr.training.advantages.base import AdvantagePlugin, RolloutView, register, setting, within_groups
from rlvr.training.advantages.baselines import grpo_advantages
from rlvr.training.groups import STD_EPS
from rlvr.training.shaping import unlikeliness_rewards


def unlikeliness_advantages(
    rewards: Tensor, *, mean_logprobs: Tensor, beta_rank: float = 0.25, eps: float = STD_EPS
) -> Tensor:
    """Unlikeliness reward [code], then GRPO normalisation (see the module doc).

    >>> import torch
    >>> unlikeliness_advantages(torch.tensor([[1.0, 1, 0, 0]]),
    ...                         mean_logprobs=torch.tensor([[-0.1, -0.5, -0.3, -0.9]])).round(decimals=3)
    tensor([[ 0.7390,  0.9850, -0.8620, -0.8620]])
    """
    return grpo_advantages(unlikeliness_rewards(rewards, mean_logprobs, beta_rank=beta_rank), eps=eps)


@register
@dataclass(frozen=True)
class Unlikeliness(AdvantagePlugin):
    """Correct rollouts the policy finds likely earn less, then GRPO's normalisation."""

    name: ClassVar[str] = "unlikeliness"
    ragged: ClassVar[bool] = True
    needs: ClassVar[tuple[str, ...]] = ("mean_logprob",)
    source: ClassVar[str] = "unlikeliness reward [code]"
    summary: ClassVar[str] = "r (1 - beta_rank rank / G), rank by pi_old likelihood (likely correct earn less), then GRPO"

    beta_rank: float = setting(0.25, "reward cut per rank: r * (1 - beta_rank * rank / G), the least likely "
                                     "rollout rank 0", low=0.0, high=1.0)

    @within_groups  # ragged groups: each group over its valid rollouts alone
    def __call__(self, view: RolloutView) -> Tensor:
        return unlikeliness_advantages(view.rewards, mean_logprobs=view["mean_logprob"], beta_rank=self.beta_rank)
