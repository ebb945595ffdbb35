"""Rubric: weighted totals by hand, weight-0 functions logged but never added, None handling."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.rewards.rubric import Rubric


def words(completions, **kwargs):
    return [float(len(c.split())) for c in completions]


def has_answer(completions, answer, **kwargs):
    return [1.0 if a in c else 0.0 for c, a in zip(completions, answer, strict=True)]


def only_long(completions, **kwargs):
    return [1.0 if len(c) > 10 else None for c in completions]


def test_weighted_totals_and_components_by_hand():
    rubric = Rubric({"words": words, "answer": has_answer}, {"words": 0.1, "answer": 2.0})
    result = rubric.score(["the answer is 4", "5"], answer=["4", "4"])
    assert result.components == {"words": [4.0, 1.0], "answer": [1.0, 0.0]}
    assert result.totals == [pytest.approx(2.4), pytest.approx(0.1)]
    assert rubric(["the answer is 4", "5"], answer=["4", "4"]) == result.totals
    assert result.rows()[1] == {"total": pytest.approx(0.1), "words": 1.0, "answer": 0.0}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=30), min_size=1, max_size=6), st.floats(-5, 5))
def test_a_weight_zero_function_is_logged_but_never_changes_totals(texts, weight):
    base = Rubric({"words": words}, {"words": weight})
    logged = Rubric({"words": words, "length": lambda c, **k: [float(len(x)) for x in c]},
                    {"words": weight, "length": 0.0})
    result = logged.score(texts)
    assert result.totals == base(texts)
    assert result.components["length"] == [float(len(t)) for t in texts]


def test_none_means_not_applicable():
    rubric = Rubric({"long": only_long, "words": words}, {"long": 1.0, "words": 0.0})
    assert rubric(["a very long completion", "short"]) == [1.0, None]
    mixed = Rubric({"long": only_long, "words": words})  # default weights 1
    assert mixed(["a very long completion", "short"]) == [5.0, 1.0]


def test_missing_weights_default_to_one_and_bad_configs_are_clear_errors():
    assert Rubric({"words": words}).weights == {"words": 1.0}
    with pytest.raises(KeyError, match="did you mean: words"):
        Rubric({"words": words}, {"wrds": 1.0})
    with pytest.raises(ValueError, match="finite"):
        Rubric({"words": words}, {"words": float("nan")})
    with pytest.raises(ValueError, match="one each"):
        Rubric({"bad": lambda c, **k: [1.0]})(["a", "b"])
    with pytest.raises(TypeError, match="expected a number"):
        Rubric({"bad": lambda c, **k: ["x"]})(["a"])
