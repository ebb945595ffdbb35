"""Tests of two-player twenty questions: conformance, scripted players, posterior, rewards, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pettingzoo.test import api_test, seed_test

from rlvr.agents.elicitation import lying_answer, noisy_answer, play
from rlvr.envs import twenty_questions_v0
from rlvr.envs.elicitation import bayes
from rlvr.envs.elicitation.two_player_env import (
    ANSWERER,
    NO,
    QUESTIONER,
    YES,
    greedy_question,
    truthful_answer,
)

SEEDS = range(60)


@pytest.fixture(autouse=True)
def _quiet_pettingzoo():
    # PettingZoo warns about text and dict observations; both are by design here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


@pytest.mark.parametrize("action_mode", ["discrete", "text"])
@pytest.mark.parametrize("answerer_reward", ["truthful", "team"])
def test_pettingzoo_api(action_mode, answerer_reward):
    api_test(twenty_questions_v0.env(action_mode=action_mode, answerer_reward=answerer_reward), num_cycles=30)


def test_pettingzoo_seed():
    seed_test(lambda: twenty_questions_v0.env(), num_cycles=20)


def test_parallel_mode_is_refused_with_a_reason():
    with pytest.raises(NotImplementedError, match="turn-based"):
        twenty_questions_v0.parallel_env()


def success_rate(answerer, **kwargs):
    env = twenty_questions_v0.env(**kwargs)
    return np.mean([play(env, greedy_question, answerer, seed=s)["correct"] for s in SEEDS])


def test_truthful_answerer_and_greedy_questioner_mostly_succeed_and_lies_hurt():
    truthful, noisy, lying = (success_rate(a) for a in (truthful_answer, noisy_answer, lying_answer))
    assert truthful >= 0.95
    assert noisy >= 0.85
    assert lying <= 0.2 < truthful - 0.5


def test_text_mode_plays_the_same_game_as_discrete():
    for seed in range(10):
        discrete = play(twenty_questions_v0.env(), greedy_question, noisy_answer, seed=seed)
        text = play(twenty_questions_v0.env(action_mode="text"), greedy_question, noisy_answer, seed=seed)
        assert discrete == text


def test_rewards_truthful_and_team():
    truthful = play(twenty_questions_v0.env(), greedy_question, truthful_answer, seed=4)
    assert truthful["returns"][ANSWERER] == truthful["questions_used"] == truthful["truthful_answers"] > 0
    lying = play(twenty_questions_v0.env(), greedy_question, lying_answer, seed=4)
    assert lying["returns"][ANSWERER] == 0.0 == lying["truthful_answers"]
    team = play(twenty_questions_v0.env(answerer_reward="team"), greedy_question, truthful_answer, seed=4)
    assert team["returns"][ANSWERER] == pytest.approx(team["returns"][QUESTIONER])
    # Truthful answers to a correct guess: gains telescope to H(prior) and the bonus is paid.
    assert team["correct"] and team["returns"][QUESTIONER] == pytest.approx(np.log2(8) + 1.0, abs=0.2)


def brute_force_posterior(content, asked):
    """P(entity | answers) by enumerating entities with the eps-noise answer model, from content."""
    eps = float(content["eps"])
    weights = []
    for row in content["table"]:
        weight = 1.0
        for question, answer in asked:
            says_yes = row[question] == "1"
            weight *= (1 - eps) if says_yes == (answer == YES) else eps
        weights.append(weight)
    weights = np.array(weights)
    return weights / weights.sum()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), moves=st.lists(st.tuples(st.integers(0, 11), st.booleans()), max_size=10))
def test_questioner_posterior_equals_enumeration(seed, moves):
    env = twenty_questions_v0.env(seed=seed)
    env.reset()
    asked, total = [], 0.0
    for question, answer_yes in moves:
        env.step(question)
        answer = YES if answer_yes else NO
        env.step(answer)
        asked.append((question, answer))
        total += env.rewards[QUESTIONER]
    np.testing.assert_allclose(env.posterior, brute_force_posterior(env.problem.content, asked), atol=1e-12)
    # Realised gains telescope to the entropy drop (eps > 0: no answer is a contradiction).
    assert total == pytest.approx(bayes.entropy_bits(env.model.prior) - bayes.entropy_bits(env.posterior))


def test_contradiction_with_noiseless_model_is_flagged_not_a_crash():
    env = twenty_questions_v0.env(eps=0.0, seed=1)
    env.reset()
    env.step(0)
    truth = env.truth(0)
    env.step(truth)
    before = env.posterior.copy()
    env.step(0)
    env.step(1 - truth)
    assert env.infos[QUESTIONER]["contradiction"] is True
    assert env.rewards == {QUESTIONER: 0.0, ANSWERER: 0.0}
    np.testing.assert_array_equal(env.posterior, before)


def test_budget_ends_the_game_unsolved():
    env = twenty_questions_v0.env(budget=2, seed=0)
    env.reset()
    for _ in range(2):
        env.step(0)
        env.step(YES)
    env.step(1)  # a third question: a guess was due
    assert all(env.terminations.values()) and env.infos[QUESTIONER]["correct"] is False


GARBAGE = st.one_of(st.none(), st.integers(-5, 50), st.text(max_size=30), st.floats(allow_nan=True),
                    st.just("ask: glowing"), st.just("yes"), st.just("guess: nobody"), st.just(True),
                    st.lists(st.integers(), max_size=3), st.just(np.array([3])), st.just("x" * 400))


@settings(max_examples=60, deadline=None)
@given(action_mode=st.sampled_from(["discrete", "text"]), seed=st.integers(0, 1000),
       actions=st.lists(GARBAGE, min_size=1, max_size=40))
def test_garbage_actions_never_crash(action_mode, seed, actions):
    env = twenty_questions_v0.env(action_mode=action_mode, seed=seed)
    env.reset()
    for action in actions:
        if not env.agents:
            break
        if env.terminations[env.agent_selection]:
            env.step(None)
            continue
        env.step(action)
        for agent in env.agents:
            assert np.isfinite(env.rewards[agent])
            assert env.observation_space(agent).contains(env.observe(agent))
    assert env.questions_used <= env.budget + 1
