"""DGPO / MathForge [code]: advantages normalised by the group's absolute deviation, and question
weights that favour the harder questions of a batch.

- advantages: A_i = G * (r_i - mean r) / (sum_j |r_j - mean r| + 1e-4);
- question weights (setting `question_weights`): lambda_q = N_valid * softmax(-acc_q / T) over the
  questions whose rewards are not all equal (T = `temperature`, 2.0 in the authors' code), 0 for
  the others; each question's advantages are multiplied by its lambda_q. MathForge multiplies the
  question's loss instead; for the PPO-clip loss with lambda_q >= 0 that is the same thing, since
  min(ratio * A, clip(ratio) * A) scales with A's positive factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from rlvr.training.advantages.base import AdvantagePlugin, RolloutView, register, setting
from rlvr.training.groups import as_groups, centre
from rlvr.training.ragged import group_means, group_spread, in_valid_groups


def dgpo_advantages(rewards: Tensor, eps: float = 1e-4, valid: Tensor | None = None) -> Tensor:
    """DGPO / MathForge [code]: A_i = G * (r_i - mean r) / (sum_j |r_j - mean r| + eps).

    Normalising by the mean absolute deviation instead of the std keeps the total advantage mass
    of a group (sum |A_i| ~= G) the same for easy and hard questions. With `valid` (ragged groups),
    G and the mean are each group's own, over its valid rollouts.

    >>> dgpo_advantages(torch.tensor([[1.0, 0.0, 0.0, 0.0]])).round(decimals=3)
    tensor([[ 2.0000, -0.6670, -0.6670, -0.6670]])
    """
    def normalised(groups: Tensor) -> Tensor:
        centred = centre(groups)
        return groups.shape[1] * centred / (centred.abs().sum(dim=1, keepdim=True) + eps)

    return in_valid_groups(normalised, as_groups(rewards), valid)


def dgpo_question_weights(
    accuracies: Tensor, valid: Tensor | None = None, temperature: float = 2.0
) -> Tensor:
    """DGPO / MathForge [code]: lambda_q = N_valid * softmax(-acc_q / T) over the valid questions.

    `accuracies` [B] is each question's group accuracy; `valid` [B] marks the questions whose
    rewards are not all equal (default: all). Harder questions (lower accuracy) weigh more, and
    the weights sum to N_valid so the loss scale does not change. Invalid questions get 0.

    >>> dgpo_question_weights(torch.tensor([0.25, 0.75])).round(decimals=3)
    tensor([1.1240, 0.8760])
    """
    accuracies = torch.as_tensor(accuracies, dtype=torch.float32)
    if accuracies.dim() != 1:
        raise ValueError(f"expected accuracies shaped [questions], got shape {tuple(accuracies.shape)}")
    valid = (
        torch.ones_like(accuracies, dtype=torch.bool)
        if valid is None
        else torch.as_tensor(valid, dtype=torch.bool)
    )
    if valid.shape != accuracies.shape:
        raise ValueError(
            f"expected valid shaped like accuracies {tuple(accuracies.shape)}, got {tuple(valid.shape)}"
        )
    if temperature <= 0:
        raise ValueError(f"expected a positive temperature, got {temperature}")
    num_valid = int(valid.sum())
    if num_valid == 0:
        return torch.zeros_like(accuracies)
    # -inf logits give invalid questions exactly zero softmax mass.
    logits = torch.where(valid, -accuracies / temperature, torch.full_like(accuracies, float("-inf")))
    return num_valid * torch.softmax(logits, dim=0)


@register
@dataclass(frozen=True)
class DGPO(AdvantagePlugin):
    """Group advantages over the mean absolute deviation; optional per-question weights."""

    name: ClassVar[str] = "dgpo"
    ragged: ClassVar[bool] = True
    source: ClassVar[str] = "DGPO / MathForge [code]"
    summary: ClassVar[str] = "G (r - mean) / (sum |r - mean| + 1e-4); optional softmax(-accuracy / T) question weights"

    question_weights: bool = setting(False, "multiply each question's advantages by lambda_q = N_valid * "
                                            "softmax(-accuracy / temperature) over the questions with signal")
    temperature: float = setting(2.0, "softmax temperature of the question weights (lower: harder questions "
                                      "weigh more)", low=0.0, low_open=True)

    @property
    def needs(self) -> tuple[str, ...]:  # accuracy is the verifier's, whatever shaping did to the reward
        return ("correct",) if self.question_weights else ()

    def __call__(self, view: RolloutView) -> Tensor:
        advantages = dgpo_advantages(view.rewards, valid=view.valid)
        if not self.question_weights:
            return advantages
        rewards = view.rewards
        if view.valid is None:
            valid = (rewards != rewards[:, :1]).any(dim=1)
        else:  # ragged groups: signal and accuracy over each group's valid rollouts
            valid = group_spread(rewards, view.valid) > 0
        weights = dgpo_question_weights(group_means(view["correct"], view.valid), valid, self.temperature)
        return advantages * weights.to(advantages.dtype).unsqueeze(1)
