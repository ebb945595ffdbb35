"""One id resolver (`rlvr.registration.resolve`) and one problem stream (`rlvr.core.stream`):
the env, the trainer's builders, export, TRL datasets and the debate env draw the same problems."""

from __future__ import annotations

import gymnasium as gym
import pytest

import rlvr
from rlvr.core.stream import TaskSource, split_option
from rlvr.registration import MultiAgentIdError, make_env, resolve

# ids whose env changes the task's defaults: registry kwargs (KGPathLong), constructor defaults
# and template (MathTreeStep), a plain one (RandomCalc)
IDS = ["rlvr/MathTreeStep-v0", "rlvr/KGPathLong-v0", "rlvr/RandomCalc-v0"]
SEED, COUNT = 4, 4


def env_ids(env_id: str, **kwargs) -> list[str]:
    env = gym.make(env_id, disable_env_checker=True, **kwargs)
    served = [env.reset(seed=SEED)[1]["problem_id"]] + [env.reset()[1]["problem_id"] for _ in range(COUNT - 1)]
    env.close()
    return served


@pytest.mark.parametrize("env_id", IDS)
def test_resolve_is_the_envs_stream(env_id):
    source = resolve(env_id)
    assert [p.problem_id for p in source.problems(SEED, COUNT)] == env_ids(env_id)
    assert dict(source.difficulty) == dict(gym.make(env_id).unwrapped.difficulty) and source.env_id == env_id
    evaluation = resolve(env_id, split="eval")
    assert [p.problem_id for p in evaluation.problems(SEED, COUNT)] == env_ids(env_id, split="eval")
    assert {p.split for p in evaluation.problems(SEED, COUNT)} == {"eval"}


@pytest.mark.parametrize("env_id", IDS)
def test_trl_datasets_and_rewards_use_the_same_resolver(env_id):
    pytest.importorskip("datasets")
    from rlvr.integrations.trl import RlvrReward, problems_dataset

    rows = problems_dataset(env_id, n=COUNT, seed=SEED, split=None)
    assert list(rows["problem_id"]) == env_ids(env_id)
    assert RlvrReward(env_id).task.template == resolve(env_id).task.template


@pytest.mark.parametrize("env_id", IDS)
def test_the_trainers_builders_use_the_same_resolver(env_id):
    pytest.importorskip("torch")
    from rlvr.training.builders import build_env, build_task
    from rlvr.training.config import load_config

    config = load_config({"env_id": env_id})
    task, env = build_task(config), build_env(config)
    assert type(task) is type(env.task) and task.template == env.task.template
    ids = [task.problem_at(SEED, i, env.difficulty).problem_id for i in range(COUNT)]
    assert ids == env_ids(env_id)


@pytest.mark.parametrize("env_id", IDS)
def test_the_debate_env_draws_the_ids_problems(env_id):
    """Before: the debate env built the card's task with its defaults, so
    `task="rlvr/MathTreeStep-v0"` asked target-mode questions the step env never serves."""
    debate = rlvr.make_multi("rlvr/Debate-v0", task=env_id)
    served = [debate.reset(seed=SEED)[1]["debater_0"]["problem_id"]]
    served += [debate.reset()[1]["debater_0"]["problem_id"] for _ in range(COUNT - 1)]
    assert served == env_ids(env_id)


def test_make_env_is_the_unwrapped_env_and_refuses_multi_agent_ids():
    env = make_env("rlvr/KGPathLong-v0", split="test")
    assert env.split == "test" and env.difficulty["hops"] == (4, 5) and env is env.unwrapped
    with pytest.raises(MultiAgentIdError, match=r"rlvr\.make_multi\('rlvr/Debate-v0'"):
        resolve("rlvr/Debate-v0")
    with pytest.raises(KeyError, match="did you mean"):
        resolve("rlvr/MathTreeStp-v0")
    with pytest.raises(TypeError, match="did you mean: number_count"):
        resolve("rlvr/MathTreeStep-v0", number_cout=3)
    assert resolve("rlvr:rlvr/Countdown-v0").env_id == "rlvr/Countdown-v0"


def test_task_source_validates_and_overrides():
    source = resolve("rlvr/Countdown-v0")
    harder = source.with_options({"number_count": 5}, split="all")
    assert harder.difficulty["number_count"] == 5 and harder.split is None and source.difficulty["number_count"] == 4
    assert harder.with_options(split="test").split == "test"
    with pytest.raises(KeyError, match="did you mean"):
        source.with_options({"number_cnt": 5})
    with pytest.raises(ValueError, match="split"):
        TaskSource(source.task, split="validation")
    with pytest.raises(TypeError, match="rlvr Task"):
        TaskSource("countdown")
    with pytest.raises(ValueError, match="non-negative"):
        list(source.problems(0, -1))
    assert split_option("all") is None and split_option("train") == "train"
    with pytest.raises(TypeError):
        source.difficulty["number_count"] = 9  # read-only: a source cannot drift from what it served
