"""Plug-ins that read the policy's hidden states: the representation-based exploration bonus
(`representation_bonus`) and token hidden reward reweighting (`thr`). Both [abs]: only the
abstracts were available, so the forms below are our reading.

Representation bonus: h_i is rollout i's mean last-layer hidden state (`hidden_mean`, unit length
with `normalise`), and within its group, in rollout order, b_i = h_i^T Sigma_i^-1 h_i with
Sigma_i = lambda * I + sum_{j < i} h_j h_j^T: large for a rollout unlike the ones before it, and
|h|^2 / (lambda + |h|^2) for one that repeats its predecessor. It is computed in the span of the
earlier h_j (Woodbury: (|h|^2 - v^T (lambda I + V^T V)^-1 v) / lambda, v = V^T h), so the cost grows
with G, not with the hidden size. The bonus joins the reward, r~ = r + coef * b, then GRPO's
normalisation. Rollouts of a group are exchangeable samples, so favouring earlier indices (the
first has the largest Sigma-free bonus) biases no answer.

THR: token t of rollout i has a hidden reward THR_t = <h_{i,t} - m, c_{-i} - m>, the alignment of
its hidden state (`hidden_state`) with the mean representation c_{-i} of the group's other correct
rollouts (the verifier's `correct`), both relative to the group's mean representation m (0 where no
other rollout is correct). Its advantage is reweighted by the sign: A_t = A_i * (1 + p * sign(THR_t)),
A the GRPO advantage. p > 0 leans on tokens that point towards correct answers (exploitation),
p < 0 on the others (exploration); p = 0 is GRPO exactly (bit for bit: A * 1.0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from rlvr.training.advantages.base import AdvantagePlugin, RolloutView, register, setting, within_groups
from rlvr.training.advantages.baselines import grpo_advantages
from rlvr.training.groups import as_groups


def representation_bonus(hidden: Tensor, lam: float = 1.0) -> Tensor:
    """b_i = h_i^T (lam I + sum_{j < i} h_j h_j^T)^-1 h_i within each group; `hidden` [B, G, H] -> [B, G].

    >>> h = torch.tensor([[[3.0, 4.0], [3.0, 4.0]]])
    >>> representation_bonus(h, lam=1.0)  # |h|^2 / lam, then |h|^2 / (lam + |h|^2)
    tensor([[25.0000,  0.9615]])
    """
    if hidden.dim() != 3:
        raise ValueError(f"expected hidden states shaped [B, G, H], got {tuple(hidden.shape)}")
    hidden = hidden.to(torch.float64)
    bonus = torch.zeros(hidden.shape[:2], dtype=torch.float64)
    for i in range(hidden.shape[1]):
        h = hidden[:, i]  # [B, H]
        squared = (h * h).sum(-1)
        if i == 0:
            bonus[:, 0] = squared / lam
            continue
        earlier = hidden[:, :i]  # [B, i, H]
        gram = earlier @ earlier.transpose(1, 2) + lam * torch.eye(i, dtype=torch.float64)
        v = (earlier @ h.unsqueeze(-1)).squeeze(-1)  # [B, i]
        inner = (v * torch.linalg.solve(gram, v.unsqueeze(-1)).squeeze(-1)).sum(-1)
        bonus[:, i] = (squared - inner) / lam
    return bonus.to(torch.float32)


@register
@dataclass(frozen=True)
class RepresentationBonus(AdvantagePlugin):
    """GRPO on r + coef * h^T Sigma^-1 h, Sigma from the group's earlier rollouts' hidden states."""

    name: ClassVar[str] = "representation_bonus"
    ragged: ClassVar[bool] = True
    needs: ClassVar[tuple[str, ...]] = ("hidden_mean",)
    source: ClassVar[str] = "representation-based exploration [abs]; our reading"
    summary: ClassVar[str] = ("GRPO on r + coef * h^T (lambda I + sum of earlier h h^T)^-1 h, h the mean "
                              "last-layer hidden state")

    coef: float = setting(0.1, "weight of the bonus added to the reward", low=0.0)
    lam: float = setting(1.0, "lambda of Sigma = lambda I + sum h h^T", low=0.0, low_open=True)
    normalise: bool = setting(True, "scale each h to unit length first (bonus in [0, 1 / lambda])")

    @within_groups  # ragged groups: each group over its valid rollouts alone
    def __call__(self, view: RolloutView) -> Tensor:
        hidden = view["hidden_mean"]
        if self.normalise:
            hidden = hidden / hidden.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return grpo_advantages(view.rewards + self.coef * representation_bonus(hidden, self.lam))


def token_hidden_rewards(hidden: Tensor, mask: Tensor, correct: Tensor) -> Tensor:
    """THR_t [B * G, T] (see the module doc) of hidden states [B * G, T, H] under `mask` [B * G, T],
    with `correct` [B, G] marking the correct rollouts."""
    correct = as_groups(correct, "correct") > 0
    groups, size = correct.shape
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    means = ((hidden * weights).sum(1) / weights.sum(1).clamp_min(1.0)).view(groups, size, -1)  # [B, G, H]
    centre = means.mean(dim=1, keepdim=True)
    flags = correct.to(hidden.dtype).unsqueeze(-1)
    others = (flags * means).sum(1, keepdim=True) - flags * means  # sum over the other correct ones
    count = flags.sum(1, keepdim=True) - flags
    target = torch.where(count > 0, others / count.clamp_min(1.0) - centre, torch.zeros_like(others))
    aligned = ((hidden.view(groups, size, *hidden.shape[1:]) - centre.unsqueeze(2)) * target.unsqueeze(2)).sum(-1)
    return aligned.view(groups * size, -1) * mask.to(hidden.dtype)


@register
@dataclass(frozen=True)
class THR(AdvantagePlugin):
    """GRPO advantages reweighted per token by the sign of its hidden reward; p = 0 is GRPO."""

    name: ClassVar[str] = "thr"
    ragged: ClassVar[bool] = True
    needs: ClassVar[tuple[str, ...]] = ("hidden_state", "correct")
    source: ClassVar[str] = "THR, token hidden reward [abs]; our reading"
    summary: ClassVar[str] = ("A * (1 + p sign(THR_t)), THR_t the alignment of token t's hidden state with the "
                              "group's other correct rollouts; p = 0 is GRPO")

    p: float = setting(0.2, "reweighting strength: > 0 favours tokens aligned with correct rollouts, < 0 the "
                            "others, 0 is GRPO", low=-1.0, high=1.0)

    @within_groups  # ragged groups: each group over its valid rollouts alone
    def __call__(self, view: RolloutView) -> Tensor:
        hidden = view["hidden_state"]
        mask = view.mask if view.mask is not None else torch.ones(hidden.shape[:2], dtype=torch.bool)
        advantages = grpo_advantages(view.rewards).reshape(-1, 1)
        signs = torch.sign(token_hidden_rewards(hidden, mask, view["correct"]))
        return advantages * (1.0 + self.p * signs) * mask.to(advantages.dtype)
