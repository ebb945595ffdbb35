"""Generation and scoring speed of every single-agent task, against per-family goals.

    python benchmarks/task_speed.py [--problems 300] [--check]

For each registered single-agent id (its card's task), at the default difficulty:
  - median generation time per problem, two ways: `task.sample(rng)` with one shared generator,
    and `task.problem_at(seed, index)` (the seeded stream envs draw from);
  - median scoring time per item, over the oracle's answer and a wrong answer ("0") for each
    problem.
Goals: median generation <= 1 ms for Countdown, Game24, RandomCalc and MathTree; median scoring
<= 100 us for every family. There is no baseline to compare against, so each goal column shows
goal / measured (>= 1 means met). A one-time setup (a task's first problem builds its caches:
Game24's exhaustive solver runs once) is timed separately and left out of the medians.
`--check` exits non-zero when a goal is not met.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

import rlvr

GENERATION_GOAL_S = {"countdown": 1e-3, "game24": 1e-3, "random_calc": 1e-3, "mathtree": 1e-3}
SCORING_GOAL_S = 100e-6


def task_classes() -> list[type]:
    classes = []
    for entry in rlvr.ENTRIES:
        if entry.kind == "gymnasium" and entry.card.task and entry.card.task not in classes:
            classes.append(entry.card.task)
    return classes


def median_time(calls) -> float:
    times = []
    for call in calls:
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(task, problems: int) -> dict[str, float]:
    start = time.perf_counter()
    first = task.problem_at(10**6, 0)  # builds any caches; timed on its own
    setup = time.perf_counter() - start
    rng = np.random.default_rng(0)
    sample = median_time(lambda: task.sample(rng) for _ in range(problems))
    stream = [task.problem_at(1, i) for i in range(problems)]
    at = median_time(lambda i=i: task.problem_at(2, i) for i in range(problems))
    items = []
    for problem in [first, *stream]:
        oracle = task.solve(problem)
        if oracle is not None:
            items.append((problem, oracle))
        items.append((problem, "0"))
    score = median_time(lambda p=p, r=r: task.score(p, r) for p, r in items)
    return {"setup": setup, "sample": sample, "problem_at": at, "score": score}


def fmt(seconds: float) -> str:
    return f"{seconds * 1e6:9.1f} us" if seconds < 1e-2 else f"{seconds:9.3f} s "


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=300, help="problems per task (default 300)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is not met")
    args = parser.parse_args(argv)
    header = (f"{'task':<30}{'setup':>13}{'sample':>13}{'problem_at':>13}{'gen goal':>16}"
              f"{'score/item':>13}{'score goal':>16}")
    print(header)
    print("-" * len(header))
    missed = []
    started = time.perf_counter()
    for task_class in task_classes():
        task = task_class()
        row = measure(task, args.problems)
        generation = max(row["sample"], row["problem_at"])
        goal = GENERATION_GOAL_S.get(task.name)
        if goal is None:
            gen_cell = "-"
        else:
            met = generation <= goal
            gen_cell = f"{goal / generation:6.1f}x {'met' if met else 'NOT met'}"
            if not met:
                missed.append(f"{task.name} generation")
        score_met = row["score"] <= SCORING_GOAL_S
        if not score_met:
            missed.append(f"{task.name} scoring")
        score_cell = f"{SCORING_GOAL_S / row['score']:6.1f}x {'met' if score_met else 'NOT met'}"
        print(f"{task.name:<30}{fmt(row['setup']):>13}{fmt(row['sample']):>13}{fmt(row['problem_at']):>13}"
              f"{gen_cell:>16}{fmt(row['score']):>13}{score_cell:>16}")
    print(f"\ngoals: generation <= 1 ms (countdown, game24, random_calc, mathtree), scoring <= 100 us; "
          f"ratio = goal / measured median. Total {time.perf_counter() - started:.1f} s.")
    if missed:
        print("not met: " + ", ".join(missed))
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
