"""MathTree's prefix automaton against the kit's text parser (via the independent reference)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.envs.mathtree.grammar import build_automaton
from rlvr.envs.mathtree.vocab import EOS_TEXT, SyntheticTokenizer, Vocabulary
from tests.envs.arithmetic.reference import reference_evaluate


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
