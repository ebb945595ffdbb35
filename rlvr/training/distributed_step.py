"""What a data-parallel step computes over every rank: the refusals before any work, the step's
per-group tensors gathered from the ranks, the advantage plug-in run on the whole step.

Each rank holds whole groups of the step (`rlvr.training.distributed.DataParallel.shard`); what must
see every group (reward transforms, DGPO's weights over the batch, DAPO's filter, the sampler's
memory, the metrics) reads the gathered tensors, so every rank computes the same numbers, and each
keeps its own rows for the update. With one rank every function here hands its input back.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from rlvr.training.distributed import DataParallel


def check_config(config: Any, dp: DataParallel) -> None:
    """Refuse, before any work, what a data-parallel run cannot do."""
    if config.prompts_per_step < dp.world:
        raise ValueError(f"config prompts_per_step ({config.prompts_per_step}) must be at least the number "
                         f"of ranks ({dp.world}): each rank plays a share of the step's problems")
    if config.sft_baseline:
        raise ValueError("config sft_baseline trains a single-process comparison: run it without a launcher")
    if config.rollout_engine != "transformers":
        raise ValueError(f"config rollout_engine {config.rollout_engine!r} runs one engine per run: "
                         "data-parallel training samples with 'transformers' on each rank")
    # plug-ins that train or group outside the step this module splits would let the ranks drift apart
    objective = getattr(config, "objective", None)
    if objective is not None:
        raise ValueError(f"config objective {objective!r} updates the model outside the data-parallel step "
                         "(its gradients would not be summed over the ranks): run it in one process")
    generator = getattr(config, "generator", None)
    if generator not in (None, "plain", "episodes"):
        raise ValueError(f"config generator {generator!r} builds groups the data-parallel step does not "
                         "split yet: run it in one process, or leave generator unset")
    if config.parallel == "fsdp" and config.kl_beta:
        raise ValueError("config kl_beta > 0 needs a frozen reference model, which parallel 'fsdp' does not "
                         "shard yet: use parallel 'ddp' or kl_beta 0")


def whole_batch(dp: DataParallel, batch: Any) -> dict[str, Any]:
    """The step's per-group tensors [B, G] over every rank (this rank's own on one rank): rewards,
    the verifier's components (the names every rank has), lengths, finished flags, episode turns."""
    turns = getattr(batch, "turns", None)
    if not dp.active:
        return {"rewards": batch.rewards, "components": batch.components, "lengths": batch.lengths,
                "finished": batch.finished, "turns": turns, "valid": batch.valid}  # valid: ragged groups
    names = sorted(set.intersection(*(set(n) for n in dp.gather_json(sorted(batch.components)))))
    whole = {"rewards": dp.gather_rows(batch.rewards), "lengths": dp.gather_rows(batch.lengths),
             "components": {name: dp.gather_rows(batch.components[name]) for name in names},
             "finished": dp.gather_rows(batch.finished), "turns": None, "valid": None}  # ragged: one process
    if dp.all_true(turns is not None):
        whole["turns"] = dp.gather_rows(turns)
    return whole


def gathered_advantages(dp: DataParallel, plugin: Any, view: Any, rows: int, width: int) -> torch.Tensor:
    """The advantage plug-in run on every rank's view at once (DGPO weighs questions across the batch;
    a stateful plug-in sees the same data on every rank), then this rank's `rows` groups' share.

    `view`: this rank's `RolloutView` (of `rows` groups; with `rows` 0, of any one group, so its
    quantities have their shapes); `width`: this rank's token positions. Multi-turn views (per-turn
    rewards) stay on their rank: the turn-level plug-ins work within each group."""
    from rlvr.training.advantages import compute_advantages

    if view.token_turns is not None:
        return compute_advantages(plugin, view)
    take = (lambda t: t[:rows]) if rows else (lambda t: t[:0])
    local_rollouts = rows * view.rewards.shape[1]
    # per-rollout quantities have a row per group, per-token ones a row per rollout
    quantities = {name: dp.gather_rows(take(value) if value.shape[0] == view.rewards.shape[0] else
                                       value[:local_rollouts]) for name, value in view.quantities.items()}
    rewards = dp.gather_rows(take(view.rewards))
    changes = {"rewards": rewards, "lengths": dp.gather_rows(take(view.lengths)), "quantities": quantities,
               "group_ids": torch.arange(rewards.shape[0]).unsqueeze(1).expand(rewards.shape).contiguous()}
    fields = {f.name for f in dataclasses.fields(view)}
    local_mask = getattr(view, "mask", None)
    if "mask" in fields and local_mask is not None:
        changes["mask"] = dp.gather_rows(local_mask[:local_rollouts])
    if "drop" in fields and view.drop is not None:
        def drop(keep: torch.Tensor) -> None:  # the global keep mask, back to this rank's rows
            if rows:
                view.drop(dp.local_rows(keep, local_rollouts)[:, :width])
            else:
                dp.local_rows(keep, 0)
        changes["drop"] = drop
    result = compute_advantages(plugin, dataclasses.replace(view, **changes))
    mine = dp.local_rows(result, local_rollouts)
    return mine if mine.dim() == 1 else mine[:, :width]
