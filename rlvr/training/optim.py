"""The optimizer both training phases use: AdamW, fused where torch has a fused kernel for it.

The fused kernel updates every parameter in one pass instead of a handful of small ops per tensor;
on the tiny model it cut clip + step from ~8 ms to ~3 ms a step on CPU. It computes the same
update up to floating-point rounding.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


def adamw(parameters: Iterable[torch.nn.Parameter], lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW over `parameters`, fused when this torch build and device support it."""
    parameters = [p for p in parameters if p.requires_grad]
    try:
        return torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):  # no fused kernel for this device or dtype
        return torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
