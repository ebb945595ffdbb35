"""ProGRPO / ARM [abs]: GRPO advantages shifted against over-confident answers: the `progrpo` plug-in.

A~_i = A_i + alpha * (c(q) - c(o_i | q)), unless every rollout of the group scored 0 (then A~ = A),
with A the GRPO advantage. Only the abstract was available; our reading of the two confidences:

- c(o_i | q), the answer's confidence, is exp of pi_old's mean log-prob over the lowest-probability
  20% of the rollout's tokens (at least one): the geometric-mean probability of its least sure
  steps, in (0, 1] (`low_token_logprob`, from the sampler's log-probs, no extra pass);
- c(q), the question's confidence, is 1 / perplexity of the prompt under pi_old, exp of its mean
  token log-prob, in (0, 1] (`prompt_logprob`, one no-grad pass over the distinct prompts).

So among equally rewarded answers the one the policy was surer of gains less (or loses more), which
keeps probability mass from piling onto one confident answer; c(q) sets the reference, so an answer
as sure as the policy is of reading the question is left unchanged. `alpha` (0.1) is our choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from rlvr.training.advantages.base import AdvantagePlugin, RolloutView, register, setting, within_groups
from rlvr.training.advantages.baselines import grpo_advantages
from rlvr.training.groups import as_groups


def progrpo_advantages(rewards: Tensor, low_token_logprob: Tensor, prompt_logprob: Tensor,
                       alpha: float = 0.1) -> Tensor:
    """A + alpha * (exp(prompt_logprob) - exp(low_token_logprob)), A the GRPO advantage; groups that
    all scored 0 keep A (see the module doc).

    >>> progrpo_advantages(torch.tensor([[1.0, 1.0, 0.0, 0.0]]), torch.log(torch.tensor([[0.9, 0.5, 0.5, 0.5]])),
    ...                    torch.log(torch.full((1, 4), 0.5))).round(decimals=4)
    tensor([[ 0.8260,  0.8660, -0.8660, -0.8660]])
    """
    rewards = as_groups(rewards)
    advantages = grpo_advantages(rewards)
    shift = alpha * (torch.exp(as_groups(prompt_logprob, "prompt_logprob")) -
                     torch.exp(as_groups(low_token_logprob, "low_token_logprob")))
    all_zero = (rewards == 0).all(dim=1, keepdim=True)
    return torch.where(all_zero, advantages, advantages + shift)


@register
@dataclass(frozen=True)
class ProGRPO(AdvantagePlugin):
    """GRPO plus alpha * (question confidence - answer confidence), groups that all failed excepted."""

    name: ClassVar[str] = "progrpo"
    ragged: ClassVar[bool] = True
    needs: ClassVar[tuple[str, ...]] = ("low_token_logprob", "prompt_logprob")
    source: ClassVar[str] = "ProGRPO / ARM [abs]; the confidences are our reading"
    summary: ClassVar[str] = ("GRPO + alpha (1/ppl(prompt) - geometric-mean probability of the answer's least "
                              "likely 20% tokens), except all-zero groups")

    alpha: float = setting(0.1, "weight of the confidence shift", low=0.0)

    @within_groups  # ragged groups: each group over its valid rollouts alone
    def __call__(self, view: RolloutView) -> Tensor:
        return progrpo_advantages(view.rewards, view["low_token_logprob"], view["prompt_logprob"], self.alpha)
