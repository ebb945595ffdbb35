"""Rollout workers: env stepping and verifier scoring fanned out to Ray actors (or threads).

Generation stays batched on the policy's device; what fans out is the per-rollout work around it,
which is the slow part for tasks whose step waits on a tool (search), another model (debate,
elicitation) or a heavy verifier (math-verify):

    workers = RolloutWorkers(partial(build_env, config), num_workers=4)        # backend="ray"
    rewards, components, errors = workers.score(problems, texts, group_size)   # single-turn
    observations = workers.reset(rows, problems)                               # multi-turn
    results = workers.step(rows, actions)          # [(observation, reward, terminated, truncated, info)]

Each worker (a Ray actor, or a thread with an object of its own) builds its own env with
`make_env()`, which must be picklable for Ray (`functools.partial(build_env, config)` is; a bound
method of a trainer is not meant to be). Rollout row `r` always goes to worker `r % num_workers`,
so an episode's env lives in one worker for the whole episode, and results come back in the order
asked: a run with workers gives the same rewards, episodes and step lines as a run without them
(tested).

Ray: `address=None` starts (or joins) a local Ray with enough CPU slots for the actors;
`address="ray://host:10001"` or `"auto"` joins a cluster, where each actor asks for one CPU and
actors are spread over the nodes. Nothing is read from disk; arguments and results travel in Ray's
object store. A worker that dies, or a call past `timeout_s`, raises a `RuntimeError` naming the
worker, never a hang. `rollout_workers: N` in a training config turns this on (`rollout_backend`,
`ray_address`, `rollout_timeout_s` beside it); `pip install 'rlvr[ray]'` installs Ray.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import torch

from rlvr.core.problem import Problem

_START_TIMEOUT_S = 120.0
"""Longest the Ray actors may take to start (import rlvr, build nothing yet) before the run stops."""

BACKENDS = ("ray", "threads")
"""`ray`: one actor per worker (processes, local or on a cluster); `threads`: one thread per worker in
this process (enough when the work waits on I/O; CPU-bound scoring is held by the GIL)."""


class EnvShard:
    """What one worker holds: its env (for scoring through the env's task) and the envs of its
    episodes, by rollout row. Plain methods, so the same object serves Ray, threads and the
    in-process loop (which passes its own list of envs, reused across steps, as `envs`)."""

    def __init__(self, make_env: Callable[[], Any], envs: list[Any] | None = None) -> None:
        self._make_env = make_env
        self._scorer: Any = None
        self._envs: dict[int, Any] | list[Any] = {} if envs is None else envs

    def _env(self, row: int) -> Any:
        """Row's env, built the first time the row is seen and reused after."""
        if isinstance(self._envs, list):
            while len(self._envs) <= row:
                self._envs.append(self._make_env())
            return self._envs[row]
        if row not in self._envs:
            self._envs[row] = self._make_env()
        return self._envs[row]

    def score(self, items: Sequence[tuple[Problem, str]]) -> list[tuple[float, dict[str, float], str | None]]:
        """(reward, components, error) of each (problem, text) by the env task's verifier."""
        if self._scorer is None:
            self._scorer = self._make_env()
        task = self._scorer.task
        out = []
        for problem, text in items:
            score = task.score(problem, text)
            out.append((float(score.reward), {k: float(v) for k, v in score.components.items()}, score.error))
        return out

    def reset(self, rows: Sequence[int], problems: Sequence[Problem]) -> list[Any]:
        """Reset the env of each row on its problem; the observations."""
        return [self._env(row).reset(options={"problem": problem})[0]
                for row, problem in zip(rows, problems, strict=True)]

    def step(self, rows: Sequence[int], actions: Sequence[str]) -> list[tuple[Any, float, bool, bool, dict]]:
        """One `env.step(action)` per row, in order."""
        out = []
        for row, action in zip(rows, actions, strict=True):
            observation, reward, terminated, truncated, info = self._env(row).step(action)
            out.append((observation, float(reward), bool(terminated), bool(truncated), dict(info)))
        return out

    def ping(self) -> int:
        return os.getpid()


class RolloutWorkers:
    """`num_workers` env shards behind one ordered interface (see the module docstring)."""

    def __init__(self, make_env: Callable[[], Any], num_workers: int, backend: str = "ray",
                 address: str | None = None, timeout_s: float = 600.0) -> None:
        if num_workers < 1:
            raise ValueError(f"num_workers must be >= 1, got {num_workers}")
        if backend not in BACKENDS:
            raise ValueError(f"unknown rollout backend {backend!r}; expected one of {list(BACKENDS)}")
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self.num_workers, self.backend, self.timeout_s = num_workers, backend, float(timeout_s)
        self._pool: ThreadPoolExecutor | None = None
        if backend == "ray":
            self._shards = _ray_actors(make_env, num_workers, address)
        else:
            self._shards = [EnvShard(make_env) for _ in range(num_workers)]
            self._pool = ThreadPoolExecutor(num_workers, thread_name_prefix="rlvr-rollout")

    # ---- the work ---------------------------------------------------------------------------------
    def score(self, problems: Sequence[Problem], texts: Sequence[str], group_size: int):
        """Rewards [B, G], components {name: [B, G]} and errors (flat) of `texts` (rows grouped by
        problem): what `rlvr.training.rollout.score_texts` returns, computed by the workers."""
        if len(texts) != len(problems) * group_size:
            raise ValueError(f"expected {len(problems)} x {group_size} texts, got {len(texts)}")
        rows = list(range(len(texts)))
        scores = self._fan_out("score", rows, [(problems[row // group_size], texts[row]) for row in rows])
        shape = (len(problems), group_size)
        rewards = torch.tensor([reward for reward, _, _ in scores], dtype=torch.float32).view(shape)
        names = sorted({name for _, components, _ in scores for name in components} | {"correct"})
        components = {
            name: torch.tensor([c.get(name, 0.0) for _, c, _ in scores], dtype=torch.float32).view(shape)
            for name in names
        }
        return rewards, components, [error for _, _, error in scores]

    def reset(self, rows: Sequence[int], problems: Sequence[Problem]) -> list[Any]:
        """Reset row r's env (in worker r % N) on its problem; the observations, in order."""
        return self._fan_out("reset", list(rows), list(problems))

    def step(self, rows: Sequence[int], actions: Sequence[str]) -> list[tuple[Any, float, bool, bool, dict]]:
        """Step row r's env with its action; (observation, reward, terminated, truncated, info) in order."""
        return self._fan_out("step", list(rows), list(actions))

    def close(self) -> None:
        """Stop the actors (or threads). The workers cannot be used after."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        elif self._shards:
            import ray

            for actor in self._shards:
                ray.kill(actor)
        self._shards = []

    def __enter__(self) -> RolloutWorkers:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- fan-out ----------------------------------------------------------------------------------
    def _fan_out(self, method: str, rows: list[int], payload: list[Any]) -> list[Any]:
        """Call `method` on each worker with its rows (row r -> worker r % N) and put the results
        back in the order of `rows`."""
        if not self._shards:
            raise RuntimeError("the rollout workers were closed")
        if len(rows) != len(payload):
            raise ValueError(f"{method}: {len(rows)} rows but {len(payload)} items")
        parts: dict[int, list[int]] = {}
        for position, row in enumerate(rows):
            parts.setdefault(row % self.num_workers, []).append(position)
        calls = {}
        for worker, positions in parts.items():
            items = [payload[p] for p in positions]
            args = (items,) if method == "score" else ([rows[p] for p in positions], items)
            calls[worker] = self._call(worker, method, args)
        out: list[Any] = [None] * len(rows)
        for worker, positions in parts.items():
            results = self._result(worker, method, calls[worker])
            if len(results) != len(positions):
                raise RuntimeError(f"rollout worker {worker} returned {len(results)} results for "
                                   f"{len(positions)} items of {method!r}")
            for position, result in zip(positions, results, strict=True):
                out[position] = result
        return out

    def _call(self, worker: int, method: str, args: tuple) -> Any:
        shard = self._shards[worker]
        if self._pool is not None:
            return self._pool.submit(getattr(shard, method), *args)
        return getattr(shard, method).remote(*args)

    def _result(self, worker: int, method: str, handle: Any) -> Any:
        if self._pool is not None:
            try:
                return handle.result(timeout=self.timeout_s)
            except FutureTimeout:
                raise RuntimeError(f"rollout worker {worker} did not finish {method!r} within "
                                   f"{self.timeout_s:g} s") from None
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError

        try:
            return ray.get(handle, timeout=self.timeout_s)
        except GetTimeoutError:
            raise RuntimeError(f"rollout worker {worker} (Ray actor) did not finish {method!r} within "
                               f"{self.timeout_s:g} s") from None
        except RayActorError as error:
            raise RuntimeError(f"rollout worker {worker} (Ray actor) died during {method!r}: "
                               f"{str(error).splitlines()[0]}") from None


def _ray_actors(make_env: Callable[[], Any], num_workers: int, address: str | None) -> list[Any]:
    """`num_workers` EnvShard actors on a local Ray (started here if none runs) or on the cluster
    at `address`."""
    import ray  # the `ray` extra; a missing one becomes the CLI's one-line "pip install" error

    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False, include_dashboard=False)
        else:
            # a local Ray gets a CPU slot per actor even on a small machine: the actors mostly wait
            ray.init(num_cpus=max(num_workers, os.cpu_count() or 1), log_to_driver=False,
                     include_dashboard=False, configure_logging=False)
    deadline = time.monotonic() + 10  # CPUs of actors just killed come back after a moment
    while (free := ray.available_resources().get("CPU", 0)) < num_workers and time.monotonic() < deadline:
        time.sleep(0.2)
    if free < num_workers:  # each actor asks for a CPU: more would wait for ever, not fail
        raise RuntimeError(f"{num_workers} rollout workers need {num_workers} free CPUs on the Ray cluster, "
                           f"which has {free:g}: lower rollout_workers or start Ray with more CPUs")
    actor = ray.remote(num_cpus=1, scheduling_strategy="SPREAD")(EnvShard)
    actors = [actor.remote(make_env) for _ in range(num_workers)]
    try:  # fail here, not in the first step
        ray.get([a.ping.remote() for a in actors], timeout=_START_TIMEOUT_S)
    except Exception as error:
        for a in actors:
            ray.kill(a)
        raise RuntimeError(f"{num_workers} rollout workers (Ray actors) did not start within "
                           f"{_START_TIMEOUT_S:g} s: {str(error).splitlines()[0]}") from None
    return actors


def workers_from_config(config: Any, make_env: Callable[[], Any]) -> RolloutWorkers | None:
    """The rollout workers a `TrainConfig` asks for (`rollout_workers`, `rollout_backend`,
    `ray_address`, `rollout_timeout_s`), each building its envs with `make_env` (picklable for Ray:
    `functools.partial(build_env, config)`); None for 0 workers."""
    if not config.rollout_workers:
        return None
    return RolloutWorkers(make_env, config.rollout_workers, backend=config.rollout_backend,
                          address=config.ray_address, timeout_s=config.rollout_timeout_s)
