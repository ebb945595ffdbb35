"""UCAS [code]: GRPO advantages scaled by how certain the model was of each rollout: the `ucas` plug-in.

Response level (the plug-in): C_i = sum_t c_t with the token self-certainty c_t = logsumexp(z_t) -
mean_v z_t of the logits z_t; C^ is C z-scored in the group; A' = A * exp(-0.25 * C^) where A > 0,
A * exp(0.35 * C^) elsewhere. A confident correct answer gains less, a confident wrong one is pushed
down harder. c_t = -mean_v log softmax(z_t)_v, so C comes from `Policy.score`'s
`vocab_mean_logprob` (one no-grad pass under pi_old: the `self_certainty` quantity).

Token level (the `ucas_token` plug-in): A_t = A' - 0.05 * z^_t with z^_t the chosen token's raw
logit min-max normalised over the response, floored at 0 where A' > 0. `Policy.score`'s log-probs,
entropy and vocabulary mean are all invariant to a shift of the logits, so the raw logit is a score
quantity of its own (`chosen_logit`), taken in the same no-grad pass as the self-certainty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from rlvr.training.advantages.base import AdvantagePlugin, RolloutView, register, setting, within_groups
from rlvr.training.advantages.baselines import grpo_advantages
from rlvr.training.groups import STD_EPS, as_groups, zscore_in_group


def ucas_advantages(
    rewards: Tensor,
    *,
    certainty: Tensor,
    positive_scale: float = 0.25,
    negative_scale: float = 0.35,
    eps: float = STD_EPS,
) -> Tensor:
    """UCAS [code], response level: A' = A * exp(-0.25 * C^) if A > 0 else A * exp(0.35 * C^).

    A is the GRPO advantage; `certainty` [B, G] is each rollout's summed token self-certainty
    (`self_certainty`); C^ is C z-scored in the group.

    >>> ucas_advantages(torch.tensor([[1.0, 1, 0, 0]]), certainty=torch.tensor([[10.0, 20, 10, 20]])).round(decimals=3)
    tensor([[ 1.0750,  0.6970, -0.6400, -1.1730]])
    """
    advantages = grpo_advantages(rewards, eps=eps)
    certainty = as_groups(certainty, "certainty")
    if certainty.shape != advantages.shape:
        raise ValueError(
            f"expected certainty shaped like rewards {tuple(advantages.shape)}, got {tuple(certainty.shape)}"
        )
    certainty_z = zscore_in_group(certainty, eps=eps)
    scale = torch.where(
        advantages > 0, torch.exp(-positive_scale * certainty_z), torch.exp(negative_scale * certainty_z)
    )
    return advantages * scale


def self_certainty(vocab_mean_logprob: Tensor, mask: Tensor) -> Tensor:
    """Summed token self-certainty of each row, [N]: sum_t (logsumexp(z_t) - mean_v z_t).

    logsumexp(z) - mean(z) = -mean_v log softmax(z)_v, so it comes from `Policy.score`'s
    `vocab_mean_logprob` without the logits.
    """
    return -(vocab_mean_logprob * mask.to(vocab_mean_logprob.dtype)).sum(dim=-1)


def ucas_token_advantages(
    response_advantages: Tensor, chosen_logits: Tensor, mask: Tensor, logit_scale: float = 0.05
) -> Tensor:
    """UCAS [code], token level: A_t = A' - 0.05 * z^_t, floored at 0 where A' > 0.

    z^_t is the chosen token's logit min-max normalised over the response's own tokens (our
    reading of where the normalisation runs). Lowering the advantage of high-logit tokens moves
    credit towards the tokens the model was less sure of; the floor keeps a correct response from
    pushing any of its tokens down. `response_advantages` [N], `chosen_logits` and `mask` [N, T].
    """
    mask = mask.to(torch.bool)
    big = torch.finfo(chosen_logits.dtype).max
    low = torch.where(mask, chosen_logits, torch.full_like(chosen_logits, big)).amin(dim=-1, keepdim=True)
    high = torch.where(mask, chosen_logits, torch.full_like(chosen_logits, -big)).amax(dim=-1, keepdim=True)
    # A row whose tokens all share one logit has no spread to normalise: treat it as 0.
    spread = (high - low).clamp_min(torch.finfo(chosen_logits.dtype).tiny)
    normalised = torch.where(mask, (chosen_logits - low) / spread, torch.zeros_like(chosen_logits))
    response = response_advantages.unsqueeze(-1)
    token_advantages = response - logit_scale * normalised
    token_advantages = torch.where(response > 0, token_advantages.clamp_min(0.0), token_advantages)
    return token_advantages * mask.to(token_advantages.dtype)


@register
@dataclass(frozen=True)
class UCAS(AdvantagePlugin):
    """GRPO advantages scaled by the rollout's self-certainty z-scored in its group (response level)."""

    name: ClassVar[str] = "ucas"
    ragged: ClassVar[bool] = True
    needs: ClassVar[tuple[str, ...]] = ("self_certainty",)
    source: ClassVar[str] = "UCAS [code], response level"
    summary: ClassVar[str] = "GRPO advantages scaled by exp(-+ scale * self-certainty z-scored in the group)"

    positive_scale: float = setting(0.25, "A > 0 is multiplied by exp(-positive_scale * C^)", low=0.0)
    negative_scale: float = setting(0.35, "A <= 0 is multiplied by exp(negative_scale * C^)", low=0.0)

    @within_groups  # ragged groups: each group over its valid rollouts alone
    def __call__(self, view: RolloutView) -> Tensor:
        return ucas_advantages(view.rewards, certainty=view["self_certainty"],
                               positive_scale=self.positive_scale, negative_scale=self.negative_scale)


@register
@dataclass(frozen=True)
class UCASToken(UCAS):
    """UCAS's response-level advantages minus a share of each token's min-max normalised raw logit."""

    name: ClassVar[str] = "ucas_token"
    needs: ClassVar[tuple[str, ...]] = ("self_certainty", "chosen_logit")
    source: ClassVar[str] = "UCAS [code], token level"
    summary: ClassVar[str] = ("UCAS response level, then A' - logit_scale * (chosen logit min-max normalised over "
                              "the response), floored at 0 where A' > 0")

    logit_scale: float = setting(0.05, "how much of the normalised chosen logit each token's advantage loses",
                                 low=0.0)

    @within_groups  # ragged groups: each group over its valid rollouts alone
    def __call__(self, view: RolloutView) -> Tensor:
        response = super().__call__(view).reshape(-1)
        logits = view["chosen_logit"]
        mask = view.mask if view.mask is not None else torch.ones(logits.shape, dtype=torch.bool)
        return ucas_token_advantages(response, logits, mask, self.logit_scale)
