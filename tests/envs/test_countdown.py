"""Tests for `rlvr/Countdown-v0`.

Answers are checked against an independent evaluator (Python's `ast` on a string of digits,
operators and parentheses only, walked with Fractions; `tests.envs.arithmetic.reference`).
"""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.envs.countdown import CountdownEnv, CountdownTask
from rlvr.testing import check_task
from tests.envs.arithmetic.reference import independent_value, mutations


def test_worked_examples():
    task = CountdownTask()
    problem = task.make_problem("q", {"numbers": [3, 3, 8, 8], "target": 24, "operators": "+-*/"}, "24",
                                task.difficulty(), {"solution": "8/(3-8/3)"})
    assert task.score(problem, "<answer>8/(3-8/3)</answer>").correct
    assert task.score(problem, "so \\boxed{8 \\div (3 - \\frac{8}{3})}").correct
    assert task.score(problem, "I think\n8 / (3 - 8 / 3) = 24").correct
    assert task.score(problem, "8 / (3 - 8 / 3) = 24.").correct
    claim = task.score(problem, "<answer>8/(3-8/3) = 25</answer>")
    assert claim.reward == 0.1 and "claims 25" in claim.error
    small = task.make_problem("q", {"numbers": [1, 2, 3], "target": 9, "operators": "+-*/"}, "9", task.difficulty())
    assert task.score(small, "(1+2)*3 = 9").reward == 1.0
    assert task.score(small, "(1+2)*3").reward == 1.0
    assert task.score(small, "<answer>(1 + 2) × 3</answer>").reward == 1.0
    assert task.score(small, "12-3").reward == 0.1  # 12 is twelve, not 1 and 2
    assert task.score(small, "(1+2)*3*1").reward == 0.1  # a number used twice
    assert task.score(small, "<answer>(1+2)*3").reward == 0.0  # tag never closed
    assert task.score(small, "(1+2)*").reward == 0.0
    assert task.score(small, "").reward == 0.0
    counting = task.make_problem("q", {"numbers": [1, 2, 3, 4], "target": 24, "operators": "+-*/"}, "24",
                                 task.difficulty())
    wrong = task.score(counting, "1+2+3+4")
    assert wrong.reward == 0.1 and not wrong.correct and "equals 10" in wrong.error
    assert task.score(counting, "1*2*3*4").correct
    only_plus = task.make_problem("q", {"numbers": [1, 2, 3, 4], "target": 24, "operators": "+"}, "24",
                                  task.difficulty())
    assert not task.score(only_plus, "1*2*3*4").correct


@pytest.mark.parametrize("number_count", [2, 3, 4, 5, 6])
def test_oracle_is_correct_and_mutations_are_judged_by_the_rules(number_count):
    task = CountdownTask()
    rng = np.random.default_rng(number_count)
    for seed in range(60):
        problem = task.problem_at(seed, 0, {"number_count": number_count})
        numbers, target = problem.content["numbers"], problem.content["target"]
        assert len(numbers) == number_count and 1 <= target <= 100 and all(1 <= n <= 99 for n in numbers)
        solution = problem.metadata["solution"]
        value, literals = independent_value(solution)
        assert value == target and sorted(literals) == numbers
        score = task.score(problem, task.solve(problem))
        assert score.reward == 1.0 and score.components == {"correct": 1.0, "format": 1.0, "uses_numbers": 1.0}
        for mutated in mutations(solution, rng):
            value, literals = independent_value(mutated)
            expected = value == target and sorted(literals) == numbers
            mutated_score = task.score(problem, f"<answer>{mutated}</answer>")
            if value is None:
                assert mutated_score.reward == 0.0, mutated
            else:
                assert mutated_score.correct == expected, (mutated, problem.content)
                assert mutated_score.reward == (1.0 if expected else 0.1)


def test_generation_respects_knobs_and_is_deterministic():
    task = CountdownTask()
    difficulty = {"number_count": 3, "number_min": 2, "number_max": 9, "target_min": 10, "target_max": 20,
                  "operators": ("+", "*")}
    for seed in range(40):
        problem = task.problem_at(seed, 3, difficulty)
        assert problem.problem_id == task.problem_at(seed, 3, difficulty).problem_id
        assert all(2 <= n <= 9 for n in problem.content["numbers"]) and 10 <= problem.content["target"] <= 20
        assert set(problem.metadata["solution"]) <= set("0123456789+*()")
    assert len({task.problem_at(s, 0).problem_id for s in range(50)}) == 50
    with pytest.raises(RuntimeError, match="widen the target range"):
        task.problem_at(0, 0, {"number_count": 2, "number_min": 1, "number_max": 2, "target_min": 50,
                               "target_max": 60})
    with pytest.raises(ValueError, match="operators"):
        task.difficulty({"operators": ("^",)})


def test_task_and_env_conformance():
    check_task(CountdownTask(), n=20)
    env = CountdownEnv()
    check_env(env, skip_render_check=True)
    _, info = env.reset(seed=3)
    _, reward, terminated, _, info = env.step(env.oracle_action())
    assert reward == 1.0 and terminated and info["components"]["correct"] == 1.0
    env.reset(seed=3)
    _, reward, _, _, info = env.step("no expression here")
    assert reward == 0.0 and info["error"]
    assert CountdownEnv(number_count=3).reset(seed=0)[0].count(",") >= 2


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_string_scores_without_raising(text):
    task = CountdownTask()
    problem = task.problem_at(0, 0)
    for response in (text, f"<answer>{text}</answer>", f"\\boxed{{{text}}}"):
        assert task.score(problem, response).reward in (0.0, 0.1, 1.0)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789+-*/() ", min_size=1, max_size=40))
def test_arithmetic_strings_agree_with_the_independent_evaluator(text):
    task = CountdownTask()
    problem = task.problem_at(1, 0)
    score = task.score(problem, f"<answer>{text}</answer>")
    try:
        value, literals = independent_value(text)
    except (SyntaxError, AssertionError, KeyError):
        value = None  # not an expression of the grammar (or unary minus): must not be correct
    if score.components["format"] == 1.0 and value is not None:
        expected = value == problem.content["target"] and sorted(literals) == problem.content["numbers"]
        assert score.correct == expected
    else:
        assert not score.correct
