"""`rlvr.integrations.sb3`: the native MathTree vector env as an SB3 `VecEnv`.

The contract checked is SB3's: `step` returns the first observation of a new episode for every
finished sub-env (same-step reset), the final one in `infos[i]["terminal_observation"]`, `dones`
as one bool array, and never ignores an action (gymnasium's NEXT_STEP autoreset would).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

import rlvr  # noqa: E402,F401
from rlvr.integrations.sb3 import sb3_vec_env  # noqa: E402


def _target_ids(venv, index: int) -> list[int]:
    """The token ids of sub-env `index`'s target written as digits, then EOS (a correct answer)."""
    native = venv.env
    target = native.problem(native._problem_index[index]).content["target"]
    return native.template.tokenizer.encode(str(target)) + [native.eos_id]


def test_finished_sub_envs_restart_in_the_same_step():
    venv = sb3_vec_env("rlvr/MathTree-v0", num_envs=4, seed=0)
    eos, digit = venv.env.eos_id, 3
    observation = venv.reset()
    assert (observation["response_length"] == 0).all()
    observation, rewards, dones, infos = venv.step(np.full(4, eos))
    assert dones.dtype == bool and dones.all() and (rewards == 0).all()
    for info in infos:
        terminal = info["terminal_observation"]
        assert terminal["response_length"] == 1 and terminal["response_ids"][0] == eos
        assert info["TimeLimit.truncated"] is False and info["is_success"] is False
        assert info["episode"]["l"] == 1 and info["episode"]["r"] == 0.0
    assert (observation["response_length"] == 0).all()  # already the next episode
    # The very next action counts: NEXT_STEP autoreset would drop it and leave the length at 0.
    observation, rewards, dones, infos = venv.step(np.full(4, digit))
    assert not dones.any() and (observation["response_length"] == 1).all()
    assert (observation["response_ids"][:, 0] == digit).all()
    assert all("terminal_observation" not in info for info in infos)


def test_a_correct_answer_earns_one_and_is_logged_as_a_success():
    venv = sb3_vec_env("rlvr/MathTree-v0", num_envs=3, seed=1)
    venv.reset()
    plans = [_target_ids(venv, i) for i in range(3)]
    done_at = {}
    for t in range(max(map(len, plans))):
        actions = np.array([plan[t] if t < len(plan) else venv.env.eos_id for plan in plans])
        _, rewards, dones, infos = venv.step(actions)
        for i in np.flatnonzero(dones).tolist():
            done_at.setdefault(i, (t, float(rewards[i]), infos[i]))
    for i, plan in enumerate(plans):
        step, reward, info = done_at[i]
        assert step == len(plan) - 1 and reward == 1.0
        assert info["is_success"] is True and info["correct"] is True
        assert info["episode"] == {"r": 1.0, "l": len(plan), "t": info["episode"]["t"]}


@pytest.mark.parametrize("native", [True, False])
def test_random_play_keeps_the_contract(native):
    """Random actions for 60 steps: each step either extends a response by one token or ends the
    episode; the terminal observation's length is the episode's; the reward is the task's verdict."""
    if native:
        venv = sb3_vec_env("rlvr/MathTree-v0", num_envs=8, seed=2)
    else:  # any gymnasium vector env with NEXT_STEP autoreset and reset_mask
        venv = sb3_vec_env(gym.vector.SyncVectorEnv([lambda: gym.make("rlvr/MathTree-v0")] * 3), seed=2)
    single = gym.make("rlvr/MathTree-v0").unwrapped
    rng = np.random.default_rng(0)
    observation = venv.reset()
    finished = 0
    for _ in range(60):
        before = observation["response_length"].copy()
        observation, rewards, dones, infos = venv.step(rng.integers(single.num_actions, size=venv.num_envs))
        for i in range(venv.num_envs):
            if dones[i]:
                finished += 1
                terminal = infos[i]["terminal_observation"]
                assert terminal["response_length"] == before[i] + 1 == infos[i]["episode"]["l"]
                assert observation["response_length"][i] == 0
                assert rewards[i] == float(infos[i]["is_success"])
            else:
                assert observation["response_length"][i] == before[i] + 1
                assert rewards[i] == 0.0
    assert finished > 20


def test_same_seed_same_problems_and_observations():
    runs = []
    for _ in range(2):
        venv = sb3_vec_env("rlvr/MathTree-v0", num_envs=4, seed=7)
        observations = [venv.reset()["prompt_ids"]]
        for t in range(20):
            observations.append(venv.step(np.full(4, t % 17))[0]["prompt_ids"])
        runs.append(np.stack(observations))
    assert np.array_equal(*runs)
    other = sb3_vec_env("rlvr/MathTree-v0", num_envs=4, seed=8).reset()["prompt_ids"]
    assert not np.array_equal(other, runs[0][0])


def test_attributes_options_and_refusals():
    venv = sb3_vec_env("rlvr/MathTree-v0", num_envs=2, seed=0)
    assert venv.get_attr("horizon") == [8, 8] and venv.env_is_wrapped(object) == [False, False]
    venv.set_options({"difficulty": {"horizon": 4}})
    venv.reset()
    assert venv.env.difficulty["horizon"] == 4
    venv.set_options([{"difficulty": {"horizon": 4}}, {}])
    with pytest.raises(ValueError, match="one options dict"):
        venv.reset()
    same_step = gym.vector.SyncVectorEnv([lambda: gym.make("rlvr/MathTree-v0")],
                                         autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    with pytest.raises(ValueError, match="NEXT_STEP"):
        sb3_vec_env(same_step)
    with pytest.raises(ValueError, match="env id"):
        sb3_vec_env(same_step, num_envs=2)


def test_sb3_ppo_learns_a_few_hundred_steps_through_the_adapter():
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    venv = sb3_vec_env("rlvr/MathTree-v0", num_envs=16, seed=0)
    model = PPO("MultiInputPolicy", venv, n_steps=16, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.learn(256)
    assert model.num_timesteps == 256
    assert len(model.ep_info_buffer) > 20 and len(model.ep_success_buffer) == len(model.ep_info_buffer)
    actions, _ = model.predict(venv.reset(), deterministic=True)
    assert actions.shape == (16,)
