"""D3S [abs]: train on the rollouts and tokens that carry the most signal: the `d3s` plug-in.

Sample level: in each group keep the k = ceil(ratio * G) rollouts whose GRPO advantages have the
largest variance. Such a subset is always the j lowest and the k - j highest advantages for some j
(moving a kept value towards the middle never raises the variance), so the k + 1 candidates are
tried and the best kept (the smallest j among equals). Token level: of the kept rollouts' tokens,
keep the share `ratio` of the batch's tokens with the largest |A_t| * H_t, H_t pi_old's entropy at
the token (`token_entropy`, from the scoring pass): confident tokens and groups without signal go.

The keep ratio relaxes over training: ratio = keep + (1 - keep) * min(1, steps / relax_steps), so
early steps train on the sharpest signal and later ones on everything (our reading of the
schedule; `steps` counts the plug-in's calls and is its checkpointed state).

What is left out gets advantage 0 and leaves the loss: the plug-in returns `Kept`, and the
trainer's `compute_advantages` removes those tokens from the step's loss mask, so the loss's
normaliser counts only kept tokens (`token_mean`) or rows that keep a token
(`seq_mean_token_mean`), never the dropped ones.

Ragged groups: GRPO's advantages and the max-variance subset are each group's own, k = ceil(ratio *
n_b) of its n_b valid rollouts; the token share is of the batch's tokens, where padding has none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor

from rlvr.training.advantages.base import AdvantagePlugin, Kept, RolloutView, register, setting
from rlvr.training.advantages.baselines import grpo_advantages
from rlvr.training.groups import as_groups
from rlvr.training.ragged import in_valid_groups


def max_variance_subset(advantages: Tensor, k: int) -> Tensor:
    """Bool [B, G]: per group, the k values with the largest (population) variance.

    >>> max_variance_subset(torch.tensor([[2.0, 1.0, 0.0, -1.0, -2.0]]), 2)
    tensor([[ True, False, False, False,  True]])
    """
    advantages = as_groups(advantages, "advantages")
    groups, size = advantages.shape
    if not 1 <= k <= size:
        raise ValueError(f"expected 1 <= k <= G={size}, got k={k}")
    order = advantages.argsort(dim=1)
    ordered = advantages.gather(1, order)
    best_var = torch.full((groups,), -math.inf, dtype=torch.float64)
    best = torch.zeros(groups, size, dtype=torch.bool)
    positions = torch.arange(size)
    for low in range(k + 1):  # the `low` smallest and the k - low largest
        chosen = (positions < low) | (positions >= size - (k - low))
        values = ordered[:, chosen].to(torch.float64)
        variance = values.var(dim=1, unbiased=False)
        better = variance > best_var
        best_var = torch.where(better, variance, best_var)
        best = torch.where(better.unsqueeze(1), chosen.expand(groups, size), best)
    keep = torch.zeros_like(best)
    return keep.scatter(1, order, best)


def top_tokens(scores: Tensor, mask: Tensor, share: float) -> Tensor:
    """Bool like `mask`: the ceil(share * n) tokens of the n under `mask` with the largest scores."""
    mask = mask.to(torch.bool)
    total = int(mask.sum())
    count = min(total, max(1, math.ceil(share * total))) if total else 0
    keep = torch.zeros_like(mask)
    if count:
        flat = torch.where(mask, scores, torch.full_like(scores, -math.inf)).flatten()
        keep.view(-1)[flat.topk(count).indices] = True
    return keep & mask


@register
@dataclass(frozen=True)
class D3S(AdvantagePlugin):
    """GRPO on the most informative rollouts (max-variance subset) and tokens (|A| * entropy)."""

    name: ClassVar[str] = "d3s"
    ragged: ClassVar[bool] = True
    drops: ClassVar[bool] = True
    source: ClassVar[str] = "D3S [abs]; the relaxing schedule is our reading"
    summary: ClassVar[str] = ("keep per group the ceil(ratio G) rollouts with max Var(A) and/or the batch's "
                              "top-ratio tokens by |A| entropy; ratio relaxes to 1")

    level: str = setting("sample", "what is selected: rollouts (sample), tokens, or both",
                         choices=("sample", "token", "both"))
    keep: float = setting(0.5, "keep ratio at the start of training", low=0.0, high=1.0, low_open=True)
    relax_steps: int = setting(200, "steps over which the keep ratio rises linearly to 1 (0: at once)", low=0)
    steps: list = field(default_factory=lambda: [0], init=False, repr=False)
    """[calls so far] (the state)."""

    @property
    def needs(self) -> tuple[str, ...]:
        return ("token_entropy",) if self.level != "sample" else ()

    def ratio(self, step: int) -> float:
        """The keep ratio at `step` (calls before this one)."""
        if self.relax_steps == 0:
            return 1.0
        return self.keep + (1.0 - self.keep) * min(1.0, step / self.relax_steps)

    def __call__(self, view: RolloutView) -> Kept:
        ratio = self.ratio(self.steps[0])
        self.steps[0] += 1
        advantages = grpo_advantages(view.rewards, valid=view.valid)
        rollouts = torch.ones_like(advantages, dtype=torch.bool) if view.valid is None else view.valid.clone()
        if self.level in ("sample", "both"):  # each group keeps ceil(ratio * its own size)
            def subset(groups: Tensor) -> Tensor:
                size = groups.shape[1]
                return max_variance_subset(groups, max(1, min(size, math.ceil(ratio * size)))).to(groups.dtype)

            rollouts = in_valid_groups(subset, advantages, view.valid) > 0
        if self.level == "sample":
            return Kept(advantages, rollouts)
        entropy = view["token_entropy"]
        mask = view.mask if view.mask is not None else torch.ones(entropy.shape, dtype=torch.bool)
        tokens = advantages.reshape(-1, 1) * mask.to(advantages.dtype)
        candidates = mask & rollouts.reshape(-1, 1)
        keep = top_tokens(tokens.abs() * entropy, candidates, ratio)
        return Kept(tokens, keep)

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps[0]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state:
            self.steps[0] = int(state["steps"])
