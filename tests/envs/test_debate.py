"""Tests of rlvr/Debate-v0: PettingZoo conformance, the vote, the reward, messages.

The simulated debaters are tested in tests/agents, the experiment in tests/experiments.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test

from rlvr.envs import debate_v0
from rlvr.envs.debate import RewardWeights, debate_reward, majority_vote, parse_message, select_diverse
from rlvr.registration import load

EASY = {"num_ops": 1}


@pytest.fixture(autouse=True)
def _quiet_pettingzoo():
    # PettingZoo's api test warns that text observations are not numpy arrays; that is by design.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


@pytest.mark.parametrize("options", [{}, {"init": "diverse", "update": "confidence"}])
def test_pettingzoo_api(options):
    parallel_api_test(debate_v0.parallel_env(difficulty=EASY, **options), num_cycles=5)
    api_test(debate_v0.env(difficulty=EASY, **options), num_cycles=5)


def test_pettingzoo_seed():
    parallel_seed_test(lambda: debate_v0.parallel_env(difficulty=EASY, update="confidence"), num_cycles=5)
    seed_test(lambda: debate_v0.env(difficulty=EASY), num_cycles=5)


def test_registered_entry_point_works_with_make_multi():
    import rlvr

    assert load(rlvr.entry("rlvr/Debate-v0").entry_point) is debate_v0
    parallel = rlvr.make_multi("rlvr/Debate-v0", mode="parallel", num_debaters=2, difficulty=EASY)
    aec = rlvr.make_multi("rlvr/Debate-v0", mode="aec", num_debaters=2, difficulty=EASY)
    assert parallel.possible_agents == aec.possible_agents == ["debater_0", "debater_1"]


def gold_of(env):
    return str(env.problem.answer)


def play(env, rounds_of_actions):
    out = None
    for actions in rounds_of_actions:
        out = env.step(actions)
    return out


def test_structured_and_text_actions_and_final_reward():
    env = debate_v0.parallel_env(num_debaters=3, rounds=2, difficulty=EASY, update="confidence")
    observations, _ = env.reset(seed=3)
    gold = gold_of(env)
    assert env.problem.prompt in observations["debater_0"]
    first = {
        "debater_0": {"answer": gold, "confidence": 0.9, "rationale": "worked it out"},
        "debater_1": f"answer: {gold}\nconfidence: 60%\nrationale: same",
        "debater_2": "I think it is \\boxed{123456789}",  # free-form, scored by the task's own extraction
    }
    observations, rewards, terminations, _, infos = env.step(first)
    assert rewards == {a: 0.0 for a in env.possible_agents} and not any(terminations.values())
    assert "confidence: 0.90" in observations["debater_1"] and "worked it out" in observations["debater_1"]
    assert infos["debater_2"]["own"]["answer"] == "123456789" and infos["debater_2"]["own"]["confidence"] == 0.5
    assert infos["debater_0"]["baseline_vote_correct"] is True
    second = {"debater_0": {"answer": gold, "confidence": 0.8}, "debater_1": "answer: 123456789\nconfidence: 0.3",
              "debater_2": 12345}
    _, rewards, terminations, _, infos = env.step(second)
    assert all(terminations.values()) and env.agents == []
    # Vote: 1 for gold, 1 for 123456789, 1 none -> tie broken by confidence 0.8 > 0.3 -> gold.
    assert infos["debater_0"]["vote"]["how"] == "confidence" and infos["debater_0"]["vote"]["correct"]
    assert rewards["debater_0"] == pytest.approx(1 + 1 - (0.8 - 1) ** 2)
    assert rewards["debater_1"] == pytest.approx(0 + 1 - (0.3 - 0) ** 2)
    assert rewards["debater_2"] == 0.0 and "string or a dict" in infos["debater_2"]["error"]
    assert len(infos["debater_0"]["transcript"]) == 2 and infos["debater_0"]["gold"] == gold


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.text(max_size=200), st.integers(), st.none(), st.lists(st.text(max_size=5)),
                 st.dictionaries(st.text(max_size=10), st.one_of(st.text(max_size=10), st.floats()))))
def test_garbage_actions_never_crash(action):
    env = debate_v0.parallel_env(num_debaters=2, rounds=1, difficulty=EASY)
    env.reset(seed=0)
    _, rewards, _, _, infos = env.step({"debater_0": action, "debater_1": action})
    for agent in env.possible_agents:
        assert np.isfinite(rewards[agent])
        if not infos[agent]["own"]["valid"]:
            assert rewards[agent] == 0.0 and infos[agent]["error"]


def test_parse_message_forms():
    assert parse_message("answer: 12\nconfidence: 0.25").response == "12"
    assert parse_message("answer: 12\nconfidence: 0.25").confidence == 0.25
    assert parse_message({"answer": "12", "confidence": 1.5}).error.startswith("confidence must be in [0, 1]")
    assert parse_message({"answer": "12", "extra": 1}).error is not None
    assert parse_message("answer: 3\nconfidence: sure").response is None
    free = parse_message("so the value is \\boxed{4}\nconfidence: 0.7")
    assert free.response.strip() == "so the value is \\boxed{4}" and free.confidence == 0.7


def test_majority_vote_and_tie_breaking():
    rng = np.random.default_rng(0)
    assert majority_vote(["1/2", "3", "1/2"], [0.1, 0.9, 0.1], rng) == ("1/2", "majority")
    assert majority_vote(["1", "2", None], [0.6, 0.5, 1.0], rng) == ("1", "confidence")
    assert majority_vote(["1", "2"], [0.1 + 0.2, 0.3], rng)[1] == "random"  # equal up to rounding
    assert majority_vote([None, None], [0.5, 0.5], rng) == (None, "no answers")
    winners = {majority_vote(["a", "b"], [0.5, 0.5], np.random.default_rng(s))[0] for s in range(40)}
    assert winners == {"a", "b"}
    again = [majority_vote(["a", "b"], [0.5, 0.5], np.random.default_rng(s))[0] for s in range(40)]
    assert again == [majority_vote(["a", "b"], [0.5, 0.5], np.random.default_rng(s))[0] for s in range(40)]


def test_select_diverse_maximises_distinct_answers():
    rng = np.random.default_rng(0)
    for _ in range(50):
        keys = list(rng.choice(["a", "b", "c", None], size=7))
        keys = [None if k == "None" else str(k) for k in keys]
        for n in (1, 3, 5):
            chosen = select_diverse(keys, n, rng)
            assert len(set(chosen)) == n
            distinct = {k for k in keys if k is not None}
            assert len({keys[i] for i in chosen if keys[i] is not None}) == min(n, len(distinct))


def test_brier_reward_worked_numbers():
    assert debate_reward(True, True, 1.0).total == 2.0
    assert debate_reward(False, False, 1.0).total == -1.0
    assert debate_reward(True, False, 0.6).total == pytest.approx(1 - 0.16)
    custom = debate_reward(False, True, 0.2, RewardWeights(own=2.0, vote=0.5, brier=3.0))
    assert custom.total == pytest.approx(0.5 - 3 * 0.04) and custom.components()["brier_penalty"] == pytest.approx(0.12)


def test_env_diverse_init_keeps_distinct_answers():
    env = debate_v0.parallel_env(num_debaters=2, rounds=1, init="diverse", difficulty=EASY)
    env.reset(seed=1)
    gold = gold_of(env)
    actions = {"debater_0": [{"answer": gold}, {"answer": gold}], "debater_1": [{"answer": gold}, {"answer": "999999"}]}
    _, _, _, _, infos = env.step(actions)
    kept = {infos[a]["own"]["answer"] for a in env.possible_agents}
    assert kept == {gold, "999999"} and infos["debater_1"]["round0_source"]
