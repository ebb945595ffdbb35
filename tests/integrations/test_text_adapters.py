"""GEM- and TextArena-style wrappers and the `TextSession` under them.

Neither peer package is installed (see the modules' docs for why), so these are contract tests:
the method names, argument and return shapes of GEM's `Env` (reset(seed) -> (obs, info);
step -> (obs, reward, terminated, truncated, info)) and TextArena's `Env` (reset(num_players,
seed); get_observation -> (player_id, obs); step -> (done, info); close -> (rewards, game_info)),
played the way their training loops play them.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from rlvr.integrations.gem import TERMINAL_STATE, GemEnv
from rlvr.integrations.text_session import TextSession, make_text_env, plain
from rlvr.integrations.textarena import TextArenaEnv


def test_gem_single_turn_episode_and_seeding():
    env = GemEnv("rlvr/Countdown-v0", number_count=3)
    observation, info = env.reset(seed=4)
    assert isinstance(observation, str) and "<answer>" in observation and isinstance(info, dict)
    assert env.reset(seed=4)[0] == observation and env.reset(seed=5)[0] != observation
    env.reset(seed=4)
    solution = env.session.task.solve(env.session.problem)
    observation, reward, terminated, truncated, info = env.step(f"<answer>{solution}</answer>")
    assert (observation, reward, terminated, truncated) == (TERMINAL_STATE, 1.0, True, False)
    assert info["correct"] is True and json.dumps(info)
    # a step after the end: zero, still over, the reason given, no exception
    observation, reward, terminated, _, info = env.step("<answer>1</answer>")
    assert (observation, reward, terminated) == (TERMINAL_STATE, 0.0, True) and "over" in info["error"]


def test_gem_multi_turn_returns_the_envs_reply_until_the_end():
    env = GemEnv("rlvr/TwentyQuestions-v0", max_turns=3)
    env.reset(seed=0)
    replies = [env.step(f"ask: {name}") for name in ("metallic", "venomous", "horned")]
    assert [r[2] or r[3] for r in replies] == [False, False, True]
    assert "metallic ->" in replies[0][0] and "venomous ->" in replies[1][0]
    assert replies[2][0] == TERMINAL_STATE and replies[2][3] is True  # cut by max_turns: truncated
    assert all(isinstance(r[1], float) for r in replies)


def test_gem_spawn_random_action_and_hostile_actions():
    env = GemEnv("rlvr/Game24-v0")
    env.reset(seed=1)
    twin = env.spawn(same_state=True)
    assert twin.session.problem.problem_id == env.session.problem.problem_id
    fresh = env.spawn()
    assert fresh.session.problem is None and fresh.unwrapped is fresh
    action = env.sample_random_action()
    assert isinstance(action, str) and 1 <= len(action) <= 15
    for hostile in (None, 7, b"\xff", ["x"], "\x00" * 10):
        env.reset()
        observation, reward, terminated, truncated, info = env.step(hostile)
        assert observation == TERMINAL_STATE and reward == 0.0 and terminated and info["error"]


def test_textarena_loop_sums_rewards_at_close():
    actions = ["ask: metallic", "ask: venomous", "ask: nothing at all", "guess: Voka"]
    env = TextArenaEnv("rlvr/TwentyQuestions-v0", max_turns=4)
    env.reset(num_players=1, seed=0)
    done, turns = False, 0
    while not done:
        player_id, observation = env.get_observation()
        assert player_id == 0 and isinstance(observation, str) and observation
        done, info = env.step(actions[turns])
        turns += 1
    rewards, game_info = env.close()
    assert turns == 4 and set(rewards) == set(game_info) == {0} and game_info[0]["turn_count"] == 4
    assert isinstance(game_info[0]["reason"], str) and game_info[0]["correct"] in (True, False)
    # the same episode through GEM's per-step rewards: TextArena's one reward is their sum
    gem = GemEnv("rlvr/TwentyQuestions-v0", max_turns=4)
    gem.reset(seed=0)
    per_step = [gem.step(action)[1] for action in actions]
    assert any(r != 0 for r in per_step) and rewards[0] == pytest.approx(sum(per_step))


def test_textarena_single_turn_invalid_move_and_player_count():
    env = TextArenaEnv("rlvr/Countdown-v0", number_count=3)
    env.reset(seed=2)
    done, info = env.step(12345)
    assert done and "string" in info["error"]
    rewards, game_info = env.close()
    assert rewards == {0: 0.0} and game_info[0]["invalid_move"] is True
    env.reset(seed=2)
    solution = env.session.task.solve(env.session.problem)
    done, _ = env.step(f"<answer>{solution}</answer>")
    assert done and env.close() == ({0: 1.0}, {0: {"reason": "correct", "turn_count": 1, "correct": True,
                                                   "invalid_move": False}})
    with pytest.raises(ValueError, match="num_players=2"):
        env.reset(num_players=2)


def test_session_modes_and_errors():
    _, text = make_text_env("rlvr/TwentyQuestions-v0")
    assert text  # the elicitation family switches to action_mode="text"
    _, text = make_text_env("rlvr/TwentyQuestions-v0", {"action_mode": "discrete"})
    assert not text  # a mode the caller chose is kept (then the task plays it)
    session = TextSession("rlvr/MathTree-v0")
    assert not session.speaks_text
    messages, _ = session.start(seed=0)
    assert messages[-1]["content"] == session.problem.prompt
    turn = session.act(session.task.solve(session.problem))
    assert turn.done and turn.reward == 1.0 and turn.reply is None
    with pytest.raises(ValueError, match="max_turns"):
        TextSession("rlvr/Countdown-v0", max_turns=True)


def test_plain_turns_infos_into_json():
    info = {"a": np.int64(3), "b": np.array([1.5, 2.5]), "c": {"d": (1, 2)}, "e": object(), "f": None,
            "g": "x" * 10_000, "h": np.zeros(1000)}
    out = plain(info)
    assert out["a"] == 3 and out["b"] == [1.5, 2.5] and out["c"] == {"d": [1, 2]} and out["f"] is None
    assert "e" not in out and "h" not in out and len(out["g"]) < 5000
    json.dumps(out)
