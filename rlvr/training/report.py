"""`report.html`: one self-contained page that shows what happened in a training run.

    write_report("runs/quickstart")          # what `rlvr train` does at the end of a run
    rlvr report runs/quickstart              # rebuilds it from the folder's files

The page holds the curves (reward, held-out greedy accuracy with the warm-up checks, pass@k,
response length, time per step by phase) with a line where the warm-up ended; the evaluation
table with 95% Wilson intervals (semantic entropy, distinct-n, the spread over sampling seeds and
solve rates per difficulty where the evaluations hold them) and a pass@k plot; sample responses of
the final evaluation (multi-turn runs: greedy episodes, each turn shown and the env's replies
marked), filterable by verdict and difficulty; the config, versions, machine and the command that
reproduces the run. The pieces it shares with the evaluation's report (`rlvr.training.eval_report`)
are in `rlvr.training.report_parts` and `rlvr.training.report_samples`.

It needs no server and loads nothing: charts are inline SVG (`rlvr.core.svg`), the filter is a
few lines of inline script, and a Content-Security-Policy forbids any fetch. The folder's files
are read as untrusted input (`rlvr.training.run_files`): every text is escaped here, sizes are
bounded there, and nothing read is ever run. A missing or damaged file makes a partial report that
says what it lacks; each section is built on its own, so one that fails shows its error and the
others stand.
"""

from __future__ import annotations

import math
import shlex
from pathlib import Path
from typing import Any

from rlvr.core.svg import Series, line_chart, stacked_bars
from rlvr.training.plots import TIME_PHASES, moving_average
from rlvr.training.report_parts import e as _e
from rlvr.training.report_parts import (
    environment_table,
    evaluation_section,
    figure,
    fmt,
    ks_of,
    report_page,
    write_page,
)
from rlvr.training.report_samples import samples_section
from rlvr.training.run_files import (
    CONFIG_FILE,
    RESULTS_FILE,
    RunFiles,
    number,
    read_evaluation,
    read_run,
    record_environment,
)
from rlvr.training.tracking import METRICS_FILE

REPORT_FILE = "report.html"
_PHASES = (("after_sft", "after the warm-up"), ("final", "final (after RL)"), ("sft_only", "SFT alone, same wall time"))
"""Evaluation records of the table: (phase, label), read from summary.json, else metrics.jsonl."""
_CURVE_PHASES = ("after_sft", "rl", "final")


def write_report(run_dir: str | Path, environment: bool = False) -> Path:
    """Build `run_dir/report.html` (replaced atomically); with `environment`, first record this
    process's versions and machine in environment.json (the trainer does, at the end of a run)."""
    run_dir = Path(run_dir)
    if environment:
        record_environment(run_dir)
    return write_page(run_dir / REPORT_FILE, build_report(run_dir))


def is_evaluation_folder(folder: str | Path) -> bool:
    """Whether `folder` is an `rlvr eval` output folder: results.json naming an `rlvr eval` command and
    no training metrics (a compare or debate run's results.json names none)."""
    folder = Path(folder)
    if not (folder / RESULTS_FILE).is_file() or (folder / METRICS_FILE).exists():
        return False
    command = (read_evaluation(folder).summary or {}).get("command")
    return isinstance(command, str) and command.startswith("rlvr eval ")


def build_report(run_dir: str | Path) -> str:
    """The report page of the run in `run_dir`, as HTML text; an `rlvr eval` output folder gets the
    evaluation's report (`rlvr.training.eval_report`), so `rlvr report` rebuilds either."""
    if is_evaluation_folder(run_dir):
        from rlvr.training.eval_report import build_eval_report

        return build_eval_report(run_dir)
    run = read_run(run_dir)
    warm_up = _warm_up_steps(run)
    sections = [
        ("Overview", lambda: _overview(run, warm_up)),
        ("Curves", lambda: _curves(run, warm_up)),
        ("Evaluation", lambda: evaluation_section(_evaluations(run))),
        ("Sample responses", lambda: _samples(run)),
        ("Reproduce", lambda: _reproduce(run)),
    ]
    name = run.run_dir.name or str(run.run_dir)
    return report_page(f"rlvr report: {run.run_dir.name}", f"Run report: {name}", str(run.run_dir), run.notes,
                       sections)


# ---- overview and curves -----------------------------------------------------------------------
def _warm_up_steps(run: RunFiles) -> float:
    """SFT steps taken before RL (0 when none or unknown): the x of the "after warm-up" line."""
    after = [e for e in run.evals if e.get("eval") == "after_sft"]
    steps = number(after[-1].get("sft_steps")) if after else math.nan
    if not math.isfinite(steps) and run.summary is not None:
        steps = number(run.summary.get("sft_steps"))
    return steps if math.isfinite(steps) and 0 < steps < 1e9 else 0.0


def _overview(run: RunFiles, warm_up: float) -> str:
    summary = run.summary or {}
    facts = [
        ("warm-up (SFT) steps", warm_up or "none"),
        ("RL steps", summary.get("steps", len(run.steps))),
        ("held-out greedy accuracy after the warm-up", summary.get("greedy_accuracy_after_sft")),
        ("after RL (mean of the last three evaluations)", summary.get("greedy_accuracy_after_rl")),
        ("SFT alone for the same wall time", summary.get("greedy_accuracy_sft_only")),
        ("warm-up seconds", summary.get("sft_s")),
        ("RL seconds", summary.get("rl_s")),
    ]
    rows = "".join(f"<tr><th>{_e(label)}</th><td>{_e(fmt(value))}</td></tr>" for label, value in facts
                   if value is not None)
    return f'<table class="facts">{rows}</table>'


def _curves(run: RunFiles, warm_up: float) -> str:
    """Every curve on one x axis, steps since the start: warm-up steps, then RL step s at warm-up + s."""
    marker = (warm_up, "after warm-up") if warm_up else None
    steps = [r for r in run.steps if math.isfinite(number(r.get("step")))]
    xs = [warm_up + number(r["step"]) for r in steps]
    evals = [e for e in run.evals if e.get("eval") in _CURVE_PHASES and math.isfinite(number(e.get("step")))]
    eval_xs = [warm_up + number(e["step"]) for e in evals]
    checks = [e for e in run.evals if e.get("eval") == "sft_check"]
    window = min(25, max(1, len(steps) // 10))
    xlabel = "step (warm-up steps, then RL steps)" if warm_up else "RL step"

    def per_step(key: str, label: str, color: int) -> list[Series]:
        ys = [number(r.get(key)) for r in steps]
        if window == 1:
            return [Series(label, xs, ys, dots=len(xs) <= 60, color=color)]
        return [Series(label, xs, ys, faint=True, color=color),
                Series(f"{label} ({window}-step mean)", xs, list(moving_average(ys, window)), color=color)]

    charts = [
        line_chart(per_step("reward_mean", "mean reward", 0) + per_step("accuracy", "sample accuracy", 1),
                   title="Reward per RL step", xlabel=xlabel, ylabel="reward / accuracy", marker=marker),
        line_chart([Series("held-out greedy accuracy", eval_xs, [number(e.get("greedy_accuracy")) for e in evals], dots=True),
                    Series("warm-up checks (train split)", [number(e.get("sft_step")) for e in checks],
                           [number(e.get("train_greedy_accuracy")) for e in checks], dots=True, color=2)],
                   title="Greedy accuracy", xlabel=xlabel, ylabel="accuracy", marker=marker, y_range=(0.0, 1.0)),
        line_chart([Series(f"pass@{k}", eval_xs, [number(e.get(f"pass@{k}")) for e in evals], dots=True, color=i)
                    for i, k in enumerate(ks_of(evals))],
                   title="Held-out pass@k at the evaluations", xlabel=xlabel, ylabel="pass@k", marker=marker,
                   y_range=(0.0, 1.0)),
        line_chart(per_step("mean_length", "rollouts", 0)
                   + [Series("held-out greedy", eval_xs, [number(e.get("mean_length")) for e in evals], dots=True, color=3)],
                   title="Response length", xlabel=xlabel, ylabel="tokens per response", marker=marker),
        line_chart(per_step("entropy", "sampled tokens", 0), title="Policy entropy during RL (-mean log p of its samples)",
                   xlabel=xlabel, ylabel="nats per token", marker=marker),
        stacked_bars(xs, _time_layers(steps), title="Time per RL step, by phase", xlabel=xlabel, ylabel="seconds",
                     marker=marker),
    ]
    names = ("reward", "greedy accuracy", "pass@k", "response length", "entropy", "time by phase")
    figures = "".join(figure(chart, f"no {name} data in metrics.jsonl") for chart, name in zip(charts, names, strict=True))
    return f'<div class="charts">{figures}</div>'


def _time_layers(steps: list[dict[str, Any]]) -> dict[str, list[float]]:
    layers = {label: [_nonnegative(number(r.get(key))) for r in steps] for key, label in TIME_PHASES.items()}
    totals = [_nonnegative(number(r.get("time_total"))) for r in steps]
    named = [sum(values) for values in zip(*layers.values(), strict=True)] if steps else []
    # problem drawing, advantages and the reference pass: what the named phases leave of the total
    layers["other"] = [max(0.0, total - part) for total, part in zip(totals, named, strict=True)]
    return layers


def _evaluations(run: RunFiles) -> list[tuple[str, dict[str, Any]]]:
    """(label, record) of each evaluation of the table: from summary.json, else metrics.jsonl."""
    rows = []
    for phase, label in _PHASES:
        record = (run.summary or {}).get(phase)
        if not isinstance(record, dict):
            logged = [e for e in run.evals if e.get("eval") == phase]
            record = logged[-1] if logged else None
        if record is not None:
            rows.append((label, record))
    return rows


# ---- samples -----------------------------------------------------------------------------------
def _samples(run: RunFiles) -> str:
    multi_turn = any(sample.get("turns") for sample in run.samples)
    what = ("Greedy episodes on the first held-out problems after training: each turn of the policy with its "
            "reward, the env's replies marked, and the episode's verdict." if multi_turn else
            "Greedy responses to the first held-out problems of the final evaluation, scored by the task's verifier.")
    return samples_section(run.samples, what, "no samples.jsonl: `rlvr train` saves the greedy responses "
                           "(multi-turn: episodes) of the final evaluation there")


# ---- reproduce ---------------------------------------------------------------------------------
def _reproduce(run: RunFiles) -> str:
    folder = str(run.run_dir)
    command = f"rlvr train {shlex.quote(str(Path(folder) / CONFIG_FILE))} --out {shlex.quote(folder.rstrip('/') + '-rerun')}"
    parts = [f"<p>Same config, same seeds, in a new folder:</p><pre>\n{_e(command)}</pre>"]
    parts.append(environment_table(run.environment, "versions and machine not recorded (environment.json is "
                                   "written at the end of `rlvr train`)"))
    config = run.config_text
    parts.append(f"<h3>config.yaml</h3><pre>\n{_e(config)}</pre>" if config is not None
                 else '<p class="muted">no config.yaml</p>')
    return "".join(parts)


# ---- formatting --------------------------------------------------------------------------------
def _nonnegative(value: float) -> float:
    return value if math.isfinite(value) and value > 0 else 0.0
