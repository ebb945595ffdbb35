"""Tests for `rlvr/Game24-v0` and `rlvr/Game24Step-v0`.

The solvable multisets are checked against the known count (1,362 of the 1,820 multisets of
four numbers from 1..13 make 24) and, for a sample, against a brute force written here.
"""

from __future__ import annotations

import itertools
import pickle
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.envs.arithmetic.solver import count_solutions, solvable_multisets
from rlvr.envs.game24 import Game24Env, Game24StepEnv, Game24Task
from rlvr.testing import check_task
from tests.envs.arithmetic.reference import brute_force_count, independent_value, mutations


def brute_force_solvable(numbers: tuple[int, ...], target: int = 24) -> bool:
    """Combine any two values with any operator until one is left (no memo, no pruning)."""
    if len(numbers) == 1:
        return numbers[0] == target
    values = [Fraction(n) for n in numbers]
    for i, j in itertools.permutations(range(len(values)), 2):
        rest = tuple(v for k, v in enumerate(values) if k not in (i, j))
        a, b = values[i], values[j]
        for c in (a + b, a - b, a * b, a / b if b else None):
            if c is not None and brute_force_solvable((*rest, c), target):
                return True
    return False


def test_exactly_1362_of_1820_multisets_make_24():
    all_multisets = list(itertools.combinations_with_replacement(range(1, 14), 4))
    assert len(all_multisets) == 1820
    solvable = solvable_multisets(1, 13, 4, 24, ("+", "-", "*", "/"))
    assert len(solvable) == 1362
    members = {numbers for numbers, _ in solvable}
    rng = np.random.default_rng(0)
    for index in rng.choice(len(all_multisets), size=60, replace=False):
        numbers = all_multisets[index]
        assert (numbers in members) == brute_force_solvable(numbers), numbers
    assert (1, 1, 1, 1) not in members and (3, 3, 8, 8) in members and (1, 2, 3, 4) in members
    counts = dict(solvable)
    assert counts[(3, 3, 8, 8)] == 1 == brute_force_count((3, 3, 8, 8), 24)
    assert counts[(1, 2, 3, 4)] == brute_force_count((1, 2, 3, 4), 24)


def test_worked_regressions():
    task = Game24Task()
    problem = task.make_problem("q", {"numbers": [3, 3, 8, 8], "target": 24, "operators": "+-*/"}, "24",
                                task.difficulty(), {"solution": "8/(3-8/3)"})
    assert task.score(problem, "<answer>8/(3-8/3)</answer>").reward == 1.0
    assert task.score(problem, "8 / (3 - 8 / 3) = 24").reward == 1.0
    assert task.score(problem, "<answer>(8/3-3)*8</answer>").reward == 0.0
    counting = task.make_problem("q", {"numbers": [1, 2, 3, 4], "target": 24, "operators": "+-*/"}, "24",
                                 task.difficulty())
    rejected = task.score(counting, "1+2+3+4")
    assert rejected.reward == 0.0 and not rejected.correct and rejected.components["format"] == 1.0
    assert task.score(counting, "1+2+3+4 = 24").reward == 0.0
    assert task.score(counting, "<answer>(1+2+3)*4</answer>").reward == 1.0
    assert Game24Task(format_reward=0.1).score(counting, "1+2+3+4").reward == 0.1


def test_generation_is_uniform_over_the_solvable_multisets_and_seeded():
    task = Game24Task()
    rng = np.random.default_rng(1)
    draws = Counter(tuple(task.sample(rng).content["numbers"]) for _ in range(5000))
    members = {numbers for numbers, _ in solvable_multisets(1, 13, 4, 24, ("+", "-", "*", "/"))}
    assert set(draws) <= members
    assert len(draws) > 1250  # about 1,328 expected from uniform draws; a skewed draw sees far fewer
    assert max(draws.values()) < 15  # the mean is 3.7
    first = [task.problem_at(5, i).problem_id for i in range(20)]
    assert first == [task.problem_at(5, i).problem_id for i in range(20)]
    assert first != [task.problem_at(6, i).problem_id for i in range(20)]


def test_solution_count_knobs_select_hard_problems():
    task = Game24Task()
    for seed in range(15):
        problem = task.problem_at(seed, 0, {"max_solutions": 1})
        numbers = tuple(problem.content["numbers"])
        assert problem.metadata["solutions"] == 1 == count_solutions(numbers, 24)
        assert task.score(problem, task.solve(problem)).correct
        easy = task.problem_at(seed, 0, {"min_solutions": 50})
        assert easy.metadata["solutions"] >= 50
    with pytest.raises(ValueError, match="max_solutions"):
        task.problem_at(0, 0, {"min_solutions": 5, "max_solutions": 2})
    with pytest.raises(ValueError, match="at most 20 numbers"):
        task.problem_at(0, 0, {"number_max": 40})


def test_oracle_is_correct_and_mutations_are_judged_by_the_rules():
    task = Game24Task()
    rng = np.random.default_rng(2)
    for seed in range(150):
        problem = task.problem_at(seed, 0)
        numbers = problem.content["numbers"]
        value, literals = independent_value(problem.metadata["solution"])
        assert value == 24 and sorted(literals) == numbers
        assert task.score(problem, task.solve(problem)).reward == 1.0
        for mutated in mutations(problem.metadata["solution"], rng):
            value, literals = independent_value(mutated)
            expected = value == 24 and sorted(literals) == numbers
            assert task.score(problem, f"<answer>{mutated}</answer>").correct == expected, mutated


def test_task_and_env_conformance():
    check_task(Game24Task(), n=20)
    env = Game24Env()
    check_env(env, skip_render_check=True)
    env.reset(seed=0)
    assert env.step(env.oracle_action())[1] == 1.0


def play_oracle(env: Game24StepEnv, seed: int) -> tuple[float, dict]:
    env.reset(seed=seed)
    for _ in range(3):
        _, reward, terminated, _, info = env.step(env.oracle_action())
    assert terminated
    return reward, info


def test_step_env_oracle_plays_three_steps_to_24():
    env = Game24StepEnv()
    check_env(env, skip_render_check=True)
    for seed in range(40):
        reward, info = play_oracle(env, seed)
        assert reward == 1.0 and info["correct"] and len(info["steps"]) == 3, info


def test_step_env_rejects_invalid_steps_with_the_reason():
    env = Game24StepEnv()
    problem = Game24Task(template=None).make_problem(
        "q", {"numbers": [3, 3, 8, 8], "target": 24, "operators": "+-*/"}, "24", Game24Task().difficulty(),
        {"solution": "8/(3-8/3)"})
    cases = {
        "3 + 4 = 7": "not among the remaining",
        "3 + 3 = 7": "wrong arithmetic",
        "3 - 3 = 0 (left: 8 8 0)": None,
        "8 / 3 = 8/3 (left: 3 8)": "the note lists",
        "3 ^ 3 = 27": "cannot read",
        "8 / 3 = 8/3 (left: 3 8 8/3) then 3 - 8/3 = 1/3": "cannot read",  # one step per turn
    }
    for action, reason in cases.items():
        env.reset(options={"problem": problem})
        _, reward, terminated, _, info = env.step(action)
        if reason is None:
            assert not terminated and info["remaining"] == ["8", "8", "0"]
            _, reward, terminated, _, info = env.step("8 / 0 = 0")
            assert terminated and reward == 0.0 and info["error"] == "division by zero"
        else:
            assert terminated and reward == 0.0 and reason in info["error"], (action, info["error"])
    env.reset(options={"problem": problem})
    for step in ("8 / 3 = 8/3 (left: 3 8 8/3)", "3 - 8/3 = 1/3 (left: 8, 1/3)", "8 / 1/3 = 24 (left: 24)"):
        _, reward, terminated, _, info = env.step(step)
    assert reward == 1.0 and terminated and info["steps"][1] == "3 - 8/3 = 1/3 (left: 8 1/3)"
    env.reset(options={"problem": problem})
    for step in ("3 + 3 = 6", "8 + 8 = 16", "16 + 6 = 22"):
        _, reward, terminated, _, info = env.step(step)
    assert terminated and reward == 0.0 and "not the target 24" in info["error"]
    limited = problem.__class__(**{**problem.__dict__, "content": {**problem.content, "operators": "+-*"},
                                   "problem_id": ""})
    env.reset(options={"problem": limited})
    assert "not allowed" in env.step("8 / 8 = 1")[4]["error"]


def test_step_env_state_round_trips_and_pickles():
    env = Game24StepEnv()
    env.reset(seed=4)
    env.step(env.oracle_action())
    state = env.get_state()
    twin = pickle.loads(pickle.dumps(env))
    first = env.step(env.oracle_action())
    assert twin.step(twin.oracle_action())[:4] == first[:4]
    env.set_state(state)
    assert env.step(env.oracle_action())[:4] == first[:4]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_step_env_scores_any_string(text):
    env = Game24StepEnv()
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(text)
    assert reward == 0.0
    assert terminated == (info.get("error") is not None)
    assert Game24Task().score(Game24Task().problem_at(0, 0), text).reward in (0.0, 1.0)
