"""Preference-style envs: Pluralistic, GTAlign, AbstainQA.

Properties from the spec (maxmin <= mean for every response; a one-hot routing context
reproduces that group's reward exactly), optimality checked by brute force, and the Task/env
conformance checks.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.envs.preference import (
    AbstainQAEnv,
    AbstainQATask,
    GTAlignEnv,
    GTAlignTask,
    PluralisticEnv,
    PluralisticTask,
    features,
)
from rlvr.rewards.distributional import dcs_from_logprobs
from rlvr.rewards.judge import logprob_table
from rlvr.testing import check_env_conformance, check_task

TASKS = [PluralisticTask, GTAlignTask, AbstainQATask]
ENVS = [PluralisticEnv, GTAlignEnv, AbstainQAEnv]


@pytest.mark.parametrize("task_class", TASKS)
def test_task_conformance(task_class):
    check_task(task_class(), n=25)


@pytest.mark.parametrize("env_class", ENVS)
def test_gymnasium_check_env(env_class):
    check_env(env_class(), skip_render_check=True)


@pytest.mark.parametrize("env_class", ENVS)
def test_conformance_under_a_temporary_id(env_class):
    env_id = f"rlvr-test/{env_class.__name__}-v0"
    gym.register(id=env_id, entry_point=f"{env_class.__module__}:{env_class.__name__}")
    try:
        check_env_conformance(env_id, episodes=8)
    finally:
        gym.registry.pop(env_id)


# ------------------------------------------------------------------------------- Pluralistic

reply_text = st.builds(
    lambda words, markers, bullets, numbers, noise: "<response>" + " ".join(words + markers + numbers)
    + "\n- item" * bullets + noise + "</response>",
    st.lists(st.sampled_from(["tip", "rest", "plan", "walk"]), max_size=50),
    st.lists(st.sampled_from(["please", "thanks", "sorry", "kindly"]), max_size=4),
    st.integers(0, 5),
    st.lists(st.integers(0, 999).map(str), max_size=5),
    st.text(max_size=40).filter(lambda t: "</response>" not in t),
)


def pluralistic_problem(mode: str, seed: int, groups: int = 3):
    return PluralisticTask().problem_at(seed, 0, {"mode": mode, "groups": groups})


@settings(max_examples=60, deadline=None)
@given(reply_text, st.integers(0, 50), st.integers(1, 6))
def test_maxmin_is_at_most_mean_for_every_response(text, seed, groups):
    task = PluralisticTask()
    mean = task.score(pluralistic_problem("mean", seed, groups), text)
    maxmin = task.score(pluralistic_problem("maxmin", seed, groups), text)
    assert maxmin.reward <= mean.reward + 1e-12
    assert maxmin.reward == pytest.approx(min(maxmin.components[f"group_{k}"] for k in range(groups)))


@settings(max_examples=60, deadline=None)
@given(reply_text, st.integers(0, 50))
def test_one_hot_context_reproduces_that_groups_reward_exactly(text, seed):
    task = PluralisticTask()
    routed = pluralistic_problem("routed", seed)
    route = routed.content["route"]
    context = [1 if k == route else 0 for k in range(3)]
    assert f"Context (one-hot over groups): {context}" in routed.prompt
    # the same groups scored under mode "mean" (same seed, same draws) give each group's reward
    mean = pluralistic_problem("mean", seed)
    assert mean.content["weights"] == routed.content["weights"]
    assert task.score(routed, text).reward == task.score(mean, text).components[f"group_{route}"]


def independent_group_reward(weights, phi):
    total = sum(abs(w) for w in weights)
    return sum(w * p if w >= 0 else -w * (1 - p) for w, p in zip(weights, phi, strict=True)) / total


@settings(max_examples=40, deadline=None)
@given(reply_text, st.sampled_from(["mean", "maxmin", "routed"]), st.integers(0, 30))
def test_no_reply_beats_the_oracle_and_rewards_match_an_independent_formula(text, mode, seed):
    task = PluralisticTask()
    problem = pluralistic_problem(mode, seed)
    score = task.score(problem, text)
    best = task.score(problem, task.solve(problem))
    assert best.correct and score.reward <= best.reward + 1e-12
    phi = features(text.split("<response>")[1].split("</response>")[0])
    groups = [independent_group_reward(w, phi) for w in problem.content["weights"]]
    assert [score.components[f"group_{k}"] for k in range(3)] == pytest.approx(groups)


def test_features_worked_example():
    text = "Thank you, please kindly read this.\n1. Sleep 8 hours\n* eat 2.5 apples\n- rest"
    # content words: you read this sleep hours eat apples rest = 8; markers thank, please, kindly -> capped 2;
    # bullets 3; numerals 8 and 2.5 (the "1." bullet is not a numeral)
    assert features(text).tolist() == pytest.approx([8 / 40, 1.0, 1.0, 2 / 3])


def test_missing_tags_score_zero_with_reason():
    task = PluralisticTask()
    problem = pluralistic_problem("mean", 0)
    score = task.score(problem, "please - 1 2 3")
    assert score.reward == 0.0 and "<response>" in score.error


# ---------------------------------------------------------------------------------- GTAlign


@pytest.mark.parametrize("trap", [False, True])
def test_gtalign_rewards_are_normalised_welfare(trap):
    task = GTAlignTask()
    for index in range(15):
        problem = task.problem_at(3, index, {"strategies": 4, "user_types": 3, "trap": trap})
        row = problem.content["row"]
        user, assistant = problem.content["user"][row], problem.content["assistant"][row]
        welfare = [math.sqrt(u * a) for u, a in zip(user, assistant, strict=True)]
        best = max(welfare)
        for code, w in zip(problem.content["strategies"], welfare, strict=True):
            score = task.score(problem, f"I pick <answer>{code}</answer>")
            assert score.reward == pytest.approx(w / best)
            assert score.correct == (w == best)
        if trap:
            gold = problem.content["strategies"].index(problem.answer)
            assert gold != int(np.argmax(user)) and gold != int(np.argmax(assistant))


def test_gtalign_accepts_names_and_refuses_strategies_not_in_the_table():
    task = GTAlignTask()
    problem = task.problem_at(0, 0, {"strategies": 2})
    assert task.score(problem, "<answer>" + problem.answer.lower() + "</answer>").correct
    outside = next(c for c in ("DA", "CQ", "AQ", "SA") if c not in problem.content["strategies"])
    refused = task.score(problem, f"<answer>{outside}</answer>")
    assert refused.reward == 0.0 and "expected one strategy" in refused.error


# ------------------------------------------------------------------------------- AbstainQA


def test_abstainqa_ternary_reward_and_components():
    task = AbstainQATask(reward_correct=1.0, penalty_wrong=2.0)
    for index in range(20):
        problem = task.problem_at(5, index)
        letters, abstain = problem.metadata["letters"], problem.metadata["abstain"]
        assert problem.content["options"][abstain] == "I don't know" and abstain == letters[-1]
        wrong = next(x for x in letters if x not in (problem.answer, abstain))
        assert task.score(problem, f"<answer>{problem.answer}</answer>").reward == 1.0
        assert task.score(problem, f"<answer>{wrong}</answer>").reward == -2.0
        abstained = task.score(problem, "<answer>I don't know</answer>")
        assert abstained.reward == 0.0 and abstained.components["abstained"] == 1.0
        assert task.score(problem, "no letter").reward == -2.0


def test_abstainqa_gold_is_right_and_unanswerable_facts_are_absent():
    task = AbstainQATask()
    seen = set()
    for index in range(40):
        problem = task.problem_at(2, index, {"source": "facts", "unanswerable_rate": 0.5})
        gold = problem.content["options"][problem.answer]
        assert gold == problem.metadata["gold_text"]
        name = problem.content["question"].split("What is the ")[1].split(" of ")[1].rstrip("?")
        stated = f"of {name} is {gold}." in problem.prompt
        assert stated == bool(problem.content["answerable"])
        seen.add(problem.content["answerable"])
    assert seen == {True, False}
    for index in range(20):
        problem = task.problem_at(2, index, {"source": "arithmetic", "digits": 2})
        x, op, y = problem.content["question"].removeprefix("What is ").rstrip("?").split()
        value = {"+": int(x) + int(y), "-": int(x) - int(y), "*": int(x) * int(y)}[op]
        assert problem.content["options"][problem.answer] == str(value)


def test_abstainqa_dcs_from_an_option_distribution():
    problem = AbstainQATask().problem_at(0, 0, {"options": 2})  # two substantive options and "I don't know"
    letters, abstain, gold = problem.metadata["letters"], problem.metadata["abstain"], problem.answer
    wrong = next(x for x in letters if x not in (gold, abstain))
    table = logprob_table({gold: 0.6, wrong: 0.1, abstain: 0.3})
    value, error = dcs_from_logprobs(table, gold, abstain, letters)
    assert error is None and value == pytest.approx((0.6 - 0.1) * 0.7)
