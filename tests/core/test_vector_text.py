"""Text envs under Gymnasium's vector envs with default settings (shared memory on), and the
`UnicodeText` shared-memory functions behind that."""

from __future__ import annotations

import copy
import multiprocessing
import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector.utils import create_shared_memory, read_from_shared_memory, write_to_shared_memory
from hypothesis import given, settings
from hypothesis import strategies as st

import rlvr
from rlvr.core.spaces import SharedTexts, UnicodeText


def play(envs, steps: int) -> list:
    """Observations of a reset and `steps` steps, each answering '1' everywhere."""
    observations, _ = envs.reset(seed=3)
    seen = [tuple(observations)]
    for _ in range(steps):
        observations, *_ = envs.step(tuple("1" for _ in range(envs.num_envs)))
        seen.append(tuple(observations))
    envs.close()
    return seen


@pytest.mark.parametrize("env_id", ["rlvr/RandomCalc-v0", "rlvr/MathTreeStep-v0"])
def test_async_vector_env_returns_the_sync_observations(env_id):
    """The measured failure: each observation read as 1,048,576 '0' characters."""
    async_seen = play(gym.make_vec(env_id, num_envs=2, vectorization_mode="async"), 4)
    sync_seen = play(gym.make_vec(env_id, num_envs=2, vectorization_mode="sync"), 4)
    assert async_seen == sync_seen
    first = async_seen[0]
    assert all(isinstance(o, str) and 0 < len(o) < 10_000 for o in first) and first[0] != first[1]
    assert len({o for step in async_seen for o in step}) > 2  # the observations do change


def test_async_vector_env_with_spawn_and_without_copies():
    envs = gym.make_vec("rlvr/Countdown-v0", num_envs=2, vectorization_mode="async",
                        vector_kwargs={"context": "spawn", "copy": False})
    sync = gym.make_vec("rlvr/Countdown-v0", num_envs=2, vectorization_mode="sync")
    live, _ = envs.reset(seed=0)
    expected, _ = sync.reset(seed=0)
    assert isinstance(live, SharedTexts) and live == expected and list(live) == list(expected)
    first = tuple(live)
    envs.step(("x", "y"))  # ends both episodes: the live view now reads the final observations
    assert tuple(live) == ("", "") != first
    envs.close()
    sync.close()


def test_text_envs_still_pass_check_env_with_a_realistic_space():
    env = gym.make("rlvr/RandomCalc-v0").unwrapped
    check_env(env, skip_render_check=True)
    assert env.observation_space.max_length == 1 << 16


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=3, max_size=3))
def test_shared_memory_round_trips_any_unicode(texts):
    space = UnicodeText(40)
    memory = create_shared_memory(space, n=3, ctx=multiprocessing.get_context())
    view = read_from_shared_memory(space, memory, n=3)
    for index, text in enumerate(texts):
        write_to_shared_memory(space, index, text, memory)
    assert tuple(view) == tuple(texts) and view[1] == texts[1] and view[-1] == texts[2]
    snapshot = copy.deepcopy(view)
    assert type(snapshot) is tuple and pickle.loads(pickle.dumps(view)) == snapshot
    write_to_shared_memory(space, 0, "changed", memory)
    assert view[0] == "changed" and snapshot[0] == texts[0]


def test_lone_surrogates_and_astral_characters_round_trip():
    space = UnicodeText(8)
    memory = create_shared_memory(space, n=1, ctx=multiprocessing.get_context())
    write_to_shared_memory(space, 0, "\ud800\U0001f600x", memory)
    assert read_from_shared_memory(space, memory, n=1)[0] == "\ud800\U0001f600x"


def test_a_string_longer_than_the_space_is_refused():
    space = UnicodeText(4)
    memory = create_shared_memory(space, n=2, ctx=multiprocessing.get_context())
    with pytest.raises(ValueError, match="does not fit"):
        write_to_shared_memory(space, 0, "12345", memory)
    with pytest.raises(TypeError, match="must be a str"):
        write_to_shared_memory(space, 0, 5, memory)
    assert read_from_shared_memory(space, memory, n=2)[1] == ""  # the neighbour slot is untouched
    assert np.frombuffer(memory.get_obj(), dtype=np.int32).size == 2 * 5


def test_an_overlong_prompt_is_a_clear_error():
    from rlvr.core.problem import Problem

    env = gym.make("rlvr/RandomCalc-v0").unwrapped
    env.reset(seed=0)
    long = Problem("random_calc", 0, {"x": 1}, "x" * (env.observation_space.max_length + 1),
                   ({"role": "user", "content": "x"},), "1")
    with pytest.raises(ValueError, match="characters, more than the observation space"):
        env.reset(options={"problem": long})


def test_importing_rlvr_registers_the_text_functions():
    assert rlvr.core.spaces.UnicodeText in create_shared_memory.registry
