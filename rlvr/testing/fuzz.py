"""Feed an env hostile actions and check that it scores them: the fuzz half of conformance.

    from rlvr.testing import fuzz_env
    fuzz_env("rlvr/Countdown-v0", n=200, seed=0).check()        # raises AssertionError on a failure
    fuzz_env(my_env, n=1_000, seed=3).failures                   # any gymnasium or PettingZoo env

Every action of the fixed corpus (`rlvr.testing.hostile.fixed_actions`) is fed, then `n` seeded
random ones (mutations of the oracle's action where the env has `oracle_action()`, ids just
outside the action space, random hostile text and structures). A PettingZoo env gets them for
each agent (parallel: one action per live agent per step, sometimes a whole malformed actions
argument; AEC: the agent whose turn it is). For each step the check asks for:

- no exception out of `step()` (nor out of `reset()` between episodes);
- no step longer than the env's scoring time limit plus `TIME_SLACK_S` (the limit is the env's
  `score_time_limit` attribute, else its task's `timeout`, else 0: scoring is then expected to
  take well under a second). "Longer" counts the step's CPU time, so that other processes on a
  busy machine do not fail it, and its wall-clock time with `WALL_ALLOWANCE_S` more, for waits;
- a finite real reward within the documented range: the env's `reward_range` attribute (a
  `(low, high)` pair, or a mapping from agent to pair), else its task's, else `DEFAULT_RANGE`;
- `terminated`/`truncated` booleans and `info` a dict;
- no `info` string starting with `INTERNAL_ERROR` ("internal error:"): the base envs turn an
  exception raised while scoring into such a zero so training survives it, but it is still a bug.

One env is reused for the whole run; a run depends only on the env and the seed, so a failure
replays with the same call. Failures print the env, seed, case number and a cut action repr.
A single-agent run starts with one untimed warm-up step (worker pools start lazily).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from pettingzoo import AECEnv

from rlvr.core.task_env import INTERNAL_ERROR, TaskEnv, action_repr
from rlvr.testing.hostile import fixed_actions, random_action

DEFAULT_RANGE = (-1.0, 1.0)
"""Reward range assumed for an env that declares none (the usual normalised reward)."""
TIME_SLACK_S = 1.0
"""Seconds a step may take beyond its scoring time limit."""
WALL_ALLOWANCE_S = 10.0
"""A step is too slow when its own CPU time passes the limit (work done in-process, measured apart
from other processes' load on a shared machine), or its wall-clock time passes the limit plus
this allowance (time spent waiting: a worker that never answers)."""
MAX_FAILURES = 50
"""A run stops collecting after this many failures (they usually share one cause)."""
PROBLEM_REUSE = 20
"""An rlvr env replays its problem (`reset(options={"problem": ...})`) for this many episodes
before drawing a new one: the fuzz is about steps, and some generators take tens of ms a problem."""
_HOSTILE_ACTIONS_ARGUMENTS = (None, [], "answer: 3", 10**5000, {"no_such_agent": "3"}, {}, [("debater_0", "3")])
"""Malformed whole `actions` arguments for a parallel env's step."""
STEPS_PER_ACTION = 20
"""An AEC run gives up after this many steps per action it meant to feed (an env whose turns never
reach some agent, and that has no `oracle_action(agent)` to steer it, would loop forever)."""


@dataclass(frozen=True)
class Failure:
    """One broken check, with what replays it."""

    env_id: str
    seed: int
    case: int
    """Index of the action in the run (the fixed corpus first, then the random ones)."""
    action: str
    problem: str
    agent: str | None = None

    def __str__(self) -> str:
        who = f" agent {self.agent}" if self.agent else ""
        return f"{self.env_id}{who} seed={self.seed} case={self.case}: {self.problem}; action={self.action}"


@dataclass
class FuzzReport:
    """What a run fed and found; `check()` raises when anything failed."""

    env_id: str
    seed: int
    n: int = 0
    """Random actions asked for after the fixed corpus."""
    reward_range: Any = DEFAULT_RANGE
    range_source: str = "default"
    """Where the range came from: 'env', 'task', 'default' or 'argument'."""
    time_limit_s: float = TIME_SLACK_S
    actions: int = 0
    """Hostile actions fed (per agent for a multi-agent env, counted over agents)."""
    steps: int = 0
    slowest_s: float = 0.0
    """Longest step, wall-clock seconds (with `slowest_action`, its cut repr)."""
    slowest_action: str = ""
    slowest_cpu_s: float = 0.0
    """Most CPU time one step took."""
    failures: list[Failure] = field(default_factory=list)

    def check(self) -> None:
        if self.failures:
            shown = "\n  ".join(str(f) for f in self.failures[:10])
            more = f"\n  ... and {len(self.failures) - 10} more" if len(self.failures) > 10 else ""
            raise AssertionError(
                f"{self.env_id}: {len(self.failures)} fuzz failure(s) in {self.actions} hostile actions "
                f"(replay: fuzz_env({self.env_id!r}, seed={self.seed}, n={self.n}) with the same env arguments):"
                f"\n  {shown}{more}"
            )


def declared_reward_range(env: Any) -> tuple[Any, str]:
    """(range, where it was found): the env's `reward_range` ('env'), its task's ('task'), or
    (`DEFAULT_RANGE`, 'default'). A range is a (low, high) pair or a mapping from agent to pair."""
    raw = getattr(env, "unwrapped", env)
    for owner, source in ((raw, "env"), (getattr(raw, "task", None), "task")):
        value = getattr(owner, "reward_range", None) if owner is not None else None
        if value is not None and not callable(value):
            return value, source
    return DEFAULT_RANGE, "default"


def _time_limit(raw: Any) -> float:
    for owner in (raw, getattr(raw, "task", None)):
        for name in ("score_time_limit", "timeout"):
            value = getattr(owner, name, None)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
                return float(value) + TIME_SLACK_S
    return TIME_SLACK_S


def _range_for(report: FuzzReport, agent: str | None) -> tuple[float, float]:
    declared = report.reward_range
    if isinstance(declared, Mapping):
        declared = declared.get(agent, DEFAULT_RANGE)
    low, high = declared
    return float(low), float(high)


def _internal_errors(value: Any, depth: int = 0) -> Iterator[str]:
    """Strings starting with INTERNAL_ERROR anywhere in an info (a few levels deep)."""
    if isinstance(value, str):
        if value.startswith(INTERNAL_ERROR):
            yield value
    elif depth < 4 and isinstance(value, Mapping):
        for item in list(value.values())[:200]:
            yield from _internal_errors(item, depth + 1)
    elif depth < 4 and isinstance(value, (list, tuple)):
        for item in value[:200]:
            yield from _internal_errors(item, depth + 1)


class _Run:
    """The state of one fuzz run: the report, the action stream and the checks."""

    def __init__(self, report: FuzzReport, n: int, fixed: bool) -> None:
        self.report = report
        self.rng = np.random.default_rng(report.seed)
        self.fixed = fixed_actions() if fixed else ()
        self.total = len(self.fixed) + n
        self.seen_errors: set[str] = set()
        self.last_elapsed = self.last_cpu = 0.0

    def action(self, case: int, raw: Any, space: Any, *agent: str) -> Any:
        if case < len(self.fixed):
            return self.fixed[case]
        return random_action(self.rng, space=space, oracle_fn=lambda: _oracle(raw, *agent))

    def fail(self, case: int, action: Any, problem: str, agent: str | None = None) -> None:
        if len(self.report.failures) < MAX_FAILURES:
            if isinstance(action, dict) and agent is None:  # a parallel step: one action per agent
                shown = "{" + ", ".join(f"{action_repr(k, 40)}: {action_repr(v, 60)}" for k, v in action.items()) + "}"
            else:
                shown = action_repr(action.get(agent) if isinstance(action, dict) and agent in action else action, 160)
            self.report.failures.append(Failure(self.report.env_id, self.report.seed, case, shown, problem, agent))

    def timed(self, call: Any, *args: Any, warm_up: bool = False, **kwargs: Any) -> tuple[Any, BaseException | None]:
        start, start_cpu = time.perf_counter(), time.thread_time()
        try:
            result, error = call(*args, **kwargs), None
        except Exception as exc:
            result, error = None, exc
        elapsed = time.perf_counter() - start
        self.last_cpu = time.thread_time() - start_cpu
        if not warm_up:
            self.report.steps += 1
            if elapsed > self.report.slowest_s:
                self.report.slowest_s, self.report.slowest_action = elapsed, action_repr(args or kwargs, 80)
            self.report.slowest_cpu_s = max(self.report.slowest_cpu_s, self.last_cpu)
            self.last_elapsed = elapsed
        else:
            self.last_elapsed = self.last_cpu = 0.0
        return result, error

    def check_outcome(self, case: int, action: Any, agent: str | None, reward: Any, terminated: Any,
                      truncated: Any, info: Any, subject: str | None = None) -> None:
        """Check one step's outcome for `subject` (the agent it concerns; by default the actor)."""
        subject = subject if subject is not None else agent
        prefix = f"[outcome of {subject}] " if subject != agent else ""  # an AEC step pays every agent
        for problem in self._problems(subject, reward, terminated, truncated, info):
            self.fail(case, action, prefix + problem, agent)

    def _problems(self, subject: str | None, reward: Any, terminated: Any, truncated: Any, info: Any) -> list[str]:
        problems = []
        limit = self.report.time_limit_s
        if self.last_cpu > limit or self.last_elapsed > limit + WALL_ALLOWANCE_S:
            problems.append(f"step took {self.last_elapsed:.2f} s ({self.last_cpu:.2f} s of CPU), limit {limit:.2f} s")
        low, high = _range_for(self.report, subject)
        if isinstance(reward, (bool, np.bool_)) or not isinstance(reward, (int, float, np.integer, np.floating)):
            problems.append(f"reward must be a real number, got {type(reward).__name__}")
        elif not math.isfinite(float(reward)):
            problems.append(f"reward {float(reward)!r} is not finite")
        else:
            tolerance = 1e-9 * max(1.0, abs(low), abs(high))
            if not low - tolerance <= float(reward) <= high + tolerance:
                problems.append(f"reward {float(reward)!r} outside the documented range [{low}, {high}]")
        for flag, name in ((terminated, "terminated"), (truncated, "truncated")):
            if not isinstance(flag, (bool, np.bool_)):
                problems.append(f"{name} must be a bool, got {type(flag).__name__}")
        if not isinstance(info, dict):
            return [*problems, f"info must be a dict, got {type(info).__name__}"]
        for message in _internal_errors(info):
            if message not in self.seen_errors:  # transcripts repeat earlier rounds' errors
                self.seen_errors.add(message)
                problems.append(f"scoring raised ({message[:300]})")
        return problems

    def crashed(self, case: int, action: Any, error: BaseException, agent: str | None = None, where: str = "step") -> None:
        from rlvr.core.task_env import internal_error

        self.fail(case, action, f"{where}() raised {internal_error(error)[len(INTERNAL_ERROR) + 1:]}", agent)


def _oracle(raw: Any, *args: Any) -> Any:
    method = getattr(raw, "oracle_action", None)
    if method is None:
        return None
    try:
        return method(*args)
    except Exception:  # the oracle is not under test here; conformance checks it
        return None


def _single(env: gym.Env, run: _Run) -> None:
    raw, report = env.unwrapped, run.report
    _, error = run.timed(env.reset, warm_up=True, seed=report.seed)
    if error is not None:
        run.crashed(-1, None, error, where="reset")
        return
    warm = _oracle(raw)
    run.timed(env.step, warm if warm is not None else "0", warm_up=True)
    done, case, episode = True, 0, 0
    while case < run.total and len(report.failures) < MAX_FAILURES:
        if done:
            replay = isinstance(raw, TaskEnv) and raw.problem is not None and episode % PROBLEM_REUSE
            _, error = run.timed(env.reset, warm_up=True, options={"problem": raw.problem} if replay else None)
            episode += 1
            if error is not None:
                run.crashed(case, None, error, where="reset")
                return
            done = False
            for _ in range(int(run.rng.integers(0, 3)) if run.rng.random() < 0.3 else 0):
                guide = _oracle(raw)
                if guide is None:
                    break
                result, error = run.timed(env.step, guide)
                if error is not None:
                    run.crashed(case, guide, error)
                    done = True
                    break
                run.check_outcome(case, guide, None, *result[1:])
                if result[2] or result[3]:
                    done = True
                    break
            if done:
                continue
        action = run.action(case, raw, env.action_space)
        report.actions += 1
        result, error = run.timed(env.step, action)
        if error is not None:
            run.crashed(case, action, error)
            done = True
        else:
            run.check_outcome(case, action, None, *result[1:])
            done = bool(result[2]) or bool(result[3])
        case += 1


def _parallel(env: Any, run: _Run) -> None:
    raw, report = env.unwrapped, run.report
    agents: list[str] = []
    case = 0
    while case < run.total and len(report.failures) < MAX_FAILURES:
        if not agents:
            _, error = run.timed(env.reset, warm_up=True, seed=report.seed if case == 0 else None)
            if error is not None:
                run.crashed(case, None, error, where="reset")
                return
            agents = list(env.agents)
        malformed = case >= len(run.fixed) and run.rng.random() < 0.05  # an extra step, not one of the n
        if malformed:
            actions: Any = _HOSTILE_ACTIONS_ARGUMENTS[int(run.rng.integers(len(_HOSTILE_ACTIONS_ARGUMENTS)))]
        else:
            actions = {a: run.action(case, raw, env.action_space(a), a) for a in agents}
            report.actions += len(agents)
        result, error = run.timed(env.step, actions)
        if error is not None:
            run.crashed(case, actions, error)
            agents = []
        else:
            _, rewards, terminations, truncations, infos = result
            for agent in agents:
                if agent not in rewards or agent not in infos:
                    run.fail(case, actions, "step() gave no reward or info for a live agent", agent)
                    continue
                run.check_outcome(case, actions, agent, rewards[agent], terminations.get(agent, False),
                                  truncations.get(agent, False), infos[agent])
            agents = list(env.agents)
        case += 0 if malformed else 1


def _aec(env: Any, run: _Run) -> None:
    raw, report = env.unwrapped, run.report
    fed = {a: 0 for a in env.possible_agents}
    steps_left = STEPS_PER_ACTION * run.total * len(fed)
    _, error = run.timed(env.reset, warm_up=True, seed=report.seed)
    while error is None and min(fed.values()) < run.total and len(report.failures) < MAX_FAILURES and steps_left:
        steps_left -= 1
        if not env.agents:
            _, error = run.timed(env.reset, warm_up=True)
            continue
        agent = env.agent_selection
        guide = _oracle(raw, agent)
        if env.terminations[agent] or env.truncations[agent]:
            action, case = None, -1
        elif guide is not None and fed[agent] > min(fed.values()) and run.rng.random() < 0.9:
            # An agent ahead plays its oracle so the game reaches the others (a questioner's
            # hostile actions are mostly unreadable, and only a real question gives the answerer a turn).
            action, case = guide, -1
        else:
            case = fed[agent]
            action = run.action(case, raw, env.action_space(agent), agent)
            fed[agent] += 1
            report.actions += 1
        _, step_error = run.timed(env.step, action)
        if step_error is not None:
            run.crashed(case, action, step_error, agent)
            _, error = run.timed(env.reset, warm_up=True)
            continue
        for name in list(env.agents):
            run.check_outcome(case, action, agent, env.rewards.get(name, 0.0), env.terminations.get(name, False),
                              env.truncations.get(name, False), env.infos.get(name), subject=name)
    if error is not None:
        run.crashed(-1, None, error, where="reset")


def fuzz_env(env: Any, n: int = 200, seed: int = 0, *, fixed: bool = True, mode: str | None = None,
             reward_range: Any = None, time_limit_s: float | None = None, **make_kwargs: Any) -> FuzzReport:
    """Fuzz one env (see the module doc): an rlvr id, any gymnasium id, or an env object.

    `n` random actions follow the fixed corpus (`fixed=False` skips it). A multi-agent rlvr id is
    made with `rlvr.make_multi` in `mode` (default: its first mode). `reward_range` and
    `time_limit_s` override what the env declares; `make_kwargs` go to the env's constructor.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    made = isinstance(env, str)
    if not made and (mode is not None or make_kwargs):
        raise TypeError(f"mode and env arguments apply to an env id, not to a built env; got {sorted(make_kwargs)}")
    env_id = env if made else getattr(getattr(env, "spec", None), "id", None) or type(env).__name__
    if made:
        from rlvr.registration import MULTI_AGENT, make_multi

        if env in MULTI_AGENT:
            env = make_multi(env, mode=mode or MULTI_AGENT[env].modes[0], **make_kwargs)
        else:
            env = gym.make(env, disable_env_checker=True, **make_kwargs)
    raw = getattr(env, "unwrapped", env)
    report = FuzzReport(str(env_id), int(seed), int(n))
    report.reward_range, report.range_source = (
        (reward_range, "argument") if reward_range is not None else declared_reward_range(raw)
    )
    report.time_limit_s = time_limit_s + TIME_SLACK_S if time_limit_s is not None else _time_limit(raw)
    run = _Run(report, n, fixed)
    try:
        if isinstance(env, gym.Env):
            _single(env, run)
        elif isinstance(env, AECEnv):
            _aec(env, run)
        else:
            _parallel(env, run)
    finally:
        if made:  # an env the caller passed stays theirs to close
            env.close()
    return report
