"""The update of an RL step under an objective plug-in: what `rlvr.training.update.policy_update` is
for the policy-gradient loss.

    stats, numbers = objective_update(trainer, batch)   # stats.losses, .norms, .skipped; numbers for the line

Once per step the objective prepares what its updates share (`prepare`, with the trainer's frozen
reference when it asks for one); then `updates_per_batch` times: the objective's loss, backward,
clip the policy's gradient norm, AdamW step (the objective's own values, a learned log Z, are in
the same optimizer). A non-finite loss or gradient skips the step, as for the policy loss; a step
with nothing to train on (no preference pair) takes no optimizer step and logs loss 0. Afterwards
the objective observes the batch (its replay buffer). One process only: a data-parallel run is
refused when the trainer is built.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from rlvr.training.update import UpdateStats


def trainer_objective(trainer: Any) -> Any:
    """The configured objective bound to the trainer's seed and device (None: the policy-gradient
    step), refused for a data-parallel run (its updates run on one process)."""
    from rlvr.training.builders import build_objective

    objective = build_objective(trainer.config)
    if objective is None:
        return None
    if getattr(getattr(trainer, "dp", None), "active", False):
        raise ValueError(f"config objective {objective.name!r} trains on one process: run it without a launcher")
    objective.bind(trainer.config.seed, trainer.policy.device)
    return objective


def add_objective_parameters(optimizer: torch.optim.Optimizer, objective: Any, lr: float) -> torch.optim.Optimizer:
    """`optimizer` with the objective's own trainable values (a learned log Z) as extra groups."""
    if objective is not None:
        for group in objective.parameter_groups(lr):
            optimizer.add_param_group(group)
    return optimizer


def objective_update(trainer: Any, batch: Any) -> tuple[UpdateStats, dict[str, float]]:
    """`trainer.config.updates_per_batch` updates of `trainer.model` (and the objective's values) on
    `batch`; the objective's numbers for the step's line, named `<objective>_<number>`."""
    config, model, objective = trainer.config, trainer.model, trainer.objective
    stats = UpdateStats()
    reference = trainer.reference if objective.needs_reference else None
    trained = [p for group in trainer.optimizer.param_groups for p in group["params"]]
    model.train()
    numbers = {f"{objective.name}_{key}": value
               for key, value in objective.prepare(batch, trainer.policy, reference, trainer.step).items()}
    for _ in range(config.updates_per_batch):
        tick = time.perf_counter()
        trainer.optimizer.zero_grad(set_to_none=True)
        loss = objective.loss(trainer.policy)
        if loss is None:  # nothing to train on this step
            stats.losses.append(0.0)
            stats.norms.append(0.0)
            stats.fwd_bwd += time.perf_counter() - tick
            continue
        finite = bool(torch.isfinite(loss))
        if finite:
            loss.backward()
        tock = time.perf_counter()
        stats.fwd_bwd += tock - tick
        norm = math.nan
        if finite:
            limit = config.max_grad_norm if config.max_grad_norm > 0 else math.inf
            norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), limit))
            finite = math.isfinite(norm) and all(p.grad is None or bool(torch.isfinite(p.grad).all()) for p in trained)
        if finite:
            trainer.optimizer.step()
        else:
            stats.skipped += 1
            trainer.optimizer.zero_grad(set_to_none=True)
        stats.optimizer += time.perf_counter() - tock
        stats.losses.append(float(loss.detach()))
        stats.norms.append(norm)
    model.eval()
    objective.observe(batch)
    return stats, numbers
