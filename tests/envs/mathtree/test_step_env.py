"""`MathTreeStepEnv`: oracle steps win, invalid steps end with reasons, history keeps a tree."""

from __future__ import annotations

from fractions import Fraction

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

import rlvr  # noqa: F401
from rlvr.core.problem import Problem
from rlvr.envs.arithmetic.step_env import parse_step
from rlvr.envs.mathtree.step_env import MathTreeStepEnv, solution_steps


def _problem(numbers, target, operators="+-*/"):
    return Problem("mathtree", 0, {"mode": "countdown", "numbers": sorted(numbers), "target": target,
                                   "digits": "0123456789", "operators": operators, "parentheses": True},
                   "prompt", (), str(target), metadata={"solution": ""})


def _env_on(numbers, target, operators="+-*/"):
    env = MathTreeStepEnv()
    env.reset(seed=0, options={"problem": _problem(numbers, target, operators)})
    return env


def test_check_env():
    check_env(gym.make("rlvr/MathTreeStep-v0").unwrapped, skip_render_check=True)


@pytest.mark.parametrize("config", [{}, {"number_count": 2}, {"number_count": 5, "horizon": 40, "number_max": 13}])
def test_oracle_steps_reach_reward_one(config):
    env = MathTreeStepEnv(**config)
    for episode in range(40):
        observation, _ = env.reset(seed=episode)
        steps = solution_steps(env.problem)
        assert len(steps) == len(env.problem.content["numbers"]) - 1
        for number, step in enumerate(steps, start=1):
            observation, reward, terminated, _, info = env.step(step)
            assert step in observation and terminated == (number == len(steps))
        assert reward == 1.0 and info["correct"] == 1.0 and info["error"] is None


@pytest.mark.parametrize(
    ("step", "reason"),
    [("hello", "cannot read"), ("3 + 4", "cannot read"), ("9 + 4 = 13", "not among the remaining"),
     ("3 + 3 = 6", "not among the remaining"), ("3 + 4 = 8", "wrong arithmetic"),
     ("4 / 0 = 0", "division by zero"), ("3 ^ 4 = 81", "cannot read"), ("1/0 + 3 = 3", "zero denominator"),
     ("３ + 4 = 7", "cannot read"), ("3" * 2000, "at most"), (7, "must be a string")],
)
def test_invalid_steps_end_with_a_reason(step, reason):
    env = _env_on([3, 4, 0], 12)
    _, reward, terminated, _, info = env.step(step)
    assert (reward, terminated) == (0.0, True) and reason in info["error"] and info["parsed"] == 0.0


def test_disallowed_operator_is_invalid():
    env = _env_on([3, 4], 12, operators="+")
    _, reward, terminated, _, info = env.step("3 * 4 = 12")
    assert terminated and reward == 0.0 and "not allowed" in info["error"]


def test_fractions_negatives_and_compact_form():
    env = _env_on([3, 3, 8, 8], 24)  # 8 / (3 - 8/3) = 24 needs a fraction on the way
    assert not env.step("8 / 3 = 8/3")[2]
    _, _, terminated, _, info = env.step("3 - 8/3 = 1/3")
    assert not terminated and sorted(info["remaining"]) == ["1/3", "8"]
    _, reward, terminated, _, info = env.step("8 / 1/3 = 24")
    assert (reward, terminated, info["correct"]) == (1.0, True, 1.0)
    env = _env_on([3, 4, 8], 24)
    env.step("4-3=1")  # compact form
    _, reward, terminated, _, info = env.step("8 x 1 = 8")
    assert terminated and reward == 0.0 and "expected 24" in info["error"] and info["parsed"] == 1.0
    env = _env_on([3, 4, 2], 24)
    env.step("3 * 4 = 12 (left: 12 2)")
    assert env.step("12 × 2 = 24")[1:3] == (1.0, True)
    env = _env_on([3, 5, 2], -4)
    env.step("3 - 5 = -2")
    assert env.step("-2 * 2 = -4")[1:3] == (1.0, True)


def test_history_keeps_the_mdp_a_tree():
    """The same multiset reached in two orders gives two different observations."""
    first, second = _env_on([1, 2, 3, 4], 10), _env_on([1, 2, 3, 4], 10)
    a = [first.step("1 + 2 = 3")[0], first.step("3 + 4 = 7")[0]]
    b = [second.step("3 + 4 = 7")[0], second.step("1 + 2 = 3")[0]]
    assert sorted(first._remaining) == sorted(second._remaining)
    assert a[-1] != b[-1]


def test_get_set_state_and_clone():
    env = _env_on([2, 3, 4], 20)
    env.step("2 + 3 = 5")
    saved = env.get_state()
    result = env.step("5 * 4 = 20")
    env.set_state(saved)
    assert env.step("5 * 4 = 20")[:3] == result[:3]
    env.set_state(saved)
    twin = env.clone()
    twin.step("bad")
    assert env.get_state() == saved and env._remaining == (Fraction(4), Fraction(5))


def test_needs_countdown():
    with pytest.raises(ValueError, match="countdown"):
        MathTreeStepEnv(mode="target")
    with pytest.raises(ValueError, match="countdown"):
        MathTreeStepEnv(number_count=1)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_any_step_text_is_scored(text):
    env = _env_on([3, 4, 5], 12)
    _, reward, _, _, info = env.step(text)
    assert reward == 0.0
    parsed = parse_step(text)
    assert isinstance(parsed, tuple) or info["error"] == parsed
