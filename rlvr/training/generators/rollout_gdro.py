"""Rollout-GDRO [abs]: how many rollouts each difficulty bin's problems get at a fixed mean budget.

Our reading of the spec: bin b (online pass@k difficulty bins, as the `prompt_gdro` sampler keeps)
with weight w_b and pass rate p_b gets n_b proportional to sqrt(w_b) * sigma_b, sigma_b =
sqrt(p_b (1 - p_b)) the std of its 0/1 rewards, scaled so that the mean over bins is the budget G;
rounding by largest remainder keeps the total exact, and every bin keeps at least `minimum`.

Not a registered generator yet: its groups would be ragged (n_b rollouts per problem), and the
step's metrics, the samplers' observations, the reward transforms and Dr. GRPO's N * L_max
normaliser all read groups as [B, G]. The allocation is here, with the spec's worked number, for
the generator that will use it once ragged groups are carried through those.

>>> allocate_rollouts([0.5, 0.9], [1.0, 1.0], 8)
[10, 6]
"""

from __future__ import annotations

import math
from collections.abc import Sequence


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
