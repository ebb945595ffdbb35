"""Compare training arms (e.g. ROVER vs GRPO) from one warm-up, over several seeds: `rlvr run`.

A scenario file with `experiment: compare`:

    experiment: compare
    seeds: [0, 1, 2]
    base: {...}               # a TrainConfig shared by every arm (task, model, SFT, budget, evals)
    arms:
      grpo: {}                # overrides of `base` per arm
      rover: {loss: rover, advantage: dr_grpo, loss_settings: {rho: 1.0}}

For each seed, the SFT warm-up runs once (seed s: model seed s, problem streams of seed s); every
arm then resumes from that same checkpoint, so the arms differ only in what the comparison is
about. Each run folder is `<out>/seed<s>/<arm>`. The results: `results.json` (every arm's final
evaluation per seed and the mean over seeds), `summary.md` (a table: accuracy, pass@k, maj@k, the
diversity figures and per-difficulty solve rates), and plots of pass@k against k and of held-out
accuracy during training, one line per arm (mean over seeds).
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

SCENARIO_KEYS = ("experiment", "seeds", "base", "arms")


def load_scenario(path: str | Path) -> dict[str, Any]:
    """Read and check a compare scenario; errors name the file and the key."""
    scenario = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(scenario, Mapping):
        raise ValueError(f"{path}: expected a mapping, got {type(scenario).__name__}")
    unknown = [key for key in scenario if key not in SCENARIO_KEYS]
    if unknown:
        raise ValueError(f"{path}: unknown key {unknown[0]!r}; expected some of {list(SCENARIO_KEYS)}")
    seeds, arms = scenario.get("seeds", [0]), scenario.get("arms")
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise ValueError(f"{path}: seeds must be a non-empty list of integers, got {seeds!r}")
    if not isinstance(arms, Mapping) or not arms:
        raise ValueError(f"{path}: arms must map arm names to config overrides, got {arms!r}")
    from rlvr.training.config import load_config

    base = dict(scenario.get("base") or {})
    for overrides in arms.values():
        load_config({**base, **dict(overrides or {})})  # every arm's config is valid before any work starts
    return {"seeds": seeds, "base": base, "arms": {name: dict(overrides or {}) for name, overrides in arms.items()}}


def run_scenario(path: str | Path, out: str | Path, progress: bool | None = False) -> dict[str, Any]:
    """Run every (seed, arm) of the scenario; write results, a summary table and plots under `out`.

    `progress`: False turns every run's progress bars off, None too when stderr is not a terminal
    (a log gets the runs' lines only); True leaves them to each config's `progress`."""
    import sys

    from rlvr.core.progress import say
    from rlvr.training.config import load_config
    from rlvr.training.trainer import Trainer

    scenario = load_scenario(path)
    if not (progress if progress is not None else sys.stderr.isatty()):
        scenario["base"]["progress"] = False
        scenario["arms"] = {arm: {**overrides, "progress": False} for arm, overrides in scenario["arms"].items()}
    runs, total = 0, len(scenario["seeds"]) * (1 + len(scenario["arms"]))
    out = Path(out)
    results: dict[str, dict[int, dict[str, Any]]] = {arm: {} for arm in scenario["arms"]}
    curves: dict[str, dict[int, list[tuple[int, float]]]] = {arm: {} for arm in scenario["arms"]}
    for seed in scenario["seeds"]:
        warm = out / f"seed{seed}" / "warmup"
        base = {**scenario["base"], "seed": seed, "model_seed": seed, "out_dir": str(warm), "rl_steps": 0}
        runs += 1
        say(f"run {runs} of {total}: seed {seed}, the warm-up")
        Trainer(load_config(base)).train()
        for arm, overrides in scenario["arms"].items():
            folder = out / f"seed{seed}" / arm
            folder.mkdir(parents=True, exist_ok=True)
            for name in ("checkpoint.pt", "checkpoint.json", "metrics.jsonl"):
                shutil.copy(warm / name, folder / name)
            runs += 1
            say(f"run {runs} of {total}: seed {seed}, arm {arm}")
            config = load_config({**scenario["base"], **overrides, "seed": seed, "model_seed": seed,
                                  "out_dir": str(folder), "resume": True,
                                  "force_resume": True})  # each arm changes the warm-up's config on purpose
            summary = Trainer(config).train()
            results[arm][seed] = {"after_sft": summary["after_sft"], "final": summary["final"],
                                  "greedy_accuracy_after_rl": summary["greedy_accuracy_after_rl"]}
            curves[arm][seed] = _heldout_curve(folder / "metrics.jsonl")
    report = {"scenario": str(path), "seeds": scenario["seeds"], "arms": scenario["arms"],
              "per_seed": results, "mean": {arm: _mean_over_seeds(per_seed) for arm, per_seed in results.items()}}
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(report, indent=2))
    (out / "summary.md").write_text(summary_table(report))
    _plot(report, curves, out)
    print(summary_table(report))
    return report


def _heldout_curve(metrics_path: Path) -> list[tuple[int, float]]:
    from rlvr.training.tracking import read_metrics

    _, evals = read_metrics(metrics_path)
    return [(int(e["step"]), float(e["greedy_accuracy"])) for e in evals]


def _mean_over_seeds(per_seed: Mapping[int, Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and standard error over seeds of every number in the final (and after-SFT) evaluation."""
    out: dict[str, dict[str, float]] = {}
    for phase in ("after_sft", "final"):
        records = [_numbers(run[phase]) for run in per_seed.values()]
        # a figure some seed lacks (distinct-2 where no response had two words) has no mean
        keys = [key for key in records[0] if all(key in record for record in records)]
        out[phase] = {}
        for key in keys:
            values = [record[key] for record in records]
            mean = sum(values) / len(values)
            spread = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
            out[phase][key] = mean
            out[phase][f"{key}_sem"] = spread / math.sqrt(len(values))
    return out


def _numbers(record: Mapping[str, Any]) -> dict[str, float]:
    """The record's numbers, with each difficulty level's greedy solve rate as `solve_rate[LEVEL]`."""
    numbers = {key: float(value) for key, value in record.items()
               if isinstance(value, (int, float)) and not isinstance(value, bool)}
    levels = record.get("by_difficulty")
    for level, values in (levels.items() if isinstance(levels, Mapping) else ()):
        if isinstance(values, Mapping) and isinstance(values.get("greedy_accuracy"), (int, float)):
            numbers[f"solve_rate[{level}]"] = float(values["greedy_accuracy"])
    return numbers


def pass_at_k_keys(metrics: Mapping[str, Any]) -> list[int]:
    """The k of every `pass@k` key, sorted.

    >>> pass_at_k_keys({"pass@8": 0.5, "pass@1": 0.2, "maj@8": 0.3})
    [1, 8]
    """
    return sorted(int(key.split("@")[1]) for key in metrics if key.startswith("pass@") and not key.endswith("_sem"))


TABLE_DIVERSITY = ("semantic_entropy", "distinct_1", "distinct_2")
"""Diversity columns of the summary table, where the evaluations hold them (sampled ones do)."""


def summary_table(report: Mapping[str, Any]) -> str:
    """A Markdown table: per arm, mean (± standard error over seeds) of the final evaluation: greedy
    accuracy, pass@k, maj@k at the largest k, distinct correct solutions, semantic entropy,
    distinct-1/2, the greedy solve rate per difficulty level where the problems had several
    (`solve_rate[LEVEL]`), mean length."""
    means = report["mean"]
    first = next(iter(means.values()))["final"]
    ks = pass_at_k_keys(first)
    levels = [key for key in first if key.startswith("solve_rate[") and not key.endswith("_sem")]
    columns = ["greedy_accuracy", *[f"pass@{k}" for k in ks], *[f"maj@{k}" for k in ks[-1:]], "distinct_correct",
               *TABLE_DIVERSITY, *levels, "mean_length"]
    columns = [c for c in columns if c in first]
    lines = [f"seeds: {report['seeds']}; final evaluation, mean ± standard error over seeds", "",
             "| arm | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    sft = next(iter(means.values()))["after_sft"]
    lines.append("| after SFT | " + " | ".join(_cell(sft, c) for c in columns) + " |")
    for arm, values in means.items():
        lines.append(f"| {arm} | " + " | ".join(_cell(values["final"], c) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def _cell(values: Mapping[str, float], key: str) -> str:
    if key not in values:
        return "-"
    return f"{values[key]:.3f} ± {values.get(key + '_sem', 0.0):.3f}"


def _plot(report: Mapping[str, Any], curves: Mapping[str, Mapping[int, list]], out: Path) -> None:
    try:
        from rlvr.training.plots import plot_curves
    except ImportError:
        return
    try:
        series = {"after SFT": _pass_series(next(iter(report["mean"].values()))["after_sft"])}
        series.update({arm: _pass_series(values["final"]) for arm, values in report["mean"].items()})
        plot_curves(series, out / "pass_at_k.png", "pass@k on held-out problems (mean over seeds)", "k", "pass@k",
                    log_x=True)
        accuracy = {}
        for arm, per_seed in curves.items():
            steps = sorted({step for curve in per_seed.values() for step, _ in curve})
            mean = [sum(dict(curve).get(step, math.nan) for curve in per_seed.values()) / len(per_seed) for step in steps]
            accuracy[arm] = (steps, mean)
        plot_curves(accuracy, out / "heldout_accuracy.png", "greedy held-out accuracy (mean over seeds)", "RL step",
                    "accuracy")
    except ImportError:
        return


def _pass_series(metrics: Mapping[str, float]) -> tuple[list[int], list[float]]:
    ks = pass_at_k_keys(metrics)
    return ks, [metrics[f"pass@{k}"] for k in ks]
