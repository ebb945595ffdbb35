"""The Task stream and the TextEnv contract, on a tiny task defined in conftest."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from rlvr.core import PromptTemplate, TextEnv
from rlvr.testing import check_task


def test_problem_i_of_a_stream_is_reproducible_and_independent_of_order(add_task):
    forward = [add_task.problem_at(7, i).problem_id for i in range(10)]
    backward = [add_task.problem_at(7, i).problem_id for i in reversed(range(10))][::-1]
    assert forward == backward


def test_neighbouring_seeds_do_not_share_shifted_streams(add_task):
    big = {"max_operand": 10**6}
    seed0 = [add_task.problem_at(0, i, big).problem_id for i in range(50)]
    seed1 = [add_task.problem_at(1, i, big).problem_id for i in range(50)]
    assert len(set(seed0) & set(seed1)) == 0


def test_split_rejection_and_too_small_space(add_task):
    train = {add_task.problem_at(0, i, split="train").problem_id for i in range(40)}
    test = {add_task.problem_at(0, i, split="test").problem_id for i in range(40)}
    assert train and test and not (train & test)
    # with max_operand=0 the only problem is 0 + 0: every other split is empty
    only = add_task.problem_at(0, 0, {"max_operand": 0})
    other = next(name for name in ("train", "eval", "test") if name != only.split)
    with pytest.raises(RuntimeError, match="too small"):
        add_task.problem_at(0, 0, {"max_operand": 0}, split=other)


def test_conformance_checker_accepts_the_task(add_task):
    assert len(check_task(add_task, n=10)) == 10


def test_conformance_checker_catches_a_broken_oracle(add_task):
    class Broken(type(add_task)):
        def solve(self, problem):
            return str(int(problem.answer) + 1)

    with pytest.raises(AssertionError, match="oracle"):
        check_task(Broken(), n=3)


def test_text_env_round_trip(add_env):
    check_env(add_env, skip_render_check=True)
    prompt, info = add_env.reset(seed=3)
    assert "Answer with the number only." in prompt
    assert info["messages"][-1]["content"] == prompt
    _, reward, terminated, truncated, step_info = add_env.step(add_env.oracle_action())
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert step_info["components"]["correct"] == 1.0 and step_info["gold"] == add_env.problem.answer
    with pytest.raises(RuntimeError, match="reset"):
        add_env.step("1")


@pytest.mark.parametrize("action", [None, 3, b"12", ["1"], "", "\ud800", "x" * 2_000_000])
def test_any_action_is_scored_not_fatal(add_env, action):
    add_env.reset(seed=0)
    _, reward, terminated, _, info = add_env.step(action)
    assert reward == 0.0 and terminated and info["error"]


def test_reset_without_seed_walks_the_stream(add_env):
    add_env.reset(seed=5)
    walked = [add_env.reset()[1]["problem_id"] for _ in range(3)]
    expected = [add_env.task.problem_at(5, i).problem_id for i in range(1, 4)]
    assert walked == expected


def test_difficulty_from_constructor_and_reset_options(add_env):
    env = type(add_env)(max_operand=1000)
    assert env.difficulty["max_operand"] == 1000
    _, info = env.reset(seed=0, options={"difficulty": {"max_operand": 3}})
    assert info["difficulty"]["max_operand"] == 3
    # the level set by a curriculum stays for later episodes
    assert env.reset()[1]["difficulty"]["max_operand"] == 3


def test_unknown_constructor_keyword_suggests_close_matches(add_env):
    with pytest.raises(TypeError, match="did you mean: max_operand"):
        type(add_env)(max_operand_=3)
    with pytest.raises(KeyError, match="difficulty"):
        add_env.reset(options={"dificulty": {}})


def test_template_override_changes_prompt_not_id(add_env):
    custom = type(add_env)(template=PromptTemplate(instruction="Reply in digits.", system="Be terse."))
    prompt, info = custom.reset(seed=1)
    _, default_info = add_env.reset(seed=1)
    assert "Reply in digits." in prompt and info["messages"][0] == {"role": "system", "content": "Be terse."}
    assert info["problem_id"] == default_info["problem_id"]


def test_env_pickles_mid_episode(add_env):
    add_env.reset(seed=2)
    clone = pickle.loads(pickle.dumps(add_env))
    assert clone.step(clone.oracle_action())[1] == add_env.step(add_env.oracle_action())[1] == 1.0


def test_text_env_under_async_vector_env_with_spawn():
    from tests.conftest import AddEnv

    envs = gym.vector.AsyncVectorEnv([AddEnv, AddEnv], context="spawn", shared_memory=False)
    try:
        prompts, infos = envs.reset(seed=[0, 1], options={"difficulty": {"max_operand": 5}})
        assert len(prompts) == 2 and all(np.asarray(infos["difficulty"]["max_operand"]) == 5)
        _, rewards, terminated, _, _ = envs.step(["0", "0"])
        assert terminated.all() and set(rewards.tolist()) <= {0.0, 1.0}
    finally:
        envs.close()


def test_text_env_subclass_without_task_is_an_error():
    with pytest.raises(TypeError, match="needs a task"):
        TextEnv()


def test_task_options_reach_the_task_and_clash_with_a_given_task(add_task):
    from tests.conftest import AddEnv, AddTask

    class ScaledTask(AddTask):
        def __init__(self, template=None, *, scale: float = 1.0):
            super().__init__(template)
            self.scale = scale

    class ScaledEnv(AddEnv):
        task_class = ScaledTask
        task_options = ("scale",)

    assert ScaledEnv(scale=0.5).task.scale == 0.5
    with pytest.raises(TypeError, match="to the task, not the env"):
        ScaledEnv(ScaledTask(), scale=0.5)
    with pytest.raises(TypeError, match="did you mean: scale"):
        ScaledEnv(scal=0.5)
