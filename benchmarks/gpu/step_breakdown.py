"""Where a GRPO step's time goes, from the `metrics.jsonl` of one or more `rlvr train` runs.

For each run: the median over RL steps (the first `--skip` steps left out: they hold warm-up,
compilation and graph recording) of the step's parts (problems, sampling, scoring, forward and
backward, optimizer), samples/s, and the env + reward overhead, (problems + scoring) / total.
The record also names the versions and the GPU (or CPU) it ran on. Example:
    python benchmarks/gpu/step_breakdown.py static=/tmp/large_static/metrics.jsonl \\
        dynamic=/tmp/large_dynamic/metrics.jsonl --out runs/grpo_breakdown.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

PARTS = ("time_total", "time_problems", "time_sampling", "time_scoring", "time_fwd_bwd", "time_optimizer")


def breakdown(path: Path, skip: int) -> dict:
    """Median step parts of one run's RL steps (evaluation lines are not steps)."""
    steps = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if "eval" not in record and "time_total" in record and record.get("step", 0) > skip:
            steps.append(record)
    if not steps:
        raise ValueError(f"{path}: expected RL step lines with time_total after step {skip}, found none")
    medians = {part: statistics.median(step.get(part, 0.0) for step in steps) for part in PARTS}
    overhead = [(step.get("time_problems", 0.0) + step.get("time_scoring", 0.0)) / step["time_total"] for step in steps]
    return {
        "steps": len(steps),
        "median_s": medians,
        "samples_per_s": statistics.median(step.get("samples_per_s", 0.0) for step in steps),
        "env_reward_share": statistics.median(overhead),
        "sampling_share": medians["time_sampling"] / medians["time_total"],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="NAME=PATH of a run's metrics.jsonl")
    parser.add_argument("--skip", type=int, default=1, help="leading RL steps left out (warm-up)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    result: dict = {}
    try:
        import torch
        import transformers

        result["torch"], result["transformers"] = torch.__version__, transformers.__version__
        result["device"] = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    except ImportError:
        pass
    result["runs"] = {}
    for run in args.runs:
        name, _, path = run.partition("=")
        if not path:
            parser.error(f"expected NAME=PATH, got {run!r}")
        try:
            result["runs"][name] = breakdown(Path(path), args.skip)
        except (OSError, ValueError) as error:  # a run that died leaves the others' numbers standing
            result["runs"][name] = {"error": str(error)}
    print(f"{'run':<10}{'steps':>6}{'total s':>9}{'sample s':>10}{'score s':>9}{'fwd+bwd s':>11}"
          f"{'optim s':>9}{'samples/s':>11}{'env+reward':>12}")
    for name, run in result["runs"].items():
        if "error" in run:
            print(f"{name:<10} {run['error']}")
            continue
        median = run["median_s"]
        print(f"{name:<10}{run['steps']:>6}{median['time_total']:>9.3f}{median['time_sampling']:>10.3f}"
              f"{median['time_scoring']:>9.3f}{median['time_fwd_bwd']:>11.3f}{median['time_optimizer']:>9.3f}"
              f"{run['samples_per_s']:>11.0f}{100 * run['env_reward_share']:>11.1f}%")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
