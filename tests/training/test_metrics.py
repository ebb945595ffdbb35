"""Metrics: pass@k against the combinatorial formula, maj@k, distinct-n, E^3, semantic entropy, spread
and the rounding of printed numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.training.metrics import (
    class_key,
    distinct_correct,
    distinct_n,
    e3_score,
    maj_at_k,
    mean_distinct_n,
    mean_pass_at_k,
    pass_at_k,
    rounded,
    semantic_entropy,
    spread,
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


# ---- semantic entropy, distinct-n per problem, spread and rounding (the evaluation's diversity figures)
def test_semantic_entropy_worked_by_hand():
    # classes {"3+4": 2, "7": 1, unreadable: 1} of 4: -(1/2 ln 1/2 + 2 * 1/4 ln 1/4) = 1.5 ln 2
    expected = 1.5 * math.log(2)
    assert semantic_entropy(["3+4", "3+4", "7", None], pool_unreadable=True) == pytest.approx(expected)
    # with one unreadable answer, apart or pooled make the same classes
    assert semantic_entropy(["3+4", "3+4", "7", None]) == pytest.approx(1.5 * math.log(2))
    # two unreadable: pooled they are one class of 2 (entropy of 2/4, 1/4, 1/4), apart two of 1
    assert semantic_entropy(["1", "2", None, None], pool_unreadable=True) == pytest.approx(1.5 * math.log(2))
    assert semantic_entropy(["1", "2", None, None]) == pytest.approx(math.log(4))
    assert semantic_entropy([None, None, None], pool_unreadable=True) == 0.0


ANSWERS = st.lists(st.one_of(st.none(), st.sampled_from(["1", "2", "3", "x+y"])), min_size=1, max_size=16)


@given(ANSWERS, st.booleans())
@settings(max_examples=200, deadline=None)
def test_semantic_entropy_lies_between_zero_and_log_k(answers, pooled):
    entropy = semantic_entropy(answers, pool_unreadable=pooled)
    assert -1e-12 <= entropy <= math.log(len(answers)) + 1e-12
    assert entropy == pytest.approx(semantic_entropy(answers[::-1], pool_unreadable=pooled))  # order-free
    if len(set(answers)) == 1 and (answers[0] is not None or pooled or len(answers) == 1):
        assert entropy == 0.0  # every sample agrees: one class
    if len(set(answers)) == len(answers) or (not pooled and all(a is None for a in answers)):
        assert entropy == pytest.approx(math.log(len(answers)))  # every sample its own class


@given(st.integers(1, 12), st.sampled_from(["7", None]))
@settings(max_examples=30, deadline=None)
def test_semantic_entropy_is_zero_when_all_samples_agree(k, answer):
    assert semantic_entropy([answer] * k, pool_unreadable=True) == 0.0


def test_mean_distinct_n_is_per_problem_then_mean():
    # problem 1: "answer 3+4", "answer 4+3", "answer 7": 6 unigrams, 4 distinct; 3 bigrams, 3 distinct
    # problem 2: "answer 5" twice: 4 unigrams, 2 distinct; 2 bigrams, 1 distinct
    groups = [["answer 3+4", "answer 4+3", "answer 7"], ["answer 5", "answer 5"]]
    assert mean_distinct_n(groups, 1) == pytest.approx((4 / 6 + 2 / 4) / 2)
    assert mean_distinct_n(groups, 2) == pytest.approx((3 / 3 + 1 / 2) / 2)
    # pooled over both problems it would be different: per problem is what is reported
    assert distinct_n([text for group in groups for text in group], 1) == pytest.approx(5 / 10)
    # one-word answers hold no bigram: such a problem has no distinct-2 and is left out, not a 0
    assert mean_distinct_n([["7", "8"], ["a b", "a b"]], 2) == pytest.approx(1 / 2)
    assert mean_distinct_n([["7", "8"]], 2) is None and mean_distinct_n([], 1) is None


def test_class_key_groups_unhashable_canonical_forms():
    assert class_key([1, 2]) == class_key([1, 2]) != class_key([2, 1])
    assert distinct_correct([[1, 2], [1, 2], {"a": 1}], [True, True, True]) == 2


def test_spread_by_hand():
    values = spread([0.25, 0.5, 0.75, 1.0])
    assert values["mean"] == pytest.approx(0.625)
    assert values["std"] == pytest.approx(math.sqrt((0.375**2 + 0.125**2) * 2 / 3))
    assert (values["min"], values["max"]) == (0.25, 1.0)
    with pytest.raises(ValueError, match="at least two values"):
        spread([0.5])


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
@settings(max_examples=300, deadline=None)
def test_rounded_printing_parses_back(value):
    printed = yaml.safe_dump(rounded({"x": value, "values": [value, 3]}))
    read = yaml.safe_load(printed)
    assert read == rounded({"x": value, "values": [value, 3]})
    assert read["values"][1] == 3 and isinstance(read["values"][1], int)  # ints stay ints
    assert isinstance(read["x"], float) and read["x"] == pytest.approx(value, rel=5e-4, abs=1e-300)
    assert float(f"{read['x']:.4g}") == read["x"]  # no more than 4 significant digits were printed


def test_rounding_a_float32_value_by_hand():
    raw = float(np.float32(0.3))  # 0.30000001192092896: what a float32 metric prints unrounded
    assert rounded({"pass@1": raw, "n": np.float32(2.5)}) == {"pass@1": 0.3, "n": 2.5}
    assert yaml.safe_dump(rounded({"pass@1": raw})) == "pass@1: 0.3\n"
