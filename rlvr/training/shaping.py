"""Reward shaping and batch filters applied between the verifier's rewards and the advantages.

- DAPO [paper]: the soft overlong penalty and dynamic sampling (drop groups that teach nothing;
  `refill_groups` is the trainer's loop that draws more problems);
- unlikeliness reward [code]: scale correct rewards down for the likelier rollouts of a group.

Shapes follow `rlvr.training.groups`: rewards are [B, G] (B prompts, G rollouts each). The
`unlikeliness` advantage plug-in (`rlvr.training.advantages.unlikeliness`) applies the unlikeliness
reward here, then GRPO's normalisation.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rlvr.training.groups import as_groups, mean_token_logprob
from rlvr.training.ragged import group_counts, group_spread
from rlvr.training.rollout import pad_groups, select_groups

__all__ = ["dynamic_sampling_mask", "mean_token_logprob", "overlong_penalty", "refill_groups",
           "unlikeliness_rewards"]


def overlong_penalty(lengths: Tensor, max_len: int, cache_len: int) -> Tensor:
    """DAPO soft overlong punishment [paper], added to the reward of each response.

    penalty(|y|) = 0                                  if |y| <= L_max - L_cache
                 = ((L_max - L_cache) - |y|) / L_cache if L_max - L_cache < |y| <= L_max
                 = -1                                 if |y| > L_max
    The ramp tells the policy a response is running long before the hard cut at L_max, rather
    than giving a truncated but otherwise sound response the same zero as a wrong one.

    >>> overlong_penalty(torch.tensor([10, 16, 18, 20, 25]), max_len=20, cache_len=4)
    tensor([ 0.0000,  0.0000, -0.5000, -1.0000, -1.0000])
    """
    if not 0 < cache_len <= max_len:
        raise ValueError(f"expected 0 < cache_len <= max_len, got cache_len={cache_len}, max_len={max_len}")
    lengths = torch.as_tensor(lengths).to(torch.float32)
    soft_start = max_len - cache_len
    return ((soft_start - lengths) / cache_len).clamp(min=-1.0, max=0.0)


def dynamic_sampling_mask(rewards: Tensor, tol: float = 0.0, valid: Tensor | None = None) -> Tensor:
    """DAPO dynamic sampling [paper]: True for the groups to keep, [B] bool.

    A group whose rewards are all equal (all right or all wrong) has zero advantage under every
    mean-centred estimator, so it adds no gradient and only dilutes the batch; DAPO drops it and
    samples more prompts until the batch is full (that loop is the trainer's). With `valid` (ragged
    groups) the spread is over each group's valid rollouts.

    >>> dynamic_sampling_mask(torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]))
    tensor([ True, False, False])
    """
    return group_spread(as_groups(rewards), valid) > tol


def unlikeliness_rewards(rewards: Tensor, mean_logprobs: Tensor, beta_rank: float = 0.25) -> Tensor:
    """Unlikeliness reward [code]: r~_i = r_i * (1 - beta_rank * rank_i / G).

    rank_i orders the group by ascending mean token log-prob under pi_old: the least likely
    rollout has rank 0 and keeps its full reward, the likeliest correct ones get less. This pushes
    probability towards correct answers the policy would rarely sample, which is what raises
    pass@k for large k. Ties keep the rollouts' order (stable sort). Wrong answers (r = 0) stay 0.

    >>> unlikeliness_rewards(torch.tensor([[1.0, 1, 0, 0]]), torch.tensor([[-0.1, -0.5, -0.3, -0.9]]))
    tensor([[0.8125, 0.9375, 0.0000, 0.0000]])
    """
    rewards = as_groups(rewards)
    mean_logprobs = torch.as_tensor(mean_logprobs, dtype=rewards.dtype)
    if mean_logprobs.shape != rewards.shape:
        raise ValueError(
            f"expected mean_logprobs shaped like rewards {tuple(rewards.shape)}, got {tuple(mean_logprobs.shape)}"
        )
    group_size = rewards.shape[1]
    order = torch.sort(mean_logprobs, dim=1, stable=True).indices
    # Invert the permutation: rank[b, order[b, k]] = k.
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(group_size).expand_as(order).contiguous())
    return rewards * (1.0 - beta_rank * ranks.to(rewards.dtype) / group_size)


def refill_groups(trainer: Any, batch: Any, scored: list) -> tuple[Any, int, float, float]:
    """DAPO dynamic sampling in `trainer`'s step: keep the groups with signal (not all right, not all
    wrong) and draw more problems until `prompts_per_step` are kept or the draws run out. The kept
    groups train; with none kept the first batch stays (its advantages are all zero). Every batch
    drawn is appended to `scored` with its problems (the sampler observes them all). With several
    ranks the choice is made on the gathered groups (their `valid` too: ragged groups): the same on
    every rank, each keeping its own (the shares may then be uneven; the loss normalises by global
    counts), padded to the kept groups' largest n so that every rank's G is one process's."""
    from rlvr.training.distributed import gather_valid

    config, dp = trainer.config, trainer.dp
    wanted, parts, kept, draws, sampling, scoring = config.prompts_per_step, [], 0, 1, 0.0, 0.0
    current, width = batch, 0
    while True:
        correct = dp.gather_rows(current.components["correct"])
        valid = gather_valid(dp, current.valid, current.rewards.shape)
        signal = dynamic_sampling_mask(correct, valid=valid).tolist()
        groups = [g for g, keep in enumerate(signal) if keep][: wanted - kept]
        if groups:
            counts = group_counts(valid, correct.shape)
            width = max(width, *(counts[g] for g in groups))
            # this rank's rows of the gathered groups (a generator may split by rollouts, not by count)
            start = sum(dp.gather_json(len(current.problems))[: dp.rank]) if dp.active else 0
            stop = start + len(current.problems)
            parts.append((current, [g - start for g in groups if start <= g < stop]))
            kept += len(groups)
        if kept >= wanted or draws >= config.dynamic_sampling_max_draws:
            break
        problems = trainer.sampler.select(trainer.step)
        with dp.gathered():
            current, more_sampling, more_scoring = trainer.collect(trainer.generator.shard(problems, dp),
                                                                   trainer._sample_seed(draws))
        scored.append((problems, current))
        draws, sampling, scoring = draws + 1, sampling + more_sampling, scoring + more_scoring
    if not parts:
        return batch, draws, sampling, scoring
    pad_id = trainer.policy.pad_token_id
    # one process: select_groups' own width already; several: a rank's kept groups may all be narrower
    # than another's, or none (no row to take a width from)
    return pad_groups(select_groups(parts, pad_id), width, pad_id), draws, sampling, scoring
