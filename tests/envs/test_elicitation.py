"""Elicitation envs: closed-form information gain, exact posteriors, greedy beats random, contracts."""

from __future__ import annotations

import math
from fractions import Fraction

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.agents.elicitation import evaluate
from rlvr.envs.elicitation import bayes
from rlvr.envs.elicitation.env import ElicitationEnv, OpinionPollEnv, StudentAssessEnv, TwentyQuestionsEnv
from rlvr.envs.elicitation.task import OpinionPollTask, StudentAssessTask, TwentyQuestionsTask
from rlvr.testing import check_env_conformance, check_task

ENV_CLASSES = (TwentyQuestionsEnv, OpinionPollEnv, StudentAssessEnv)
MODES = ("discrete", "text")


def _random_belief(seed: int, targets: int, answers: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    posterior = rng.dirichlet(np.full(targets, 0.7))
    table = rng.dirichlet(np.full(answers, 0.5), size=targets)
    return posterior, table


# ---------------------------------------------------------------------- Bayesian machinery
def test_binary_symmetric_channel_worked_number():
    # uniform prior over two targets, one question answered through a channel flipping with 0.1:
    # I = 1 - H2(0.1) = 1 - (0.1 log2 10 + 0.9 log2(10/9)) = 0.5310044064...
    table = np.array([[0.9, 0.1], [0.1, 0.9]])
    expected = 1 - (0.1 * math.log2(10) + 0.9 * math.log2(10 / 9))
    assert bayes.mutual_information(np.array([0.5, 0.5]), table) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.5310044064, abs=1e-9)
    assert bayes.update(np.array([0.5, 0.5]), table, 0) == pytest.approx([0.9, 0.1])


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 9), st.integers(2, 6))
def test_expected_gain_equals_closed_form_mutual_information(seed, targets, answers):
    posterior, table = _random_belief(seed, targets, answers)
    closed = bayes.mutual_information(posterior, table)
    assert bayes.expected_gain_by_enumeration(posterior, table) == pytest.approx(closed, abs=1e-9)
    # the vectorised form over many questions agrees with the one-question form
    stacked = np.stack([table, table[::-1] if targets > 1 else table])
    assert bayes.information_gains(posterior, stacked)[0] == pytest.approx(closed, abs=1e-9)
    assert 0.0 <= closed <= min(bayes.entropy_bits(posterior), math.log2(answers)) + 1e-9


def test_uninformative_question_has_zero_gain_and_perfect_split_has_one_bit():
    posterior = np.full(4, 0.25)
    same_for_all = np.tile([0.3, 0.7], (4, 1))
    halves = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    assert bayes.mutual_information(posterior, same_for_all) == pytest.approx(0.0, abs=1e-12)
    assert bayes.mutual_information(posterior, halves) == pytest.approx(1.0)
    question, gain = bayes.greedy_question(posterior, np.stack([same_for_all, halves]))
    assert (question, gain) == (1, pytest.approx(1.0))


def _brute_force_posterior(env: ElicitationEnv, transcript: list[tuple[str, str]]) -> list[Fraction]:
    """Posterior from the problem content by direct products, independent of `bayes` and `model()`."""
    content = env.problem.content
    if isinstance(env, TwentyQuestionsEnv):
        eps = Fraction(str(content["eps"]))
        weights = []
        for row in content["table"]:
            weight = Fraction(1, len(content["table"]))
            for attribute, answer in transcript:
                truthful = (row[content["attributes"].index(attribute)] == "1") == (answer == "yes")
                weight *= (1 - eps) if truthful else eps
            weights.append(weight)
        total = sum(weights)
        return [w / total for w in weights]
    if isinstance(env, OpinionPollEnv):
        weights = []
        for group in range(len(content["groups"])):
            weight = 1.0
            for question, answer in transcript:
                row = content["tables"][content["questions"].index(question)][group]
                weight *= row[int(answer) - 1] / sum(row)
            weights.append(weight)
    else:
        weights = []
        for theta in content["grid"]:
            weight = 1.0
            for item, answer in transcript:
                j = int(item.split()[1]) - 1
                p_correct = 1 / (1 + math.exp(-content["a"][j] * (theta - content["b"][j])))
                weight *= p_correct if answer == "correct" else 1 - p_correct
            weights.append(weight)
    total = sum(weights)
    return [w / total for w in weights]


@pytest.mark.parametrize("env_class", ENV_CLASSES)
def test_posterior_matches_brute_force_enumeration(env_class):
    env = env_class(action_mode="text")
    rng = np.random.default_rng(7)
    for episode in range(15):
        env.reset(seed=100 + episode)
        transcript = []
        for _ in range(min(env.budget, 6)):
            question = env.model.question_names[int(rng.integers(len(env.model.question_names)))]
            _, _, terminated, _, info = env.step(f"ask: {question}")
            transcript.append((info["question"], info["answer"]))
            expected = [float(p) for p in _brute_force_posterior(env, transcript)]
            assert env.posterior == pytest.approx(expected, abs=1e-9)
            if terminated:
                break


@pytest.mark.parametrize("env_class", ENV_CLASSES)
def test_realised_gains_telescope_to_entropy_drop(env_class):
    env = env_class(action_mode="discrete", final_guess=False) if env_class is not TwentyQuestionsEnv \
        else env_class(bonus=0.0)
    for episode in range(10):
        _, info = env.reset(seed=episode)
        start, total, done = info["entropy"], 0.0, False
        while not done:
            _, reward, done, _, info = env.step(env.oracle_action())
            total += reward
        assert total == pytest.approx(start - info["entropy"], abs=1e-9)


# ---------------------------------------------------------------------- baselines
@pytest.mark.parametrize(("env_class", "kwargs", "margin"), [
    (TwentyQuestionsEnv, {}, 0.07),
    (TwentyQuestionsEnv, {"entities": 16, "budget": 6}, 0.07),
    (StudentAssessEnv, {}, 0.15),
])
def test_greedy_questioner_beats_random_questions(env_class, kwargs, margin):
    episodes = 300
    greedy = evaluate(env_class(**kwargs), "greedy", episodes, seed=11)
    random = evaluate(env_class(**kwargs), "random", episodes, seed=11)
    # a two-proportion z statistic above 3 keeps the comparison clear of sampling noise
    pooled = (greedy.success_rate + random.success_rate) / 2
    z = (greedy.success_rate - random.success_rate) / math.sqrt(2 * pooled * (1 - pooled) / episodes)
    assert greedy.success_rate - random.success_rate > margin and z > 3, (greedy, random)
    assert greedy.mean_questions <= random.mean_questions


# ---------------------------------------------------------------------- episode rules
def _twenty_questions(**kwargs) -> TwentyQuestionsEnv:
    env = TwentyQuestionsEnv(action_mode="text", **kwargs)
    env.reset(seed=3)
    return env


def test_right_guess_pays_bonus_and_wrong_guess_ends_with_zero():
    env = _twenty_questions(bonus=2.5)
    _, reward, terminated, _, info = env.step(f"guess: {env.problem.answer.upper()}")
    assert (reward, terminated, info["correct"], info["error"]) == (2.5, True, True, None)
    env = _twenty_questions()
    wrong = next(n for n in env.model.target_names if n != env.problem.answer)
    _, reward, terminated, _, info = env.step(f"GUESS :  {wrong}")
    assert (reward, terminated, info["correct"]) == (0.0, True, False) and "not the hidden" in info["error"]


def test_budget_then_a_guess_is_due():
    env = _twenty_questions(budget=2)
    question = f"ask: {env.model.question_names[0]}"
    assert not env.step(question)[2] and not env.step(question)[2]
    _, reward, terminated, _, info = env.step(question)
    assert terminated and reward == 0.0 and "a guess was due" in info["error"] and not info["correct"]


@pytest.mark.parametrize(("action", "reason"), [
    ("hello", "expected 'ask: <question>'"), ("ask: nothing-like-this", "names no question"),
    ("guess: Nobody", "names no answer"), ("ask: " + "x" * 400, "at most"), (7, "must be a string"),
])
def test_unreadable_text_scores_zero_and_uses_a_question(action, reason):
    env = _twenty_questions(budget=1)
    _, reward, terminated, _, info = env.step(action)
    assert (reward, terminated, info["questions_used"]) == (0.0, False, 1) and reason in info["error"]
    _, reward, terminated, _, info = env.step(action)  # the budget is spent: the episode ends unsolved
    assert terminated and reward == 0.0 and not info["correct"]


def test_without_final_guess_the_episode_ends_at_the_budget():
    env = OpinionPollEnv(action_mode="text", budget=3)
    env.reset(seed=0)
    assert "final_guess=False" in env.step(f"guess: {env.problem.answer}")[4]["error"]
    env.step("ask: q1")
    _, _, terminated, _, info = env.step("ask: q2")
    assert terminated and info["correct"] == (info["map_target"] == env.problem.answer)
    assert OpinionPollEnv(final_guess=True).action_space.n == 12 + 4 and OpinionPollEnv().action_space.n == 12


def test_discrete_mode_refuses_shape_changes_but_text_mode_takes_them():
    env = TwentyQuestionsEnv()
    env.reset(seed=0, options={"difficulty": {"eps": 0.2, "budget": 4}})
    with pytest.raises(ValueError, match="fixed at construction"):
        env.reset(options={"difficulty": {"entities": 9}})
    text_env = TwentyQuestionsEnv(action_mode="text")
    _, info = text_env.reset(seed=0, options={"difficulty": {"entities": 9}})
    assert len(text_env.model.target_names) == 9 and info["difficulty"]["entities"] == 9


def test_discrete_actions_and_observation():
    env = TwentyQuestionsEnv(entities=5, attributes=6, budget=4)
    observation, _ = env.reset(seed=1)
    assert env.action_space.n == 11 and observation["likelihood"].shape == (6, 5, 2)
    observation, _, _, _, info = env.step(np.int64(2))
    assert observation["answer_counts"][2].sum() == 1 and observation["questions_left"][0] == 3
    assert info["question"] == env.model.question_names[2]
    assert "outside" in env.step(99)[4]["error"] and "integer" in env.step("2")[4]["error"]
    assert env.step(6 + env.task.target_index(env.problem))[4]["correct"]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_any_text_action_never_raises(text):
    for env_class in ENV_CLASSES:
        env = env_class(action_mode="text")
        env.reset(seed=0)
        _, reward, _, _, info = env.step(text)
        assert math.isfinite(reward)
        assert info["error"] is None or reward == 0.0


# ---------------------------------------------------------------------- contracts
def _play(env, seed, steps=6):
    trace = []
    observation, _ = env.reset(seed=seed)
    for step in range(steps):
        action = env.oracle_action() if step % 2 else (step * 5) % env.model.likelihood.shape[0]
        if env.action_mode == "text" and not isinstance(action, str):
            action = env.encode("ask", action)
        observation, reward, terminated, _, info = env.step(action)
        trace.append((reward, info.get("answer"), info["questions_used"]))
        if terminated:
            break
    return trace


@pytest.mark.parametrize("env_class", ENV_CLASSES)
@pytest.mark.parametrize("mode", MODES)
def test_same_seed_same_episode_and_check_env(env_class, mode):
    assert _play(env_class(action_mode=mode), 5) == _play(env_class(action_mode=mode), 5)
    assert _play(env_class(action_mode=mode), 5) != _play(env_class(action_mode=mode), 6)
    check_env(env_class(action_mode=mode), skip_render_check=True)


@pytest.mark.parametrize("task_class", [TwentyQuestionsTask, OpinionPollTask, StudentAssessTask])
def test_check_task(task_class):
    problems = check_task(task_class())
    task = task_class()
    assert task.score(problems[0], problems[0].answer).correct  # a bare name also counts as a guess
    assert "question" in task.score(problems[0], f"ask: {task.model(problems[0]).question_names[0]}").error


@pytest.mark.parametrize(("env_class", "mode"), [(c, m) for c in ENV_CLASSES for m in MODES])
def test_conformance_under_a_temporary_id(env_class, mode):
    env_id = f"rlvr-test/{env_class.__name__}-{mode}-v0"
    gym.register(id=env_id, entry_point=f"{env_class.__module__}:{env_class.__name__}", kwargs={"action_mode": mode})
    try:
        check_env_conformance(env_id)
    finally:
        gym.registry.pop(env_id)


def test_stable_baselines3_env_checker():
    sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    for env_class in ENV_CLASSES:
        sb3_checker.check_env(env_class(), warn=False)
