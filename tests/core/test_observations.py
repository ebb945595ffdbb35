"""`TextObservation`: a str that states a text space's dtype, shared by the multi-agent text envs."""

from __future__ import annotations

import pickle

from hypothesis import given
from hypothesis import strategies as st

from rlvr.core.observations import TextObservation
from rlvr.core.spaces import UnicodeText


@given(st.text(max_size=200))
def test_behaves_as_the_string_it_wraps(text):
    observation = TextObservation(text)
    assert observation == text and hash(observation) == hash(text) and len(observation) == len(text)
    assert type(observation + "!") is str  # string operations give plain strings back
    restored = pickle.loads(pickle.dumps(observation))
    assert type(restored) is TextObservation and restored == text
    assert UnicodeText(max(len(text), 1)).contains(observation)


def test_dtype_matches_the_text_space():
    assert TextObservation("x").dtype == UnicodeText(8).dtype
    assert not hasattr("x", "dtype")  # why the subclass exists: PettingZoo's api test reads .dtype


def test_multi_agent_text_envs_return_it():
    from rlvr.envs import debate_v0, twenty_questions_v0

    observations, _ = debate_v0.parallel_env(num_debaters=2, rounds=1, difficulty={"num_ops": 1}).reset(seed=0)
    assert all(type(o) is TextObservation for o in observations.values())
    game = twenty_questions_v0.env(action_mode="text", seed=0)
    game.reset()
    assert type(game.observe("questioner")) is TextObservation
