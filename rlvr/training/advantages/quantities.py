"""The rollout view of a step's batch: rewards, lengths, group ids, the loss mask and the declared
quantities only.

`rollout_view(batch, needs, policy)` is what the trainer calls once per step, with the `needs` of
the configured plug-in, so a quantity is computed only when a plug-in reads it:

- from what the batch holds, no pass: `mean_logprob`, `low_token_logprob` and `token_logprob` (the
  sampler's log-probs, pi_old), `correct` (the verifier's component), `answer_class` (each answer
  re-read with the task's verifier and put in its `canonical_answer` form: verifier-equivalent
  answers share a class; the task is called again only for plug-ins that ask);
- from one no-grad `Policy.score` pass over the rollouts, shared by all that need it:
  `self_certainty` (`vocab_mean_logprob`), `chosen_logit`, `token_entropy` (`entropy`),
  `hidden_mean` and `hidden_state` (`hidden_state`, the last layer's). It runs before the update,
  while the weights still equal the sampler's, so these are pi_old's;
- from one no-grad pass over the distinct prompts: `prompt_logprob` (each prompt scored as the
  continuation of its first token).

The view's `drop` removes tokens from the step's loss mask (D3S's left-out rollouts): it sets the
batch's `action_mask`, which only the loss reads (attention keeps the completion mask).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from typing import Any

import torch

from rlvr.training.advantages.base import QUANTITIES, TOKEN_QUANTITIES, VECTOR_QUANTITIES, RolloutView
from rlvr.training.advantages.ucas import self_certainty
from rlvr.training.groups import mean_token_logprob

_SCORED = {"self_certainty": "vocab_mean_logprob", "chosen_logit": "chosen_logit", "token_entropy": "entropy",
           "hidden_mean": "hidden_state", "hidden_state": "hidden_state"}
"""Quantity -> the `Policy.score` quantity it is computed from."""
LOW_TOKEN_FRACTION = 0.2
"""Share of a rollout's tokens, the least likely ones, that `low_token_logprob` averages."""


def rollout_view(batch: Any, needs: Iterable[str], policy: Any = None) -> RolloutView:
    """The view of a `RolloutBatch` (or an `EpisodeBatch`: then with its turn rewards and token turns)
    holding the quantities in `needs`. `policy` is needed for the quantities that score."""
    rewards = batch.rewards.detach().float().cpu()
    shape = tuple(rewards.shape)
    needs = list(dict.fromkeys(needs))
    valid = getattr(batch, "valid", None)
    mask = batch.loss_mask.cpu()
    scored = _score(batch, policy, {_SCORED[name] for name in needs if name in _SCORED})
    quantities = {}
    for name in needs:
        if name == "mean_logprob":
            logprobs = batch.sample.logprobs.float()
            value = mean_token_logprob(logprobs, batch.loss_mask.to(logprobs.device))
        elif name == "low_token_logprob":
            value = low_token_logprob(batch.sample.logprobs.float().cpu(), mask)
        elif name == "token_logprob":
            value = batch.sample.logprobs.float().cpu() * mask
        elif name == "correct":
            value = batch.components["correct"]
        elif name == "answer_class":
            value = answer_classes(batch)
        elif name == "prompt_logprob":
            value = _prompt_logprob(batch, policy)
        elif name == "self_certainty":
            value = self_certainty(scored["vocab_mean_logprob"], mask)
        elif name in ("chosen_logit", "token_entropy", "hidden_state"):
            value = scored[_SCORED[name]]
        elif name == "hidden_mean":
            weights = mask.to(torch.float32).unsqueeze(-1)
            value = (scored["hidden_state"] * weights).sum(1) / weights.sum(1).clamp_min(1.0)
        else:
            raise ValueError(f"unknown quantity {name!r}; expected some of {list(QUANTITIES)}")
        value = value.detach().float().cpu()
        if name not in TOKEN_QUANTITIES:  # per rollout: [B, G], hidden means [B, G, H]
            value = value.reshape(*shape, value.shape[-1]) if name in VECTOR_QUANTITIES else value.reshape(shape)
            if valid is not None:  # ragged groups: padding holds 0 here too (the prompt's log-prob would not)
                value = value * valid.reshape(*shape, *([1] * (value.dim() - 2))).to(value.dtype)
        quantities[name] = value
    groups = torch.arange(shape[0]).unsqueeze(1).expand(shape).contiguous()
    token_turns = getattr(batch, "token_turns", None)

    def drop(keep: torch.Tensor) -> None:
        batch.action_mask = batch.loss_mask & keep.to(batch.loss_mask.device)

    return RolloutView(rewards, batch.lengths.cpu(), groups, quantities,
                       turn_rewards=getattr(batch, "turn_rewards", None) if token_turns is not None else None,
                       token_turns=None if token_turns is None else token_turns.cpu(), mask=mask, drop=drop,
                       valid=valid)


def low_token_logprob(logprobs: torch.Tensor, mask: torch.Tensor, fraction: float = LOW_TOKEN_FRACTION) -> torch.Tensor:
    """Mean log-prob of each row's ceil(fraction * n) least likely tokens (at least one), [N]; 0 for
    an empty row.

    >>> low_token_logprob(torch.tensor([[-0.1, -3.0, -0.2, -0.3, -1.0, 0.0]]),
    ...                   torch.tensor([[True, True, True, True, True, False]]), 0.4)
    tensor([-2.])
    """
    mask = mask.to(torch.bool)
    counts = mask.sum(dim=1)
    ordered = torch.where(mask, logprobs, torch.full_like(logprobs, math.inf)).sort(dim=1).values
    keep = torch.ceil(counts.to(torch.float32) * fraction).clamp_min(1).to(torch.long)
    positions = torch.arange(logprobs.shape[1]).unsqueeze(0)
    lowest = (positions < keep.unsqueeze(1)) & (positions < counts.unsqueeze(1))
    total = torch.where(lowest, ordered, torch.zeros_like(ordered)).sum(dim=1)
    return torch.where(counts > 0, total / keep.to(total.dtype), torch.zeros_like(total))


def answer_classes(batch: Any) -> torch.Tensor:
    """Each rollout's answer class within its group, [B, G]: 0, 1, ... in order of first appearance;
    answers equal in the task's canonical form share one, and so do all unreadable answers. The
    answers are re-read with the task's verifier (`batch.task.score`)."""
    task = getattr(batch, "task", None)
    if task is None:
        raise ValueError("the answer_class quantity re-reads answers with the task's verifier, but the batch "
                         "holds no task (build it with `score_rollouts`)")
    group_size = batch.group_size
    valid = getattr(batch, "valid", None)
    exists = [True] * len(batch.sample.texts) if valid is None else valid.reshape(-1).tolist()
    keys = []
    for row, text in enumerate(batch.sample.texts):
        if not exists[row]:  # padding of ragged groups, after the group's rollouts: never scored
            keys.append(None)
            continue
        parsed = task.score(batch.problems[row // group_size], text).parsed_answer
        keys.append(None if parsed is None else _class_key(task, parsed))
    classes = []
    for start in range(0, len(keys), group_size):
        seen: dict[Hashable, int] = {}
        classes.append([seen.setdefault(key, len(seen)) for key in keys[start : start + group_size]])
    return torch.tensor(classes, dtype=torch.float32)


def _class_key(task: Any, parsed: str) -> Hashable:
    """The canonical form as a key; an answer whose canonical form cannot be built is its own text
    (a class of its own unless spelled identically), so one odd answer never stops a step."""
    from rlvr.training.metrics import class_key

    try:
        return ("canonical", class_key(task.canonical_answer(parsed)))
    except Exception:  # noqa: BLE001 - a task's canonical form of hostile text must not end training
        return ("text", parsed)


def _score(batch: Any, policy: Any, need: set[str]) -> dict[str, torch.Tensor]:
    """One no-grad scoring pass of the rollouts for every quantity that needs one (none: no pass)."""
    if not need:
        return {}
    if policy is None:
        raise ValueError(f"the quantities from {sorted(need)} score the rollouts with the policy: pass policy=")
    sample = batch.sample
    device = getattr(policy, "device", "cpu")
    with torch.no_grad():
        scored = policy.score(sample.prompt_ids, sample.completion_ids, sample.completion_mask.to(device),
                              need=tuple(sorted(need)))
    return {name: value.float().cpu() for name, value in scored.items()}


def _prompt_logprob(batch: Any, policy: Any) -> torch.Tensor:
    """Mean token log-prob of each group's prompt under pi_old, [B, G] (one pass over the B prompts,
    each scored as the continuation of its first token; a one-token prompt gets 0)."""
    if policy is None:
        raise ValueError("the prompt_logprob quantity scores the prompts with the policy: pass policy=")
    group_size = batch.group_size
    prompts = [list(batch.sample.prompt_ids[row]) for row in range(0, len(batch.sample.prompt_ids), group_size)]
    tails = [prompt[1:] for prompt in prompts]
    width = max(1, max(len(tail) for tail in tails))
    pad = getattr(policy, "pad_token_id", 0) or 0
    heads = [prompt[:1] or [pad] for prompt in prompts]
    ids = torch.tensor([tail + [pad] * (width - len(tail)) for tail in tails], dtype=torch.long)
    mask = torch.tensor([[True] * len(tail) + [False] * (width - len(tail)) for tail in tails])
    device = getattr(policy, "device", "cpu")
    with torch.no_grad():
        logprobs = policy.score(heads, ids.to(device), mask.to(device), need=("logprobs",))["logprobs"]
    means = mean_token_logprob(logprobs.float().cpu(), mask)
    return means.unsqueeze(1).expand(len(prompts), group_size)
