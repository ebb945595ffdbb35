"""Ragged groups: problems of one step with different numbers of rollouts (Rollout-GDRO's n_b).

A ragged batch keeps the [B, G] layout of every other batch, padded to the largest group (G is the
largest n of the step), with a bool `valid` [B, G] saying which rollouts exist. The valid rollouts
of a group come first, the padding after them, so group b is row b's first n_b entries. Padded
entries hold 0 in every per-rollout tensor and no tokens; nothing is computed from them.

`valid` is None for a dense batch (every group full) and the helpers here then compute exactly
what the dense code always computed, so every existing path keeps its numbers bit for bit. A
ragged group is computed as the same group alone would be (`in_valid_groups` runs the dense
function on each group's valid prefix), which is what the tests compare against.

>>> import torch
>>> valid = torch.tensor([[True, True, False], [True, True, True]])
>>> group_means(torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]]), valid)
tensor([0.5000, 1.0000])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor


def is_ragged(valid: Tensor | None) -> bool:
    """Whether `valid` leaves some rollout out (None or all true: a dense batch)."""
    return valid is not None and not bool(torch.as_tensor(valid).all())


def check_valid(valid: Tensor | None, shape: Sequence[int]) -> Tensor | None:
    """`valid` as a bool tensor shaped `shape` whose rows are a true prefix of at least one entry
    (None stays None); anything else is refused, naming what came.

    >>> check_valid(torch.tensor([[False, True]]), (1, 2))
    Traceback (most recent call last):
    ...
    ValueError: expected valid rollouts first in each group (at least one), got row 0 = [False, True]
    """
    if valid is None:
        return None
    valid = torch.as_tensor(valid, dtype=torch.bool)
    if tuple(valid.shape) != tuple(shape):
        raise ValueError(f"expected valid shaped like the rewards {tuple(shape)}, got {tuple(valid.shape)}")
    counts = valid.sum(dim=1)
    prefix = torch.arange(valid.shape[1]).unsqueeze(0) < counts.unsqueeze(1)
    bad = ((valid != prefix) | (counts == 0).unsqueeze(1)).any(dim=1).nonzero()
    if len(bad):
        row = int(bad[0])
        raise ValueError(f"expected valid rollouts first in each group (at least one), got row {row} = "
                         f"{valid[row].tolist()}")
    return valid


def group_counts(valid: Tensor | None, shape: Sequence[int]) -> list[int]:
    """Rollouts per group, [B] as a list."""
    return [int(shape[1])] * int(shape[0]) if valid is None else valid.sum(dim=1).tolist()


def in_valid_groups(fn: Callable[..., Tensor], values: Tensor, valid: Tensor | None, *others: Tensor) -> Tensor:
    """`fn` (a function of groups [B, G] -> [B, G]) applied to each group's valid rollouts alone,
    padding left 0; on a dense batch `fn(values, *others)` itself. `others`: more [B, G] inputs,
    cut like `values`."""
    if not is_ragged(valid):
        return fn(values, *others)
    out = torch.zeros_like(values)
    for row, count in enumerate(valid.sum(dim=1).tolist()):
        out[row, :count] = fn(values[row : row + 1, :count], *(o[row : row + 1, :count] for o in others))[0]
    return out


def group_means(values: Tensor, valid: Tensor | None) -> Tensor:
    """Mean of each group over its valid rollouts, [B]."""
    if not is_ragged(valid):
        return values.mean(1)
    weights = valid.to(values.dtype)
    return (values * weights).sum(1) / weights.sum(1)


def valid_mean(values: Tensor, valid: Tensor | None) -> float:
    """Mean over the valid rollouts of the batch (over all of them when dense)."""
    return float(values.mean() if not is_ragged(valid) else values[valid].to(torch.float32).mean())


def valid_count(values: Tensor, valid: Tensor | None) -> int:
    """How many rollouts the batch holds (padding not counted)."""
    return values.numel() if not is_ragged(valid) else int(valid.sum())


def group_spread(values: Tensor, valid: Tensor | None) -> Tensor:
    """max - min of each group over its valid rollouts, [B]."""
    if not is_ragged(valid):
        return values.amax(dim=1) - values.amin(dim=1)
    high = values.masked_fill(~valid, float("-inf")).amax(dim=1)
    low = values.masked_fill(~valid, float("inf")).amin(dim=1)
    return high - low


def signal_share(rewards: Tensor, valid: Tensor | None) -> float:
    """Share of groups whose valid rewards are not all equal (the step's `groups_with_signal`)."""
    if not is_ragged(valid):
        return float((rewards.max(1).values > rewards.min(1).values).float().mean())
    return float((group_spread(rewards, valid) > 0).float().mean())


def cat_groups(tensors: Sequence[Tensor], valids: Sequence[Tensor | None]) -> tuple[Tensor, Tensor | None]:
    """Groups of several batches as one [sum B, max G], padded with 0, and their `valid` (None when
    every group is full: then exactly `torch.cat`)."""
    width = max(tensor.shape[1] for tensor in tensors)
    if all(tensor.shape[1] == width and not is_ragged(v) for tensor, v in zip(tensors, valids, strict=True)):
        return torch.cat(list(tensors)), None
    padded, masks = [], []
    for tensor, valid in zip(tensors, valids, strict=True):
        mask = torch.ones(tensor.shape, dtype=torch.bool) if valid is None else valid.to(torch.bool).cpu()
        extra = width - tensor.shape[1]
        padded.append(torch.nn.functional.pad(tensor, (0, extra)))
        masks.append(torch.nn.functional.pad(mask, (0, extra), value=False))
    return torch.cat(padded), torch.cat(masks)
