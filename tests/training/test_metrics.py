"""Metrics: pass@k against the combinatorial formula, maj@k, distinct-n, E^3, semantic entropy."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.training.metrics import (
    distinct_correct,
    distinct_n,
    e3_score,
    maj_at_k,
    mean_pass_at_k,
    pass_at_k,
    semantic_entropy,
)


@st.composite
def n_c_k(draw):
    n = draw(st.integers(1, 40))
    return n, draw(st.integers(0, n)), draw(st.integers(1, n))


@given(n_c_k())
@settings(max_examples=200, deadline=None)
def test_pass_at_k_matches_the_binomial_formula(case):
    n, c, k = case
    expected = 1.0 if n - c < k else 1 - math.comb(n - c, k) / math.comb(n, k)
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


@given(n_c_k())
@settings(max_examples=100, deadline=None)
def test_pass_at_k_is_one_when_every_subset_hits_and_grows_with_k(case):
    n, c, k = case
    if n - c < k:
        assert pass_at_k(n, c, k) == 1.0
    if k < n:
        assert pass_at_k(n, c, k + 1) >= pass_at_k(n, c, k) - 1e-12
    assert pass_at_k(n, c, 1) == pytest.approx(c / n)


def test_pass_at_k_on_small_hand_cases():
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 3 of the 6 pairs contain the correct one
    assert pass_at_k(5, 0, 3) == 0.0
    assert mean_pass_at_k([(4, 1), (4, 0)], k=2) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="1 <= k <= n"):
        pass_at_k(3, 1, 4)


def test_maj_at_k():
    answers = ["7", "8", "8", None, "7", "7"]
    correct = [True, False, False, False, True, True]
    assert maj_at_k(answers, correct) == 1.0  # "7" x3 beats "8" x2
    assert maj_at_k(answers, correct, k=4) == 0.0  # "8" x2 beats "7" x1
    assert maj_at_k(answers, correct, k=2) == 1.0  # tie: the first seen wins
    assert maj_at_k([None, None], [False, False]) == 0.0
    with pytest.raises(ValueError, match="one verdict per answer"):
        maj_at_k(["1"], [True, False])


def test_distinct_n():
    assert distinct_n(["the cat the cat"], n=1) == pytest.approx(2 / 4)
    assert distinct_n(["the cat the cat"], n=2) == pytest.approx(2 / 3)
    assert distinct_n(["a", "b"], n=2) == 0.0  # no bigrams at all
    assert distinct_n([[1, 2, 3], [4, 5, 6]], n=3) == 1.0


@given(st.lists(st.text(alphabet="ab ", max_size=12), max_size=5), st.integers(1, 3))
@settings(max_examples=50, deadline=None)
def test_distinct_n_is_a_ratio(texts, n):
    assert 0.0 <= distinct_n(texts, n) <= 1.0


def test_e3_and_semantic_entropy_and_distinct_correct():
    assert e3_score(0.8, 200.0) == pytest.approx(0.64 / 200)
    with pytest.raises(ValueError, match="positive mean token count"):
        e3_score(0.5, 0.0)
    assert semantic_entropy(["1"] * 4) == 0.0
    assert semantic_entropy(["1", "1", "2", "2"]) == pytest.approx(math.log(2))
    assert semantic_entropy([None, None]) == pytest.approx(math.log(2))  # failures do not agree
    assert distinct_correct(["a", "b", "a", None], [True, True, True, True]) == 2
