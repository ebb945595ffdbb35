"""Robust DPO [paper]: DPO on preference pairs made from each group, robust to flipped labels.

Pairs: within each problem's group, the rollouts the verifier marked correct are preferred to the
ones it marked wrong, paired in order (the i-th correct with the i-th wrong; min(#correct, #wrong)
pairs), so verifiable rewards become preferences with no extra labelling. `rlvr export` writes no
preference rows, so the group is the one source of pairs.

With h = [log pi(y_w) - log pi_ref(y_w)] - [log pi(y_l) - log pi_ref(y_l)] (summed over each
rollout's own tokens; pi_ref: the policy at the start of RL) and label-flip rate e < 1/2,

    L = [(1 - e) * (-log sigmoid(beta * h)) - e * (-log sigmoid(-beta * h))] / (1 - 2e),

an unbiased estimate of the clean-label DPO loss when each label is flipped with probability e.
e = 0 is DPO exactly; h = 0 gives log 2 for every e.

>>> round(float(robust_dpo_loss(torch.zeros(3), beta=0.1, epsilon=0.2)), 4)
0.6931
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor
from torch.nn.functional import logsigmoid

from rlvr.training.objectives.base import ObjectivePlugin, register, rows_of, sequence_logprobs, setting


def robust_dpo_loss(margins: Tensor, beta: float = 0.1, epsilon: float = 0.0) -> Tensor:
    """Mean over pairs of the robust DPO loss of the log-ratio margins h, [P] -> scalar.

    >>> robust_dpo_loss(torch.tensor([1.0]), beta=1.0, epsilon=0.0) == -logsigmoid(torch.tensor(1.0))
    tensor(True)
    """
    if not 0.0 <= epsilon < 0.5:
        raise ValueError(f"robust DPO needs a label-flip rate epsilon in [0, 0.5), got {epsilon}")
    clean, flipped = -logsigmoid(beta * margins), -logsigmoid(-beta * margins)
    return ((1.0 - epsilon) * clean - epsilon * flipped).mean() / (1.0 - 2.0 * epsilon)


def group_pairs(correct: Tensor) -> list[tuple[int, int]]:
    """(chosen row, rejected row) pairs of flat rows from correct [B, G]: per group, its correct rollouts
    paired in order with its wrong ones.

    >>> group_pairs(torch.tensor([[1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 0.0, 0.0]]))
    [(0, 1), (2, 3), (9, 8)]
    """
    pairs = []
    size = correct.shape[1]
    for group, row in enumerate(correct.tolist()):
        right = [group * size + i for i, value in enumerate(row) if value > 0.5]
        wrong = [group * size + i for i, value in enumerate(row) if value <= 0.5]
        pairs += list(zip(right, wrong, strict=False))
    return pairs


@register
@dataclass
class RobustDPO(ObjectivePlugin):
    """Robust DPO on the correct-vs-wrong pairs of each group (module doc)."""

    name: ClassVar[str] = "robust_dpo"
    source: ClassVar[str] = "Robust DPO [paper]"
    summary: ClassVar[str] = ("[(1-e)(-log s(beta h)) - e(-log s(-beta h))]/(1-2e) on correct-vs-wrong pairs of "
                              "each group, h the log-ratio margin to the policy at the start of RL")
    needs_reference: ClassVar[bool] = True
    beta: float = setting(0.1, "inverse temperature of the preference model", low=0.0, low_open=True)
    epsilon: float = setting(0.1, "assumed label-flip rate e (0: plain DPO)", low=0.0, high=0.49)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._prepared: tuple | None = None

    def prepare(self, batch: Any, policy: Any, reference: Any, step: int) -> dict[str, float]:
        pairs = group_pairs(batch.components["correct"].detach().cpu())
        if not pairs:
            self._prepared = None
            return {"pairs": 0.0}
        if reference is None:
            raise ValueError("objective 'robust_dpo' needs the reference policy (the trainer's frozen copy)")
        rows = sorted({row for pair in pairs for row in pair})
        prompts, ids, attention, mask = rows_of(batch)
        picked = ([prompts[row] for row in rows], ids[rows], attention[rows], mask[rows])
        with torch.no_grad():
            ref = sequence_logprobs(reference, *picked).float()
        where = {row: index for index, row in enumerate(rows)}
        chosen = torch.tensor([where[w] for w, _ in pairs])
        rejected = torch.tensor([where[r] for _, r in pairs])
        self._prepared = (picked, ref, chosen, rejected)
        return {"pairs": float(len(pairs))}

    def loss(self, policy: Any) -> Tensor | None:
        if self._prepared is None:
            return None  # no group held both a correct and a wrong rollout: nothing to prefer
        picked, ref, chosen, rejected = self._prepared
        log_ratio = sequence_logprobs(policy, *picked).float()
        log_ratio = log_ratio - ref.to(log_ratio.device)
        margins = log_ratio[chosen.to(log_ratio.device)] - log_ratio[rejected.to(log_ratio.device)]
        return robust_dpo_loss(margins, self.beta, self.epsilon)

