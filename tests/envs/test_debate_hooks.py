"""Tests of the debate training hooks: per-debater turns and transcript character spans."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.envs import debate_v0
from rlvr.envs.debate import agent_turns, response_text, transcript_spans

EASY = {"num_ops": 1}


@pytest.fixture(autouse=True)
def _quiet_pettingzoo():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def check_spans(env, sent):
    """Spans must cut out exactly each debater's messages, in order, and never overlap."""
    text, spans = env.transcript_spans()
    every = sorted((start, end, agent) for agent, agent_spans in spans.items() for start, end in agent_spans)
    for (_, end, _), (start, _, _) in zip(every, every[1:], strict=False):
        assert end <= start
    for agent, agent_spans in spans.items():
        assert [text[start:end] for start, end in agent_spans] == [response_text(a) for a in sent[agent]]
    return text, spans


def test_turns_hold_prompt_response_and_reward():
    env = debate_v0.parallel_env(num_debaters=2, rounds=2, difficulty=EASY, update="confidence")
    _, infos = env.reset(seed=5)
    gold = str(env.problem.answer)
    first_prompts = {a: infos[a]["messages"] for a in env.agents}
    first = {"debater_0": f"answer: {gold}\nconfidence: 0.9\nrationale: sure", "debater_1": "answer: -1\nconfidence: 0.4"}
    _, _, _, _, infos = env.step(first)
    second_prompts = {a: infos[a]["messages"] for a in env.agents}
    second = {"debater_0": {"answer": gold, "confidence": 0.8}, "debater_1": f"I now agree: answer: {gold}"}
    _, rewards, _, _, _ = env.step(second)
    turns = env.agent_turns("debater_0")
    assert [t.round for t in turns] == [0, 1]
    assert [t.messages for t in turns] == [first_prompts["debater_0"], second_prompts["debater_0"]]
    assert "confidence: 0.40" in turns[1].messages[0]["content"]  # the peer's round-0 message is in its prompt
    assert [t.response for t in turns] == [first["debater_0"], f"answer: {gold}\nconfidence: 0.8"]
    assert [t.reward for t in turns] == [0.0, rewards["debater_0"]]
    # 1 (own right) + 1 (vote right) - (0.8 - 1)^2: the return of every turn is the final reward.
    assert [t.return_ for t in turns] == pytest.approx([1.96, 1.96])
    assert agent_turns(debate_v0.env(difficulty=EASY), "debater_0") == []
    with pytest.raises(KeyError, match="debater_0"):
        env.agent_turns("judge")
    text, spans = check_spans(env, {a: [first[a], second[a]] for a in first})
    assert env.problem.prompt in text and len(spans["debater_1"]) == 2


def test_reset_clears_turns():
    env = debate_v0.parallel_env(num_debaters=2, rounds=1, difficulty=EASY)
    env.reset(seed=0)
    env.step({"debater_0": "answer: 1", "debater_1": "answer: 2"})
    env.reset()
    assert env.turns == [] and env.transcript_spans()[1] == {"debater_0": [], "debater_1": []}


def test_diverse_round_zero_records_every_sample():
    env = debate_v0.parallel_env(num_debaters=2, rounds=2, difficulty=EASY, init="diverse")
    env.reset(seed=1)
    first = {"debater_0": ["answer: 1", "answer: 2", "answer: 3"], "debater_1": "answer: 4"}
    env.step(first)
    second = {"debater_0": "answer: 5", "debater_1": "answer: 6"}
    env.step(second)
    turns = env.agent_turns("debater_0")
    assert [(t.round, t.sample) for t in turns] == [(0, 0), (0, 1), (0, 2), (1, None)]
    check_spans(env, {"debater_0": [*first["debater_0"], "answer: 5"], "debater_1": ["answer: 4", "answer: 6"]})


MESSAGE = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="[]-\n debater_0round:", max_size=40),  # text that imitates the env's own scaffolding
    st.fixed_dictionaries({"answer": st.text(min_size=1, max_size=10)}, optional={"confidence": st.floats(0, 1)}),
    st.integers(), st.none(),
)


@settings(max_examples=40, deadline=None)
@given(rounds=st.integers(1, 3), messages=st.lists(st.tuples(MESSAGE, MESSAGE, MESSAGE), min_size=3, max_size=3))
def test_spans_exactly_cover_each_debaters_text(rounds, messages):
    env = debate_v0.parallel_env(num_debaters=3, rounds=rounds, difficulty=EASY)
    env.reset(seed=2)
    sent = {a: [] for a in env.possible_agents}
    for round_messages in messages[:rounds]:
        actions = dict(zip(env.possible_agents, round_messages, strict=True))
        env.step(actions)
        for agent, action in actions.items():
            if action is not None:  # a missing message is no turn
                sent[agent].append(action)
    check_spans(env, sent)
    assert sum(len(env.agent_turns(a)) for a in env.possible_agents) == sum(len(v) for v in sent.values())


def test_hooks_reach_through_the_aec_wrapper():
    aec = debate_v0.env(num_debaters=2, rounds=1, difficulty=EASY)
    aec.reset(seed=0)
    for agent in aec.agent_iter():
        _, _, terminated, truncated, _ = aec.last()
        aec.step(None if terminated or truncated else f"answer: {agent[-1]}")
    assert [t.response for t in agent_turns(aec, "debater_1")] == ["answer: 1"]
    text, spans = transcript_spans(aec)
    assert [text[s:e] for s, e in spans["debater_0"]] == ["answer: 0"]
