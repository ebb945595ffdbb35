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
diversity figures, the policy's entropy during RL and per-difficulty solve rates), and plots of
pass@k against k, of held-out accuracy and of entropy during training, one line per arm (mean over
seeds). RL step lines of the arms carry `entropy`, estimated from the sampler's own log-probs
(`rlvr.training.sampled_entropy`).

Resumable and appending: a finished (seed, arm) folder is read back, not trained again, an
interrupted one resumes from its checkpoint, and the results are rewritten from every finished run
after each one. Several scenarios that share a `base` may share one `--out` folder (and so one
warm-up per seed); each writes the results of its own arms.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from rlvr.training.compare_plots import pass_at_k_keys, plot_comparison, plot_entropy

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

    Resumable and appending: a (seed, arm) folder holding `DONE_FILE` is taken as it is (its
    config must be the one the scenario now asks for), an unfinished one resumes from its own
    checkpoint, and results, table and plots are rewritten from every finished run after each run
    ends, so an interrupted `rlvr run` loses at most the steps since the last checkpoint and a
    scenario given more seeds or arms runs only those.

    `progress`: False turns every run's progress bars off, None too when stderr is not a terminal
    (a log gets the runs' lines only); True leaves them to each config's `progress`."""
    import sys

    from rlvr.core.progress import say

    scenario = load_scenario(path)
    if not (progress if progress is not None else sys.stderr.isatty()):
        scenario["base"]["progress"] = False
        scenario["arms"] = {arm: {**overrides, "progress": False} for arm, overrides in scenario["arms"].items()}
    runs, total = 0, len(scenario["seeds"]) * (1 + len(scenario["arms"]))
    out = Path(out)
    results: dict[str, dict[int, dict[str, Any]]] = {arm: {} for arm in scenario["arms"]}
    report: dict[str, Any] = {}
    for seed in scenario["seeds"]:
        warm = out / f"seed{seed}" / "warmup"
        base = {**scenario["base"], "seed": seed, "model_seed": seed, "out_dir": str(warm), "rl_steps": 0}
        runs += 1
        say(f"run {runs} of {total}: seed {seed}, the warm-up")
        _finished_run(warm, base)
        for arm, overrides in scenario["arms"].items():
            runs += 1
            say(f"run {runs} of {total}: seed {seed}, arm {arm}")
            folder = out / f"seed{seed}" / arm
            # each arm changes the warm-up's config on purpose, hence force_resume
            results[arm][seed] = _finished_run(folder, {**scenario["base"], **overrides, "seed": seed,
                                                        "model_seed": seed, "out_dir": str(folder),
                                                        "force_resume": True}, start_from=warm)
            report = write_results(path, scenario, results, out)
    print(summary_table(report) + paired_table(report))
    return report


DONE_FILE = "compare_run.json"
"""Written into a run folder when its run has finished: the config it ran and its results. A folder
without it is a run to (re)start or resume; `rlvr run` never trains a folder holding it again."""
_IGNORED_KEYS = ("out_dir", "resume", "force_resume", "progress")
"""Config keys that may differ between a finished run and the scenario asking for it again: where
the folder lies and how the run is shown or restarted change nothing it measured."""


def _finished_run(folder: Path, config: Mapping[str, Any], start_from: Path | None = None) -> dict[str, Any]:
    """The results of the run of `config` in `folder`: read back when it finished before, else
    trained (resumed from the folder's checkpoint, or from `start_from`'s copied into it first)."""
    from rlvr.training.config import load_config
    from rlvr.training.trainer import Trainer

    config = load_config({**config, "resume": True})
    wanted = _comparable(config.to_dict())
    done = folder / DONE_FILE
    if done.is_file():
        stored = _read_done(done)
        changed = _changed_keys(stored["config"], wanted, type(config))
        if changed:
            raise ValueError(f"{folder} holds a finished run of another config (differing keys: "
                             f"{', '.join(changed)}); expected the scenario's, so give `rlvr run` another "
                             f"--out or remove that folder")
        return stored["result"]
    if start_from is not None and not folder.exists():
        # copied under a temporary name and renamed: a kill mid-copy leaves no half-filled run folder
        pending = folder.with_name(folder.name + ".copying")
        shutil.rmtree(pending, ignore_errors=True)
        pending.mkdir(parents=True)
        for name in ("checkpoint.pt", "checkpoint.json", "metrics.jsonl"):
            shutil.copy(start_from / name, pending / name)
        pending.rename(folder)
    summary = Trainer(config).train()
    result = {"after_sft": summary["after_sft"], "final": summary["final"],
              "greedy_accuracy_after_rl": summary["greedy_accuracy_after_rl"],
              "seconds": {key: summary[key] for key in ("sft_s", "rl_s") if key in summary}}
    pending = done.with_name(done.name + ".tmp")
    pending.write_text(json.dumps({"config": wanted, "result": result}, indent=2))
    pending.replace(done)
    return result


DONE_LIMIT = 4 * 2**20
"""Largest `DONE_FILE` read (one run's config and two evaluations take a few KiB)."""


def _read_done(path: Path) -> dict[str, Any]:
    """A finished run's record; a damaged or oversized one is an error naming the file, not a rerun."""
    size = path.stat().st_size
    if size > DONE_LIMIT:
        raise ValueError(f"{path}: expected a finished run's record under {DONE_LIMIT} bytes, got {size}")
    try:
        stored = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: expected a finished run's record (JSON), got unreadable text: {error}") from None
    if not isinstance(stored, dict) or not isinstance(stored.get("config"), dict) or "result" not in stored:
        raise ValueError(f"{path}: expected an object with 'config' and 'result', got {type(stored).__name__}; "
                         "remove the file to train that run again")
    return stored


def _changed_keys(stored: Mapping[str, Any], wanted: Mapping[str, Any], config_type: type) -> list[str]:
    """The keys whose values differ; a key the stored run lacks counts only when the wanted value is
    not the field's default (a field added to the config since keeps finished runs comparable)."""
    import dataclasses

    defaults = {}
    for field in dataclasses.fields(config_type):
        if field.default is not dataclasses.MISSING:
            defaults[field.name] = field.default
        elif field.default_factory is not dataclasses.MISSING:
            defaults[field.name] = field.default_factory()
    defaults = _comparable(defaults)
    return sorted(key for key in set(stored) | set(wanted)
                  if (stored[key] if key in stored else defaults.get(key, ...)) != wanted.get(key, ...))


def _comparable(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config as JSON reads it back, without `_IGNORED_KEYS`."""
    return json.loads(json.dumps({key: value for key, value in config.items() if key not in _IGNORED_KEYS}))


def write_results(path: str | Path, scenario: Mapping[str, Any], results: Mapping[str, Mapping[int, Any]],
                  out: Path) -> dict[str, Any]:
    """results.json, summary.md, environment.json and the plots from the finished runs in `results`
    ({arm: {seed: ...}})."""
    from rlvr.training.run_files import record_environment
    from rlvr.training.sampled_entropy import entropy_curve

    results = {arm: dict(per_seed) for arm, per_seed in results.items() if per_seed}
    curves = {arm: {seed: _heldout_curve(out / f"seed{seed}" / arm / "metrics.jsonl") for seed in per_seed}
              for arm, per_seed in results.items()}
    entropy = {arm: {seed: entropy_curve(out / f"seed{seed}" / arm / "metrics.jsonl") for seed in per_seed}
               for arm, per_seed in results.items()}
    for arm, per_seed in results.items():
        for seed, result in per_seed.items():
            _add_entropy(result, entropy[arm][seed])
    report = {"scenario": str(path), "seeds": sorted({seed for per_seed in results.values() for seed in per_seed}),
              "seeds_per_arm": {arm: sorted(per_seed) for arm, per_seed in results.items()},
              "arms": {arm: scenario["arms"][arm] for arm in results},
              "per_seed": results, "mean": {arm: _mean_over_seeds(per_seed) for arm, per_seed in results.items()}}
    report["paired"] = paired_differences(results)
    out.mkdir(parents=True, exist_ok=True)
    record_environment(out)  # versions, machine, commit and command beside the numbers
    (out / "results.json").write_text(json.dumps(report, indent=2))
    (out / "summary.md").write_text(summary_table(report) + paired_table(report))
    plot_comparison(report, curves, out)
    plot_entropy(entropy, out)
    return report


def _heldout_curve(metrics_path: Path) -> list[tuple[int, float]]:
    from rlvr.training.tracking import read_metrics

    _, evals = read_metrics(metrics_path)
    # the warm-up's train-split checks (sft_check lines) count SFT steps, not RL steps: left out
    return [(int(e["step"]), float(e["greedy_accuracy"])) for e in evals if e["eval"] in ("after_sft", "rl", "final")]


def _add_entropy(result: dict[str, Any], curve: list[tuple[int, float]]) -> None:
    """`train_entropy` in the result's records: after SFT the first step's samples (drawn from the
    warm-up's policy), final the mean over the last tenth of the steps."""
    if not curve:
        return
    tail = [value for _, value in curve[-max(1, len(curve) // 10):]]
    result["after_sft"] = {**result["after_sft"], "train_entropy": curve[0][1]}
    result["final"] = {**result["final"], "train_entropy": sum(tail) / len(tail)}


PAIRED_KEYS = ("greedy_accuracy", "pass@1", "pass@MAX", "distinct_correct", "train_entropy")
"""Figures of the paired table; `pass@MAX` stands for the largest k evaluated."""


def paired_differences(results: Mapping[str, Mapping[int, Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Each arm minus the first arm, seed by seed, on the final evaluation's `PAIRED_KEYS`.

    The arms of one seed start from one warm-up, so a difference within a seed leaves out how
    good that warm-up was; its mean and standard error over the seeds both arms finished, and on
    how many of them it was above zero, say more than two unpaired means do.

    >>> final = lambda acc: {"final": {"greedy_accuracy": acc}}
    >>> paired_differences({"grpo": {0: final(0.5), 1: final(0.4)}, "x": {0: final(0.6), 1: final(0.4)}})["x"]
    {'greedy_accuracy': {'mean': 0.05, 'sem': 0.05, 'seeds': 2, 'above': 1, 'below': 0}}
    """
    if not results:
        return {}
    baseline_arm, *others = results
    baseline = {seed: _numbers(result["final"]) for seed, result in results[baseline_arm].items()}
    out: dict[str, dict[str, Any]] = {}
    for arm in others:
        records = {seed: _numbers(result["final"]) for seed, result in results[arm].items() if seed in baseline}
        if not records:
            continue
        ks = pass_at_k_keys(next(iter(records.values())))
        keys = [f"pass@{ks[-1]}" if key == "pass@MAX" and ks else key for key in PAIRED_KEYS]
        keys += level_keys(next(iter(records.values())))  # each level's too, where there are several
        out[arm] = {}
        for key in keys:
            diffs = [record[key] - baseline[seed][key] for seed, record in records.items()
                     if key in record and key in baseline[seed]]
            if not diffs:
                continue
            mean = sum(diffs) / len(diffs)
            sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1)) if len(diffs) > 1 else 0.0
            out[arm][key] = {"mean": round(mean, 12), "sem": round(sd / math.sqrt(len(diffs)), 12), "seeds": len(diffs),
                             "above": sum(d > 0 for d in diffs), "below": sum(d < 0 for d in diffs)}
    return out


def paired_table(report: Mapping[str, Any]) -> str:
    """The Markdown table of `report["paired"]`: mean ± s.e. of the difference (seeds above / below zero)."""
    paired = report.get("paired") or {}
    if not paired:
        return ""
    baseline = next(iter(report["per_seed"]))
    keys = list(dict.fromkeys(key for values in paired.values() for key in values))
    lines = ["", f"Paired by seed (same warm-up): each arm minus {baseline}, mean ± standard error of the "
             "difference (seeds above / below zero)", "",
             "| arm | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for arm, values in paired.items():
        cells = [f"{v['mean']:+.3f} ± {v['sem']:.3f} ({v['above']}/{v['below']})" if (v := values.get(key)) else "-"
                 for key in keys]
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


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
    """The record's numbers, with each difficulty level's greedy solve rate as `solve_rate[LEVEL]`
    and its sampled pass@k as `pass@k[LEVEL]`.

    >>> _numbers({"pass@1": 0.5, "by_difficulty": {"hops=4": {"greedy_accuracy": 0.25, "pass@1": 0.125}}})
    {'pass@1': 0.5, 'solve_rate[hops=4]': 0.25, 'pass@1[hops=4]': 0.125}
    """
    numbers = {key: float(value) for key, value in record.items()
               if isinstance(value, (int, float)) and not isinstance(value, bool)}
    levels = record.get("by_difficulty")
    for level, values in (levels.items() if isinstance(levels, Mapping) else ()):
        if not isinstance(values, Mapping):
            continue
        if isinstance(values.get("greedy_accuracy"), (int, float)):
            numbers[f"solve_rate[{level}]"] = float(values["greedy_accuracy"])
        for name, value in values.items():
            if name.startswith("pass@") and isinstance(value, (int, float)):
                numbers[f"{name}[{level}]"] = float(value)
    return numbers


def level_keys(numbers: Mapping[str, float]) -> list[str]:
    """The per-level keys of `_numbers`, each level's solve rate and then its pass@1, level by level
    (pass@1 alone per level: the table's pass@k at larger k stay over all problems).

    >>> level_keys({"solve_rate[a]": 1, "pass@1[a]": 1, "pass@8[a]": 1, "solve_rate[b]": 0, "pass@1": 0})
    ['solve_rate[a]', 'pass@1[a]', 'solve_rate[b]']
    """
    keys = []
    for key in numbers:
        if key.startswith("solve_rate[") and not key.endswith("_sem"):
            level = key[len("solve_rate"):]
            keys += [key] + [f"pass@1{level}"] * (f"pass@1{level}" in numbers)
    return keys


TABLE_DIVERSITY = ("semantic_entropy", "distinct_1", "distinct_2", "train_entropy")
"""Diversity columns of the summary table, where the evaluations hold them (sampled ones do;
`train_entropy` comes from the RL step lines, see `_add_entropy`)."""


def summary_table(report: Mapping[str, Any]) -> str:
    """A Markdown table: per arm, mean (± standard error over seeds) of the final evaluation: greedy
    accuracy, pass@k, maj@k at the largest k, distinct correct solutions, semantic entropy,
    distinct-1/2, the greedy solve rate and sampled pass@1 per difficulty level where the problems
    had several (`solve_rate[LEVEL]`, `pass@1[LEVEL]`), mean length."""
    means = report["mean"]
    first = next(iter(means.values()))["final"]
    ks = pass_at_k_keys(first)
    levels = level_keys(first)
    columns = ["greedy_accuracy", *[f"pass@{k}" for k in ks], *[f"maj@{k}" for k in ks[-1:]], "distinct_correct",
               *TABLE_DIVERSITY, *levels, "mean_length"]
    columns = [c for c in columns if c in first]
    partial = [f"{arm}: {seeds}" for arm, seeds in report.get("seeds_per_arm", {}).items() if seeds != report["seeds"]]
    lines = [f"seeds: {report['seeds']}; final evaluation, mean ± standard error over seeds"
             + (f" (finished so far: {'; '.join(partial)})" if partial else ""), "",
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
