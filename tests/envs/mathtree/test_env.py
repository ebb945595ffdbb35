"""`MathTreeEnv` / `TokenEnv`: Gymnasium conformance, pickling, spawn vector envs, determinism,
tree-search state, chunk == token, the tokenizer option, and never raising on any ids."""

from __future__ import annotations

import functools
import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

import rlvr  # noqa: F401  (registers the ids)
from rlvr.core.token_env import TokenEnv
from rlvr.envs.mathtree.env import MathTreeEnv
from rlvr.envs.mathtree.task import compact_prompt
from tests.envs.mathtree.reference import CharTokenizer, VocabSizeTokenizer

SMALL = {"digits": "123", "operators": "+*", "parentheses": True, "horizon": 6}


def _play(env: MathTreeEnv, ids):
    for token in ids:
        result = env.step(token)
        if result[2]:
            return result
    return result


def _solution_ids(env: MathTreeEnv) -> list[int]:
    return env.tokenizer.encode(env.task.solve(env.problem)) + [env.eos_id]


@pytest.mark.filterwarnings("ignore:.*symmetric and normalized space")  # chunk ids are ids, not torques
@pytest.mark.parametrize("env_id", ["rlvr/MathTree-v0"])
@pytest.mark.parametrize("kwargs", [{}, {"action_mode": "chunk"}, {"mode": "countdown", "number_count": 3}])
def test_check_env(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    check_env(env.unwrapped, skip_render_check=True)
    check_env(MathTreeEnv(tokenizer=CharTokenizer(), **kwargs), skip_render_check=True)


def test_make_with_module_prefix_and_spaces():
    env = gym.make("rlvr:rlvr/MathTree-v0", **SMALL)
    assert env.action_space == gym.spaces.Discrete(3 + 2 + 2 + 1)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert obs["response_length"] == 0 and (obs["response_ids"] == env.unwrapped.pad_id).all()
    prompt = env.unwrapped.tokenizer.decode(obs["prompt_ids"][: obs["prompt_length"]])
    assert prompt == compact_prompt(env.unwrapped.problem)
    assert set(info) >= {"problem_id", "difficulty"}


def test_oracle_answer_earns_reward_with_info():
    env = MathTreeEnv(**SMALL)
    env.reset(seed=1)
    obs, reward, terminated, truncated, info = _play(env, _solution_ids(env))
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["correct"] == 1.0 and info["parsed"] == 1.0 and info["error"] is None
    assert info["gold"] == env.problem.answer and info["parsed_answer"] == env.task.solve(env.problem)
    assert info["problem_id"] == env.problem.problem_id and info["difficulty"]["horizon"] == 6
    assert obs["response_length"] == len(_solution_ids(env))


def test_wrong_and_unparseable_responses():
    env = MathTreeEnv(**SMALL)
    env.reset(seed=1)
    plus = env.tokenizer.encode("+")[0]
    _, reward, terminated, _, info = _play(env, [plus, env.eos_id])
    assert reward == 0.0 and terminated and info["parsed"] == 0.0 and "syntax" in info["error"]
    env.reset(seed=1)
    _, reward, terminated, _, info = env.step(env.eos_id)
    assert reward == 0.0 and info["error"] == "empty response"


def test_horizon_ends_episode_and_scores_the_cut_response():
    env = MathTreeEnv(digits="12", operators="+", parentheses=False, horizon=4, number_count=1,
                      number_min=12, number_max=12, target_min=12, target_max=12)
    env.reset(seed=0)
    ids = env.tokenizer.encode("11+1")
    _, reward, terminated, _, info = _play(env, ids)  # no EOS: cut at H=4, scored as it stands
    assert terminated and reward == 1.0 and info["response_ids"] == tuple(ids)


def test_determinism_under_seed():
    def trace(seed):
        env = MathTreeEnv(**SMALL)
        env.reset(seed=seed)
        env.action_space.seed(seed)
        rewards, observations = [], []
        for _ in range(60):
            obs, reward, terminated, _, info = env.step(env.action_space.sample())
            observations.append(obs["response_ids"].tolist())
            rewards.append(reward)
            if terminated:
                obs, info = env.reset()
                observations.append(obs["prompt_ids"].tolist())
        return rewards, observations

    assert trace(3) == trace(3)
    assert trace(3) != trace(4)


def test_get_set_state_round_trip_and_clone():
    env = MathTreeEnv(**SMALL)
    env.reset(seed=2)
    env.step(0)
    saved = env.get_state()
    rng = np.random.default_rng(0)
    first = [env.step(int(a)) for a in rng.integers(0, env.num_actions - 1, size=3)]
    env.set_state(saved)
    rng = np.random.default_rng(0)
    second = [env.step(int(a)) for a in rng.integers(0, env.num_actions - 1, size=3)]
    for a, b in zip(first, second, strict=True):
        assert a[1:4] == b[1:4] and all((a[0][k] == b[0][k]).all() for k in a[0])
    env.set_state(saved)
    twin = env.clone()
    twin.step(env.eos_id)
    assert env.get_state() == saved  # the clone is independent
    with pytest.raises(TypeError, match="TokenState"):
        env.set_state({"response": []})


def test_chunk_mode_equals_token_mode():
    rng = np.random.default_rng(0)
    for episode in range(40):
        token_env, chunk_env = MathTreeEnv(**SMALL), MathTreeEnv(action_mode="chunk", **SMALL)
        token_env.reset(seed=episode)
        chunk_env.reset(seed=episode)
        if episode % 2:
            ids = _solution_ids(token_env)
        else:
            ids = [int(i) for i in rng.integers(0, token_env.num_actions, size=5)] + [token_env.eos_id]
        token_result = _play(token_env, ids)
        cut = int(rng.integers(1, len(ids)))  # two non-empty chunks, split anywhere
        for chunk in (ids[:cut], ids[cut:]):
            padded = np.full(chunk_env.horizon, chunk_env.chunk_pad_id, np.int64)
            padded[: len(chunk)] = chunk
            chunk_result = chunk_env.step(padded)
            if chunk_result[2]:
                break
        assert token_result[2] and chunk_result[1:4] == token_result[1:4]
        assert chunk_result[4]["response_ids"] == token_result[4]["response_ids"]
        assert all((chunk_result[0][k] == token_result[0][k]).all() for k in token_result[0])


def test_empty_chunk_is_a_lone_eos():
    env = MathTreeEnv(action_mode="chunk", **SMALL)
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(np.full(env.horizon, env.chunk_pad_id))
    assert terminated and info["response_ids"] == (env.eos_id,) and info["error"] == "empty response"


def test_invalid_ids_end_with_a_reason():
    env = MathTreeEnv(action_mode="chunk", **SMALL)
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step([0, 99])
    assert terminated and reward == 0.0 and "outside the action vocabulary" in info["error"]
    assert info["parsed"] == 0.0 and info["correct"] == 0.0
    token_env = MathTreeEnv(**SMALL)
    token_env.reset(seed=0)
    for bad in (-1, 1.5, "x", None):
        token_env.reset(seed=0)
        _, reward, terminated, _, info = token_env.step(bad)
        assert terminated and reward == 0.0 and info["error"]


@pytest.mark.parametrize("tokenizer_class", [CharTokenizer, VocabSizeTokenizer])
def test_tokenizer_option(tokenizer_class):
    tokenizer = tokenizer_class()
    env = MathTreeEnv(tokenizer=tokenizer, horizon=10)
    assert env.action_space == gym.spaces.Discrete(len(tokenizer.alphabet) + 1)
    obs, _ = env.reset(seed=4)
    length = int(obs["prompt_length"])
    assert tokenizer.decode(obs["prompt_ids"][:length]) == env.problem.prompt
    _, reward, terminated, _, info = _play(env, tokenizer.encode(" " + env.task.solve(env.problem)) + [tokenizer.eos_token_id])
    assert terminated and reward == 1.0 and info["parsed_answer"] == env.task.solve(env.problem)
    env.reset(seed=4)
    _, reward, _, _, info = _play(env, tokenizer.encode("hello") + [tokenizer.eos_token_id])
    assert reward == 0.0 and "not in this problem's vocabulary" in info["error"]


def test_tokenizer_protocol_errors_are_clear():
    class NoEos(CharTokenizer):
        def __init__(self) -> None:
            super().__init__()
            self.eos_token_id = None

    with pytest.raises(TypeError, match="eos_token_id"):
        MathTreeEnv(tokenizer=NoEos())
    with pytest.raises(TypeError, match="needs tokenizer"):
        TokenEnv(MathTreeEnv().task, horizon=4)


def test_vocabulary_is_fixed_but_horizon_may_shrink_per_episode():
    env = MathTreeEnv(**SMALL)
    with pytest.raises(ValueError, match="set at construction"):
        env.reset(options={"difficulty": {"digits": "12"}})
    with pytest.raises(ValueError, match="exceeds the horizon"):
        env.reset(options={"difficulty": {"horizon": 9}})
    env.reset(seed=0, options={"difficulty": {"horizon": 4, "number_count": 1}})
    for _ in range(4):
        _, _, terminated, _, _ = env.step(0)
    assert terminated


def test_pickle_round_trip():
    env = MathTreeEnv(**SMALL)
    env.reset(seed=0)
    env.q_uniform()
    clone = pickle.loads(pickle.dumps(env))
    assert clone.get_state() == env.get_state()
    assert clone.step(0)[1:3] == env.step(0)[1:3]


def test_async_vector_env_with_spawn():
    # "rlvr:" makes the spawned worker import rlvr, which registers the ids there.
    make = functools.partial(gym.make, "rlvr:rlvr/MathTree-v0", **SMALL)
    envs = gym.vector.AsyncVectorEnv([make, make], context="spawn")
    try:
        obs, _ = envs.reset(seed=[0, 1])
        assert obs["response_ids"].shape == (2, 6)
        for _ in range(8):
            obs, rewards, terminated, truncated, infos = envs.step(envs.action_space.sample())
            assert set(np.unique(rewards)) <= {0.0, 1.0}
    finally:
        envs.close()


TINY = {"digits": "12", "operators": "+*", "parentheses": True, "horizon": 5}


@functools.cache
def _correct_leaves(seed: int) -> frozenset:
    env = MathTreeEnv(**TINY)
    env.reset(seed=seed)
    return frozenset(env.oracle().correct_leaves())


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 15), st.lists(st.integers(0, 6), min_size=1, max_size=8))
def test_any_token_sequence_gives_binary_reward_matching_the_text_score(seed, ids):
    env = MathTreeEnv(**TINY)
    env.reset(seed=seed)
    played, terminated = [], False
    for token in ids:
        obs, reward, terminated, _, info = env.step(token)
        played.append(token)
        assert env.observation_space.contains(obs) and reward in (0.0, 1.0)
        if terminated:
            break
    if terminated:
        text = env.tokenizer.decode([i for i in played if i != env.eos_id])
        assert reward == env.task.score(env.problem, text).reward
        assert reward == (1.0 if tuple(played) in _correct_leaves(seed) else 0.0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-5, 40), max_size=8))
def test_any_chunk_never_raises(chunk):
    env = MathTreeEnv(action_mode="chunk", **SMALL)
    env.reset(seed=0)
    _, reward, _, _, _ = env.step(np.array(chunk, dtype=np.int64))
    assert reward in (0.0, 1.0)


def test_render_ansi():
    env = MathTreeEnv(render_mode="ansi", **SMALL)
    env.reset(seed=0)
    env.step(0)
    assert "[response] 1" in env.render()
