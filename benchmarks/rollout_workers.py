"""Rollout workers against the in-process loop, on an env whose step waits on I/O.

    python benchmarks/rollout_workers.py [--latency-ms 20] [--episodes 64] [--repeats 3]

The env is `rlvr/MathTreeStep-v0` (three numbers, so an oracle episode takes two steps) with a
simulated tool call: every `step` sleeps `--latency-ms`, as a search API or a judge model would
make it wait. The policy is the env's oracle (no model: this measures the env
side only, which is what the workers take over; generation stays batched on the policy's device).
Each configuration plays the same `--episodes` episodes to the end, `--repeats` times:

    in-process (0 workers), threads x 1/2/4, Ray actors x 1/2/4 (when Ray is installed)

and prints episodes/s with the ratio to the in-process loop measured in the same run; the
hypothesis is that throughput grows with workers (and is printed as held or not per backend).
Results, with versions and machine, go to benchmarks/results/rollout_workers_cpu.json.
Ray's start-up (~5 s here) is timed apart and left out of the rates.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from rlvr.training.builders import build_env
from rlvr.training.config import load_config
from rlvr.training.rollout import ProblemStream
from rlvr.training.run_files import record_environment
from rlvr.training.workers import EnvShard, RolloutWorkers

RESULTS = Path(__file__).parent / "results" / "rollout_workers_cpu.json"
WORKER_COUNTS = (1, 2, 4)


class SlowToolEnv:
    """The config's env, with every step waiting `latency_s` first (a simulated tool call)."""

    def __init__(self, config: Any, latency_s: float) -> None:
        self.env, self.latency_s = build_env(config), latency_s

    def reset(self, **kwargs: Any) -> Any:
        return self.env.reset(**kwargs)

    def step(self, action: str) -> Any:
        time.sleep(self.latency_s)
        return self.env.step(action)


def play(stepper: Any, problems: list, oracle_moves: list[list[str]]) -> float:
    """Seconds to reset every episode and play the oracle's moves to the end."""
    rows = list(range(len(problems)))
    start = time.perf_counter()
    stepper.reset(rows, problems)
    for turn in range(max(len(moves) for moves in oracle_moves)):
        active = [row for row in rows if turn < len(oracle_moves[row])]
        stepper.step(active, [oracle_moves[row][turn] for row in active])
    return time.perf_counter() - start


def oracle_moves(config: Any, problems: list) -> list[list[str]]:
    moves = []
    for problem in problems:
        env = build_env(config)
        env.reset(options={"problem": problem})
        episode = []
        while (action := env.unwrapped.oracle_action()) is not None:
            episode.append(action)
            *_, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                break
        moves.append(episode)
    return moves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--episodes", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    config = load_config({"env_id": "rlvr/MathTreeStep-v0", "difficulty": {"number_count": 3}})
    task_env = build_env(config)
    problems = ProblemStream(task_env.task, 0, task_env.difficulty).take(args.episodes)
    moves = oracle_moves(config, problems)
    steps = sum(len(m) for m in moves)
    make_env = functools.partial(SlowToolEnv, config, args.latency_ms / 1000)

    def measure(stepper: Any) -> dict[str, Any]:
        play(stepper, problems, moves)  # envs built on the first pass: warm them up
        times = [play(stepper, problems, moves) for _ in range(args.repeats)]
        return {"seconds": [round(t, 4) for t in times], "episodes_per_s": round(args.episodes / statistics.median(times), 2)}

    ray_start_s = None
    rows = [{"backend": "in-process", "workers": 0, **measure(EnvShard(make_env))}]
    backends = ["threads"]
    try:
        import ray

        backends.append("ray")
        start = time.perf_counter()  # one local Ray with a CPU slot per actor of the largest row
        ray.init(num_cpus=max(WORKER_COUNTS), log_to_driver=False, include_dashboard=False, configure_logging=False)
        ray_start_s = round(time.perf_counter() - start, 2)
    except ImportError:
        print("ray not installed: Ray rows skipped (pip install 'rlvr[ray]')")
    for backend in backends:
        for count in WORKER_COUNTS:
            with RolloutWorkers(make_env, count, backend=backend) as workers:
                rows.append({"backend": backend, "workers": count, **measure(workers)})
    base = rows[0]["episodes_per_s"]
    for row in rows:
        row["ratio_to_in_process"] = round(row["episodes_per_s"] / base, 2)
    held = {}
    for backend in backends:
        rates = [row["episodes_per_s"] for row in rows if row["backend"] == backend]
        held[backend] = all(b > a for a, b in zip(rates, rates[1:], strict=False))
    print(f"{args.episodes} episodes, {steps} steps, {args.latency_ms:g} ms per step; "
          f"median of {args.repeats}")
    print(f"{'backend':<11} {'workers':>7} {'episodes/s':>11} {'x in-process':>13}")
    for row in rows:
        print(f"{row['backend']:<11} {row['workers']:>7} {row['episodes_per_s']:>11.1f} {row['ratio_to_in_process']:>13.2f}")
    for backend, ok in held.items():
        print(f"hypothesis (throughput grows with workers, {backend}): {'held' if ok else 'NOT held'}")
    with tempfile.TemporaryDirectory() as folder:
        environment = record_environment(folder)
    try:
        from importlib import metadata

        environment["packages"]["ray"] = metadata.version("ray")
    except Exception:  # noqa: BLE001 - no ray: recorded as absent
        environment["packages"]["ray"] = None
    result = {"benchmark": "rollout_workers", "latency_ms": args.latency_ms, "episodes": args.episodes,
              "steps": steps, "repeats": args.repeats, "ray_start_s": ray_start_s, "rows": rows,
              "hypothesis_held": held, "environment": environment}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
