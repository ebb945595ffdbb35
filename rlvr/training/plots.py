"""Training curves as PNG files, drawn from a run's metrics.jsonl.

    paths = plot_run("runs/quickstart")     # -> runs/quickstart/plots/*.png
    plot_curves({"GRPO": (ks, grpo), "ROVER": (ks, rover)}, "pass_at_k.png",
                title="pass@k", xlabel="k", ylabel="pass@k", log_x=True)

`plot_run` draws what the log holds and skips what it does not (a run with no RL steps gets the
held-out plot only):
- reward_accuracy.png: mean reward and sample accuracy per RL step, raw and moving average;
- heldout_accuracy.png: greedy held-out accuracy at each evaluation, the after-SFT level dashed;
- loss_grad_norm.png: policy loss and gradient norm per step (a skipped, non-finite step is a gap);
- throughput.png: samples per second per step;
- time_breakdown.png: seconds per step, stacked by phase (sampling, scoring, forward+backward,
  optimizer, and the rest).

matplotlib is imported only when a plot is drawn. Figures are built on the Agg canvas directly
rather than through pyplot: nothing switches the backend of a notebook that imports this module,
and no figure stays registered (and in memory) after it is saved.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlvr.training.tracking import read_metrics

TIME_PHASES = {
    "time_sampling": "sampling",
    "time_scoring": "scoring",
    "time_fwd_bwd": "forward + backward",
    "time_optimizer": "optimizer",
}
"""Per-step timing fields, in stacking order, with their legend labels."""

_DPI = 100
_SINGLE = (7.0, 4.0)
_DOUBLE = (11.0, 4.0)
_BARS_UP_TO = 60
"""Up to this many steps the time breakdown is drawn as bars (visible for a single step too)."""


def plot_run(run_dir: str | Path, smooth: int | None = None) -> list[Path]:
    """Draw the curves of the run in `run_dir` into `run_dir/plots/`; the PNG paths written.

    `smooth` is the moving-average window in steps (default: a tenth of the steps, at most 25;
    no average line when that is 1).
    """
    _matplotlib()  # fail now, with the install hint, rather than after reading the log
    run_dir = Path(run_dir)
    steps, evals = read_metrics(run_dir)
    out_dir = run_dir / "plots"
    out_dir.mkdir(parents=True, exist_ok=True)
    window = smooth if smooth is not None else min(25, max(1, len(steps) // 10))
    drawers = (
        lambda: _reward_accuracy(steps, window, out_dir / "reward_accuracy.png"),
        lambda: _heldout_accuracy(evals, out_dir / "heldout_accuracy.png"),
        lambda: _loss_grad_norm(steps, out_dir / "loss_grad_norm.png"),
        lambda: _throughput(steps, window, out_dir / "throughput.png"),
        lambda: _time_breakdown(steps, out_dir / "time_breakdown.png"),
    )
    return [path for path in (draw() for draw in drawers) if path is not None]


def plot_curves(
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    path: str | Path,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    log_x: bool = False,
) -> Path:
    """One line per label from `series` = {label: (xs, ys)}, saved as a PNG at `path`.

    `log_x` puts x on a base-2 log scale (k = 1, 2, 4, ... evenly spaced), labelling the ticks
    with the x values themselves when they are a few positive integers, as pass@k's k are.
    """
    if not series:
        raise ValueError("plot_curves needs at least one series, got none")
    figure, (axes,) = _figure(1)
    all_xs: set[float] = set()
    for label, (xs, ys) in series.items():
        if len(xs) != len(ys):
            raise ValueError(f"series {label!r}: expected as many x as y values, got {len(xs)} and {len(ys)}")
        if log_x and any(x <= 0 for x in xs):
            raise ValueError(f"series {label!r}: a log-scale x needs positive values, got {list(xs)}")
        all_xs.update(float(x) for x in xs)
        axes.plot(xs, ys, marker="o", markersize=4, label=label)
    if log_x:
        axes.set_xscale("log", base=2)
        if len(all_xs) <= 16 and all(x.is_integer() for x in all_xs):
            ticks = sorted(all_xs)
            axes.set_xticks(ticks, [str(int(x)) for x in ticks])
            axes.minorticks_off()
    _finish(axes, title, xlabel, ylabel, legend=len(series) > 1)
    return _save(figure, Path(path))


# ---- the run's plots ---------------------------------------------------------------------------
def _reward_accuracy(steps: list[dict[str, Any]], window: int, path: Path) -> Path | None:
    panels = [(key, label) for key, label in (("reward_mean", "mean reward"), ("accuracy", "sample accuracy"))
              if _series(steps, key)[0]]
    if not panels:
        return None
    figure, axes_row = _figure(len(panels))
    for axes, (key, label) in zip(axes_row, panels, strict=True):
        _raw_and_average(axes, *_series(steps, key), window)
        if key == "accuracy":
            axes.set_ylim(-0.02, 1.02)
        _finish(axes, f"{label} per RL step", "RL step", label, legend=window > 1)
    return _save(figure, path)


def _heldout_accuracy(evals: list[dict[str, Any]], path: Path) -> Path | None:
    xs, ys = _series(evals, "greedy_accuracy")
    if not xs:
        return None
    figure, (axes,) = _figure(1)
    axes.plot(xs, ys, marker="o", markersize=4, label="greedy, held out")
    after_sft = [e["greedy_accuracy"] for e in evals if e.get("eval") == "after_sft" and "greedy_accuracy" in e]
    if after_sft:
        axes.axhline(after_sft[-1], color="gray", linestyle="--", label=f"after SFT ({after_sft[-1]:.3f})")
    axes.set_ylim(-0.02, 1.02)
    _finish(axes, "held-out greedy accuracy", "RL step", "accuracy", legend=True)
    return _save(figure, path)


def _loss_grad_norm(steps: list[dict[str, Any]], path: Path) -> Path | None:
    panels = [(key, label) for key, label in (("loss", "policy loss"), ("grad_norm", "gradient norm (before clipping)"))
              if _series(steps, key)[0]]
    if not panels:
        return None
    figure, axes_row = _figure(len(panels))
    for axes, (key, label) in zip(axes_row, panels, strict=True):
        xs, ys = _series(steps, key)
        axes.plot(xs, ys, **_markers(len(xs)))
        _finish(axes, f"{label} per RL step", "RL step", label)
    return _save(figure, path)


def _throughput(steps: list[dict[str, Any]], window: int, path: Path) -> Path | None:
    xs, ys = _series(steps, "samples_per_s")
    if not xs:
        return None
    figure, (axes,) = _figure(1)
    _raw_and_average(axes, xs, ys, window)
    _finish(axes, "throughput", "RL step", "samples / s", legend=window > 1)
    return _save(figure, path)


def _time_breakdown(steps: list[dict[str, Any]], path: Path) -> Path | None:
    timed = [record for record in steps if "step" in record and any(key in record for key in TIME_PHASES)]
    if not timed:
        return None
    xs = np.array([record["step"] for record in timed], dtype=float)
    layers = {label: np.array([_finite_or_zero(r.get(key)) for r in timed]) for key, label in TIME_PHASES.items()}
    if any("time_total" in record for record in timed):
        total = np.array([_finite_or_zero(r.get("time_total")) for r in timed])
        # problem drawing, advantages and the KL reference pass: what the named phases leave
        layers["other"] = np.clip(total - sum(layers.values()), 0.0, None)
    layers = {label: values for label, values in layers.items() if values.any()}
    if not layers:
        return None
    figure, (axes,) = _figure(1)
    if len(xs) <= _BARS_UP_TO:
        bottom = np.zeros_like(xs)
        for label, values in layers.items():
            axes.bar(xs, values, bottom=bottom, width=0.8, label=label)
            bottom = bottom + values
    else:
        axes.stackplot(xs, *layers.values(), labels=list(layers))
    _finish(axes, "time per RL step, by phase", "RL step", "seconds", legend=True)
    return _save(figure, path)


# ---- helpers -----------------------------------------------------------------------------------
def _series(records: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    """(steps, values) of the records that hold a number under `key`; NaN stays (a gap)."""
    xs, ys = [], []
    for record in records:
        value = record.get(key)
        if "step" in record and isinstance(value, (int, float)) and not isinstance(value, bool):
            xs.append(float(record["step"]))
            ys.append(float(value))
    return xs, ys


def _finite_or_zero(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else 0.0


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing mean over the last `window` finite values at each position (NaN where none).

    >>> moving_average([1.0, 3.0, float("nan"), 5.0], 2).tolist()
    [1.0, 2.0, 3.0, 5.0]
    """
    if window < 1:
        raise ValueError(f"expected a window of at least 1, got {window}")
    array = np.asarray(values, dtype=float)
    finite = np.isfinite(array)
    sums = np.concatenate([[0.0], np.cumsum(np.where(finite, array, 0.0))])
    counts = np.concatenate([[0], np.cumsum(finite)])
    ends = np.arange(1, len(array) + 1)
    starts = np.maximum(ends - window, 0)
    number = counts[ends] - counts[starts]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(number > 0, (sums[ends] - sums[starts]) / number, np.nan)


def _raw_and_average(axes: Any, xs: list[float], ys: list[float], window: int) -> None:
    if window > 1:
        axes.plot(xs, ys, alpha=0.35, linewidth=1, label="per step")
        axes.plot(xs, moving_average(ys, window), linewidth=2, label=f"moving average ({window} steps)")
    else:
        axes.plot(xs, ys, **_markers(len(xs)))


def _markers(points: int) -> dict[str, Any]:
    """Dots on the line: a step between two gaps (NaN) has no segment and shows only as its dot."""
    return {"marker": "o", "markersize": 3 if points <= _BARS_UP_TO else 1.5}


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError("plots need matplotlib: pip install matplotlib") from error
    return matplotlib


def _figure(panels: int) -> tuple[Any, list[Any]]:
    """A figure with `panels` axes side by side, on an Agg canvas of its own (no pyplot)."""
    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = _SINGLE if panels == 1 else _DOUBLE
    figure = Figure(figsize=(width, height), dpi=_DPI)
    FigureCanvasAgg(figure)
    # fixed margins in inches: tight_layout would measure every label and double the drawing time
    figure.subplots_adjust(left=0.8 / width, right=1 - 0.2 / width, bottom=0.55 / height, top=1 - 0.4 / height,
                           wspace=0.25)
    axes = figure.subplots(1, panels, squeeze=False)[0]
    return figure, list(axes)


def _finish(axes: Any, title: str, xlabel: str, ylabel: str, legend: bool = False) -> None:
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    if xlabel == "RL step":
        from matplotlib.ticker import MaxNLocator

        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # no step 1.25 on a short run
        low, high = axes.dataLim.intervalx
        if high - low < 2:  # one or two steps: show their neighbours, not a span of 0.1 step
            axes.set_xlim(low - 1, high + 1)
    if legend:
        axes.legend(loc="best", fontsize="small")


def _save(figure: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=_DPI)
    figure.clear()  # drop the artists now rather than at garbage collection
    return path
