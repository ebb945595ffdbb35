"""Checks every rlvr task and env must pass; each raises AssertionError saying what broke.

`check_task` covers the Task contract (seeded streams, stable ids, oracle answers accepted, any
string scored without raising). `check_env_conformance` covers the env: Gymnasium's `check_env`,
same seed -> same problems, neighbouring seeds differ, train/eval splits disjoint, pickling
mid-episode, per-episode difficulty through `reset(options=...)`, and the oracle playing to a
correct answer where the env has one.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
from gymnasium.utils.env_checker import check_env

from rlvr.agents.rollout import play_episode
from rlvr.agents.simple import OracleAgent
from rlvr.core.problem import Problem, Score, make_problem_id, split_of
from rlvr.core.task import Task

ADVERSARIAL_RESPONSES: tuple[str, ...] = (
    "",
    " ",
    "\\boxed{}",
    "9^9^9^9",
    "\\frac{1}{0}",
    "1/0",
    "(" * 10_000,
    "[" * 5_000 + "]" * 5_000,
    "\ud800 lone surrogate",
    "__import__('os').system('echo hi')",
    "9" * 100_000,
    "\x00\x01\x02",
    "\\boxed{3} \\boxed{4}",
    "3 or 4",
)
"""Inputs that broke peer libraries' verifiers; every task must score them without raising."""


ORACLE_EPISODES_UNDER_NOISE = 20
ORACLE_MIN_SUCCESS_UNDER_NOISE = 0.6


def _fail(message: str) -> None:
    raise AssertionError(message)


def check_task(
    task: Task, *, seed: int = 0, n: int = 30, difficulty: Mapping[str, Any] | None = None
) -> list[Problem]:
    """Check the Task contract on `n` problems of stream `seed`; returns the problems."""
    problems = [task.problem_at(seed, i, difficulty) for i in range(n)]
    again = [task.problem_at(seed, i, difficulty) for i in range(n)]
    if [p.problem_id for p in problems] != [p.problem_id for p in again]:
        _fail(f"{task.name}: the same (seed, index) gave different problems")
    if [p.prompt for p in problems] != [p.prompt for p in again]:
        _fail(f"{task.name}: the same (seed, index) gave different prompts")
    resolved = task.difficulty(difficulty)
    for problem in problems:
        expected_id = make_problem_id(task.name, task.version, problem.content)
        if problem.problem_id != expected_id:
            _fail(f"{task.name}: problem_id {problem.problem_id} is not the hash of its content")
        if dict(problem.difficulty) != resolved:
            _fail(f"{task.name}: problem difficulty {dict(problem.difficulty)} != requested {resolved}")
        if not problem.prompt:
            _fail(f"{task.name}: empty prompt")
        solution = task.solve(problem)
        if solution is not None:
            score = task.score(problem, solution)
            if not score.correct:
                _fail(f"{task.name}: the oracle's answer {solution!r} was scored {score}")
    for response in ADVERSARIAL_RESPONSES:
        try:
            score = task.score(problems[0], response)
        except Exception as exc:  # a verifier must score, never raise
            _fail(f"{task.name}: score() raised {type(exc).__name__}: {exc} on {response[:40]!r}")
        if not isinstance(score, Score) or not math.isfinite(score.reward):
            _fail(f"{task.name}: score() returned {score!r} for {response[:40]!r}")
        if score.correct:
            _fail(f"{task.name}: adversarial response {response[:40]!r} was scored correct")
    return problems


def _problem_ids(env: gym.Env, seed: int, episodes: int) -> list[str]:
    ids = []
    for episode in range(episodes):
        _, info = env.reset(seed=seed if episode == 0 else None)
        ids.append(info["problem_id"])
    return ids


def _make(env_id: str, **kwargs: Any) -> gym.Env:
    return gym.make(env_id, disable_env_checker=True, **kwargs)


def check_env_conformance(env_id: str, *, seed: int = 0, episodes: int = 12, **kwargs: Any) -> None:
    """Run every env-level check on a registered single-agent id (extra kwargs go to gym.make)."""
    env = _make(env_id, **kwargs)
    check_env(env.unwrapped, skip_render_check=True)

    first, second = _make(env_id, **kwargs), _make(env_id, **kwargs)
    ids = _problem_ids(first, seed, episodes)
    if ids != _problem_ids(second, seed, episodes):
        _fail(f"{env_id}: the same seed gave different problem streams")
    if ids == _problem_ids(second, seed + 1, episodes):
        _fail(f"{env_id}: seeds {seed} and {seed + 1} gave the same problem stream")

    by_split = {}
    for split in ("train", "eval"):
        split_env = _make(env_id, split=split, **kwargs)
        by_split[split] = set(_problem_ids(split_env, seed, episodes))
        wrong = [pid for pid in by_split[split] if split_of(pid) != split]
        if wrong:
            _fail(f"{env_id}: split={split!r} produced problems of another split: {wrong[:3]}")
    if by_split["train"] & by_split["eval"]:
        _fail(f"{env_id}: train and eval share problem ids {sorted(by_split['train'] & by_split['eval'])[:3]}")

    env.reset(seed=seed)
    action = env.action_space.sample()
    clone = pickle.loads(pickle.dumps(env))
    result, clone_result = env.step(action), clone.step(action)
    if float(result[1]) != float(clone_result[1]) or result[2:4] != clone_result[2:4]:
        _fail(f"{env_id}: a pickled copy stepped differently: {result[1:4]} vs {clone_result[1:4]}")

    _, info = env.reset(seed=seed, options={"difficulty": {}})
    if dict(info["difficulty"]) != dict(env.unwrapped.difficulty):
        _fail(f"{env_id}: info['difficulty'] does not report the env's difficulty")

    if getattr(env.unwrapped, "oracle_action", None) is not None:
        _check_oracle(env_id, env, seed)
    env.close()


def _check_oracle(env_id: str, env: gym.Env, seed: int) -> None:
    """An exact oracle wins every episode; an oracle facing noise must still win most of them."""
    oracle = OracleAgent([env])
    exact = getattr(env.unwrapped, "oracle_is_exact", True)
    episodes = 3 if exact else ORACLE_EPISODES_UNDER_NOISE
    wins = 0
    for episode in range(episodes):
        outcome = play_episode(env, oracle, seed=seed + episode)
        if exact and not outcome.correct:
            _fail(f"{env_id}: the oracle failed (info: {outcome.final_info})")
        wins += outcome.correct
    if wins < ORACLE_MIN_SUCCESS_UNDER_NOISE * episodes:
        _fail(f"{env_id}: the oracle won only {wins} of {episodes} episodes")
