"""Token steps per second of the MathTree token MDP: plain env, SyncVectorEnv, batched env.

    python benchmarks/mathtree_throughput.py [--seconds 3] [--quick] [--check]

Rows, all with uniformly random token actions drawn in advance (the policy costs nothing) and
the default difficulty (|V| = 17, horizon 8, about 6.5 tokens an episode):
  (a) one `MathTreeEnv` stepped in a Python loop (reset when an episode ends);
  (b) `gymnasium.vector.SyncVectorEnv` of 1,024 `MathTreeEnv` (the baseline);
  (c) `MathTreeVectorEnv` (the id's `vector_entry_point`) at 1,024 and 4,096 envs.
Every row counts each env's step as one token step (an autoreset step included, as the vector
API does), runs single-threaded (the BLAS/OpenMP thread variables are set to 1 before numpy
loads) and is time-boxed. Prints a table and the ratio (c)/(b) at 1,024 envs; `--check` exits
non-zero unless (c) is at least 20x (b) and reaches 2,000,000 token steps/s.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402  (the thread variables must be set before numpy is imported)
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

REQUIRED_RATIO = 20.0
GOAL_STEPS_PER_SECOND = 2_000_000
ACTION_ROWS = 512
"""Pre-drawn action rows, cycled: enough that no pattern repeats within an episode."""


def timed(step_once, seconds: float, steps_per_call: int) -> tuple[float, float]:
    """(token steps per second, microseconds per call) of `step_once` over about `seconds`."""
    warm_until = time.perf_counter() + min(0.3, seconds / 5)
    while time.perf_counter() < warm_until:
        step_once()
    calls, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(8):
            step_once()
        calls += 8
        now = time.perf_counter()
        if now >= deadline:
            break
    elapsed = now - start
    return calls * steps_per_call / elapsed, elapsed / calls * 1e6


def plain_env(seconds: float, rng: np.random.Generator) -> tuple[float, float]:
    from rlvr.envs.mathtree.env import MathTreeEnv

    env = MathTreeEnv()
    env.reset(seed=0)
    actions = rng.integers(env.num_actions, size=1 << 16).tolist()
    cursor = 0

    def step_once() -> None:
        nonlocal cursor
        cursor = (cursor + 1) & 0xFFFF
        if env.step(actions[cursor])[2]:
            env.reset()

    return timed(step_once, seconds, 1)


def sync_vector_env(num_envs: int, seconds: float, rng: np.random.Generator) -> tuple[float, float]:
    from gymnasium.vector import SyncVectorEnv

    from rlvr.envs.mathtree.env import MathTreeEnv

    envs = SyncVectorEnv([MathTreeEnv for _ in range(num_envs)])
    envs.reset(seed=0)
    return _vector(envs, num_envs, seconds, rng)


def batched_env(num_envs: int, seconds: float, rng: np.random.Generator) -> tuple[float, float]:
    import gymnasium as gym

    import rlvr  # noqa: F401  (registers the ids)

    envs = gym.make_vec("rlvr/MathTree-v0", num_envs=num_envs, vectorization_mode="vector_entry_point")
    envs.reset(seed=0)
    return _vector(envs, num_envs, seconds, rng)


def _vector(envs, num_envs: int, seconds: float, rng: np.random.Generator) -> tuple[float, float]:
    size = int(envs.single_action_space.n)
    actions = rng.integers(size, size=(ACTION_ROWS, num_envs))
    cursor = 0

    def step_once() -> None:
        nonlocal cursor
        cursor = (cursor + 1) % ACTION_ROWS
        envs.step(actions[cursor])

    result = timed(step_once, seconds, num_envs)
    envs.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per row")
    parser.add_argument("--quick", action="store_true", help="1 s per row and no 4,096-env row")
    parser.add_argument("--check", action="store_true", help="exit 1 unless the targets are met")
    args = parser.parse_args(argv)
    seconds = 1.0 if args.quick else args.seconds
    rng = np.random.default_rng(0)
    rows = [("(a) MathTreeEnv, Python loop", 1, plain_env(seconds, rng))]
    rows.append(("(b) SyncVectorEnv(MathTreeEnv)", 1024, sync_vector_env(1024, seconds, rng)))
    for num_envs in (1024,) if args.quick else (1024, 4096):
        rows.append(("(c) MathTreeVectorEnv", num_envs, batched_env(num_envs, seconds, rng)))
    print(f"{'env':34} {'envs':>6} {'token steps/s':>15} {'us/step call':>13}")
    for name, num_envs, (rate, micros) in rows:
        print(f"{name:34} {num_envs:>6} {rate:>15,.0f} {micros:>13,.1f}")
    baseline, batched = rows[1][2][0], rows[2][2][0]
    ratio = batched / baseline
    print(f"ratio (c)/(b) at 1,024 envs: {ratio:,.1f}x (required >= {REQUIRED_RATIO:.0f}x); "
          f"(c) {batched:,.0f} token steps/s (goal >= {GOAL_STEPS_PER_SECOND:,})")
    met = ratio >= REQUIRED_RATIO and batched >= GOAL_STEPS_PER_SECOND
    print("targets met" if met else "TARGETS NOT MET")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
