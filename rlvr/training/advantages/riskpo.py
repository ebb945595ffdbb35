"""RiskPO [code]: a risk-sensitive objective over bundles of questions, with its quantiles tracked
across steps: the `riskpo` plug-in.

Per step, consecutive questions are bundled `bundle` at a time and rollout k of a bundle scores
S_k = sum over the bundle's questions q of r_{q,k} (a bundle cut short at the end of the batch is
scaled to `bundle` questions, our reading). With the tracked quantiles q_a (level alpha = 0.2) and
q_b (beta = 0.9):

    A_RVaR = [clip(S - q_a, 0) - clip(S - q_b, 0) + q_a - q_b] / (beta - alpha)
    A_CVaR = -clip(q_a - S, 0) / alpha
    A      = (1.5 * A_CVaR + A_RVaR) / 2.5

then A is divided by the std of the step's bundle scores and, for each question, by the std of its
own rewards (either taken as 1 below 1e-3), and rollout k of question q gets its bundle's A_k.
Both parts only ever lower an advantage, and most for the lowest scores: the update pushes the
worst outcomes up (the left tail) rather than the mean. There is no group baseline, so a question
whose rollouts all fail still gets a (negative) advantage.

The quantiles are the plug-in's state: after each step's advantages are computed (with the
quantiles from earlier steps), each takes one pinball-loss SGD step of size `lr` (0.1):
q <- q + lr * (level - share of bundle scores below q). On the first step they start at the
empirical quantiles of that step's scores (our reading of the initialisation). They go into the
checkpoint, so a resumed run continues with the same quantiles.

Ragged groups (questions with different numbers of rollouts): rollout k of a bundle scores `bundle`
times the mean reward of the bundle's questions that have a rollout k (the short-bundle scaling,
per rollout index), and the quantiles, their start, their update and the score std read only the
scores some question reaches; each question's std is over its own rollouts. Padding adds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor

from rlvr.training.advantages.base import AdvantagePlugin, RolloutView, register, setting
from rlvr.training.groups import as_groups
from rlvr.training.ragged import is_ragged

_STD_FLOOR = 1e-3
"""A std below this is taken as 1: dividing by it would blow up a near-constant score."""


def bundle_scores(rewards: Tensor, bundle: int, valid: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Bundle scores S [K, G] (sums over `bundle` consecutive questions; a short last bundle scaled
    up), each question's bundle index [B], and which scores exist [K, G].

    With `valid` (ragged groups) rollout k of a bundle sums the questions that have a rollout k,
    scaled to `bundle` questions like a short bundle (so S is `bundle` times their mean reward); a
    score no question reaches does not exist. Without it every score exists.

    >>> bundle_scores(torch.tensor([[1.0, 0], [1.0, 1], [0.0, 1]]), 2)[:2]
    (tensor([[2., 1.],
            [0., 2.]]), tensor([0, 0, 1]))
    >>> bundle_scores(torch.tensor([[1.0, 0], [1.0, 0]]), 2, torch.tensor([[True, True], [True, False]]))[0]
    tensor([[2., 0.]])
    """
    rewards = as_groups(rewards)
    index = torch.arange(rewards.shape[0]) // bundle
    count = int(index[-1]) + 1
    if valid is None:
        sums = torch.zeros(count, rewards.shape[1], dtype=rewards.dtype).index_add_(0, index, rewards)
        sizes = torch.bincount(index, minlength=count).to(rewards.dtype).unsqueeze(1)
        return sums * (bundle / sizes), index, torch.ones(sums.shape, dtype=torch.bool)
    weights = valid.to(rewards.dtype)  # padding adds nothing, whatever it holds
    sums = torch.zeros(count, rewards.shape[1], dtype=rewards.dtype).index_add_(0, index, rewards * weights)
    sizes = torch.zeros_like(sums).index_add_(0, index, weights)
    return sums * (bundle / sizes.clamp_min(1.0)), index, sizes > 0


def riskpo_bundle_advantages(scores: Tensor, q_alpha: float, q_beta: float, alpha: float = 0.2,
                             beta: float = 0.9, cvar_weight: float = 1.5) -> Tensor:
    """(cvar_weight * A_CVaR + A_RVaR) / (cvar_weight + 1) of bundle scores (the module doc's
    formulas, before the std divisions)."""
    rvar = ((scores - q_alpha).clamp_min(0) - (scores - q_beta).clamp_min(0) + q_alpha - q_beta) / (beta - alpha)
    cvar = -(q_alpha - scores).clamp_min(0) / alpha
    return (cvar_weight * cvar + rvar) / (cvar_weight + 1.0)


def _std_or_one(values: Tensor, dim: int | None = None) -> Tensor:
    if values.numel() < 2 or (dim is not None and values.shape[dim] < 2):
        return torch.ones(()) if dim is None else torch.ones(values.shape[0], 1)
    std = values.std() if dim is None else values.std(dim=dim, keepdim=True)
    return torch.where(std < _STD_FLOOR, torch.ones_like(std), std)


@register
@dataclass(frozen=True)
class RiskPO(AdvantagePlugin):
    """Mixed CVaR / RVaR advantages of bundle scores, with quantiles tracked by pinball SGD."""

    name: ClassVar[str] = "riskpo"
    ragged: ClassVar[bool] = True
    source: ClassVar[str] = "RiskPO [code]; bundle scaling and quantile start are our reading"
    summary: ClassVar[str] = ("(1.5 A_CVaR + A_RVaR) / 2.5 of bundle scores against quantiles tracked across "
                              "steps, over the score std and the question's reward std")

    bundle: int = setting(4, "consecutive questions whose rewards add up to one bundle score", low=1)
    alpha: float = setting(0.2, "lower quantile level (the tail CVaR looks at)", low=0.0, high=1.0, low_open=True)
    beta: float = setting(0.9, "upper quantile level of the RVaR band", low=0.0, high=1.0, low_open=True)
    lr: float = setting(0.1, "pinball-loss SGD step size of the quantiles", low=0.0, low_open=True)
    cvar_weight: float = setting(1.5, "weight of A_CVaR against A_RVaR's 1", low=0.0)
    quantiles: list = field(default_factory=list, init=False, repr=False)
    """[q_alpha, q_beta] once the first step has set them (the state)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.beta <= self.alpha:
            raise ValueError(f"advantage 'riskpo' needs alpha < beta, got alpha={self.alpha}, beta={self.beta}")

    def __call__(self, view: RolloutView) -> Tensor:
        rewards, valid = view.rewards, view.valid if is_ragged(view.valid) else None
        scores, index, exists = bundle_scores(rewards, self.bundle, valid)
        # ragged groups: the quantiles, the score std and their update see the scores that exist only
        flat = scores.flatten() if valid is None else scores[exists]
        if not self.quantiles:
            levels = torch.tensor([self.alpha, self.beta], dtype=scores.dtype)
            self.quantiles.extend(torch.quantile(flat, levels).tolist())
        q_alpha, q_beta = self.quantiles
        advantages = riskpo_bundle_advantages(scores, q_alpha, q_beta, self.alpha, self.beta, self.cvar_weight)
        advantages = advantages / _std_or_one(scores if valid is None else flat)
        if valid is None:
            per_question = advantages[index] / _std_or_one(rewards, dim=1)
        else:  # each question's std over its own valid rewards
            spreads = torch.stack([_std_or_one(rewards[row, :count]) for row, count in enumerate(valid.sum(1).tolist())])
            per_question = torch.where(valid, advantages[index] / spreads.unsqueeze(1), torch.zeros_like(rewards))
        # one pinball step per quantile, after use: this step's advantages saw only earlier steps
        self.quantiles[0] = q_alpha + self.lr * (self.alpha - float((flat < q_alpha).float().mean()))
        self.quantiles[1] = q_beta + self.lr * (self.beta - float((flat < q_beta).float().mean()))
        return per_question

    def state_dict(self) -> dict[str, Any]:
        return {"quantiles": list(self.quantiles)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        values = list(state.get("quantiles", [])) if state else []
        if state and (set(state) != {"quantiles"} or len(values) not in (0, 2)):
            raise ValueError(f"advantage 'riskpo' state is {{'quantiles': [q_alpha, q_beta] or []}}, got {state!r}")
        self.quantiles[:] = [float(value) for value in values]
