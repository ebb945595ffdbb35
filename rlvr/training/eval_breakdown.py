"""Evaluation broken down: solve rates per difficulty, and metrics repeated over sampling seeds.

- `by_difficulty`: greedy solve rate per group of problems that share their difficulty knob
  values (`Problem.difficulty`, the knobs a problem was drawn at). Only the knobs whose values
  differ between the problems name a group; when every problem shares one difficulty there is
  nothing to break down and the result is empty (the overall greedy accuracy is that group's).
  `rlvr eval --sweep KNOB=[v1, v2]` draws the held-out problems at several levels at once.
- `sampled_by_difficulty`: sample accuracy and pass@k per level likewise (`merge_sampled_levels`
  puts them beside the level's greedy solve rate).
- `combine_seeds`: the sampled metrics of several sampling seeds on the same problems, reported
  as their mean under the usual names, with mean, standard deviation, min and max per metric under
  `across_seeds`. Greedy metrics are deterministic, so they are measured once and not repeated.
- `combine_paraphrases`: the same for whole evaluations under several prompt templates (greedy
  metrics included, since the prompt changes them too).
- `sweep_difficulties`: the difficulty of each level of a sweep (the product over swept knobs).
- `spread_indices`: which problems' samples a report keeps, taken in turn from each level.

Plain Python (no torch), like `rlvr.training.metrics`.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from rlvr.core.problem import Problem
from rlvr.training.metrics import pass_at_k, spread

SEED_STRIDE = 1_000_003
"""Sampling seed s draws with base + s * SEED_STRIDE: each prompt batch adds its index to the
seed, so a stride larger than any batch count keeps two sampling seeds from sharing a batch seed."""

_SAMPLED = re.compile(r"(pass|maj)@\d+|sample_accuracy|sample_mean_length|distinct_correct|semantic_entropy"
                      r"|distinct_\d+")


def is_sampled_metric(name: str) -> bool:
    """Whether metric `name` comes from sampled responses (so a sampling seed changes it).

    >>> [is_sampled_metric(name) for name in ("pass@8", "semantic_entropy", "greedy_accuracy", "mean_length")]
    [True, True, False, False]
    """
    return _SAMPLED.fullmatch(name) is not None


def difficulty_label(difficulty: Mapping[str, Any], knobs: Sequence[str]) -> str:
    """'knob=value, ...' over `knobs`, values as compact JSON (lists and strings read unambiguously).

    >>> difficulty_label({"num_ops": 2, "operators": ["+", "-"], "width": 3}, ["num_ops", "operators"])
    'num_ops=2, operators=["+","-"]'
    """
    return ", ".join(f"{knob}={_value_text(difficulty.get(knob))}" for knob in knobs)


def _value_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def level_indices(problems: Sequence[Problem]) -> dict[str, list[int]]:
    """{label: indices of its problems} over the groups of problems that differ in some knob value,
    in the order groups first appear; {} when every problem shares one difficulty."""
    names = sorted({name for problem in problems for name in problem.difficulty})
    varying = [name for name in names if len({_value_text(p.difficulty.get(name)) for p in problems}) > 1]
    if not varying:
        return {}
    groups: dict[str, list[int]] = {}
    for index, problem in enumerate(problems):
        groups.setdefault(difficulty_label(problem.difficulty, varying), []).append(index)
    return groups


def by_difficulty(problems: Sequence[Problem], correct: Sequence[float]) -> dict[str, Any]:
    """{"by_difficulty": {label: {"problems", "solved", "greedy_accuracy"}}} over the groups of
    problems that differ in some knob value, in the order groups first appear; {} with one group.

    `correct[i]` is the verdict (1.0 or 0.0; > 0 counts as solved) on problem i's greedy response.
    """
    if len(problems) != len(correct):
        raise ValueError(f"expected one verdict per problem, got {len(problems)} problems and "
                         f"{len(correct)} verdicts")
    groups = level_indices(problems)
    if not groups:
        return {}
    table = {}
    for label, indices in groups.items():
        solved = sum(float(correct[i] > 0) for i in indices)
        table[label] = {"problems": len(indices), "solved": int(solved), "greedy_accuracy": solved / len(indices)}
    return {"by_difficulty": table}


SAMPLED_LEVELS = "sampled_by_difficulty"
"""Where `sample_metrics` puts each level's sample accuracy and pass@k; `merge_sampled_levels`
moves them into the level's `by_difficulty` entry."""


def sampled_by_difficulty(problems: Sequence[Problem], correct: Sequence[Sequence[float]],
                          ks: Sequence[int]) -> dict[str, Any]:
    """{SAMPLED_LEVELS: {label: {"sample_accuracy", "pass@k" for each k}}} per difficulty level
    ({} with one level): `correct[i]` holds the verdicts on problem i's samples (> 0: correct).

    >>> from types import SimpleNamespace as P
    >>> problems = [P(difficulty={"n": 1}), P(difficulty={"n": 1}), P(difficulty={"n": 2})]
    >>> sampled_by_difficulty(problems, [[1, 0], [0, 0], [1, 1]], [1, 2])[SAMPLED_LEVELS]
    {'n=1': {'sample_accuracy': 0.25, 'pass@1': 0.25, 'pass@2': 0.5}, 'n=2': {'sample_accuracy': 1.0, 'pass@1': 1.0, 'pass@2': 1.0}}
    """
    if len(problems) != len(correct):
        raise ValueError(f"expected one row of verdicts per problem, got {len(problems)} problems and "
                         f"{len(correct)} rows")
    groups = level_indices(problems)
    if not groups:
        return {}
    table: dict[str, dict[str, float]] = {}
    for label, indices in groups.items():
        rows = [[float(c > 0) for c in correct[i]] for i in indices]
        entry = {"sample_accuracy": sum(map(sum, rows)) / sum(map(len, rows))}
        for k in ks:
            entry[f"pass@{k}"] = sum(pass_at_k(len(row), int(sum(row)), k) for row in rows) / len(rows)
        table[label] = entry
    return {SAMPLED_LEVELS: table}


def merge_sampled_levels(metrics: dict[str, Any]) -> dict[str, Any]:
    """`metrics` with `SAMPLED_LEVELS` moved into the matching `by_difficulty` entries (each level
    then holds its greedy and sampled figures side by side); a level without a greedy entry keeps
    its sampled figures alone."""
    sampled = metrics.pop(SAMPLED_LEVELS, None)
    if isinstance(sampled, Mapping) and sampled:
        levels = {label: dict(values) for label, values in (metrics.get("by_difficulty") or {}).items()}
        for label, values in sampled.items():
            levels[label] = {**levels.get(label, {}), **values}
        metrics["by_difficulty"] = levels
    return metrics


def check_seeds(seeds: Sequence[int]) -> list[int]:
    """`seeds` as a list, when they are distinct integers >= 0 (at least one); else a ValueError.

    >>> check_seeds((0, 1, 2))
    [0, 1, 2]
    """
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds) or any(
            isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
        raise ValueError(f"expected distinct sampling seeds, integers >= 0, got {seeds!r}")
    return seeds


def combine_seeds(runs: Sequence[Mapping[str, Any]], seeds: Sequence[int]) -> dict[str, Any]:
    """One record from the sampled metrics of each seed in `seeds` (same order as `runs`): each
    sampled metric's mean under its own name, `sampling_seeds`, and `across_seeds` with the mean,
    std, min and max of each. A single run is returned as it is (there is no spread to show).

    >>> combined = combine_seeds([{"pass@1": 0.25}, {"pass@1": 0.75}], [0, 1])
    >>> combined["pass@1"], combined["across_seeds"]["pass@1"]["max"], combined["sampling_seeds"]
    (0.5, 0.75, [0, 1])
    """
    if len(runs) != len(seeds) or not runs:
        raise ValueError(f"expected one metrics record per seed, got {len(runs)} records and "
                         f"{len(seeds)} seeds")
    if len(runs) == 1:
        return dict(runs[0])
    names = [name for name in runs[0] if is_sampled_metric(name) and all(name in run for run in runs)]
    table = {name: spread([float(run[name]) for run in runs]) for name in names}
    combined = {**{name: values["mean"] for name, values in table.items()}, "sampling_seeds": list(seeds),
                "across_seeds": table}
    levels = [run.get(SAMPLED_LEVELS) for run in runs]
    if all(isinstance(level, Mapping) for level in levels):  # each level's figures: their mean over seeds
        combined[SAMPLED_LEVELS] = {
            label: {name: sum(float(level[label][name]) for level in levels) / len(levels) for name in values}
            for label, values in levels[0].items()}
    return combined


GREEDY_METRICS = ("greedy_accuracy", "greedy_reward", "mean_length", "mean_turns")
"""The metrics of the greedy pass (deterministic for given prompts, so they vary across paraphrases)."""


def combine_paraphrases(results: Sequence[Mapping[str, Any]], templates: Sequence[str]) -> dict[str, Any]:
    """One record from the evaluations of the same problems under several prompt templates: what
    was evaluated as the first record says it, each metric's mean under its own name, the templates,
    and `across_paraphrases` with each metric's mean, std, min and max. Per-template breakdowns (by
    difficulty, across seeds) are not carried over: evaluate one template to see them.

    >>> results = [{"env_id": "e", "greedy_accuracy": 0.5, "by_difficulty": {}},
    ...            {"env_id": "e", "greedy_accuracy": 0.7}]
    >>> combined = combine_paraphrases(results, ["Q: {question}", "{question}"])
    >>> combined["env_id"], round(combined["greedy_accuracy"], 6), "by_difficulty" in combined
    ('e', 0.6, False)
    """
    if len(results) != len(templates) or len(results) < 2:
        raise ValueError(f"expected one result per template, two or more, got {len(results)} results and "
                         f"{len(templates)} templates")
    names = [name for name in results[0] if (name in GREEDY_METRICS or is_sampled_metric(name))
             and all(isinstance(result.get(name), (int, float)) for result in results)]
    table = {name: spread([float(result[name]) for result in results]) for name in names}
    kept = {name: value for name, value in results[0].items()
            if name not in table and name not in ("by_difficulty", "across_seeds")}
    means = {name: values["mean"] for name, values in table.items()}
    return {**kept, **means, "prompt_templates": list(templates), "across_paraphrases": table}


def sweep_difficulties(base: Mapping[str, Any], sweep: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The difficulties of a sweep: `base` with every combination of the swept knobs' values.

    >>> sweep_difficulties({"operators": ["+"]}, {"num_ops": [1, 2]})
    [{'operators': ['+'], 'num_ops': 1}, {'operators': ['+'], 'num_ops': 2}]
    """
    levels = []
    for name, values in sweep.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"--sweep {name}= expects a non-empty YAML list of values, e.g. {name}=[1, 2], "
                             f"got {values!r}")
        levels.append([(name, value) for value in values])
    return [{**base, **dict(choice)} for choice in itertools.product(*levels)]


def spread_indices(problems: Sequence[Problem], limit: int) -> list[int]:
    """Indices of at most `limit` problems taken in turn from each difficulty level (levels in the
    order they first appear), in their original order: the samples a report shows cover every level
    of a sweep, not only the first.

    >>> from types import SimpleNamespace as P
    >>> spread_indices([P(difficulty={"n": 1})] * 3 + [P(difficulty={"n": 2})] * 3, 4)
    [0, 1, 3, 4]
    """
    groups: dict[str, list[int]] = {}
    for index, problem in enumerate(problems):
        groups.setdefault(_value_text(dict(problem.difficulty)), []).append(index)
    chosen: list[int] = []
    for turn in itertools.zip_longest(*groups.values()):
        chosen += [index for index in turn if index is not None][: max(0, limit) - len(chosen)]
    return sorted(chosen)
