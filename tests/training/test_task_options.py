"""`task_options` in a config (and `rlvr eval --option`) reach the task: reward modes and weights."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlvr  # noqa: F401  (registers the ids)
from rlvr.cli import main
from rlvr.training import evaluation_run
from rlvr.training.builders import build_env, build_task
from rlvr.training.config import load_config

SMALL = ["tiny_hidden_size=32", "tiny_num_layers=1", "tiny_num_heads=2", "tiny_intermediate_size=64",
         "progress=false", "plots=false", "tensorboard=false"]


def config_with(tmp_path, *extra):
    return load_config("scenarios/quickstart.yaml", [*SMALL, f"out_dir={tmp_path}", *extra])


def off_by_one(task):
    problem = task.sample(np.random.default_rng(3), {"num_ops": 1, "operators": "+"})
    return task.score(problem, f"Answer: {int(problem.answer) + 1}")


def test_dense_reward_reaches_randomcalc_from_the_config(tmp_path):
    plain = off_by_one(build_task(config_with(tmp_path)))
    dense = off_by_one(build_task(config_with(tmp_path, "task_options={dense_reward: true}")))
    assert plain.reward == 0.0 and plain.components["correct"] == 0.0
    assert 0.0 < dense.reward < 1.0 and dense.reward == dense.components["relative_error_reward"]
    assert dense.components["correct"] == 0.0  # accuracy is still exact


def test_an_option_the_env_does_not_take_names_the_ones_it_does(tmp_path):
    with pytest.raises(ValueError, match=r"takes \['dense_reward', 'extraction'\], got 'dense_rewad'.*did you mean"):
        config_with(tmp_path, "task_options={dense_rewad: true}")
    with pytest.raises(ValueError, match="rlvr/Dyck-v0 takes no task options, got 'format_reward'"):
        config_with(tmp_path, "env_id=rlvr/Dyck-v0", "task_options={format_reward: 0.1}", "difficulty={}",
                    "prompt_template=null")


def test_a_bad_value_is_the_tasks_own_error_before_any_work(tmp_path):
    config = config_with(tmp_path, "env_id=rlvr/SearchQA-v0", "task_options={reward_mode: bogus}", "difficulty={}",
                         "prompt_template=null")
    with pytest.raises(ValueError, match="bogus"):
        build_env(config)


@pytest.mark.parametrize("env_id, options, attribute", [
    ("rlvr/AbstainQA-v0", {"penalty_wrong": 2.5}, "penalty_wrong"),
    ("rlvr/AbstainQA-v0", {"reward_correct": 0.5}, "reward_correct"),
    ("rlvr/Sudoku-v0", {"partial_reward": 0.25}, "partial_reward"),
    ("rlvr/SearchQA-v0", {"reward_mode": "f1"}, "reward_mode"),
])
def test_gym_make_and_the_config_hand_the_same_options_to_the_task(tmp_path, env_id, options, attribute):
    value = options[attribute]
    assert getattr(gym.make(env_id, **options).unwrapped.task, attribute) == value
    config = config_with(tmp_path, f"env_id={env_id}", f"task_options={options}", "difficulty={}",
                         "prompt_template=null")
    assert getattr(build_task(config), attribute) == value


def test_abstain_option_with_a_ready_made_task_is_refused():
    task = gym.make("rlvr/AbstainQA-v0").unwrapped.task
    with pytest.raises(TypeError, match="give \\['penalty_wrong'\\] to the task"):
        gym.make("rlvr/AbstainQA-v0", task=task, penalty_wrong=3.0)


def test_eval_option_lands_on_top_of_the_run_options(tmp_path, monkeypatch, capsys):
    seen = {}

    def capture(config, *args):
        seen["options"] = dict(config.task_options)
        return {}

    monkeypatch.setattr(evaluation_run, "_evaluate", capture)
    assert main(["eval", "--model", "tiny", "--env", "rlvr/RandomCalc-v0", "--option", "dense_reward=true",
                 "--problems", "2"]) == 0
    assert seen["options"] == {"dense_reward": True}
    assert main(["eval", "--model", "tiny", "--env", "rlvr/RandomCalc-v0", "--option", "dense_rewad=true"]) != 0
    assert "got 'dense_rewad' (did you mean: dense_reward?)" in capsys.readouterr().err
