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

A scenario may state a `warmup_bar` (the figure each seed's warm-up must reach for its arms to
count) and `hypotheses` (arm vs arm on a figure): the run prints, and `summary.md` records, whether
each held (`rlvr.training.compare_claims`).

Resumable and appending: a finished (seed, arm) folder is read back, not trained again, an
interrupted one resumes from its checkpoint, and the results are rewritten from every finished run
after each one. Several scenarios that share a `base` may share one `--out` folder (and so one
warm-up per seed); each writes the results of its own arms.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from rlvr.training.compare_claims import check_claims_spec
from rlvr.training.compare_plots import plot_comparison, plot_entropy
from rlvr.training.compare_tables import (
    add_claims,
    mean_over_seeds,
    paired_differences,
    paired_table,
    report_claims,
    summary_table,
)

SCENARIO_KEYS = ("experiment", "seeds", "base", "arms", "warmup_bar", "hypotheses")


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
    bar, hypotheses = check_claims_spec(str(path), scenario.get("warmup_bar"), scenario.get("hypotheses"), list(arms))
    return {"seeds": seeds, "base": base, "arms": {name: dict(overrides or {}) for name, overrides in arms.items()},
            "warmup_bar": bar, "hypotheses": hypotheses}


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
    print(summary_table(report) + paired_table(report) + report_claims(report))
    return report


RESULTS_LIMIT = 64 * 2**20
"""Largest recorded results.json `recorded_claims` reads."""


def recorded_claims(scenario_path: str | Path, results_path: str | Path) -> str:
    """The warm-up bar and hypotheses of the scenario decided on a recorded `results.json` (the run
    folders need not be kept): what `rlvr run` would print for them, as Markdown lines."""
    scenario = load_scenario(scenario_path)
    results_path = Path(results_path)
    size = results_path.stat().st_size
    if size > RESULTS_LIMIT:
        raise ValueError(f"{results_path}: expected a comparison's results under {RESULTS_LIMIT} bytes, got {size}")
    report = json.loads(results_path.read_text())
    if not isinstance(report, dict) or not isinstance(report.get("per_seed"), dict):
        raise ValueError(f"{results_path}: expected a comparison's results with `per_seed`")
    unknown = [arm for arm in report["per_seed"] if arm not in scenario["arms"]]
    if unknown:
        raise ValueError(f"{results_path}: arm {unknown[0]!r} is not one of {scenario_path}'s arms")
    for arm, runs in report["per_seed"].items():
        for seed, result in (runs.items() if isinstance(runs, dict) else [("?", None)]):
            if not (isinstance(result, dict) and all(isinstance(result.get(k), dict) for k in ("after_sft", "final"))):
                raise ValueError(f"{results_path}: expected arm {arm!r} seed {seed} to hold `after_sft` and `final` "
                                 f"evaluations")
    add_claims(report, scenario)
    return report_claims(report)


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
              "per_seed": results, "mean": {arm: mean_over_seeds(per_seed) for arm, per_seed in results.items()}}
    report["paired"] = paired_differences(results)
    add_claims(report, scenario)
    out.mkdir(parents=True, exist_ok=True)
    record_environment(out)  # versions, machine, commit and command beside the numbers
    (out / "results.json").write_text(json.dumps(report, indent=2))
    (out / "summary.md").write_text(summary_table(report) + paired_table(report) + report_claims(report))
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
