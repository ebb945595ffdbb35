"""The hostile-action fuzz over every registered id (and a few non-default modes), plus checks
that the fuzz itself catches each kind of failure it claims to, on small envs built to fail."""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
import pytest

import rlvr
from rlvr.core import Problem, Score, TextEnv
from rlvr.core.spaces import UnicodeText
from rlvr.core.task_env import action_repr
from rlvr.envs import debate_v0
from rlvr.registration import MULTI_AGENT, make_multi
from rlvr.testing import declared_reward_range, fixed_actions, fuzz_env, random_action
from rlvr.testing import fuzz as fuzz_module
from tests.conftest import AddTask

RANDOM_ACTIONS = 200
"""Random actions after the fixed corpus: about 460 hostile actions per id (per agent)."""
MIN_ACTIONS = 200

VARIANTS = [
    ("rlvr/MathTree-v0", {"action_mode": "chunk"}),
    ("rlvr/TwentyQuestions-v0", {"action_mode": "text"}),
    ("rlvr/OpinionPoll-v0", {"action_mode": "text", "final_guess": True}),
    ("rlvr/TwentyQuestions2P-v0", {"action_mode": "text"}),
    ("rlvr/TwentyQuestions2P-v0", {"answerer_reward": "team"}),
    ("rlvr/Debate-v0", {"mode": "aec"}),
    ("rlvr/Debate-v0", {"init": "diverse", "update": "confidence"}),
    ("rlvr/KGPath-v0", {"reward_mode": "paper"}),
    ("rlvr/SearchQA-v0", {"reward_mode": "cgrpo"}),
    ("rlvr/BlocksWorldStep-v0", {"illegal_action": "continue"}),
    ("rlvr/AbstainQA-v0", {"reward_correct": 2.0, "penalty_wrong": 0.5}),
]
"""Modes whose actions or rewards differ from the registered defaults."""


def _agents(env_id: str, **kwargs) -> int:
    if env_id not in MULTI_AGENT:
        return 1
    env = make_multi(env_id, mode=kwargs.pop("mode", MULTI_AGENT[env_id].modes[0]), **kwargs)
    return len(env.possible_agents)


@pytest.mark.parametrize("env_id", rlvr.ids())
def test_every_registered_id_scores_hostile_actions(env_id):
    report = fuzz_env(env_id, n=RANDOM_ACTIONS, seed=0)
    report.check()
    assert report.actions >= MIN_ACTIONS * _agents(env_id)


@pytest.mark.parametrize(("env_id", "kwargs"), VARIANTS, ids=lambda v: str(v))
def test_other_modes_score_hostile_actions(env_id, kwargs):
    report = fuzz_env(env_id, n=RANDOM_ACTIONS // 2, seed=1, **kwargs)
    report.check()
    assert report.actions >= MIN_ACTIONS * _agents(env_id, **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("env_id", rlvr.ids())
def test_every_registered_id_scores_ten_thousand_hostile_actions(env_id):
    report = fuzz_env(env_id, n=10_000, seed=2)
    report.check()
    assert report.actions >= 10_000 * _agents(env_id)


@pytest.mark.parametrize("env_id", rlvr.ids())
def test_every_registered_id_declares_its_reward_range(env_id):
    env = make_multi(env_id, mode=MULTI_AGENT[env_id].modes[0]) if env_id in MULTI_AGENT else gym.make(env_id)
    declared, source = declared_reward_range(env)
    assert source in ("env", "task"), f"{env_id} declares no reward_range; the fuzz would assume {declared}"
    pairs = declared.values() if isinstance(declared, dict) else [declared]
    assert all(low < high for low, high in pairs)


# ---------------------------------------------------------------------- the fuzz catches what it claims
class Scripted(gym.Env):
    """A third-party style env whose step misbehaves on one chosen action (see `behaviour`)."""

    observation_space = UnicodeText(100)
    action_space = UnicodeText(100)
    reward_range = (0.0, 1.0)

    def __init__(self, behaviour: str, trigger: object = "") -> None:
        self.behaviour, self.trigger, self.seen = behaviour, trigger, []

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return "prompt", {}

    def step(self, action):
        self.seen.append(action_repr(action, 50))
        hit = isinstance(action, type(self.trigger)) and action == self.trigger
        reward, info = 0.0, {}
        if hit and self.behaviour == "raise":
            raise ValueError("boom")
        if hit and self.behaviour == "nan":
            reward = float("nan")
        if hit and self.behaviour == "range":
            reward = 1.5
        if hit and self.behaviour == "info":
            info = ["not", "a", "dict"]
        if hit and self.behaviour == "internal":
            info = {"error": "internal error: KeyError at somewhere.py:1: 'x'"}
        if hit and self.behaviour == "slow":
            end = time.thread_time() + 0.2
            while time.thread_time() < end:  # burns CPU, as a backtracking regex would
                pass
        return "", reward, True, False, info


@pytest.mark.parametrize(("behaviour", "expected"), [
    ("raise", "step() raised ValueError"), ("nan", "is not finite"), ("range", "outside the documented range"),
    ("info", "info must be a dict"), ("internal", "scoring raised (internal error: KeyError"),
])
def test_the_fuzz_reports_each_kind_of_failure_with_what_replays_it(behaviour, expected):
    report = fuzz_env(Scripted(behaviour, trigger="\\boxed{}"), n=5, seed=7)
    assert len(report.failures) == 1, report.failures
    failure = report.failures[0]
    assert expected in failure.problem
    assert failure.seed == 7 and fixed_actions()[failure.case] == "\\boxed{}" and failure.action == "'\\\\boxed{}'"
    with pytest.raises(AssertionError, match=r"seed=7 case=\d+"):
        report.check()


def test_a_well_behaved_env_passes():
    report = fuzz_env(Scripted("none"), n=50, seed=0)
    assert report.failures == [] and report.actions == len(fixed_actions()) + 50
    report.check()


def test_a_step_that_burns_cpu_past_the_limit_fails(monkeypatch):
    monkeypatch.setattr(fuzz_module, "TIME_SLACK_S", 0.05)
    report = fuzz_env(Scripted("slow", trigger="0"), n=0, seed=0)
    assert len(report.failures) == 1 and report.failures[0].action == "'0'"
    assert report.failures[0].problem.startswith("step took") and "limit 0.05 s" in report.failures[0].problem


def test_runs_replay_from_the_seed():
    first, again, other = Scripted("none"), Scripted("none"), Scripted("none")
    fuzz_env(first, n=300, seed=11, fixed=False)
    fuzz_env(again, n=300, seed=11, fixed=False)
    fuzz_env(other, n=300, seed=12, fixed=False)
    assert first.seen == again.seen and first.seen != other.seen


def test_random_actions_mutate_the_oracle_and_leave_the_space():
    rng = np.random.default_rng(0)
    actions = [random_action(rng, oracle="3 + 4 = 7", space=gym.spaces.Discrete(5)) for _ in range(400)]
    assert any(isinstance(a, str) and a != "3 + 4 = 7" and "7" in a for a in actions)  # mutated oracle
    assert any(isinstance(a, int) and not 0 <= a < 5 for a in actions)  # just outside Discrete(5)
    assert any(not isinstance(a, (str, int)) for a in actions)  # wrong types


class _RaisingTask(AddTask):
    name = "test-raising"

    def score(self, problem: Problem, response: str) -> Score:
        if response.startswith("["):
            raise ZeroDivisionError("a verifier bug")
        return Score.binary(response.strip() == problem.answer)


class _RaisingEnv(TextEnv):
    task_class = _RaisingTask


def test_the_step_guard_turns_a_scoring_crash_into_a_zero_the_fuzz_still_fails_on():
    env = _RaisingEnv()
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step("[")
    assert reward == 0.0 and terminated
    assert info["error"].startswith("internal error: ZeroDivisionError at tests/testing/test_fuzz.py:")
    report = fuzz_env(_RaisingEnv(), n=0, seed=0, reward_range=(0.0, 1.0))
    assert report.failures and all("scoring raised (internal error: ZeroDivisionError" in f.problem
                                   for f in report.failures)


def test_the_fuzz_sees_scoring_crashes_inside_a_multi_agent_env():
    class Broken(AddTask):
        def score(self, problem, response):
            raise KeyError("a verifier bug")

    report = fuzz_env(debate_v0.parallel_env(task=Broken(), rounds=1), n=0, seed=0)
    assert report.failures and "internal error: KeyError" in report.failures[0].problem
