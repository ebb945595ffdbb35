"""Judge scoring: expected score over valid score tokens, order-symmetric pairwise preference,
the stub judge and the TRL-shaped judge reward. Expected values are worked out by hand here."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.rewards.judge import (
    StubJudge,
    expected_score,
    judge_reward,
    judge_scores,
    logprob_table,
    pairwise_preference,
)


def test_expected_score_on_a_worked_table():
    # p = 0.05, 0.05, 0.1, 0.3, 0.3 on "1".."5" and 0.2 on a non-score token "x": valid mass 0.8,
    # renormalised p = 1/16, 1/16, 2/16, 6/16, 6/16, so S = (1 + 2 + 6 + 24 + 30) / 16 = 63/16
    table = logprob_table({"1": 0.05, " 2": 0.05, "3": 0.1, "4 ": 0.3, "5": 0.3, "x": 0.2})
    result = expected_score(table)
    assert result.error is None
    assert result.value == pytest.approx(63 / 16)
    assert result.valid_mass == pytest.approx(0.8)
    assert result.probabilities["4"] == pytest.approx(3 / 8)


def test_expected_score_pools_spellings_and_ignores_nan_and_minus_infinity():
    table = {"5": math.log(0.25), " 5": math.log(0.25), "1": math.log(0.5), "2": float("nan"), "3": -math.inf}
    result = expected_score(table)
    assert result.value == pytest.approx(0.5 * 5 + 0.5 * 1)
    assert result.probabilities["3"] == 0.0


@pytest.mark.parametrize("table", [{}, {"yes": 0.0}, {"1": -math.inf, "2": float("nan")}, {"1": "high"}])
def test_no_valid_token_gives_none_with_a_reason(table):
    result = expected_score(table)
    assert result.value is None
    assert "no valid score token" in result.error


def test_custom_score_values():
    table = logprob_table({"bad": 0.25, "good": 0.75})
    assert expected_score(table, {"bad": -1.0, "good": 1.0}).value == pytest.approx(0.5)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=-30, max_value=0), min_size=5, max_size=5))
def test_expected_score_is_the_renormalised_mean(logprobs):
    table = {str(i + 1): lp for i, lp in enumerate(logprobs)}
    weights = [math.exp(lp) for lp in logprobs]
    manual = sum((i + 1) * w for i, w in enumerate(weights)) / sum(weights)
    value = expected_score(table).value
    assert value == pytest.approx(manual, rel=1e-9)
    assert 1.0 - 1e-9 <= value <= 5.0 + 1e-9


def biased_judge(quality: dict[str, float], bias: float) -> StubJudge:
    """Prefers the better response by its quality, plus a pull of `bias` toward position A."""

    def rule(text: str) -> dict[str, float]:
        first = text.split("Response A:\n")[1].split("\n\nResponse B:")[0]
        second = text.split("Response B:\n")[1].split("\n\nBetter")[0]
        p_first = 1 / (1 + math.exp(-(quality[first] - quality[second] + bias)))
        return logprob_table({"A": p_first, "B": 1 - p_first, "tie": 0.1})

    return StubJudge(rule=rule)


@settings(max_examples=60, deadline=None)
@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(-4, 4))
def test_pairwise_preference_is_order_symmetric(quality_a, quality_b, bias):
    judge = biased_judge({"alpha": quality_a, "beta": quality_b}, bias)
    forward = pairwise_preference(judge, "Which is better?", "alpha", "beta")
    backward = pairwise_preference(judge, "Which is better?", "beta", "alpha")
    assert forward.probability + backward.probability == pytest.approx(1.0, abs=1e-12)
    # the judge saw both orders in one call
    assert len(judge.calls[0]) == 2 and judge.calls[0][0] != judge.calls[0][1]


def test_position_bias_cancels_for_equal_responses():
    judge = biased_judge({"alpha": 1.0, "beta": 1.0}, bias=2.0)
    result = pairwise_preference(judge, "q", "alpha", "beta")
    assert result.a_first == pytest.approx(1 / (1 + math.exp(-2.0)))
    assert result.b_first == pytest.approx(1 - result.a_first)
    assert result.probability == pytest.approx(0.5)


def test_pairwise_without_valid_tokens_is_none_with_reason():
    result = pairwise_preference(StubJudge(default={"maybe": 0.0}), "q", "a", "b")
    assert result.probability is None and "no valid score token" in result.error


def test_stub_judge_tables_rules_and_unknown_texts():
    judge = StubJudge({"known": {"5": 0.0}}, rule=lambda text: {"1": 0.0} if "bad" in text else {"3": 0.0})
    assert judge(["known", "bad one", "other"]) == [{"5": 0.0}, {"1": 0.0}, {"3": 0.0}]
    with pytest.raises(KeyError, match="no table"):
        StubJudge({"known": {"5": 0.0}})(["unknown"])


def test_judge_reward_rescales_and_returns_none_for_invalid_judgements():
    judge = StubJudge(rule=lambda text: logprob_table({"5": 1.0}) if "good" in text
                      else logprob_table({"3": 0.5, "1": 0.5}) if "meh" in text else {"?": 0.0})
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "a good answer"}]
    rewards = judge_reward(["good", "meh", "???", chat], prompts=["q"] * 4, judge=judge)
    assert rewards == [1.0, pytest.approx(0.25), None, 1.0]
    verdicts = judge_scores(["???"], judge=judge)
    assert verdicts[0].error.startswith("no valid score token")


def test_judge_reward_checks_lengths():
    judge = StubJudge(default={"5": 0.0})
    with pytest.raises(ValueError, match="one prompt each"):
        judge_reward(["a", "b"], prompts=["q"], judge=judge)
    with pytest.raises(ValueError, match="one log-prob table per text"):
        judge_reward(["a", "b"], judge=lambda texts: [{"5": 0.0}])
