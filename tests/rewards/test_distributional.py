"""Distributional Correctness Score, the ternary abstention reward and the diversity-gated reward,
checked on hand-computed cases and properties (wrong -> 0; repeating a role never raises R)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.rewards.distributional import (
    ROLE_LEXICON,
    abstention_reward,
    abstention_score,
    dcs_from_logprobs,
    distinct_2,
    distributional_correctness,
    diversity_reward,
    diversity_score,
    read_choice,
)

OPTIONS = {"A": "12", "B": "15", "C": "21", "D": "I don't know"}


@pytest.mark.parametrize(
    ("p_c", "p_w", "p_idk", "l_c", "l_w", "expected"),
    [
        (1.0, 0.0, 0.0, 1.0, 1.0, 1.0),
        (0.0, 1.0, 0.0, 1.0, 1.0, -1.0),
        (0.0, 0.0, 1.0, 1.0, 1.0, 0.0),
        (0.5, 0.3, 0.2, 1.0, 1.0, 0.16),  # (0.5 - 0.3) * 0.8
        (0.5, 0.3, 0.2, 1.0, 2.0, -0.08),  # (0.5 - 0.6) * 0.8
        (0.4, 0.1, 0.5, 2.0, 3.0, 0.25),  # (0.8 - 0.3) * 0.5
    ],
)
def test_dcs_hand_computed(p_c, p_w, p_idk, l_c, l_w, expected):
    assert distributional_correctness(p_c, p_w, p_idk, reward_correct=l_c, penalty_wrong=l_w) == pytest.approx(expected)


def test_dcs_rejects_non_probabilities():
    with pytest.raises(ValueError, match="probabilities"):
        distributional_correctness(0.8, 0.5, 0.0)
    with pytest.raises(ValueError, match="probabilities"):
        distributional_correctness(-0.1, 0.5, 0.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-20, 0), min_size=4, max_size=4), st.sampled_from("ABC"), st.floats(0.1, 3))
def test_dcs_from_logprobs_matches_the_formula(logprobs, correct, penalty):
    table = dict(zip("ABCD", logprobs, strict=True))
    weights = {k: math.exp(v) for k, v in table.items()}
    total = sum(weights.values())
    p = {k: w / total for k, w in weights.items()}
    p_wrong = sum(v for k, v in p.items() if k not in (correct, "D"))
    value, error = dcs_from_logprobs(table, correct, "D", "ABCD", penalty_wrong=penalty)
    assert error is None
    assert value == pytest.approx((p[correct] - penalty * p_wrong) * (1 - p["D"]), abs=1e-12)


def test_dcs_from_logprobs_without_valid_options():
    assert dcs_from_logprobs({"Z": 0.0}, "A", "D", "ABCD")[0] is None


@pytest.mark.parametrize(
    ("response", "choice"),
    [("<answer>B</answer>", "B"), ("<answer>(b)</answer>", "B"), ("Answer: C", "C"), ("\\boxed{A}", "A"),
     ("<answer>I don't know</answer>", "D"), ("<answer>15</answer>", "B"), ("<answer>A. 12</answer>", "A"),
     ("<answer>A</answer> then <answer>C</answer>", "C")],
)
def test_read_choice_accepts_letters_and_option_texts(response, choice):
    assert read_choice(response, OPTIONS) == (choice, None)


@pytest.mark.parametrize("response", ["", "A", "<answer>A or B</answer>", "<answer>E</answer>", "<answer>A. 15</answer>",
                                      "\\boxed{A} \\boxed{B}", None, "x" * 200_000])
def test_read_choice_refuses_with_a_reason(response):
    choice, error = read_choice(response, OPTIONS)
    assert choice is None and error


def test_ternary_abstention_reward():
    rewards = abstention_reward(
        ["<answer>A</answer>", "<answer>B</answer>", "<answer>D</answer>", "garbage"],
        answer=["A"] * 4, options=[OPTIONS] * 4, abstain=["D"] * 4, reward_correct=2.0, penalty_wrong=3.0,
    )
    assert rewards == [2.0, -3.0, 0.0, -3.0]
    garbage = abstention_score("garbage", "A", OPTIONS, "D")
    assert garbage.components["format"] == 0.0 and garbage.error
    abstained = abstention_score("<answer>D</answer>", "A", OPTIONS, "D")
    assert abstained.components == {"correct": 0.0, "abstained": 1.0, "wrong": 0.0, "format": 1.0}


def test_diversity_worked_example():
    text = "The economist counts costs while the historian recalls precedent, so the answer is 7."
    # roles: economist, historian -> 0.2 * 2/4 = 0.1; all 13 bigrams distinct -> 0.1 * 1
    score = diversity_score(text, correct=1)
    assert score.components["roles"] == 2.0 and score.components["distinct_2"] == 1.0
    assert score.reward == pytest.approx(1.2)
    many = " ".join(f"A {role} agrees." for role in ROLE_LEXICON)  # 16 roles, capped at K = 4
    assert diversity_score(many, 1).reward == pytest.approx(1 + 0.2 + 0.1 * distinct_2(many))


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_a_wrong_answer_scores_zero_whatever_its_diversity(text):
    assert diversity_reward([text, text + " economist engineer lawyer doctor"], correct=[0, 0]) == [0.0, 0.0]


SENTENCES = {role: f"Seen as a {role}, the plan changes what {index} people must do." for index, role
             in enumerate(ROLE_LEXICON)}


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(ROLE_LEXICON), min_size=1, max_size=6, unique=True), st.data())
def test_repeating_a_role_does_not_raise_the_reward(roles, data):
    base = " ".join(SENTENCES[r] for r in roles) + " The answer is 7."
    repeated_role = data.draw(st.sampled_from(roles))
    copies = data.draw(st.integers(1, 4))
    repeated = base + (" " + SENTENCES[repeated_role]) * copies
    mention_only = base + f" Again, the {repeated_role} view."
    reward = diversity_score(base, 1).reward
    assert diversity_score(repeated, 1).reward <= reward
    assert diversity_score(repeated, 1).components["roles"] == len(roles)
    assert diversity_score(mention_only, 1).components["roles"] == len(roles)


def test_diversity_reward_from_gold_answers():
    rewards = diversity_reward(["An economist says \\boxed{3}.", "An economist says \\boxed{4}."], answer=["3", "3"])
    assert rewards[0] > 1.0 and rewards[1] == 0.0
    with pytest.raises(ValueError, match="needs `correct`"):
        diversity_reward(["x"])
