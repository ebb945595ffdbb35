"""A training scenario's figures over seeds, on this install: the numbers the README quotes.

    python benchmarks/quickstart.py [--scenario quickstart] [--seeds 0 1 2] [--sft-baseline-seeds 0] [--out PATH]

Each seed runs `rlvr train SCENARIO --set seed=S` in a fresh process (so nothing is shared or
cached between seeds) and reads its `summary.json`: held-out greedy accuracy after the SFT
warm-up (and the steps it took) and after RL (the trainer's own figure: the mean of its last
three evaluations), pass@k, and the wall time of each phase. For the seeds in `--sft-baseline-seeds` the run also trains SFT
alone for the same wall time (`sft_baseline=true`), the honest comparison for RL.

The scenario's claims are hypotheses, checked and printed for every seed: RL adds at least
`--min-gain` points of held-out greedy accuracy (20 for the quickstart; the goal `--goal-gain` is
30) and the whole job takes under 10 minutes.
The JSON (default `benchmarks/results/<scenario>_cpu_transformers-<version>.json`) records the
versions of torch, transformers and Python, the machine and the commit, so figures from two
installs can be set side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).with_name("results")
MAX_WALL_S = 600.0


def run_seed(scenario: str, seed: int, out: Path, sft_baseline: bool, min_gain: float, goal_gain: float) -> dict:
    command = [
        sys.executable, "-c", "import sys; from rlvr.cli import main; sys.exit(main())",
        "train", scenario, "--out", str(out), "--set", f"seed={seed}", "--set", "progress=false",
        "--set", "plots=false", "--set", "tensorboard=false",
    ]
    if sft_baseline:
        command += ["--set", "sft_baseline=true"]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - start
    summary = json.loads((out / "summary.json").read_text())
    after_sft, after_rl = summary["greedy_accuracy_after_sft"], summary["greedy_accuracy_after_rl"]
    row = {
        "seed": seed,
        "after_sft": after_sft,
        "after_rl": after_rl,
        "gain_points": round(100 * (after_rl - after_sft), 1),
        "sft_steps": summary.get("sft_steps"),
        "pass_at_8_after_sft": summary["after_sft"].get("pass@8"),
        "pass_at_8_final": summary["final"].get("pass@8"),
        "sft_s": round(summary.get("sft_s", 0.0), 1),
        "rl_s": round(summary["rl_s"], 1),
        "wall_s": round(wall, 1),
        # the SFT-only comparison trains for the job's own SFT + RL time again: not the job's time
        "job_s": round(wall - (summary.get("sft_s", 0.0) + summary["rl_s"] if sft_baseline else 0.0), 1),
    }
    if "sft_only" in summary:
        row["sft_only_greedy"] = summary["sft_only"]["greedy_accuracy"]
        row["sft_only_pass_at_8"] = summary["sft_only"].get("pass@8")
    row["hypotheses"] = {
        f"RL adds >= {min_gain:g} points": 100 * (after_rl - after_sft) >= min_gain,
        f"RL adds >= {goal_gain:g} points (goal)": 100 * (after_rl - after_sft) >= goal_gain,
        "whole job under 10 minutes": row["job_s"] <= MAX_WALL_S,
    }
    return row


def versions() -> dict:
    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    return {
        "python": platform.python_version(),
        "torch": version("torch"),
        "transformers": version("transformers"),
        "numpy": version("numpy"),
        "rlvr_commit": commit.stdout.strip() or None,
        "machine": platform.machine(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def spread(rows: list[dict], key: str) -> dict:
    values = [row[key] for row in rows]
    return {
        "mean": round(statistics.fmean(values), 4),
        "min": min(values),
        "max": max(values),
        "stdev": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="quickstart", help="a built-in scenario's name or a path")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sft-baseline-seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--min-gain", type=float, default=20.0, help="the claim: RL adds this many points")
    parser.add_argument("--goal-gain", type=float, default=30.0, help="the goal, in points")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    info = versions()
    name = Path(args.scenario).stem
    out = args.out or RESULTS / f"{name}_cpu_transformers-{info['transformers']}.json"
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in args.seeds:
            row = run_seed(args.scenario, seed, Path(folder) / f"seed{seed}", seed in args.sft_baseline_seeds,
                           args.min_gain, args.goal_gain)
            rows.append(row)
            held = ", ".join(f"{claim}: {'held' if ok else 'NOT held'}" for claim, ok in row["hypotheses"].items())
            print(
                f"seed {seed}: {row['after_sft']:.1%} after {row['sft_steps']} SFT steps -> {row['after_rl']:.1%} after RL "
                f"({row['gain_points']:+.1f} points), SFT {row['sft_s']:.0f} s + RL {row['rl_s']:.0f} s, "
                f"job {row['job_s']:.0f} s" + (
                    f"; SFT alone for the same time {row['sft_only_greedy']:.1%}" if "sft_only_greedy" in row else ""
                ),
                flush=True,
            )
            print(f"  {held}", flush=True)
    result = {
        "environment": info,
        "scenario": args.scenario,
        "seeds": rows,
        "sft_steps": spread(rows, "sft_steps"),
        "after_sft": spread(rows, "after_sft"),
        "after_rl": spread(rows, "after_rl"),
        "gain_points": spread(rows, "gain_points"),
        "min_gain_points": args.min_gain,
        "every_seed_gains_min": all(100 * (r["after_rl"] - r["after_sft"]) >= args.min_gain for r in rows),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    gain = result["gain_points"]
    print(
        f"transformers {info['transformers']}, torch {info['torch']}: after SFT {result['after_sft']['mean']:.1%} "
        f"(range {result['after_sft']['min']:.1%}-{result['after_sft']['max']:.1%}), after RL "
        f"{result['after_rl']['mean']:.1%} ({result['after_rl']['min']:.1%}-{result['after_rl']['max']:.1%}), "
        f"gain {gain['mean']:+.1f} points (range {gain['min']:+.1f} to {gain['max']:+.1f}) over {len(rows)} seeds"
    )
    print(f"every seed gains >= {args.min_gain:g} points: {'held' if result['every_seed_gains_min'] else 'NOT held'}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
