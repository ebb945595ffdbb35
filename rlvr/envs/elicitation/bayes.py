"""Exact Bayesian bookkeeping for elicitation envs: posteriors, entropy, information gain.

A problem is a finite target set (entities, classes, ability cells) with a prior `p[n]` and, per
question `q`, an answer likelihood table `L[q, n, a] = P(answer a | target n, question q)`.
Answers to repeated questions are independent given the target, so the posterior after a
transcript is the prior times one likelihood column per answer, renormalised.

All entropies are in bits. The expected information gain of a question is the mutual information
between target and answer, in closed form `I(T; A) = H(A) - H(A | T)`, where `P(A) = p @ L[q]`
and `H(A | T) = sum_n p[n] H(L[q, n, :])`.

>>> import numpy as np
>>> prior = np.array([0.5, 0.5])
>>> noiseless = np.array([[[1.0, 0.0], [0.0, 1.0]]])      # one yes/no question separating both
>>> float(mutual_information(prior, noiseless[0]))
1.0
>>> update(prior, noiseless[0], 0).tolist()
[1.0, 0.0]
"""

from __future__ import annotations

import numpy as np

GAIN_TOLERANCE = 1e-12
"""Information gains below this count as zero (floating-point noise, not information)."""


def entropy_bits(probabilities: np.ndarray) -> float:
    """Shannon entropy in bits of a probability vector (zero entries contribute nothing).

    >>> entropy_bits(np.array([0.25, 0.25, 0.25, 0.25]))
    2.0
    """
    p = np.asarray(probabilities, dtype=float)
    positive = p[p > 0]
    return float(-(positive * np.log2(positive)).sum()) + 0.0


def _row_entropies(table: np.ndarray) -> np.ndarray:
    """Entropy in bits along the last axis of a table of distributions."""
    safe = np.where(table > 0, table, 1.0)
    return -(table * np.log2(safe)).sum(axis=-1)


def update(posterior: np.ndarray, likelihood_q: np.ndarray, answer: int) -> np.ndarray:
    """The posterior after observing `answer` to a question with table `likelihood_q[n, a]`."""
    unnormalised = np.asarray(posterior, dtype=float) * likelihood_q[:, answer]
    total = unnormalised.sum()
    if not total > 0:
        raise ValueError(f"answer {answer} has probability 0 under the current posterior")
    return unnormalised / total


def answer_distribution(posterior: np.ndarray, likelihood_q: np.ndarray) -> np.ndarray:
    """P(answer) under the posterior: the predictive distribution of one question's answer."""
    return np.asarray(posterior, dtype=float) @ likelihood_q


def mutual_information(posterior: np.ndarray, likelihood_q: np.ndarray) -> float:
    """I(target; answer) in bits for one question, in closed form H(A) - H(A | T)."""
    p = np.asarray(posterior, dtype=float)
    value = entropy_bits(answer_distribution(p, likelihood_q)) - float(p @ _row_entropies(likelihood_q))
    return max(value, 0.0)


def information_gains(posterior: np.ndarray, likelihood: np.ndarray) -> np.ndarray:
    """Mutual information of every question at once: `likelihood` has shape (Q, N, A)."""
    p = np.asarray(posterior, dtype=float)
    predictive = np.einsum("n,qna->qa", p, likelihood)
    gains = _row_entropies(predictive) - _row_entropies(likelihood) @ p
    return np.maximum(gains, 0.0)


def expected_gain_by_enumeration(posterior: np.ndarray, likelihood_q: np.ndarray) -> float:
    """E_a[H(p) - H(p | a)] summed over every answer: the definition the closed form must meet."""
    p = np.asarray(posterior, dtype=float)
    before = entropy_bits(p)
    total = 0.0
    for answer, probability in enumerate(answer_distribution(p, likelihood_q)):
        if probability > 0:
            total += probability * (before - entropy_bits(update(p, likelihood_q, answer)))
    return total


def greedy_question(posterior: np.ndarray, likelihood: np.ndarray) -> tuple[int, float]:
    """The question of largest expected information gain (lowest index on ties) and that gain."""
    gains = information_gains(posterior, likelihood)
    best = int(np.argmax(gains))
    return best, float(gains[best])
