"""Simulated debaters for `rlvr/Debate-v0`: categorical beliefs over candidate answers, no model.

They play the debate experiment (`rlvr.experiments.debate`).

Our design (no reference code exists). A debate's candidate answers are the gold answer (index 0)
and K - 1 distractors. Each debater holds a belief b over them, drawn from
Dirichlet(concentration + truth_bonus * e_0), so debaters lean toward the truth but can be
confidently wrong. Each round a debater announces an answer a ~ b and a confidence:
`confidence_rule="max"` reports max(b) (the spec's rule); "answer" reports b[a]. Agents are
calibrated in the sense that their beliefs are drawn around the truth: whoever puts more mass on
the truth is both more confident (under "max", when the peak is the truth) and more often right.

After hearing the round's announcements each debater updates (announcements are one-hot e_a):
- vanilla (DeGroot-style uniform averaging): b_i <- (b_i + sum_j e_{a_j}) / (1 + #peers)
- confidence: the same average weighted by stated confidence:
  b_i <- (c_i b_i + sum_j c_j e_{a_j}) / (c_i + sum_j c_j)
Since E[e_{a_j}] = b_j, the vanilla update keeps the group's mean belief in the truth unchanged
in expectation (a martingale); confidence weights tilt it toward confidently announced answers.
Randomness is only the numpy Generator passed in.

>>> rng = np.random.default_rng(0)
>>> group = SimulatedDebaters.draw(3, SimulationConfig(), rng)
>>> group.beliefs.shape, bool(np.allclose(group.beliefs.sum(axis=1), 1.0))
((3, 4), True)
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from rlvr.rewards.math import parse_number

CONFIDENCE_RULES = ("max", "answer")


@dataclass(frozen=True)
class SimulationConfig:
    """How simulated debaters' beliefs are drawn and how they report confidence."""

    num_candidates: int = 4
    """K: the gold answer plus K - 1 distractors."""
    concentration: float = 0.5
    """Dirichlet mass on every candidate; small values give peaked (confident) beliefs."""
    truth_bonus: float = 0.5
    """Extra Dirichlet mass on the truth: 0 makes debaters know nothing, large makes them experts."""
    confidence_rule: str = "max"
    """'max': confidence = max belief (as specified); 'answer': belief in the announced answer."""

    def __post_init__(self) -> None:
        if self.num_candidates < 2:
            raise ValueError(f"num_candidates must be >= 2, got {self.num_candidates}")
        if self.concentration <= 0 or self.truth_bonus < 0:
            raise ValueError(
                f"concentration must be > 0 and truth_bonus >= 0, got {self.concentration}, {self.truth_bonus}"
            )
        if self.confidence_rule not in CONFIDENCE_RULES:
            raise ValueError(f"confidence_rule must be one of {CONFIDENCE_RULES}, got {self.confidence_rule!r}")


class SimulatedDebaters:
    """A group of debaters' beliefs (rows) over candidates (columns; column 0 is the truth)."""

    def __init__(self, beliefs: np.ndarray, config: SimulationConfig) -> None:
        self.beliefs = np.asarray(beliefs, dtype=float)
        self.config = config

    @classmethod
    def draw(cls, count: int, config: SimulationConfig, rng: np.random.Generator) -> SimulatedDebaters:
        alpha = np.full(config.num_candidates, config.concentration)
        alpha[0] += config.truth_bonus
        return cls(rng.dirichlet(alpha, size=count), config)

    def subset(self, rows: list[int]) -> SimulatedDebaters:
        return SimulatedDebaters(self.beliefs[rows].copy(), self.config)

    def announce(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(answer index, confidence) per debater; answers sampled from the beliefs."""
        cumulative = np.cumsum(self.beliefs, axis=1)
        draws = rng.random((len(self.beliefs), 1)) * cumulative[:, -1:]
        answers = np.minimum((cumulative < draws).sum(axis=1), self.beliefs.shape[1] - 1)
        if self.config.confidence_rule == "max":
            confidences = self.beliefs.max(axis=1)
        else:
            confidences = self.beliefs[np.arange(len(answers)), answers]
        return answers, confidences

    def update(self, answers: np.ndarray, confidences: np.ndarray, mode: str) -> None:
        """Average each belief with the peers' one-hot announcements (answer -1: none given)."""
        count, k = self.beliefs.shape
        valid = np.asarray(answers) >= 0
        weights = np.ones(count) if mode == "vanilla" else np.asarray(confidences, dtype=float)
        if mode not in ("vanilla", "confidence"):
            raise ValueError(f"update mode must be 'vanilla' or 'confidence', got {mode!r}")
        announced = np.zeros((count, k))
        announced[np.arange(count)[valid], np.asarray(answers)[valid]] = 1.0
        weighted = announced * (weights * valid)[:, None]
        totals = weighted.sum(axis=0)
        new = np.empty_like(self.beliefs)
        for i in range(count):
            peers = totals - weighted[i]
            peer_weight = (weights * valid).sum() - weights[i] * valid[i]
            denominator = weights[i] + peer_weight
            # A debater that hears nothing with weight (everyone said 0 confidence) keeps its belief.
            new[i] = self.beliefs[i] if denominator <= 0 else (weights[i] * self.beliefs[i] + peers) / denominator
        self.beliefs = new


def numeric_candidates(gold: Any, count: int, rng: np.random.Generator) -> list[str]:
    """The gold answer and `count - 1` distinct wrong numbers near it (small offsets).

    >>> numeric_candidates("12", 4, np.random.default_rng(0))[0]
    '12'
    >>> len(set(numeric_candidates("1/3", 5, np.random.default_rng(1))))
    5
    """
    value = parse_number(str(gold))
    if value is None:
        raise ValueError(f"simulated debaters need a task whose gold answer is a number, got {gold!r}")
    offsets = [d for d in range(-10, 11) if d != 0]
    if not 1 <= count <= len(offsets) + 1:
        raise ValueError(f"numeric_candidates makes 1 to {len(offsets) + 1} candidates, got count={count}")
    chosen = rng.choice(len(offsets), size=count - 1, replace=False)
    return [str(gold)] + [str(Fraction(value) + offsets[i]) for i in chosen]
