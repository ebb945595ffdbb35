"""What a data-parallel step computes over every rank: the refusals before any work, the step's
per-group tensors gathered from the ranks, the advantage plug-in run on the whole step.

Each rank holds whole groups of the step (`rlvr.training.distributed.DataParallel.shard`, or a
generator's own split: `balanced_bounds`); what must see every group (reward transforms, DGPO's
weights over the batch, DAPO's filter, the sampler's memory, the metrics) reads the gathered
tensors, so every rank computes the same numbers, and each keeps its own rows for the update. With
one rank every function here hands its input back.

Ragged groups (`rlvr.training.ragged`, the `rollout_gdro` generator) gather like dense ones: every
rank pads its groups to the step's largest n, so each rank's [rows, G] has the one G, and `valid`
is gathered beside them (`gather_valid`: a rank whose groups are all full sends all true).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import torch

from rlvr.training.distributed import DataParallel, gather_valid


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
    if generator not in (None, "plain", "episodes", "rollout_gdro"):
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
             "finished": dp.gather_rows(batch.finished), "turns": None,
             "valid": gather_valid(dp, batch.valid, batch.rewards.shape)}
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
    # a rank without rows sends no column either: the step's G is then the other ranks' (a probe from
    # another draw may be wider than the kept groups, ragged ones padded to their own largest n)
    take = (lambda t: t[:rows]) if rows else (lambda t: t[:0, :0] if t.dim() > 1 else t[:0])
    local_rollouts = rows * view.rewards.shape[1]
    # per-rollout quantities have a row per group, per-token ones a row per rollout
    quantities = {name: dp.gather_rows(take(value) if value.shape[0] == view.rewards.shape[0] else
                                       value[:local_rollouts]) for name, value in view.quantities.items()}
    rewards = dp.gather_rows(take(view.rewards))
    changes = {"rewards": rewards, "lengths": dp.gather_rows(take(view.lengths)), "quantities": quantities,
               "group_ids": torch.arange(rewards.shape[0]).unsqueeze(1).expand(rewards.shape).contiguous()}
    fields = {f.name for f in dataclasses.fields(view)}
    if "valid" in fields:  # ragged groups: each rank's padded to the step's largest n, so one G throughout
        local_valid = None if view.valid is None else take(view.valid)
        changes["valid"] = gather_valid(dp, local_valid, take(view.rewards).shape)
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


def gathered_groups(dp: DataParallel, scored: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The verifier's rewards and `correct` [B, G] of every batch a step drew (`scored`: (problems,
    this rank's batch) pairs, DAPO's refills included) over every rank, in draw order, and their
    `valid` (None when every group is full): what the sampler observes."""
    from rlvr.training.ragged import cat_groups

    valids = [gather_valid(dp, part.valid, part.rewards.shape) for _, part in scored]
    rewards, valid = cat_groups([dp.gather_rows(part.rewards) for _, part in scored], valids)
    correct = cat_groups([dp.gather_rows(part.components["correct"]) for _, part in scored], valids)[0]
    return rewards, correct, valid


def balanced_bounds(sizes: Sequence[int], world: int) -> list[tuple[int, int]]:
    """[start, stop) of each of `world` contiguous shares of items weighing `sizes` (a group's
    rollouts): the heaviest share as light as a contiguous split allows, every share holding at least
    one item while there are enough; earlier shares take what fits first. In rank order the shares
    cover the items.

    >>> balanced_bounds([10, 2, 2, 2, 6, 10], 2)  # 16 + 16 rollouts; split by count: 14 + 18
    [(0, 4), (4, 6)]
    """
    if world < 1 or any(int(size) != size or size < 0 for size in sizes):
        raise ValueError(f"expected world >= 1 and whole sizes >= 0, got world {world} and sizes "
                         f"{list(sizes)}")
    count = len(sizes)
    low, high = max(sizes, default=0), sum(sizes)
    while low < high:  # the least capacity that `world` greedy shares reach the end with
        middle = (low + high) // 2
        shares, load = 1, 0
        for size in sizes:
            shares, load = (shares + 1, size) if load + size > middle else (shares, load + size)
        low, high = (low, middle) if shares <= world else (middle + 1, high)
    bounds, start = [], 0
    for rank in range(world):
        later = world - rank - 1  # ranks still to come, each owed an item while items last
        stop, load = start, 0
        while stop < count - later and (stop == start or load + sizes[stop] <= low):
            load, stop = load + sizes[stop], stop + 1
        stop = count if rank == world - 1 else stop
        bounds.append((start, stop))
        start = stop
    return bounds
