"""How per-token loss terms become one number (`AGGREGATIONS`, `aggregate_tokens`), what that
divides by (`aggregation_count`, which data-parallel ranks sum), and row advantages broadcast to
tokens (`token_advantages`): the token bookkeeping shared by the losses in `rlvr.training.losses`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rlvr.core.hints import did_you_mean

AGGREGATIONS = ("seq_mean_token_mean", "token_mean", "seq_mean_token_sum_norm")
"""How per-token loss terms l_t become one number:

- `seq_mean_token_mean` (GRPO [paper]): mean over rows of (mean over the row's tokens). Every row
  weighs the same, so a long response's tokens each count less;
- `token_mean` (DAPO [paper]): sum of l_t / total number of tokens. Every token weighs the same;
- `seq_mean_token_sum_norm` (Dr. GRPO [paper]): sum of l_t / (N * L_max), with L_max a constant
  (the generation budget), so no length-dependent normaliser biases the gradient.
"""


def aggregate_tokens(
    per_token: Tensor, mask: Tensor, aggregation: str = "seq_mean_token_mean", max_len: int | None = None
) -> Tensor:
    """Reduce per-token terms [N, T] to a scalar as named in `AGGREGATIONS`.

    `max_len` is Dr. GRPO's L_max (default: T, the padded width of this batch). The sequence mean
    is over the rows that hold a token: a rollout an advantage plug-in left out (D3S: its tokens
    masked) does not dilute the others. Dr. GRPO's N * L_max stays a constant by design.

    >>> terms = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    >>> mask = torch.tensor([[True, True, True], [True, False, False]])
    >>> [round(aggregate_tokens(terms, mask, mode).item(), 4) for mode in AGGREGATIONS]
    [3.0, 2.5, 1.6667]
    """
    if per_token.shape != mask.shape or per_token.dim() != 2:
        raise ValueError(
            f"expected per-token terms and mask of one shape [rows, tokens], got {tuple(per_token.shape)} "
            f"and {tuple(mask.shape)}"
        )
    weights = mask.to(per_token.dtype)
    masked = per_token * weights
    if aggregation == "seq_mean_token_mean":
        counts = weights.sum(dim=1)
        row_means = masked.sum(dim=1) / counts.clamp_min(1.0)
        return row_means.sum() / (counts > 0).sum().clamp_min(1)
    if aggregation == "token_mean":
        return masked.sum() / weights.sum().clamp_min(1.0)
    if aggregation == "seq_mean_token_sum_norm":
        horizon = per_token.shape[1] if max_len is None else max_len
        if horizon <= 0:
            raise ValueError(f"expected a positive max_len for seq_mean_token_sum_norm, got {horizon}")
        return masked.sum() / (per_token.shape[0] * horizon)
    hint = did_you_mean(str(aggregation), AGGREGATIONS, most=1, cutoff=0.6, quoted=True)
    raise ValueError(f"unknown aggregation {aggregation!r}{hint}; expected one of {', '.join(AGGREGATIONS)}")


def aggregation_count(mask: Tensor, aggregation: str) -> Tensor:
    """What `aggregate_tokens(..., aggregation)` divides by, up to constants (float32 scalar): the
    tokens for `token_mean`, the rows holding a token for `seq_mean_token_mean`, all rows for
    `seq_mean_token_sum_norm` (whose L_max is the constant).

    A data-parallel learner sums this over ranks and scales each rank's loss by local / global, so
    that the summed gradients equal one process's over the whole batch (`rlvr.training.distributed`).

    >>> mask = torch.tensor([[True, True, True], [True, False, False]])
    >>> [int(aggregation_count(mask, mode)) for mode in AGGREGATIONS]
    [2, 4, 2]
    """
    if aggregation == "token_mean":
        return mask.sum().to(torch.float32)
    if aggregation == "seq_mean_token_mean":
        return mask.any(dim=1).sum().to(torch.float32)
    if aggregation == "seq_mean_token_sum_norm":
        return torch.tensor(float(mask.shape[0]))
    raise ValueError(f"unknown aggregation {aggregation!r}; expected one of {', '.join(AGGREGATIONS)}")


def token_advantages(advantages: Tensor, like: Tensor) -> Tensor:
    """Broadcast row advantages [N] to tokens [N, T]; pass [N, T] through unchanged."""
    if advantages.dim() == 1 and advantages.shape[0] == like.shape[0]:
        return advantages.unsqueeze(1).expand_as(like)
    if advantages.shape == like.shape:
        return advantages
    raise ValueError(
        f"expected advantages shaped [{like.shape[0]}] or {list(like.shape)}, got {list(advantages.shape)}"
    )
