"""The rollout view of a step's batch: rewards, lengths, group ids and the declared quantities only.

`rollout_view(batch, needs, policy)` is what the trainer calls once per step, with the `needs` of
the configured plug-in, so a quantity is computed only when a plug-in reads it:

- `mean_logprob` averages the sampler's log-probs (pi_old) over each rollout's own tokens: no pass;
- `self_certainty` runs one no-grad `Policy.score(..., need=("vocab_mean_logprob",))` pass. It runs
  before the update, while the weights still equal the sampler's, so it is pi_old's certainty;
- `correct` is the verifier's component, already in the batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from rlvr.training.advantages.base import QUANTITIES, RolloutView
from rlvr.training.advantages.ucas import self_certainty
from rlvr.training.groups import mean_token_logprob


def rollout_view(batch: Any, needs: Iterable[str], policy: Any = None) -> RolloutView:
    """The view of a `RolloutBatch` (or an `EpisodeBatch`: then with its turn rewards and token turns)
    holding the quantities in `needs`. `policy` is needed for `self_certainty` only."""
    rewards = batch.rewards.detach().float().cpu()
    shape = tuple(rewards.shape)
    quantities = {}
    for name in dict.fromkeys(needs):
        if name == "mean_logprob":
            logprobs = batch.sample.logprobs.float()
            value = mean_token_logprob(logprobs, batch.loss_mask.to(logprobs.device))
        elif name == "self_certainty":
            value = _self_certainty(batch, policy)
        elif name == "correct":
            value = batch.components["correct"]
        else:
            raise ValueError(f"unknown quantity {name!r}; expected some of {list(QUANTITIES)}")
        quantities[name] = value.detach().float().cpu().reshape(shape)
    groups = torch.arange(shape[0]).unsqueeze(1).expand(shape).contiguous()
    token_turns = getattr(batch, "token_turns", None)
    return RolloutView(rewards, batch.lengths.cpu(), groups, quantities,
                       turn_rewards=getattr(batch, "turn_rewards", None) if token_turns is not None else None,
                       token_turns=None if token_turns is None else token_turns.cpu())


def _self_certainty(batch: Any, policy: Any) -> torch.Tensor:
    if policy is None:
        raise ValueError("the self_certainty quantity scores the rollouts with the policy: pass policy=")
    sample = batch.sample
    device = getattr(policy, "device", "cpu")
    with torch.no_grad():
        scored = policy.score(sample.prompt_ids, sample.completion_ids, sample.completion_mask.to(device),
                              need=("vocab_mean_logprob",))
    vocab_mean = scored["vocab_mean_logprob"].float()
    return self_certainty(vocab_mean, batch.loss_mask.to(vocab_mean.device))
