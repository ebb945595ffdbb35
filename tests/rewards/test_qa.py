"""Generic QA metrics: SQuAD normalisation, exact match, token F1, and their batch rewards.

F1 is checked against precision and recall counted here by hand on a token multiset; the batch
rewards against the scalar metrics on the answer the one reader finds.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.rewards import exact_match_reward, f1_reward, qa_scores
from rlvr.rewards.answers import answer_line, find_answer, last_line
from rlvr.rewards.qa import exact_match, f1_score, squad_normalise

words = st.lists(st.sampled_from(["kobo", "labs", "inc", "vel", "the", "a", "paris", "x1"]), max_size=8)
texts = st.text(max_size=60)


def _hand_f1(predicted: list[str], wanted: list[str]) -> float:
    remaining, common = list(wanted), 0
    for token in predicted:
        if token in remaining:
            remaining.remove(token)
            common += 1
    if not predicted or not wanted:
        return float(predicted == wanted)
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


@settings(max_examples=300, deadline=None)
@given(words, words)
def test_f1_counts_shared_tokens_with_multiplicity(predicted, wanted):
    kept = [[w for w in tokens if w not in ("the", "a")] for tokens in (predicted, wanted)]  # articles go
    expected = _hand_f1(*kept)
    assert f1_score(" ".join(predicted), " ".join(wanted)) == pytest.approx(expected)


@settings(max_examples=300, deadline=None)
@given(texts, texts)
def test_metrics_are_symmetric_bounded_and_agree(prediction, gold):
    em, f1 = exact_match(prediction, gold), f1_score(prediction, gold)
    assert em in (0.0, 1.0) and 0.0 <= f1 <= 1.0
    assert em == exact_match(gold, prediction) and f1 == pytest.approx(f1_score(gold, prediction))
    if em == 1.0:
        assert f1 == 1.0


@settings(max_examples=200, deadline=None)
@given(words, st.sampled_from(string.punctuation), st.booleans())
def test_case_punctuation_articles_and_spacing_do_not_count(tokens, mark, upper):
    text = " ".join(tokens)
    noisy = "  The " + (text.upper() if upper else text).replace(" ", f"{mark}  ") + mark
    assert squad_normalise(noisy).replace(" ", "") == squad_normalise(text).replace(" ", "")
    assert exact_match(noisy, "the " + text) == float(squad_normalise(noisy) == squad_normalise(text))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(texts, st.none(), st.integers(),
                          st.lists(st.dictionaries(st.text(max_size=5), texts))), max_size=5), texts)
def test_any_completion_is_scored_never_raised_on(completions, gold):
    scores = qa_scores(completions, [gold] * len(completions))
    assert len(scores) == len(completions)
    for score in scores:
        assert 0.0 <= score.components["f1"] <= 1.0 and score.reward in (0.0, 1.0)
        assert score.reward == 1.0 or score.error  # a zero always says why


@settings(max_examples=200, deadline=None)
@given(texts, texts)
def test_batch_rewards_score_the_answer_the_reader_finds(completion, gold):
    found = find_answer(completion, fallbacks=(answer_line, last_line))
    em, f1 = exact_match_reward([completion], [gold])[0], f1_reward([completion], [gold])[0]
    if found.error is None and found.answer is not None:
        assert (em, f1) == (exact_match(found.answer, gold), f1_score(found.answer, gold))
    else:
        assert (em, f1) == (0.0, 0.0)


def test_several_accepted_answers_take_the_best():
    completions = ["<answer>Big Apple</answer>", "Answer: New York"]
    golds = [["New York City", "the Big Apple"], ("NYC", "New York City")]
    assert exact_match_reward(completions, golds) == [1.0, 0.0]
    assert f1_reward(completions, golds) == [1.0, pytest.approx(f1_score("New York", "New York City"))]
    no_gold = qa_scores(["Answer: Paris"], [[]])[0]
    assert no_gold.reward == 0.0 and no_gold.error == "expected at least one gold answer, got an empty list"


def test_a_huge_completion_is_refused_with_a_reason():
    score = qa_scores(["Kobo " * 100_000], ["Kobo"])[0]
    assert score.reward == 0.0 and "characters" in score.error


def test_one_answer_per_completion_is_required():
    with pytest.raises(ValueError, match="got 2 completions but 1 answers"):
        f1_reward(["a", "b"], ["a"])
