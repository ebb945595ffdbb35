"""Hostile actions that used to raise out of `step()`, each now scored as an invalid move.

Every case here raised before the fix (OverflowError, ValueError from printing a 5,000-digit int,
AttributeError, RuntimeError from an action's own repr); the env's documented answer to an
unusable action is a zero reward (or an unusable message / invalid question) with the reason
in `info`, never an exception, and never the base envs' "internal error:" safety net.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rlvr.envs import debate_v0, twenty_questions_v0

HUGE = (10**400, 10**5000)


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("repr of a hostile object")

    __str__ = __repr__


def _id(value) -> str:
    """A test id (pytest itself cannot print a 5,000-digit int)."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"{'-' if value < 0 else ''}int{value.bit_length()}bits"
    return type(value).__name__ if isinstance(value, (Unprintable, np.ndarray)) else None


def _not_internal(reason) -> None:
    assert isinstance(reason, str) and reason and not reason.startswith("internal error:"), reason


def _debate(**kwargs):
    env = debate_v0.parallel_env(num_debaters=2, rounds=1, **kwargs)
    env.reset(seed=0)
    return env


@pytest.mark.parametrize("confidence", HUGE, ids=_id)
def test_debate_confidence_beyond_float_range_is_an_unusable_message(confidence):
    env = _debate()
    gold = env.problem.answer
    _, rewards, terminations, _, infos = env.step({a: {"answer": gold, "confidence": confidence} for a in env.agents})
    assert all(terminations.values()) and set(rewards.values()) == {0.0}
    for info in infos.values():
        _not_internal(info["error"])
        assert "confidence" in info["error"]


@pytest.mark.parametrize("actions", [["answer: 3"], "answer: 3", 10**5000, None, (("debater_0", "3"),)], ids=_id)
def test_debate_actions_that_are_not_a_dict_make_every_message_unusable(actions):
    env = _debate()
    _, rewards, terminations, _, infos = env.step(actions)
    assert all(terminations.values()) and set(rewards.values()) == {0.0}
    for info in infos.values():
        _not_internal(info["error"])
        assert "dict" in info["error"]


@pytest.mark.parametrize("message", [
    {"answer": "3", "rationale": 10**5000}, {"answer": 10**5000}, {10**5000: "3"}, {"answer": "3", "rationale": Unprintable()},
    Unprintable(), [10**5000], np.array([[1, 2], [3, 4]]),
], ids=_id)
def test_debate_messages_with_unprintable_parts_earn_zero(message):
    env = _debate()
    gold = env.problem.answer
    _, rewards, _, _, infos = env.step({"debater_0": message, "debater_1": f"answer: {gold}\nconfidence: 1"})
    assert rewards["debater_0"] == 0.0 and rewards["debater_1"] == 2.0
    _not_internal(infos["debater_0"]["error"])


@pytest.mark.parametrize("action_mode", ["discrete", "text"], ids=_id)
@pytest.mark.parametrize("answer", [*HUGE, -(10**5000), Unprintable()], ids=_id)
def test_two_player_answer_out_of_range_is_an_unreadable_answer(action_mode, answer):
    env = twenty_questions_v0.env(action_mode=action_mode)
    env.reset(seed=0)
    env.step(env.unwrapped.encode_question("ask", 0))
    assert env.agent_selection == "answerer"
    env.step(answer)
    _not_internal(env.infos["answerer"]["error"])
    assert env.rewards["answerer"] == 0.0 and env.agent_selection == "questioner"


@pytest.mark.parametrize("question", [*HUGE, -(10**5000)], ids=_id)
def test_two_player_question_id_out_of_range_is_an_invalid_question(question):
    env = twenty_questions_v0.env()
    env.reset(seed=0)
    env.step(question)
    _not_internal(env.infos["questioner"]["error"])
    assert env.rewards["questioner"] == 0.0


@pytest.mark.parametrize("env_id", ["rlvr/TwentyQuestions-v0", "rlvr/OpinionPoll-v0", "rlvr/StudentAssess-v0"], ids=_id)
def test_elicitation_ids_out_of_range_use_a_question(env_id):
    env = gym.make(env_id)
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(10**5000)
    assert reward == 0.0 and not terminated and info["questions_used"] == 1
    _not_internal(info["error"])


@pytest.mark.parametrize("action", [[[1, 2], [3]], [[0], [0, 0]], [1, [2, 3]], 10**5000, -(10**400)], ids=_id)
def test_mathtree_token_mode_refuses_ragged_lists_and_huge_ids(action):
    env = gym.make("rlvr/MathTree-v0")
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(action)
    assert reward == 0.0 and terminated
    _not_internal(info["error"])


@pytest.mark.parametrize("action", [
    '{"name": "open", "arguments": {"doc_id": ' + "9" * 5000 + "}}",
    '{"name": "search", "arguments": "{\\"query\\": ' + "9" * 5000 + '}"}',
    10**5000, Unprintable(), [[]] * 3,
], ids=_id)
def test_search_calls_with_unreadable_values_are_malformed_calls(action):
    env = gym.make("rlvr/SearchQA-v0")
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(action)
    assert reward == 0.0 and not terminated and not truncated and info["tool_calls"] == 1
    _not_internal(info["error"])

