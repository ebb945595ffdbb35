"""`prompt_gdro`: Prompt-GDRO [abs], group distributionally robust prompt sampling over online
difficulty bins. Only the abstract was available; this is our reading.

Every problem the run has scored sits in a difficulty bin by the pass@k of its latest group
(pass@k = 1 - C(G - c, k) / C(G, k) from its c correct of G; k = `k`, at most G): `bins` equal
slices of [0, 1]. Each bin b carries a loss, the failure rate 1 - accuracy of its groups in a step,
smoothed across steps by an EMA with `decay` and debiased like Adam's moments (divided by
1 - decay^t, t the bin's updates, so a bin seen once is not pulled towards 0). Multiplicative weights
over the bins then lean on the bins that fail most: log w_b <- log w_b + eta * EMA_b, normalised.

Each batch draws a share `share` from the pool of seen problems whose groups had signal, a bin by
its weight and a problem uniformly within it (weight w_b / size of b per problem, without
replacement), the rest fresh from the train stream; the pool is that of `variance` (bounded by
`pool_size`, problems kept as stream positions). State for exact resume: the pool, each bin's EMA,
update count and log-weight.

The bins' weights (`BinWeights`) are shared with the `rollout_gdro` generator, which spends rollouts
instead of draws by the same weights. With ragged groups a problem's pass@k is over its own n.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from rlvr.core.problem import Problem
from rlvr.training.ragged import group_counts, group_means
from rlvr.training.samplers.base import register, setting
from rlvr.training.samplers.variance import Variance


def pass_at_k(correct: int, samples: int, k: int) -> float:
    """Unbiased pass@k from `correct` of `samples`: 1 - C(n - c, k) / C(n, k), k capped at n.

    >>> pass_at_k(1, 4, 2), pass_at_k(0, 4, 2), pass_at_k(4, 4, 8)
    (0.5, 0.0, 1.0)
    """
    k = min(k, samples)
    if samples - correct < k:
        return 1.0
    return 1.0 - math.comb(samples - correct, k) / math.comb(samples, k)


def bin_index(value: float, bins: int) -> int:
    """The bin of a pass@k `value` among `bins` equal slices of [0, 1] (1 falls in the last).

    >>> [bin_index(v, 4) for v in (0.0, 0.25, 0.99, 1.0)]
    [0, 1, 3, 3]
    """
    return min(bins - 1, int(value * bins))


@dataclass
class BinWeights:
    """Multiplicative weights over difficulty bins: each bin's loss (failure rate) is an EMA with
    `decay`, debiased like Adam's moments; log w_b <- log w_b + eta * EMA_b, normalised.

    >>> weights = BinWeights(2, eta=1.0, decay=0.5)
    >>> weights.update({0: [1.0], 1: [0.0]})
    >>> [round(w, 4) for w in weights.weights()]
    [0.7311, 0.2689]
    """

    bins: int
    eta: float
    decay: float

    def __post_init__(self) -> None:
        self.ema = [0.0] * self.bins
        self.updates = [0] * self.bins
        self.log_weights = [-math.log(self.bins)] * self.bins

    def weights(self) -> list[float]:
        """The bins' current weights (they sum to 1)."""
        return [math.exp(value) for value in self.log_weights]

    def update(self, failures: Mapping[int, Sequence[float]]) -> None:
        """One step: each bin seen gets the mean of its groups' failure rates into its EMA; then every
        bin's weight moves by its debiased EMA."""
        for b, values in failures.items():
            self.ema[b] = self.decay * self.ema[b] + (1.0 - self.decay) * sum(values) / len(values)
            self.updates[b] += 1
        debiased = [self.ema[b] / (1.0 - self.decay ** self.updates[b]) if self.updates[b] and self.decay < 1 else
                    self.ema[b] for b in range(self.bins)]
        raised = [value + self.eta * loss for value, loss in zip(self.log_weights, debiased, strict=True)]
        top = max(raised)
        norm = top + math.log(sum(math.exp(value - top) for value in raised))
        self.log_weights = [value - norm for value in raised]

    def state_dict(self) -> dict[str, list]:
        return {"ema": list(self.ema), "updates": list(self.updates), "log_weights": list(self.log_weights)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.ema = [float(value) for value in state["ema"]]
        self.updates = [int(value) for value in state["updates"]]
        self.log_weights = [float(value) for value in state["log_weights"]]


@register
@dataclass
class PromptGDRO(Variance):
    """Seen problems re-drawn by multiplicative weights over pass@k difficulty bins (EMA-debiased)."""

    name: ClassVar[str] = "prompt_gdro"
    source: ClassVar[str] = "Prompt-GDRO [abs]; bins, losses and weights are our reading"
    summary: ClassVar[str] = ("a share of each batch re-drawn from seen problems, by multiplicative weights over "
                              "pass@k bins that lean on the bins failing most")
    share: float = setting(0.5, "fraction of each batch drawn from the pool by the bins' weights", low=0.0, high=1.0)
    k: int = setting(4, "the k of the pass@k that bins a problem (at most G is used)", low=1)
    bins: int = setting(4, "number of equal pass@k bins over [0, 1]", low=1)
    eta: float = setting(1.0, "multiplicative-weights step size", low=0.0)
    decay: float = setting(0.9, "EMA decay of each bin's failure rate", low=0.0, high=1.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.mw = BinWeights(self.bins, self.eta, self.decay)
        self._group_size = 0

    @property
    def ema(self) -> list[float]:
        """Each bin's failure-rate EMA (not debiased)."""
        return self.mw.ema

    def bin_of(self, accuracy: float, size: int | None = None) -> int:
        """The bin of a problem whose latest group (of `size`, default the step's G) had this accuracy."""
        size = max(1, self._group_size if size is None else size)
        return bin_index(pass_at_k(round(accuracy * size), size, self.k), self.bins)

    def weights(self) -> list[float]:
        """The bins' current weights (they sum to 1)."""
        return self.mw.weights()

    def _weights(self, candidates: list[str]) -> np.ndarray:
        bins = [self.bin_of(self.pool[key].accuracy) for key in candidates]
        sizes = np.bincount(bins, minlength=self.bins)
        weights = self.weights()
        return np.array([weights[b] / sizes[b] for b in bins])

    def observe(self, problems: Sequence[Problem], rewards: torch.Tensor, correct: torch.Tensor,
                valid: torch.Tensor | None = None) -> None:
        correct = torch.as_tensor(correct, dtype=torch.float32)
        super().observe(problems, rewards, correct, valid)
        self._group_size = int(correct.shape[1])
        failures: dict[int, list[float]] = {}
        sizes = group_counts(valid, correct.shape)
        for accuracy, size in zip(group_means(correct, valid).tolist(), sizes, strict=True):
            failures.setdefault(self.bin_of(accuracy, size), []).append(1.0 - accuracy)
        self.mw.update(failures)

    def metrics(self) -> dict[str, float]:
        record = super().metrics()
        record.update({f"gdro_weight_{b}": weight for b, weight in enumerate(self.weights())})
        return record

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), **self.mw.state_dict(), "group_size": self._group_size}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if not state:
            return
        own = ("ema", "updates", "log_weights", "group_size")
        if any(name not in state for name in own) or any(len(state[name]) != self.bins for name in own[:3]):
            raise ValueError(f"sampler 'prompt_gdro' state needs {list(own)} with {self.bins} bins each, got "
                             f"keys {sorted(state)}")
        super().load_state_dict({key: value for key, value in state.items() if key not in own})
        self.mw.load_state_dict(state)
        self._group_size = int(state["group_size"])
