"""Plots of a comparison (`rlvr run` on a compare scenario), one line per arm, mean over seeds:
pass@k against k, greedy held-out accuracy and the policy's entropy during RL. Nothing is drawn
without matplotlib. `pass_at_k_keys` lives here so that `rlvr.training.compare` imports this
module, not the other way round."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def pass_at_k_keys(metrics: Mapping[str, Any]) -> list[int]:
    """The k of every `pass@k` key over all problems, sorted (a level's `pass@k[LEVEL]` left out).

    >>> pass_at_k_keys({"pass@8": 0.5, "pass@1": 0.2, "maj@8": 0.3, "pass@1[hops=4]": 0.1, "pass@1_sem": 0.0})
    [1, 8]
    """
    return sorted(int(match.group(1)) for key in metrics if (match := _PASS_AT_K.fullmatch(key)))


_PASS_AT_K = re.compile(r"pass@(\d+)")


def plot_comparison(report: Mapping[str, Any], curves: Mapping[str, Mapping[int, list]], out: Path) -> None:
    """pass_at_k.png (after SFT and each arm's final evaluation) and heldout_accuracy.png."""
    try:
        from rlvr.training.plots import plot_curves
    except ImportError:
        return
    try:
        series = {"after SFT": _pass_series(next(iter(report["mean"].values()))["after_sft"])}
        series.update({arm: _pass_series(values["final"]) for arm, values in report["mean"].items()})
        plot_curves(series, out / "pass_at_k.png", "pass@k on held-out problems (mean over seeds)", "k", "pass@k",
                    log_x=True)
        accuracy = {arm: _mean_curve(per_seed) for arm, per_seed in curves.items()}
        plot_curves(accuracy, out / "heldout_accuracy.png", "greedy held-out accuracy (mean over seeds)", "RL step",
                    "accuracy")
    except ImportError:
        return


def _pass_series(metrics: Mapping[str, float]) -> tuple[list[int], list[float]]:
    ks = pass_at_k_keys(metrics)
    return ks, [metrics[f"pass@{k}"] for k in ks]


def _mean_curve(per_seed: Mapping[int, list[tuple[int, float]]], width: int = 1) -> tuple[list[int], list[float]]:
    """Steps and the mean over seeds at each (NaN where a seed lacks the step), then averaged over
    blocks of `width` consecutive steps (labelled by their last step)."""
    steps = sorted({step for curve in per_seed.values() for step, _ in curve})
    lookups = [dict(curve) for curve in per_seed.values()]
    mean = [sum(lookup.get(step, math.nan) for lookup in lookups) / len(lookups) for step in steps]
    blocks = range(0, len(steps), max(1, width))
    return ([steps[min(i + width, len(steps)) - 1] for i in blocks],
            [sum(mean[i:i + width]) / len(mean[i:i + width]) for i in blocks])


ENTROPY_POINTS = 50
"""Points per line of the entropy plot: per-step estimates are averaged over blocks of steps,
since one step's estimate (a few hundred tokens) is noisy."""


def plot_entropy(curves: Mapping[str, Mapping[int, list[tuple[int, float]]]], out: Path) -> None:
    """entropy.png: the RL step lines' entropy estimate per arm, mean over seeds; none without data."""
    series = {}
    for arm, per_seed in curves.items():
        longest = max((len(curve) for curve in per_seed.values()), default=0)
        if longest:
            series[arm] = _mean_curve(per_seed, width=math.ceil(longest / ENTROPY_POINTS))
    if not series:
        return
    try:
        from rlvr.training.plots import plot_curves

        plot_curves(series, out / "entropy.png", "policy entropy during RL: -mean log p of sampled tokens "
                    "(mean over seeds)", "RL step", "nats per token")
    except ImportError:
        return
