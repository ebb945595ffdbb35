"""The simulated debaters (`rlvr.agents.debate`): the belief update and its martingale property."""

from __future__ import annotations

import numpy as np
import pytest

from rlvr.agents.debate import SimulatedDebaters, SimulationConfig, numeric_candidates
from rlvr.experiments.debate import mean_ci


def test_simulated_update_is_an_average():
    group = SimulatedDebaters(np.array([[0.5, 0.5, 0.0], [0.2, 0.2, 0.6]]), SimulationConfig(num_candidates=3))
    group.update(np.array([0, 2]), np.array([0.5, 0.6]), "vanilla")
    np.testing.assert_allclose(group.beliefs, [[0.25, 0.25, 0.5], [0.6, 0.1, 0.3]])
    group = SimulatedDebaters(np.array([[0.5, 0.5, 0.0], [0.2, 0.2, 0.6]]), SimulationConfig(num_candidates=3))
    group.update(np.array([0, 2]), np.array([0.5, 0.6]), "confidence")
    np.testing.assert_allclose(group.beliefs[0], (0.5 * np.array([0.5, 0.5, 0]) + 0.6 * np.array([0, 0, 1])) / 1.1)


def test_martingale_in_simulation():
    """Vanilla: the mean belief in the truth does not move (interval holds 0); confidence: it rises."""
    config = SimulationConfig(num_candidates=4, concentration=0.5, truth_bonus=0.5)
    changes = {"vanilla": [], "confidence": []}
    for mode in changes:
        for i in range(3000):
            rng = np.random.default_rng(np.random.SeedSequence([7, i]))
            group = SimulatedDebaters.draw(3, config, rng)
            start = group.beliefs[:, 0].mean()
            for _ in range(2):
                answers, confidences = group.announce(rng)
                group.update(answers, confidences, mode)
            changes[mode].append(group.beliefs[:, 0].mean() - start)
    _, low, high = mean_ci(changes["vanilla"])
    assert low < 0.0 < high and high - low < 0.02
    assert mean_ci(changes["confidence"])[1] > 0.0


def test_numeric_candidates_are_distinct_and_refuse_a_non_numeric_gold():
    for seed in range(20):
        candidates = numeric_candidates("7/2", 6, np.random.default_rng(seed))
        assert candidates[0] == "7/2" and len(set(candidates)) == 6
    with pytest.raises(ValueError, match="gold answer is a number"):
        numeric_candidates("Paris", 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="count=30"):
        numeric_candidates("1", 30, np.random.default_rng(0))
