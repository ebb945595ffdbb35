"""The grammar: text evaluation against an independent evaluator, the prefix automaton against
the text parser, and bounded, exception-free handling of hostile input."""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.envs.mathtree.grammar import build_automaton, evaluate, evaluate_cached, expression_tree
from rlvr.envs.mathtree.vocab import EOS_TEXT, SyntheticTokenizer, Vocabulary
from tests.envs.mathtree.reference import reference_evaluate

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


def _parses(text: str) -> bool:
    return reference_evaluate(text, syntax_only=True) is not None


@settings(max_examples=400, deadline=None)
@given(st.lists(st.integers(0, 16), max_size=10))
def test_automaton_agrees_with_text_parser(ids):
    """End iff EOS follows a complete expression; accepting iff the text parses; live iff some
    completion parses."""
    vocab = Vocabulary()
    tokenizer = SyntheticTokenizer(vocab)
    automaton = build_automaton(vocab.tokens, 8)
    state = automaton.start
    for length, token in enumerate(ids, start=1):
        state = int(automaton.transitions[state, token])
        prefix = ids[:length]
        if vocab.eos_id in prefix[:-1]:
            assert state == automaton.dead
        elif prefix[-1] == vocab.eos_id:
            assert (state == automaton.end) == _parses(tokenizer.decode(prefix[:-1]))
            assert state in (automaton.end, automaton.dead)
        else:
            text = tokenizer.decode(prefix)
            assert bool(automaton.accepting[state]) == _parses(text)
            completions = ["1" + ")" * k for k in range(10)] + [")" * k for k in range(10)]
            completable = any(_parses(text + c) for c in completions)
            assert (state != automaton.dead) == completable
            if completable:
                shortest = min(len(c) for c in completions if _parses(text + c))
                assert automaton.min_to_complete[state] == shortest


def test_automaton_table_shapes_and_masks():
    vocab = Vocabulary("12", "+", False)
    automaton = build_automaton(vocab.tokens, 2)
    assert automaton.transitions.shape == (3 * 3 + 2, vocab.size)
    ids = SyntheticTokenizer(vocab).encode("12+1") + [vocab.eos_id]
    states = np.full(1, automaton.start)
    for token in ids:  # batched advance with fancy indexing, as a vector env would
        states = automaton.transitions[states, np.array([token])]
    assert automaton.ended[states[0]] and automaton.accepting[states[0]]
    assert automaton.min_to_complete[automaton.start] == 1
    assert vocab.tokens[-1] == EOS_TEXT


def test_expression_tree_shape():
    assert expression_tree("(1+2)*3-4/2") == ("-", ("*", ("+", 1, 2), 3), ("/", 4, 2))


@pytest.mark.parametrize("text", ["9" * 5000, "(" * 5000 + "1" + ")" * 5000, "1+" * 3000 + "1", "１+２"])
def test_hostile_texts_are_bounded(text):
    start = time.perf_counter()
    value, _, reason = evaluate_cached(text)
    assert value is None and reason
    assert time.perf_counter() - start < 0.5
