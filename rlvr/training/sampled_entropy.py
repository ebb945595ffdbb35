"""The policy's mean token entropy during RL, estimated from the sampler's own log-probs.

`sampled_entropy_sums(batch)` gives (sum of -log p, count) over the policy's sampled tokens of a
rollout batch; `entropy_logging(Trainer)` is a Trainer whose RL step lines carry their ratio as
`entropy` (what `rlvr run` compare scenarios train with); `step_entropy(batches)` is the same
figure as a step line's entry, for a trainer that logs it itself; `entropy_curve` reads it back. The
estimate costs no forward pass: the log-probs are the ones the sampler returned.
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


def entropy_logging(trainer: type) -> type:
    """`trainer` whose RL step lines carry `ENTROPY_KEY`, over every rollout sampled in the step
    (refills of dynamic sampling included)."""

    class EntropyLogging(trainer):
        _entropy = (0.0, 0)

        def collect(self, problems: list, seed: int) -> Any:
            collected = super().collect(problems, seed)
            total, count = sampled_entropy_sums(collected[0])
            self._entropy = (self._entropy[0] + total, self._entropy[1] + count)
            return collected

        def log(self, record: dict[str, Any]) -> None:
            total, count = self._entropy
            if count and "eval" not in record:  # only RL steps sample through collect()
                record = {**record, ENTROPY_KEY: total / count}
                self._entropy = (0.0, 0)
            super().log(record)

    return EntropyLogging


def entropy_curve(metrics_path: Path) -> list[tuple[int, float]]:
    """(step, entropy) of every RL step line that logged it."""
    from rlvr.training.tracking import read_metrics

    steps, _ = read_metrics(metrics_path)
    return [(int(s["step"]), float(s[ENTROPY_KEY])) for s in steps if isinstance(s.get(ENTROPY_KEY), (int, float))]


def step_entropy(batches: list) -> dict[str, float]:
    """`{ENTROPY_KEY: estimate}` over every rollout batch a step sampled (none: {}), for a step line:
    `record = {..., **step_entropy(scored)}`."""
    sums = [sampled_entropy_sums(batch) for batch in batches]
    count = sum(count for _, count in sums)
    return {ENTROPY_KEY: sum(total for total, _ in sums) / count} if count else {}
