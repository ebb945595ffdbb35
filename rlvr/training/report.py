"""`report.html`: one self-contained page that shows what happened in a training run.

    write_report("runs/quickstart")          # what `rlvr train` does at the end of a run
    rlvr report runs/quickstart              # rebuilds it from the folder's files

The page holds the curves (reward, held-out greedy accuracy with the warm-up checks, pass@k,
response length, time per step by phase) with a line where the warm-up ended; the evaluation
table with 95% Wilson intervals (semantic entropy, distinct-n, the spread over sampling seeds and
solve rates per difficulty where the evaluations hold them) and a pass@k plot; sample responses of
the final evaluation, filterable by verdict; the config, versions, machine and the command that
reproduces the run.

It needs no server and loads nothing: charts are inline SVG (`rlvr.core.svg`), the filter is a
few lines of inline script, and a Content-Security-Policy forbids any fetch. The folder's files
are read as untrusted input (`rlvr.training.run_files`): every text is escaped here, sizes are
bounded there, and nothing read is ever run. A missing or damaged file makes a partial report that
says what it lacks; each section is built on its own, so one that fails shows its error and the
others stand.
"""

from __future__ import annotations

import datetime
import html
import math
import os
import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlvr.core.page import html_page
from rlvr.core.svg import Series, line_chart, stacked_bars
from rlvr.training.metrics import wilson_interval
from rlvr.training.plots import TIME_PHASES, moving_average
from rlvr.training.run_files import CONFIG_FILE, RunFiles, cut, number, read_run, record_environment, text

REPORT_FILE = "report.html"
_PHASES = (("after_sft", "after the warm-up"), ("final", "final (after RL)"), ("sft_only", "SFT alone, same wall time"))
"""Evaluation records of the table: (phase, label), read from summary.json, else metrics.jsonl."""
_CURVE_PHASES = ("after_sft", "rl", "final")
_PASS_AT = re.compile(r"pass@(\d{1,4})")
_MAX_KS = 12
_DIVERSITY = (("semantic_entropy", "semantic entropy (nats)"), ("distinct_1", "distinct-1"),
              ("distinct_2", "distinct-2"))
"""Columns of the evaluation table shown only when some evaluation holds them (sampled evaluations)."""
_MAX_LEVELS = 50


def write_report(run_dir: str | Path, environment: bool = False) -> Path:
    """Build `run_dir/report.html` (replaced atomically); with `environment`, first record this
    process's versions and machine in environment.json (the trainer does, at the end of a run)."""
    run_dir = Path(run_dir)
    if environment:
        record_environment(run_dir)
    page = build_report(run_dir)
    path = run_dir / REPORT_FILE
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, path)
    return path


def build_report(run_dir: str | Path) -> str:
    """The report page of the run in `run_dir`, as HTML text."""
    run = read_run(run_dir)
    warm_up = _warm_up_steps(run)
    sections = [
        ("Overview", lambda: _overview(run, warm_up)),
        ("Curves", lambda: _curves(run, warm_up)),
        ("Evaluation", lambda: _evaluation(run)),
        ("Sample responses", lambda: _samples(run)),
        ("Reproduce", lambda: _reproduce(run)),
    ]
    body = [f"<h1>Run report: {_e(run.run_dir.name or str(run.run_dir))}</h1>",
            f'<p class="muted">{_e(str(run.run_dir))} · built {_e(_now())}</p>']
    if run.notes:
        body.append('<div class="notes"><strong>Partial report.</strong> What was missing or damaged:<ul>'
                    + "".join(f"<li>{_e(note)}</li>" for note in run.notes) + "</ul></div>")
    for title, build in sections:
        body.append(f'<section id="{_e(title.lower().replace(" ", "-"))}"><h2>{_e(title)}</h2>{_guarded(build)}</section>')
    return _page(_e(f"rlvr report: {run.run_dir.name}"), "\n".join(body))


def _guarded(build: Callable[[], str]) -> str:
    """A section's HTML; its error, shown in its place, when it fails (the rest of the page stands)."""
    try:
        return build()
    except Exception as error:  # any bug or input this code did not foresee: one section lost, not the page
        return f'<p class="error">This section could not be built: {_e(type(error).__name__)}: {_e(error)}</p>'


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
    rows = "".join(f"<tr><th>{_e(label)}</th><td>{_e(_fmt(value))}</td></tr>" for label, value in facts
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
                    for i, k in enumerate(_ks(evals))],
                   title="Held-out pass@k at the evaluations", xlabel=xlabel, ylabel="pass@k", marker=marker,
                   y_range=(0.0, 1.0)),
        line_chart(per_step("mean_length", "rollouts", 0)
                   + [Series("held-out greedy", eval_xs, [number(e.get("mean_length")) for e in evals], dots=True, color=3)],
                   title="Response length", xlabel=xlabel, ylabel="tokens per response", marker=marker),
        stacked_bars(xs, _time_layers(steps), title="Time per RL step, by phase", xlabel=xlabel, ylabel="seconds",
                     marker=marker),
    ]
    names = ("reward", "greedy accuracy", "pass@k", "response length", "time by phase")
    figures = "".join(_figure(chart, f"no {name} data in metrics.jsonl") for chart, name in zip(charts, names, strict=True))
    return f'<div class="charts">{figures}</div>'


def _time_layers(steps: list[dict[str, Any]]) -> dict[str, list[float]]:
    layers = {label: [_nonnegative(number(r.get(key))) for r in steps] for key, label in TIME_PHASES.items()}
    totals = [_nonnegative(number(r.get("time_total"))) for r in steps]
    named = [sum(values) for values in zip(*layers.values(), strict=True)] if steps else []
    # problem drawing, advantages and the reference pass: what the named phases leave of the total
    layers["other"] = [max(0.0, total - part) for total, part in zip(totals, named, strict=True)]
    return layers


def _figure(chart: str | None, missing: str) -> str:
    return f'<figure>{chart}</figure>' if chart else f'<p class="muted">{_e(missing)}</p>'


# ---- evaluation --------------------------------------------------------------------------------
def _evaluation(run: RunFiles) -> str:
    rows = []
    for phase, label in _PHASES:
        record = (run.summary or {}).get(phase)
        if not isinstance(record, dict):
            logged = [e for e in run.evals if e.get("eval") == phase]
            record = logged[-1] if logged else None
        if record is not None:
            rows.append((label, record))
    if not rows:
        return '<p class="muted">no evaluation in summary.json or metrics.jsonl</p>'
    ks = _ks([record for _, record in rows])
    head = ["evaluation", "RL step", "problems", "greedy accuracy [95% CI]", "greedy reward"]
    diversity = [(key, name) for key, name in _DIVERSITY if any(key in record for _, record in rows)]
    head += [f"pass@{k}" for k in ks] + [f"maj@{k}" for k in ks] + ["distinct correct"]
    head += [name for _, name in diversity] + ["mean length"]
    body = []
    for label, record in rows:
        cells = [label, _fmt(record.get("step")), _fmt(record.get("num_problems")), _accuracy(record),
                 _fmt(record.get("greedy_reward"))]
        keys = [f"pass@{k}" for k in ks] + [f"maj@{k}" for k in ks] + ["distinct_correct"]
        keys += [key for key, _ in diversity]
        cells += [_with_spread(record, key) for key in keys] + [_fmt(record.get("mean_length"))]
        body.append("<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in cells) + "</tr>")
    table = ("<table><thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr></thead><tbody>"
             + "".join(body) + "</tbody></table>")
    note = ('<p class="muted">Intervals: Wilson score intervals over the problems (greedy decoding, one '
            'response each). pass@k: the unbiased estimate from the sampled responses, averaged over problems. '
            + ('Semantic entropy: of the answer classes (canonical forms; unreadable answers one class) per '
               'problem; distinct-n: distinct whitespace n-grams over all, per problem; both averaged over '
               'problems. ' if diversity else '')
            + '"x ± s": the mean x and standard deviation s over sampling seeds, where several were run.</p>')
    chart = line_chart([Series(label, ks, [number(record.get(f"pass@{k}")) for k in ks], dots=True, color=i)
                        for i, (label, record) in enumerate(rows)],
                       title="pass@k", xlabel="k (samples per problem)", ylabel="pass@k", y_range=(0.0, 1.0),
                       log2_x=True) if ks else None
    return table + note + _levels(rows) + _figure(chart, "no pass@k in the evaluations")


def _with_spread(record: dict[str, Any], key: str) -> str:
    """The metric, with "± std" when the record holds its spread over sampling seeds."""
    spread = record.get("across_seeds")
    entry = spread.get(key) if isinstance(spread, dict) else None
    std = number(entry.get("std")) if isinstance(entry, dict) else math.nan
    return _fmt(record.get(key)) + (f" ± {_fmt(std)}" if math.isfinite(std) else "")


def _levels(rows: list[tuple[str, dict[str, Any]]]) -> str:
    """Greedy solve rate per difficulty level, for evaluations that drew problems at several."""
    lines = []
    for label, record in rows:
        levels = record.get("by_difficulty")
        if isinstance(levels, dict):
            for level, values in list(levels.items())[:_MAX_LEVELS]:
                if isinstance(values, dict):
                    problems = values.get("problems")
                    accuracy = _accuracy({"greedy_accuracy": values.get("greedy_accuracy"),
                                          "num_problems": problems})
                    cells = [label, cut(text(level), 200), _fmt(problems), accuracy]
                    lines.append("<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in cells) + "</tr>")
    if not lines:
        return ""
    names = ("evaluation", "difficulty", "problems", "greedy accuracy [95% CI]")
    head = "".join(f"<th>{name}</th>" for name in names)
    return (f"<h3>Solve rate per difficulty</h3><table><thead><tr>{head}</tr></thead><tbody>" + "".join(lines)
            + "</tbody></table>")


def _accuracy(record: dict[str, Any]) -> str:
    accuracy, problems = number(record.get("greedy_accuracy")), number(record.get("num_problems"))
    if not (0.0 <= accuracy <= 1.0):
        return "–"
    if not (1 <= problems < 1e9 and float(problems).is_integer()):
        return f"{accuracy:.3f}"
    low, high = wilson_interval(round(accuracy * problems), int(problems))
    return f"{accuracy:.3f} [{low:.3f}, {high:.3f}]"


def _ks(records: list[dict[str, Any]]) -> list[int]:
    """The k of the pass@k fields the records hold (at most `_MAX_KS`, smallest first)."""
    found = {int(match.group(1)) for record in records for key in record
             if isinstance(key, str) and (match := _PASS_AT.fullmatch(key))}
    return sorted(k for k in found if k >= 1)[:_MAX_KS]


# ---- samples -----------------------------------------------------------------------------------
def _samples(run: RunFiles) -> str:
    if not run.samples:
        return ('<p class="muted">no samples.jsonl: `rlvr train` saves greedy responses of the final evaluation '
                'there (single-turn runs; multi-turn transcripts are not saved yet)</p>')
    verdicts = [{True: "correct", False: "incorrect", None: "unknown"}[s["correct"]] for s in run.samples]
    counts = {v: verdicts.count(v) for v in ("correct", "incorrect")}
    buttons = "".join(
        f'<button type="button" data-filter="{name}" aria-pressed="{str(name == "all").lower()}">{name} ({count})</button>'
        for name, count in (("all", len(verdicts)), *counts.items()))
    head = ["#", "verdict", "prompt", "response", "parsed answer", "gold answer", "reward", "components", "reason"]
    rows = []
    # "<pre>\n": a browser drops one newline right after <pre>, so a text that starts with one keeps it
    for sample, verdict in zip(run.samples, verdicts, strict=True):
        components = ", ".join(f"{name} {_fmt(value)}" for name, value in sample["components"].items())
        cells = [_e(sample["index"]), _e(verdict), f'<pre>\n{_e(sample["prompt"])}</pre>',
                 f'<pre>\n{_e(sample["response"])}</pre>', _e(sample["parsed_answer"]), _e(sample["answer"]),
                 _e(_fmt(sample["reward"])), _e(components), _e(sample["reason"])]
        rows.append(f'<tr data-verdict="{verdict}" class="{verdict}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (f'<p class="muted">Greedy responses to the first held-out problems of the final evaluation, scored by '
            f'the task\'s verifier.</p><div class="filters">{buttons}</div>'
            f'<p id="shown" class="muted">showing {len(rows)} of {len(rows)}</p>'
            '<table id="samples"><thead><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


# ---- reproduce ---------------------------------------------------------------------------------
def _reproduce(run: RunFiles) -> str:
    folder = str(run.run_dir)
    command = f"rlvr train {shlex.quote(str(Path(folder) / CONFIG_FILE))} --out {shlex.quote(folder.rstrip('/') + '-rerun')}"
    parts = [f"<p>Same config, same seeds, in a new folder:</p><pre>\n{_e(command)}</pre>"]
    environment = run.environment
    if environment is None:
        parts.append('<p class="muted">versions and machine not recorded (environment.json is written at the end '
                     "of `rlvr train`)</p>")
    else:
        packages = environment.get("packages")
        packages = packages if isinstance(packages, dict) else {}
        facts = [("command it ran as", environment.get("command")), ("recorded", environment.get("recorded_at")),
                 ("python", environment.get("python")),
                 *((name, version if version is not None else "not installed") for name, version in list(packages.items())[:20]),
                 ("rlvr commit", environment.get("rlvr_commit") or "not a git checkout"),
                 ("platform", environment.get("platform")), ("CPU", environment.get("cpu")),
                 ("CPU cores", environment.get("cpu_count")), ("accelerator", environment.get("accelerator") or "none")]
        parts.append('<table class="facts">' + "".join(
            f"<tr><th>{_e(cut(text(label), 80))}</th><td>{_e(cut(text(value), 1000))}</td></tr>" for label, value in facts)
            + "</table>")
    config = run.config_text
    parts.append(f"<h3>config.yaml</h3><pre>\n{_e(config)}</pre>" if config is not None
                 else '<p class="muted">no config.yaml</p>')
    return "".join(parts)


# ---- formatting --------------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    """A number rounded for reading (integers plainly, others to four significant digits); "–" for
    no number; other values as text."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "–" if value is None else cut(text(value), 200)
    number_ = number(value)
    if not math.isfinite(number_):
        return "–"
    if number_.is_integer() and abs(number_) < 1e15:
        return str(int(number_))
    return f"{number_:.4g}"


def _nonnegative(value: float) -> float:
    return value if math.isfinite(value) and value > 0 else 0.0


def _e(value: Any) -> str:
    return html.escape(value if isinstance(value, str) else str(value), quote=True)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _page(title: str, body: str) -> str:
    """The whole document around `body` (both already escaped), with the samples filter's script."""
    return html_page(title, body, _SCRIPT)


_SCRIPT = """
(function () {
  var buttons = document.querySelectorAll("button[data-filter]");
  var rows = document.querySelectorAll("#samples tbody tr");
  var shown = document.getElementById("shown");
  function show(filter) {
    var count = 0;
    rows.forEach(function (row) {
      row.hidden = !(filter === "all" || row.getAttribute("data-verdict") === filter);
      if (!row.hidden) { count += 1; }
    });
    buttons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-filter") === filter));
    });
    if (shown) { shown.textContent = "showing " + count + " of " + rows.length; }
  }
  buttons.forEach(function (button) {
    button.addEventListener("click", function () { show(button.getAttribute("data-filter")); });
  });
})();
"""
