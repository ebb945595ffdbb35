"""The policy's mean token entropy during RL, estimated from the sampler's own log-probs.

`sampled_entropy_sums(batch)` gives (sum of -log p, count) over the policy's sampled tokens of a
rollout batch; `step_entropy(batches)` their ratio over a step's batches, which every RL step line
carries as `entropy` (the trainer logs it; the run report and compare scenarios plot it);
`entropy_curve` reads it back. The estimate costs no forward pass: the log-probs are the ones the
sampler returned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ENTROPY_KEY = "entropy"
"""The RL step lines' estimate of the policy's mean token entropy (nats), see `sampled_entropy_sums`."""


def sampled_entropy_sums(batch: Any) -> tuple[float, int]:
    """(sum of -log p, count) over the policy's sampled tokens in a rollout batch.

    Their ratio estimates the policy's mean token entropy along its own samples (Monte Carlo: the
    expectation of -log p(token) under p is the entropy at that prefix), from the sampler's
    log-probs, so it costs no forward pass. The log-probs are the policy's at temperature 1,
    whatever the sampling temperature, so at temperature 1 the estimate is unbiased; at other
    temperatures it is a cross-entropy. Env tokens of multi-turn episodes are not counted.
    """
    mask = batch.loss_mask
    logprobs = batch.sample.logprobs.to(mask.device)
    return float(-(logprobs * mask).sum()), int(mask.sum())


def entropy_curve(metrics_path: Path) -> list[tuple[int, float]]:
    """(step, entropy) of every RL step line that logged it."""
    from rlvr.training.tracking import read_metrics

    steps, _ = read_metrics(metrics_path)
    return [(int(s["step"]), float(s[ENTROPY_KEY])) for s in steps if isinstance(s.get(ENTROPY_KEY), (int, float))]


def step_entropy(batches: list, reduce: Any = float) -> dict[str, float]:
    """`{ENTROPY_KEY: estimate}` over every rollout batch a step sampled (none: {}), for a step line.
    `reduce` turns this process's sum into the run's (a data-parallel learner sums over ranks)."""
    sums = [sampled_entropy_sums(batch) for batch in batches]
    total = reduce(sum(total for total, _ in sums))
    count = reduce(sum(count for _, count in sums))
    return {ENTROPY_KEY: total / count} if count else {}
