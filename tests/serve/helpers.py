"""Shared pieces of the serve tests: a registered test env whose step can hang, and trajectories.

`SlowEnv` (id `rlvr_test/Slow-v0`, registered with Gymnasium on import) answers any text; the
action "sleep" makes its step sleep `SLEEP_S` seconds, longer than any test's step limit, so the
step time limit is tested on a real blocking call. Its info holds a numpy array and an object
that JSON cannot carry.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np

import rlvr  # noqa: F401  (registers the rlvr ids)
from rlvr.core.spaces import UnicodeText
from rlvr.serve import fields

SLOW_ID = "rlvr_test/Slow-v0"
SLEEP_S = 2.0


class SlowEnv(gym.Env):
    metadata = {"render_modes": []}

    def __init__(self) -> None:
        self.observation_space, self.action_space = UnicodeText(1000), UnicodeText(1000)
        self.steps = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        self.steps = 0
        return f"start {int(self.np_random.integers(1000))}", {}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if action == "sleep":
            time.sleep(SLEEP_S)
        self.steps += 1
        info = {"counts": np.arange(3), "handle": object()}
        return f"echo {action}", 1.0, self.steps >= 3, False, info


if SLOW_ID not in gym.registry:
    gym.register(SLOW_ID, entry_point=SlowEnv)


def scripted_actions(local: gym.Env, seed: int, n: int = 6) -> list[Any]:
    """Actions that make a trajectory interesting: where the env has an oracle, its answer (or its
    plan a line a turn) on even seeds and a wrong answer on odd ones; else seeded samples."""
    unwrapped = local.unwrapped
    if isinstance(local.action_space, gym.spaces.Text) and hasattr(unwrapped, "task"):
        if seed % 2:
            return ["not an answer"]
        solved = unwrapped.task.solve(unwrapped.problem)
        lines = [line for line in str(solved).splitlines() if line and not line.startswith("<")]
        return (lines if len(lines) > 1 else [solved])[:n]
    local.action_space.seed(seed)
    return [local.action_space.sample() for _ in range(n)]


def same_trajectory(remote: gym.Env, local: gym.Env, seed: int) -> int:
    """Play the same seed and actions on both; assert every step agrees; the steps played."""
    got, want = remote.reset(seed=seed), local.reset(seed=seed)
    agree(got[0], want[0], remote.observation_space)
    assert got[1] == fields.jsonable(want[1])
    steps = 0
    for action in scripted_actions(local, seed):
        got, want = remote.step(action), local.step(action)
        steps += 1
        agree(got[0], want[0], remote.observation_space)
        assert got[1:4] == (float(want[1]), want[2], want[3]), (got[1:4], want[1:4])
        assert got[4] == fields.jsonable(want[4])
        if want[2] or want[3]:
            break
    return steps


def agree(got: Any, want: Any, space: gym.Space) -> None:
    assert space.contains(got), (got, space)
    if isinstance(want, dict):
        assert set(got) == set(want)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])
            assert np.asarray(got[key]).dtype == np.asarray(want[key]).dtype
    else:
        assert got == want
