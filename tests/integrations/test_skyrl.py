"""`rlvr.integrations.skyrl`: SkyRL-Gym text envs for every rlvr id.

Most tests drive `SkyRLEnvCore` (the behaviour, no skyrl-gym needed); the last ones build the
real `BaseTextEnv` subclass through `skyrl_gym.make` and skip cleanly without skyrl-gym.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlvr.core.problem import problem_from_json
from rlvr.integrations.skyrl import SkyRLEnvCore, skyrl_dataset
from rlvr.registration import ENTRIES

SINGLE_AGENT = [e.id for e in ENTRIES if e.kind == "gymnasium"]
HOSTILE = [None, 12, 3.5, b"bytes", {"role": "assistant"}, ["a", "b"], "", "\x00" * 50, "x" * 200_000,
           "<answer>1/0</answer>", "\\boxed{" * 500]


def extras_of(row: dict, **more) -> dict:
    """What SkyRL's generator passes as `extras`: the row without prompt and env_class."""
    return {**{k: v for k, v in row.items() if k not in ("prompt", "env_class")}, **more}


def check_output(out: dict) -> None:
    assert set(out) >= {"observations", "reward", "done", "metadata"}
    assert isinstance(out["reward"], float) and math.isfinite(out["reward"]) and isinstance(out["done"], bool)
    assert all(set(m) == {"role", "content"} and isinstance(m["content"], str) for m in out["observations"])
    json.dumps(out["metadata"])  # plain data: loggable and sendable as is


@pytest.mark.parametrize("env_id", SINGLE_AGENT)
def test_every_id_plays_its_row_and_never_raises(env_id):
    row = skyrl_dataset(env_id, 1, seed=0)[0]
    assert row["env_class"] == "rlvr" and row["prompt"] and row["prompt"][-1]["role"] == "user"
    problem = problem_from_json(row["extra_info"]["problem"])
    env = SkyRLEnvCore({}, extras_of(row, max_turns=3))
    prompt, info = env.init(row["prompt"])
    assert prompt == row["prompt"] and info["problem_id"] == problem.problem_id == row["extra_info"]["problem_id"]
    for action in HOSTILE:
        out = env.step(action)
        check_output(out)
        if out["done"]:
            env.init(row["prompt"])
    env.close()


@pytest.mark.parametrize("env_id", SINGLE_AGENT)
def test_the_oracle_answer_earns_the_tasks_reward_on_single_turn_ids(env_id):
    from rlvr.core.text_env import TextEnv

    row = skyrl_dataset(env_id, 1, seed=3)[0]
    env = SkyRLEnvCore({}, extras_of(row))
    env.init(None)
    task, problem = env.session.task, env.session.problem
    solution = task.solve(problem)
    single_turn = isinstance(env.session.env.unwrapped, TextEnv) or not env.session.speaks_text
    if not single_turn or not isinstance(solution, str):
        pytest.skip(f"{env_id} is multi-turn or has no text oracle")
    out = env.step(solution)
    check_output(out)
    assert out["done"] and out["reward"] == task.score(problem, solution).reward
    assert out["metadata"]["correct"] in (True, 1.0) and env.get_metrics()["correct"] == 1.0


def test_multi_turn_replies_become_user_messages_and_max_turns_ends_the_episode():
    row = skyrl_dataset("rlvr/TwentyQuestions-v0", 1, seed=0)[0]
    env = SkyRLEnvCore(None, extras_of(row, max_turns=2))
    assert env.max_turns == 2 and env.session.speaks_text  # built in its text action mode
    env.init(row["prompt"])
    first = env.step("ask: metallic")
    check_output(first)
    assert not first["done"] and len(first["observations"]) == 1
    assert first["observations"][0]["role"] == "user" and "metallic ->" in first["observations"][0]["content"]
    assert first["metadata"]["questions_left"] == 9 and first["metadata"]["error"] is None
    second = env.step("ask: venomous")
    assert second["done"] and second["observations"] == [] and env.turns == 2
    late = env.step("guess: Voka")
    assert late["done"] and late["reward"] == 0.0 and "episode is over" in late["metadata"]["error"]
    assert env.get_metrics() == {"turns": 2, "reward": first["reward"] + second["reward"], "correct": 0.0}


def test_a_wrong_then_right_countdown_answer_and_metrics():
    rows = skyrl_dataset("rlvr/Countdown-v0", 2, seed=1, number_count=3)
    for row in rows:
        env = SkyRLEnvCore({}, extras_of(row))
        env.init(row["prompt"])
        wrong = env.step("<answer>99999</answer>")
        assert wrong["done"] and wrong["reward"] < 1.0 and wrong["metadata"]["error"]
        env.init(row["prompt"])  # a new episode on the same problem
        right = env.step(f"<answer>{env.session.task.solve(env.session.problem)}</answer>")
        assert right["reward"] == 1.0 and right["metadata"]["correct"] is True
        assert env.get_metrics() == {"turns": 1, "reward": 1.0, "correct": 1.0}


def test_config_sources_and_errors():
    row = skyrl_dataset("rlvr/Countdown-v0", 1, seed=0, number_count=3)[0]
    assert json.loads(row["extra_info"]["env_kwargs"]) == {"difficulty": {"number_count": 3}, "split": "train"}
    # no problem in the row: the id from env_config, problem 5 of stream 2
    env = SkyRLEnvCore({"env_id": "rlvr/Countdown-v0", "env_kwargs": {"difficulty": {"number_count": 3}}},
                       {"extra_info": {"seed": 2, "index": 5}})
    messages, info = env.init(None)
    assert messages[-1]["role"] == "user" and len(env.session.problem.content["numbers"]) == 3
    again = SkyRLEnvCore({"env_id": "rlvr/Countdown-v0", "env_kwargs": {"difficulty": {"number_count": 3}}},
                         {"extra_info": json.dumps({"seed": 2, "index": 5})})
    assert again.init(None)[1]["problem_id"] == info["problem_id"]
    with pytest.raises(ValueError, match="needs an rlvr id"):
        SkyRLEnvCore({}, {"extra_info": {}})
    with pytest.raises(ValueError, match="JSON text"):
        SkyRLEnvCore({}, {"extra_info": {"env_id": "rlvr/Countdown-v0", "env_kwargs": "{not json"}})
    with pytest.raises(ValueError, match="max_turns"):
        SkyRLEnvCore({}, extras_of(row, max_turns=0))
    with pytest.raises(ValueError, match="num_examples"):
        skyrl_dataset("rlvr/Countdown-v0", -1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_any_text_is_scored_without_raising(text):
    env = _COUNTDOWN
    env.init(None)
    out = env.step(text)
    check_output(out)
    assert out["done"] and 0.0 <= out["reward"] <= 1.0


_COUNTDOWN = SkyRLEnvCore({"env_id": "rlvr/Countdown-v0"}, {"extra_info": {"seed": 0}})


# ------------------------------------------------------------------------- the real skyrl-gym


def test_real_skyrl_gym_make_builds_a_base_text_env():
    skyrl_gym = pytest.importorskip("skyrl_gym")
    from skyrl_gym.envs.base_text_env import BaseTextEnv

    from rlvr.integrations.skyrl import RlvrTextEnv, register_skyrl_env

    assert register_skyrl_env() == register_skyrl_env() == "rlvr"  # idempotent
    row = skyrl_dataset("rlvr/Game24-v0", 1, seed=0)[0]
    env = skyrl_gym.make(row["env_class"], env_config={}, extras=extras_of(row, max_turns=1))
    assert isinstance(env, BaseTextEnv) and isinstance(env, RlvrTextEnv) and env.tool_groups == []
    prompt, _ = env.init(row["prompt"])
    assert prompt == row["prompt"]
    out = env.step("<answer>not an expression</answer>")
    check_output(out)
    assert out["done"] and out["reward"] == 0.0 and out["metadata"]["error"]
    assert set(env.get_metrics()) == {"turns", "reward", "correct"}
    assert type(env).aggregate_metrics([env.get_metrics()] * 2)["turns"] == 1.0
    env.close()


def test_real_skyrl_gym_multi_turn_through_make():
    skyrl_gym = pytest.importorskip("skyrl_gym")
    from rlvr.integrations.skyrl import register_skyrl_env

    name = register_skyrl_env("rlvr-multi-turn")
    row = skyrl_dataset("rlvr/MathTreeStep-v0", 1, seed=0, env_class=name)[0]
    env = skyrl_gym.make(name, env_config={}, extras=extras_of(row, max_turns=5))
    env.init(row["prompt"])
    problem = env.session.problem
    numbers = problem.content["numbers"]
    out = env.step(f"{numbers[0]} + {numbers[1]} = {numbers[0] + numbers[1]}")
    check_output(out)
    assert not out["done"] and out["observations"] and out["metadata"].get("error") is None, out
    assert out["metadata"]["turn"] == 1 and env.get_metrics()["turns"] == 1
