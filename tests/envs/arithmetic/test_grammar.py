"""The kit's expression grammar: text evaluation against an independent evaluator, and bounded,
exception-free handling of hostile input."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.envs.arithmetic.grammar import evaluate, evaluate_cached, expression_tree
from tests.envs.arithmetic.reference import reference_evaluate

EXPRESSION_CHARS = "0123456789+-*/()"


@pytest.mark.parametrize(
    ("text", "value"),
    [("1+2*3", 7), ("(1+2)*3", 9), ("8/4/2", 1), ("8-4-2", 2), ("2*(3-5)", -4), ("7/2", Fraction(7, 2)),
     ("0", 0), ("10*0+3", 3), ("((1))", 1)],
)
def test_worked_values(text, value):
    assert evaluate(text)[0] == value


@pytest.mark.parametrize("text", ["", "1+", "+1", "01", "1(2)", "()", "(1", "1)", "1//2", "9**9**9", "1/0",
                                  "(((("])
def test_invalid_texts_give_a_reason(text):
    value, literals, reason = evaluate_cached(text)
    assert value is None and reason


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=EXPRESSION_CHARS, max_size=14))
def test_evaluator_agrees_with_reference(text):
    expected = reference_evaluate(text)
    value, literals, reason = evaluate_cached(text)
    if expected is None:
        assert value is None and reason
    else:
        assert (value, list(literals)) == expected


def test_expression_tree_shape():
    assert expression_tree("(1+2)*3-4/2") == ("-", ("*", ("+", 1, 2), 3), ("/", 4, 2))


@pytest.mark.parametrize("text", ["9" * 5000, "(" * 5000 + "1" + ")" * 5000, "1+" * 3000 + "1", "１+２"])
def test_hostile_texts_are_bounded(text):
    start = time.perf_counter()
    value, _, reason = evaluate_cached(text)
    assert value is None and reason
    assert time.perf_counter() - start < 0.5
