"""SEED-GRPO [abs]: advantages damped where the group's answers disagree: the `seed_grpo` plug-in.

The G answers of a group are clustered by verifier equivalence (the `answer_class` quantity: equal
in the task's canonical form; all unreadable answers one class) and the group's semantic entropy
SE(q) = -sum_c p_c ln p_c (nats) over the class frequencies measures how unsure the policy is of the
question. Then A^_i = A_i * f(SE) with A_i = r_i - mean r and f(SE) = 1 / (1 + alpha * SE),
alpha = 0.02. Only the abstract was available: the form of f and alpha are the values reported for
it and are unverified (the spec's [abs]). A question the policy answers consistently keeps its full
advantage (SE = 0, f = 1); one it scatters over many answers updates more cautiously.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from rlvr.training.advantages.base import AdvantagePlugin, RolloutView, register, setting, within_groups
from rlvr.training.groups import as_groups, centre


def semantic_entropy_of_classes(classes: Tensor) -> Tensor:
    """Entropy in nats of each group's answer classes [B, G] (class ids), [B, 1].

    >>> semantic_entropy_of_classes(torch.tensor([[0, 0, 0, 0], [0, 1, 0, 1]])).squeeze(1)
    tensor([0.0000, 0.6931])
    """
    classes = as_groups(classes, "answer classes").to(torch.long)
    group_size = classes.shape[1]
    counts = torch.zeros(classes.shape[0], group_size, dtype=torch.float32)
    counts.scatter_add_(1, classes.clamp(0, group_size - 1), torch.ones_like(classes, dtype=torch.float32))
    shares = counts / group_size
    terms = torch.where(shares > 0, -shares * torch.log(shares.clamp_min(1e-30)), torch.zeros_like(shares))
    return terms.sum(dim=1, keepdim=True)


def seed_grpo_advantages(rewards: Tensor, classes: Tensor, alpha: float = 0.02) -> Tensor:
    """SEED-GRPO [abs]: (r - mean r) / (1 + alpha * SE(q)) (see the module doc).

    >>> seed_grpo_advantages(torch.tensor([[1.0, 0, 0, 0]]), torch.tensor([[0, 1, 2, 3]])).round(decimals=4)
    tensor([[ 0.7298, -0.2433, -0.2433, -0.2433]])
    """
    rewards = as_groups(rewards)
    classes = as_groups(classes, "answer classes")
    if classes.shape != rewards.shape:
        raise ValueError(f"expected answer classes shaped like rewards {tuple(rewards.shape)}, got "
                         f"{tuple(classes.shape)}")
    return centre(rewards) / (1.0 + alpha * semantic_entropy_of_classes(classes))


@register
@dataclass(frozen=True)
class SeedGRPO(AdvantagePlugin):
    """r - mean, damped by the semantic entropy of the group's answer classes."""

    name: ClassVar[str] = "seed_grpo"
    ragged: ClassVar[bool] = True
    needs: ClassVar[tuple[str, ...]] = ("answer_class",)
    source: ClassVar[str] = "SEED-GRPO [abs]; f(SE) = 1 / (1 + alpha SE) as reported, our reading"
    summary: ClassVar[str] = ("(r - mean) / (1 + alpha * SE), SE the entropy (nats) of the group's answers "
                              "clustered by verifier equivalence")

    alpha: float = setting(0.02, "how strongly semantic entropy damps the advantage: f = 1 / (1 + alpha * SE)",
                           low=0.0)

    @within_groups  # ragged groups: each group over its valid rollouts alone
    def __call__(self, view: RolloutView) -> Tensor:
        return seed_grpo_advantages(view.rewards, view["answer_class"], self.alpha)
