"""Problem streams: problem i of seed s comes from `SeedSequence([s, i])`.

Deriving each problem from its own SeedSequence keeps neighbouring seeds independent (with
`Random(seed + i)` seed 1's stream is seed 0's shifted by one problem) and lets any problem be
regenerated from (seed, index) alone, without replaying the ones before it.
"""

from __future__ import annotations

import numpy as np

MAX_SPLIT_ATTEMPTS = 2000
"""Draws allowed to find a problem of the requested split before giving up with an error."""


def problem_rng(seed: int, index: int) -> np.random.Generator:
    """The generator for problem `index` of stream `seed`."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))


def fresh_seed(rng: np.random.Generator) -> int:
    """A stream seed drawn from an env's own generator (used when reset() gets no seed)."""
    return int(rng.integers(0, 2**63 - 1))
