"""Stable-Baselines3's `make_vec_env` builds our ids unchanged (it asks for render_mode='rgb_array'
first and retries without it only on a TypeError)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from stable_baselines3.common.env_checker import check_env  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402

import rlvr  # noqa: E402,F401


@pytest.mark.parametrize("env_id", ["rlvr/MathTree-v0", "rlvr/TwentyQuestions-v0"])
def test_make_vec_env_builds_and_steps(env_id):
    venv = make_vec_env(env_id, n_envs=2, seed=0)
    observations = venv.reset()
    assert set(observations) == set(venv.observation_space.spaces)
    for _ in range(4):
        observations, rewards, dones, infos = venv.step(np.array([venv.action_space.sample() for _ in range(2)]))
        assert rewards.shape == (2,) and dones.shape == (2,)
    venv.close()


def test_unsupported_render_mode_is_both_value_and_type_error():
    import gymnasium as gym

    from rlvr.core.task_env import RenderModeError

    with pytest.raises(RenderModeError, match="render_mode must be None or 'ansi'") as caught:
        gym.make("rlvr/MathTree-v0", render_mode="rgb_array", disable_env_checker=True)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, TypeError)
    for env_id in ("rlvr/RandomCalc-v0", "rlvr/OpinionPoll-v0"):
        with pytest.raises(TypeError):
            gym.make(env_id, render_mode="human", disable_env_checker=True)


def test_sb3_env_checker_accepts_the_token_env():
    import gymnasium as gym

    check_env(gym.make("rlvr/MathTree-v0").unwrapped, warn=False)
