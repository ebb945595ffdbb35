"""Tests for `rlvr/RandomCalc-v0`: exact arithmetic over random k-operation expression trees.

The printed expressions are checked against Python's own parser (`ast`, with `^` read as `**`),
an evaluator independent of the generator: same value as the gold, exactly k binary operations.
"""

from __future__ import annotations

import ast
import re
import statistics
import time
from fractions import Fraction

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rlvr  # noqa: F401  (registers the ids)
from rlvr.envs.random_calc import RandomCalcEnv, RandomCalcTask, relative_error_reward

ALL_OPERATORS = ("+", "-", "*", "/", "^")
GOLD_FORM = re.compile(r"-?\d+(/\d+)?")


def independent_value(expression: str) -> tuple[Fraction, int]:
    """(exact value, number of binary operations) of a printed expression, via Python's parser."""
    tree = ast.parse(expression.replace("^", "**"), mode="eval")
    operations = 0

    def walk(node: ast.AST) -> Fraction:
        nonlocal operations
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return Fraction(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            assert isinstance(node.operand, ast.Constant), "unary minus only on a literal: (-3)"
            return -walk(node.operand)
        assert isinstance(node, ast.BinOp), f"unexpected syntax {ast.dump(node)}"
        operations += 1
        left, right = walk(node.left), walk(node.right)
        if isinstance(node.op, ast.Pow):
            assert isinstance(node.right, ast.Constant) and 2 <= right <= 6
            return left ** int(right)
        return {ast.Add: left.__add__, ast.Sub: left.__sub__, ast.Mult: left.__mul__, ast.Div: left.__truediv__}[
            type(node.op)
        ](right)

    value = walk(tree)
    return value, operations


@pytest.mark.parametrize("num_ops", range(1, 21))
@pytest.mark.parametrize("operators", [("+", "-", "*", "/"), ALL_OPERATORS])
def test_printed_expression_has_exactly_k_operations_and_evaluates_to_gold(num_ops, operators):
    task = RandomCalcTask()
    difficulty = {"num_ops": num_ops, "operators": operators, "min_operand": -9, "max_operand": 20}
    for seed in range(12):
        problem = task.problem_at(seed, 0, difficulty)
        expression = problem.content["expression"]
        value, operations = independent_value(expression)
        assert operations == num_ops, expression
        assert value == Fraction(problem.answer), expression
        assert GOLD_FORM.fullmatch(problem.answer) and str(Fraction(problem.answer)) == problem.answer
        assert expression in problem.prompt


def test_answers_respect_the_caps_and_integer_only_mode():
    task = RandomCalcTask()
    for seed in range(60):
        problem = task.problem_at(seed, 0, {"num_ops": 8, "max_numerator": 500, "max_denominator": 7})
        gold = Fraction(problem.answer)
        assert abs(gold.numerator) <= 500 and gold.denominator <= 7
        integer = task.problem_at(seed, 0, {"num_ops": 8, "max_denominator": 1})
        assert Fraction(integer.answer).denominator == 1
        assert "/" not in integer.answer


def test_powers_appear_with_bounded_exponents():
    task = RandomCalcTask()
    exponents = []
    for seed in range(80):
        problem = task.problem_at(seed, 0, {"num_ops": 5, "operators": ALL_OPERATORS, "max_exponent": 3})
        exponents += [int(e) for e in re.findall(r"\^(\d+)", problem.content["expression"])]
    assert exponents and set(exponents) <= {2, 3}
    assert "exponentiation" in task.problem_at(0, 0, {"num_ops": 1, "operators": ("^",)}).prompt


def test_oracle_scores_correct_and_mutations_score_zero():
    task = RandomCalcTask()
    for seed in range(150):
        problem = task.problem_at(seed, 0, {"num_ops": 1 + seed % 20})
        gold = Fraction(problem.answer)
        oracle = task.score(problem, task.solve(problem))
        assert oracle.reward == 1.0 and oracle.correct and oracle.components["relative_error_reward"] == 1.0
        for wrong in (gold + 1, gold - Fraction(1, 7), Fraction(gold.numerator, gold.denominator + 1)):
            score = task.score(problem, f"\\boxed{{{wrong}}}")
            assert score.reward == 0.0 and not score.correct, (problem.answer, wrong)
            assert 0.0 <= score.components["relative_error_reward"] < 1.0
            assert problem.answer in score.error


def test_equivalent_answer_forms_are_accepted():
    task = RandomCalcTask()
    problem = task.make_problem("q", {"expression": "7 / 4"}, "7/4", task.difficulty())
    for response in ("\\boxed{\\frac{7}{4}}", "\\boxed{1.75}", "Answer: 7/4", "so the value is 14/8", "\\boxed{$7/4$}"):
        assert task.score(problem, response).correct, response
    negative = task.make_problem("q", {"expression": "1 - 4"}, "-3", task.difficulty())
    assert task.score(negative, "\\boxed{-3}").correct
    assert task.score(negative, "\\boxed{\u22123}").correct  # unicode minus sign
    hedged = task.score(negative, "Answer: -3 or 3")
    assert hedged.reward == 0.0 and "hedged" in hedged.error


def test_restating_the_expression_earns_nothing():
    task = RandomCalcTask()
    for seed in range(20):
        problem = task.problem_at(seed, 0, {"num_ops": 3})
        score = task.score(problem, f"\\boxed{{{problem.content['expression']}}}")
        assert score.reward == 0.0 and "expression" in score.error


def test_dense_component_is_ours_bounded_and_one_only_when_exact():
    assert relative_error_reward(Fraction(10), Fraction(10)) == 1.0
    assert relative_error_reward(Fraction(10), Fraction(9)) == pytest.approx(0.81)
    assert relative_error_reward(Fraction(10), Fraction(-10)) == 0.0
    assert relative_error_reward(Fraction(0), Fraction(1, 2)) == pytest.approx(0.45)
    # A tiny error must not round up to 1.0 in float.
    assert relative_error_reward(Fraction(10**6), Fraction(10**6) + Fraction(1, 10**15)) < 1.0


@given(
    st.fractions(max_denominator=10**4).filter(lambda f: abs(f) < 10**7),
    st.fractions(max_denominator=10**6).filter(lambda f: abs(f) < 10**9),
)
def test_dense_component_property(gold, answer):
    reward = relative_error_reward(gold, answer)
    assert 0.0 <= reward <= 1.0
    assert (reward == 1.0) == (gold == answer)


def test_dense_reward_option_makes_the_component_the_reward():
    problem = RandomCalcTask().make_problem("q", {"expression": "5 * 2"}, "10", RandomCalcTask().difficulty())
    logged = RandomCalcTask().score(problem, "\\boxed{9}")
    assert logged.reward == 0.0 and logged.components["relative_error_reward"] == pytest.approx(0.81)
    dense = RandomCalcTask(dense_reward=True).score(problem, "\\boxed{9}")
    assert dense.reward == pytest.approx(0.81) and dense.components["correct"] == 0.0
    env = RandomCalcEnv(dense_reward=True, num_ops=2)
    env.reset(seed=3)
    gold = Fraction(env.problem.answer)
    _, reward, terminated, _, info = env.step(f"\\boxed{{{gold * 2 if gold else 1}}}")
    assert terminated and 0.0 <= reward < 1.0 and reward == info["components"]["relative_error_reward"]


def test_extraction_modes_are_configurable():
    problem = RandomCalcTask().make_problem("q", {"expression": "2 + 3"}, "5", RandomCalcTask().difficulty())
    assert RandomCalcTask().score(problem, "The value is 5").correct
    boxed_only = RandomCalcTask(extraction=("boxed",))
    assert not boxed_only.score(problem, "The value is 5").correct
    assert boxed_only.score(problem, "\\boxed{5}").correct
    with pytest.raises(ValueError, match="extraction"):
        RandomCalcTask(extraction=("boxd",))


def test_determinism_under_a_seed():
    env_a, env_b = RandomCalcEnv(num_ops=6), RandomCalcEnv(num_ops=6)
    first = [env_a.reset(seed=7)[0]] + [env_a.reset()[0] for _ in range(9)]
    second = [env_b.reset(seed=7)[0]] + [env_b.reset()[0] for _ in range(9)]
    assert first == second and len(set(first)) == 10
    other = [env_b.reset(seed=8)[0]] + [env_b.reset()[0] for _ in range(9)]
    assert not set(other) & set(first)


@pytest.mark.parametrize("difficulty", [{"num_ops": 3}, {"num_ops": 1, "min_operand": 1, "max_operand": 4}])
def test_split_option_keeps_train_and_eval_disjoint(difficulty):
    ids = {}
    for split in ("train", "eval"):
        env = RandomCalcEnv(split=split, **difficulty)
        env.reset(seed=0)
        ids[split] = set()
        for _ in range(60):
            _, info = env.reset()
            assert env.problem.split == split
            ids[split].add(info["problem_id"])
    assert not ids["train"] & ids["eval"]


def test_check_env_passes():
    check_env(gym.make("rlvr/RandomCalc-v0").unwrapped)


def test_step_info_carries_gold_and_components():
    env = gym.make("rlvr/RandomCalc-v0", num_ops=5)
    env.reset(seed=1)
    problem = env.unwrapped.problem
    _, reward, terminated, truncated, info = env.step(env.unwrapped.task.solve(problem))
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["gold"] == problem.answer and info["parsed_answer"] == problem.answer
    assert set(info["components"]) == {"correct", "relative_error_reward"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=300),
        st.builds(lambda s: f"\\boxed{{{s}}}", st.text(max_size=60)),
        st.builds(lambda s: f"Answer: {s}", st.text(alphabet="0123456789-/.,+ ()^*", max_size=40)),
    )
)
def test_any_string_gets_a_reward_in_unit_interval(response):
    task = RandomCalcTask()
    problem = task.make_problem("q", {"expression": "22 / 6"}, "11/3", task.difficulty())
    for candidate in (task, RandomCalcTask(dense_reward=True)):
        score = candidate.score(problem, response)
        assert 0.0 <= score.reward <= 1.0
        assert score.correct or score.error


def test_non_string_action_is_scored_not_fatal():
    env = RandomCalcEnv()
    env.reset(seed=0)
    _, reward, _, _, info = env.step(12345)
    assert reward == 0.0 and "string" in info["error"]


def test_bad_knobs_and_options_are_clear_errors():
    with pytest.raises(ValueError, match="operators"):
        RandomCalcEnv(operators=("+", "%"))
    with pytest.raises(ValueError, match="<= 20"):
        RandomCalcEnv(num_ops=21)
    with pytest.raises(TypeError, match="dense_reward"):
        RandomCalcEnv(dense_rewards=True)
    with pytest.raises(TypeError, match="to the task"):
        RandomCalcEnv(RandomCalcTask(), dense_reward=True)
    with pytest.raises(ValueError, match="min_operand must be <= max_operand"):
        RandomCalcTask().problem_at(0, 0, {"min_operand": 5, "max_operand": 2})
    # Only multiplication of operands >= 2 under a cap of 10 cannot reach 5 operations.
    impossible = {"num_ops": 5, "operators": ("*",), "min_operand": 2, "max_operand": 3, "max_numerator": 10}
    with pytest.raises(RuntimeError, match="no expression fits the caps"):
        RandomCalcTask().problem_at(0, 0, impossible)


@pytest.mark.parametrize("operators", [("+", "-", "*", "/"), ALL_OPERATORS])
def test_median_generation_time_is_under_a_millisecond_at_k20(operators):
    task = RandomCalcTask()
    difficulty = task.difficulty({"num_ops": 20, "operators": operators})
    rng = np.random.default_rng(0)
    medians = []
    for _ in range(3):  # best of three batches: robust to a busy machine, still fails a slow generator
        times = []
        for _ in range(150):
            start = time.perf_counter()
            task.generate(rng, difficulty)
            times.append(time.perf_counter() - start)
        medians.append(statistics.median(times))
    assert min(medians) < 1e-3


def test_env_pickles_and_takes_difficulty_per_episode():
    import pickle

    env = RandomCalcEnv(num_ops=2)
    clone = pickle.loads(pickle.dumps(env))
    assert clone.reset(seed=4)[0] == env.reset(seed=4)[0]
    env.reset(options={"difficulty": {"num_ops": 9}})
    assert independent_value(env.problem.content["expression"])[1] == 9
