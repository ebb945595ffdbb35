"""Stable-Baselines3 PPO (`MultiInputPolicy`) trains on a small MathTree and beats uniform play."""

from __future__ import annotations

import numpy as np
import pytest

from rlvr.envs.mathtree.env import MathTreeEnv

EASY = {"digits": "12", "operators": "+", "parentheses": False, "horizon": 4, "target_min": 3, "target_max": 4}


def _success_rate(env: MathTreeEnv, act, episodes: int, seed: int) -> float:
    obs, _ = env.reset(seed=seed)
    total = 0.0
    for _ in range(episodes):
        terminated = False
        while not terminated:
            obs, reward, terminated, _, _ = env.step(act(obs))
        total += reward
        obs, _ = env.reset()
    return total / episodes


def test_ppo_learns_an_easy_instance():
    torch = pytest.importorskip("torch")
    sb3 = pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)
    env = MathTreeEnv(**EASY)
    # Exact success probability of uniform play, from the oracle (no sampling noise).
    uniform = np.mean([(env.reset(seed=s), env.oracle().value())[1] for s in range(40)])
    assert 0 < uniform < 0.02

    vec_env = make_vec_env(lambda: MathTreeEnv(**EASY), n_envs=4, seed=0)
    model = sb3.PPO("MultiInputPolicy", vec_env, n_steps=128, batch_size=128, learning_rate=3e-3,
                    ent_coef=0.01, seed=0, device="cpu")
    model.learn(4096)
    assert all(torch.isfinite(p).all() for p in model.policy.parameters())
    trained = _success_rate(env, lambda obs: int(model.predict(obs, deterministic=False)[0]), 200, seed=10_000)
    assert trained > uniform + 0.15
