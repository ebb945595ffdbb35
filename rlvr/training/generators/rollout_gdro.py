"""Rollout-GDRO [abs]: each step's rollouts spent by difficulty bin, at a fixed mean budget of G per
problem, so groups are ragged (n_b rollouts for a problem of bin b; `rlvr.training.ragged`).

Our reading of the spec, which gives only the abstract:

- difficulty: each problem's pass rate p is an EMA (`decay`) of the verifier's `correct` over the
  groups it got (per problem id; the first group sets it), remembered for the `memory` newest
  problems. A problem with no history takes the prior: the run's pass-rate EMA over every group
  scored so far (0.5 before the first), so a fresh problem sits in the bin of a typical one;
- bins: pass@k = 1 - (1 - p)^k (k = `k`) in `bins` equal slices of [0, 1], as `prompt_gdro` bins;
- weights: multiplicative weights over the bins on their failure rates, EMA-debiased: the same
  `BinWeights` as the `prompt_gdro` sampler, updated with every batch this generator scores;
- allocation: n_b proportional to sqrt(w_b) * sigma_b, sigma_b = sqrt(p_b (1 - p_b)) with p_b the
  mean pass rate of the batch's problems in bin b; `allocate_rollouts` is called per problem (each
  with its bin's p_b and w_b), so the step's total is exactly B * G, problems of one bin get the same
  n up to one (largest remainders) and each at least `minimum`;
- sampling: one `Policy.sample` call per distinct n, with the step's seed plus n times a stride, so
  every rollout is a sample of its own call (none drawn and thrown away) and the draws are a
  function of (seed, step, n); the groups are merged back in the problems' order, padded to the
  largest n.

Advantage plug-ins and reward transforms that take ragged groups only (every advantage plug-in of
`ragged_names()`; `overlong`, `corrupt`, `maxmin`), single responses.

Under a data-parallel launcher (`rlvr.training.distributed`) the allocation is the whole step's on
every rank: each rank computes it from the same state over the step's problems (every rank's, in
rank order), `shard` gives each rank a contiguous share of whole groups balanced by rollouts
(`rlvr.training.distributed_step.balanced_bounds`), each rank samples its own share and pads its
groups to the step's largest n (`pad_groups`: one G on every rank, so the gathered [B, G] is one
process's), and the pass rates, prior and weights are updated from the gathered `correct`, so they
stay equal across ranks. DAPO's dynamic sampling filters the gathered groups by the gathered
`valid` and pads each rank's kept groups to the kept groups' largest n (`pad_groups` again).
State (checkpoint): the pass-rate EMAs, the prior and the bins' weights.

>>> allocate_rollouts([0.5, 0.9], [1.0, 1.0], 8)
[10, 6]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rlvr.training.generators.base import GeneratorPlugin, register, setting
from rlvr.training.samplers.gdro import BinWeights, bin_index

_COUNT_SEED_STRIDE = 32_452_843
"""The problems given n rollouts sample with the step's seed + n * this (far from other steps' seeds)."""


def allocate_rollouts(pass_rates: Sequence[float], weights: Sequence[float], mean_budget: int,
                      minimum: int = 1) -> list[int]:
    """Rollouts per bin, n_b proportional to sqrt(w_b) * sqrt(p_b (1 - p_b)), summing to
    len(bins) * mean_budget; bins with no spread (p = 0 or 1 everywhere) share the budget evenly.

    >>> allocate_rollouts([0.0, 1.0, 0.5], [1.0, 1.0, 1.0], 4, minimum=2)
    [2, 2, 8]
    """
    if len(pass_rates) != len(weights) or not pass_rates:
        raise ValueError(f"expected one weight per bin, got {len(pass_rates)} pass rates and {len(weights)} weights")
    if any(not 0.0 <= p <= 1.0 for p in pass_rates) or any(not w >= 0.0 or not math.isfinite(w) for w in weights):
        raise ValueError(f"expected pass rates in [0, 1] and finite weights >= 0, got {list(pass_rates)} and "
                         f"{list(weights)}")
    total = len(pass_rates) * int(mean_budget)
    if minimum * len(pass_rates) > total:
        raise ValueError(f"a mean budget of {mean_budget} cannot give each of {len(pass_rates)} bins {minimum}")
    scores = [math.sqrt(w) * math.sqrt(p * (1.0 - p)) for p, w in zip(pass_rates, weights, strict=True)]
    if sum(scores) == 0.0:
        scores = [1.0] * len(scores)
    spare = total - minimum * len(scores)
    shares = [spare * score / sum(scores) for score in scores]
    counts = [minimum + math.floor(share) for share in shares]
    # largest remainders first; ties to the earlier bin, so the result is a function of its inputs
    order = sorted(range(len(shares)), key=lambda b: (-(shares[b] - math.floor(shares[b])), b))
    for b in order[: total - sum(counts)]:
        counts[b] += 1
    return counts


@register
@dataclass
class RolloutGDRO(GeneratorPlugin):
    """n_b rollouts per problem of difficulty bin b (n_b ~ sqrt(w_b) sigma_b, mean G); ragged groups."""

    name: ClassVar[str] = "rollout_gdro"
    source: ClassVar[str] = "Rollout-GDRO [abs]; n_b ~ sqrt(w_b) sigma_b and the pass-rate estimate are our reading"
    summary: ClassVar[str] = ("rollouts spent by pass@k bin at a mean of G per problem, more where the bin's "
                              "weight and reward spread are larger (ragged groups)")
    ragged: ClassVar[bool] = True
    k: int = setting(4, "the k of the pass@k that bins a problem", low=1)
    bins: int = setting(4, "number of equal pass@k bins over [0, 1]", low=1)
    eta: float = setting(1.0, "multiplicative-weights step size", low=0.0)
    decay: float = setting(0.9, "EMA decay of each problem's pass rate, the prior and each bin's failure rate",
                           low=0.0, high=1.0)
    minimum: int = setting(2, "fewest rollouts a problem gets (2: every group can carry signal)", low=1)
    memory: int = setting(4096, "problems whose pass rate is remembered (the oldest forgotten first)", low=1)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.rates: dict[str, float] = {}  # problem id -> pass-rate EMA, oldest update first
        self.prior: float | None = None  # the run's pass-rate EMA over all groups
        self.mw = BinWeights(self.bins, self.eta, self.decay)
        self._last: dict[str, float] = {}
        self.dp: Any = None  # the data-parallel ranks `shard` was last given (None: one process)

    def check(self, group_size: int, max_new_tokens: int, max_turns: int) -> None:
        super().check(group_size, max_new_tokens, max_turns)
        if group_size < self.minimum:
            raise ValueError(f"generator 'rollout_gdro' gives each problem at least minimum={self.minimum} rollouts "
                             f"at a mean of group_size; expected group_size >= {self.minimum}, got {group_size}")

    def estimate(self, problem_id: str) -> float:
        """The pass rate of a problem: its EMA, or the prior for one with no history."""
        if problem_id in self.rates:
            return self.rates[problem_id]
        return 0.5 if self.prior is None else self.prior

    def bin_of(self, rate: float) -> int:
        """The bin of a pass rate: its pass@k, 1 - (1 - p)^k, in equal slices.

        >>> RolloutGDRO(k=2, bins=4).bin_of(0.5)
        3
        """
        return bin_index(1.0 - (1.0 - rate) ** self.k, self.bins)

    def allocation(self, problems: Sequence[Any]) -> tuple[list[int], list[int]]:
        """(rollouts per problem, bin per problem) for a batch, at a mean of G per problem."""
        return self._allocate([problem.problem_id for problem in problems])

    def _allocate(self, problem_ids: Sequence[str]) -> tuple[list[int], list[int]]:
        rates = [self.estimate(key) for key in problem_ids]
        bins = [self.bin_of(rate) for rate in rates]
        members: dict[int, list[float]] = {}
        for b, rate in zip(bins, rates, strict=True):
            members.setdefault(b, []).append(rate)
        bin_rates = {b: sum(values) / len(values) for b, values in members.items()}
        weights = self.mw.weights()
        counts = allocate_rollouts([bin_rates[b] for b in bins], [weights[b] for b in bins],
                                   self._context().group_size, self.minimum)
        return counts, bins

    def shard(self, problems: Sequence[Any], dp: Any) -> list[Any]:
        """This rank's share of the step: contiguous whole groups whose rollouts are as balanced as a
        contiguous split allows (the allocation is every rank's alike); `dp` is kept for `generate`."""
        from rlvr.training.distributed_step import balanced_bounds

        self.dp = dp
        if not dp.active:
            return list(problems)
        start, stop = balanced_bounds(self.allocation(problems)[0], dp.world)[dp.rank]
        return list(problems[start:stop])

    def _ranks(self) -> Any:
        from rlvr.training.distributed import DataParallel, launched

        if self.dp is not None:
            return self.dp
        if launched():  # a rank allocating over its share alone would drift from the others
            raise RuntimeError("generator 'rollout_gdro' under a launcher allocates over every rank's problems: "
                               "call shard(problems, dp) before generate (the trainer does)")
        return DataParallel()

    def generate(self, problems: Sequence[Any], seed: int, step: int):
        import time

        from rlvr.training.rollout import pad_groups, score_rollouts, select_groups

        context, dp = self._context(), self._ranks()
        if not problems:
            raise ValueError("generator 'rollout_gdro' needs at least one problem per rank")
        shares = dp.gather_json([problem.problem_id for problem in problems])  # the step's, in rank order
        first = sum(len(share) for share in shares[: dp.rank])
        step_ids = [key for share in shares for key in share]
        step_counts, step_bins = self._allocate(step_ids)
        counts = step_counts[first : first + len(problems)]
        parts, sampling, scoring = {}, 0.0, 0.0
        for n in sorted(set(counts)):
            chosen = [i for i, count in enumerate(counts) if count == n]
            start = time.perf_counter()
            sample = context.policy.sample([problems[i].prompt for i in chosen], num_samples=n,
                                           **context.sampling(seed + n * _COUNT_SEED_STRIDE))
            sampled = time.perf_counter()
            parts[n] = (score_rollouts(context.task, [problems[i] for i in chosen], sample, n, context.workers()),
                        {i: position for position, i in enumerate(chosen)})
            sampling, scoring = sampling + sampled - start, scoring + time.perf_counter() - sampled
        order = [(parts[n][0], [parts[n][1][i]]) for i, n in enumerate(counts)]
        # padded to the step's largest n (one process: its own already), so every rank's G is one
        batch = pad_groups(select_groups(order, context.policy.pad_token_id), max(step_counts),
                           context.policy.pad_token_id)
        self._observe(step_ids, dp.gather_rows(batch.components["correct"]), step_counts, step_bins)
        return batch, sampling, scoring

    def _observe(self, problem_ids: Sequence[str], correct: Any, counts: list[int], bins: list[int]) -> None:
        """Update pass rates, the prior and the bins' weights from the verifier's `correct` [B, G] of
        the whole step (every rank's groups)."""
        accuracies = [float(correct[row, :n].mean()) for row, n in enumerate(counts)]
        failures: dict[int, list[float]] = {}
        for key, accuracy, b in zip(problem_ids, accuracies, bins, strict=True):
            previous = self.rates.pop(key, None)  # re-inserted last: the newest
            self.rates[key] = accuracy if previous is None else self.decay * previous + (1 - self.decay) * accuracy
            failures.setdefault(b, []).append(1.0 - accuracy)
        while len(self.rates) > self.memory:
            del self.rates[next(iter(self.rates))]
        mean = sum(accuracies) / len(accuracies)
        self.prior = mean if self.prior is None else self.decay * self.prior + (1 - self.decay) * mean
        self.mw.update(failures)
        spent = [0] * self.bins
        for b, n in zip(bins, counts, strict=True):
            spent[b] += n
        self._last = {"rollout_gdro_min_n": float(min(counts)), "rollout_gdro_max_n": float(max(counts)),
                      **{f"rollout_gdro_rollouts_{b}": float(value) for b, value in enumerate(spent)},
                      **{f"rollout_gdro_weight_{b}": value for b, value in enumerate(self.mw.weights())}}

    def metrics(self) -> dict[str, float]:
        return dict(self._last)

    def state_dict(self) -> dict[str, Any]:
        return {"rates": dict(self.rates), "prior": self.prior, **self.mw.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if not state:
            return
        own = ("rates", "prior", "ema", "updates", "log_weights")
        if any(name not in state for name in own) or any(len(state[name]) != self.bins for name in own[2:]):
            raise ValueError(f"generator 'rollout_gdro' state needs {list(own)} with {self.bins} bins each, got "
                             f"keys {sorted(state)}")
        self.rates = {str(key): float(value) for key, value in state["rates"].items()}
        self.prior = None if state["prior"] is None else float(state["prior"])
        self.mw.load_state_dict(state)


