"""The policy-gradient update of one RL step, on one process or on each data-parallel rank, and the
step's metrics line.

    stats = policy_update(trainer, batch, advantages, ref)   # stats.losses, stats.norms, stats.skipped

`updates_per_batch` times: the configured loss of the batch under the current weights, backward,
clip the gradient's global norm, AdamW step. A non-finite loss or gradient skips the optimizer step
(logged), because it would poison the weights and Adam's moments.

With several ranks (`rlvr.training.distributed`) each rank holds its share of the step's groups.
Its loss is scaled by its share of what the loss's aggregation divides by (tokens for DAPO's token
mean, rows for GRPO's and Dr. GRPO's sequence means: `rlvr.training.token_aggregation.aggregation_count`, summed
over ranks), and the gradients are summed over ranks before clipping: the update is the one a single
process makes on the whole batch. A loss that is not finite on any rank skips the step on all.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from rlvr.training.ragged import signal_share, valid_count, valid_mean
from rlvr.training.token_aggregation import aggregation_count


@dataclass
class UpdateStats:
    """What the updates of one step did, for its metrics line."""

    losses: list[float] = field(default_factory=list)
    """The loss of each update (over the whole batch: summed over ranks)."""
    norms: list[float] = field(default_factory=list)
    """The gradient's global norm before clipping, per update (NaN when the loss was not finite)."""
    skipped: int = 0
    """Updates whose optimizer step was skipped (non-finite loss or gradient)."""
    fwd_bwd: float = 0.0
    """Seconds in forward and backward passes."""
    optimizer: float = 0.0
    """Seconds in gradient reduction, clipping and AdamW."""


def policy_update(trainer: Any, batch: Any, advantages: torch.Tensor, ref: Any = None,
                  probe: Any = None) -> UpdateStats:
    """`trainer.config.updates_per_batch` updates of `trainer.model` on `batch` (this rank's rows).

    `probe`: a batch of this rank's, for a rank left no rows under FSDP, which runs the passes (at
    zero weight) since every rank must join each layer's gather."""
    config, dp, model = trainer.config, trainer.dp, trainer.model
    stats = UpdateStats()
    has_rows = len(batch.problems) > 0  # a rank may keep no group of a DAPO-filtered step
    share = None
    if dp.active:  # one process: no scaling, so its numbers stay exactly what they were
        aggregation = getattr(trainer.loss_fn, "aggregation", None)
        if aggregation is None:
            raise ValueError(f"loss {config.loss!r} declares no `aggregation`: data-parallel training needs "
                             "it to normalise by the global count")
        share = dp.share(aggregation_count(batch.loss_mask, aggregation))
        if not has_rows and dp.fsdp and probe is not None:
            batch, advantages, ref, has_rows = probe, torch.zeros(probe.rewards.numel()), None, True
            # share is 0: the probe's passes add nothing
    old = None
    model.train()
    for _ in range(config.updates_per_batch):
        tick = time.perf_counter()
        trainer.optimizer.zero_grad(set_to_none=True)
        if has_rows:
            loss, old = trainer.policy_loss(batch, advantages, ref, old)
            if share is not None:
                loss = loss * share.to(loss.device)
        else:
            loss = torch.zeros(())
        finite = dp.all_true(bool(torch.isfinite(loss)))
        if finite and has_rows:
            (loss * dp.gradient_factor if dp.fsdp else loss).backward()
        tock = time.perf_counter()
        stats.fwd_bwd += tock - tick
        norm = math.nan
        if finite:
            dp.sum_gradients(model.parameters())
            limit = config.max_grad_norm if config.max_grad_norm > 0 else math.inf
            total = torch.nn.utils.clip_grad_norm_(model.parameters(), limit)
            norm = float(total.full_tensor() if hasattr(total, "full_tensor") else total)  # FSDP: a DTensor
        if finite and math.isfinite(norm):
            trainer.optimizer.step()
        else:
            stats.skipped += 1
            trainer.optimizer.zero_grad(set_to_none=True)
        stats.optimizer += time.perf_counter() - tock
        stats.losses.append(float(dp.sum(loss.detach())) if dp.active else float(loss.detach()))
        stats.norms.append(norm)
    model.eval()
    return stats


def step_record(trainer: Any, whole: dict[str, Any], rewards: torch.Tensor, raw_rewards: torch.Tensor,
                update: UpdateStats, draws: int, times: dict[str, float]) -> dict[str, Any]:
    """The metrics line of the step `trainer` just took, over the whole step (`whole`: the gathered
    per-group tensors, `rlvr.training.distributed_step.whole_batch`; `rewards` after the reward
    transforms); `times`: this rank's seconds (total, problems, sampling, scoring); sampling, scoring,
    passes and optimizer are the slowest rank's, which the step waited for."""
    slowest = trainer.dp.max([times["sampling"], times["scoring"], update.fwd_bwd, update.optimizer])
    valid = whole.get("valid")  # ragged groups: every figure over the valid rollouts only
    return {
        "step": trainer.step,
        "reward_mean": valid_mean(rewards, valid),
        **({"raw_reward_mean": valid_mean(raw_rewards, valid)} if trainer.reward_transforms else {}),
        **{key: value for transform in trainer.reward_transforms
           for key, value in transform.metrics().items()},
        "accuracy": valid_mean(whole["components"]["correct"], valid),
        "loss": update.losses[-1],
        "grad_norm": update.norms[-1],
        "skipped_updates": update.skipped,
        "groups_with_signal": signal_share(rewards, valid),
        "mean_length": valid_mean(whole["lengths"].float(), valid),
        "truncated": valid_mean((~whole["finished"]).float(), valid),
        **({"mean_turns": float(whole["turns"].float().mean())} if whole["turns"] is not None else {}),
        **({"dynamic_draws": draws, "groups": rewards.shape[0]} if trainer.config.dynamic_sampling else {}),
        **trainer.sampler.metrics(),
        "samples_per_s": valid_count(rewards, valid) / times["total"],
        "time_total": times["total"],
        "time_problems": times["problems"],
        "time_sampling": slowest[0],
        "time_scoring": slowest[1],
        "time_fwd_bwd": slowest[2],
        "time_optimizer": slowest[3],
    }
