"""The tables of a comparison (`rlvr.training.compare`) from its finished runs' evaluations.

- `summary_table`: per arm, the mean ± standard error over seeds of the final evaluation;
- `paired_table`: each arm minus the first, seed by seed (the arms of a seed share one warm-up);
- `report_claims`: the scenario's warm-up bar and hypotheses as the runs decided them
  (`rlvr.training.compare_claims`).

An evaluation's figures are read by `numbers`: its top-level numbers, and per difficulty level
`solve_rate[LEVEL]` (greedy) and `pass@k[LEVEL]` (sampled).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rlvr.training.compare_claims import AFTER_SFT, claims_text, hypothesis_outcomes, warmup_outcomes
from rlvr.training.compare_plots import pass_at_k_keys

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
    baseline = {seed: numbers(result["final"]) for seed, result in results[baseline_arm].items()}
    out: dict[str, dict[str, Any]] = {}
    for arm in others:
        records = {seed: numbers(result["final"]) for seed, result in results[arm].items() if seed in baseline}
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


def mean_over_seeds(per_seed: Mapping[int, Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and standard error over seeds of every number in the final (and after-SFT) evaluation."""
    out: dict[str, dict[str, float]] = {}
    for phase in ("after_sft", "final"):
        records = [numbers(run[phase]) for run in per_seed.values()]
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


def numbers(record: Mapping[str, Any]) -> dict[str, float]:
    """The record's numbers, with each difficulty level's greedy solve rate as `solve_rate[LEVEL]`
    and its sampled pass@k as `pass@k[LEVEL]`.

    >>> numbers({"pass@1": 0.5, "by_difficulty": {"hops=4": {"greedy_accuracy": 0.25, "pass@1": 0.125}}})
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


def add_claims(report: dict[str, Any], scenario: Mapping[str, Any]) -> None:
    """The scenario's warm-up bar per seed and its hypotheses' outcomes into `report`
    (`rlvr.training.compare_claims`)."""
    per_seed = report["per_seed"]
    after_sft = {seed: numbers(result["after_sft"]) for runs in per_seed.values() for seed, result in runs.items()}
    bar = scenario.get("warmup_bar")
    warmups = warmup_outcomes(bar, after_sft)
    finals = {arm: {seed: numbers(result["final"]) for seed, result in runs.items()} for arm, runs in per_seed.items()}
    finals[AFTER_SFT] = after_sft  # `than: after_sft`: an arm against its own seed's warm-up
    report["warmup_bar"] = {"bar": bar, "seeds": warmups} if bar else None
    report["hypotheses"] = hypothesis_outcomes(scenario.get("hypotheses") or [], finals,
                                               lambda seed: not bar or warmups[seed]["held"])


def report_claims(report: Mapping[str, Any]) -> str:
    """The bar and hypotheses of `report` as Markdown lines (empty when the scenario states none)."""
    bar = report.get("warmup_bar") or {}
    return claims_text(bar.get("bar"), bar.get("seeds", {}), report.get("hypotheses") or [])
