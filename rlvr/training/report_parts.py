"""The pieces every report page is built from: the page of guarded sections, the evaluation table
with its 95% intervals, per-difficulty solve rates and pass@k chart, the versions-and-machine
table, and number formatting.

    page = report_page("rlvr report: quickstart", "Run report: quickstart", "runs/quickstart", notes,
                       [("Evaluation", build), ...])

Used by the training run's report (`rlvr.training.report`) and the evaluation's
(`rlvr.training.eval_report`); the sample table is built in `rlvr.training.report_samples`, and
its filter is the page's one script (`FILTER_SCRIPT`).
Every text placed in a page goes through `e` (escaping) here; values come from files read as
untrusted input (`rlvr.training.run_files`), so nothing is assumed about their types.
"""

from __future__ import annotations

import datetime
import math
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rlvr.core.page import escape as e
from rlvr.core.page import html_page
from rlvr.core.svg import Series, line_chart
from rlvr.training.metrics import wilson_interval
from rlvr.training.run_files import cut, number, text

__all__ = ["accuracy", "e", "environment_table", "evaluation_section", "figure", "fmt", "ks_of", "report_page",
           "write_page"]

_PASS_AT = re.compile(r"pass@(\d{1,4})")
_MAX_KS = 12
_DIVERSITY = (("semantic_entropy", "semantic entropy (nats)"), ("distinct_1", "distinct-1"),
              ("distinct_2", "distinct-2"))
"""Columns of the evaluation table shown only when some evaluation holds them (sampled evaluations)."""
_SPREADS = (("across_seeds", "sampling seeds"), ("across_paraphrases", "prompt wordings"))
"""Where a record keeps a metric's spread over repeated evaluations, and what was repeated."""
_MAX_LEVELS = 50


def report_page(title: str, heading: str, location: str, notes: Sequence[str],
                sections: Sequence[tuple[str, Callable[[], str]]]) -> str:
    """The whole page: a heading, the notes on missing or damaged files, then each section built on
    its own (`guarded`); `title`, `heading` and `location` are plain text (escaped here)."""
    body = [f"<h1>{e(heading)}</h1>", f'<p class="muted">{e(location)} · built {e(_now())}</p>']
    if notes:
        body.append('<div class="notes"><strong>Partial report.</strong> What was missing or damaged:<ul>'
                    + "".join(f"<li>{e(note)}</li>" for note in notes) + "</ul></div>")
    for title, build in sections:
        body.append(f'<section id="{e(title.lower().replace(" ", "-"))}"><h2>{e(title)}</h2>{guarded(build)}</section>')
    return html_page(e(title), "\n".join(body), FILTER_SCRIPT, SAMPLES_STYLE)


def write_page(path: Path, page: str) -> Path:
    """Write `page` at `path`, replacing any old page atomically (a reader never sees half a page)."""
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, path)
    return path


def guarded(build: Callable[[], str]) -> str:
    """A section's HTML; its error, shown in its place, when it fails (the rest of the page stands)."""
    try:
        return build()
    except Exception as error:  # any bug or input this code did not foresee: one section lost, not the page
        return f'<p class="error">This section could not be built: {e(type(error).__name__)}: {e(error)}</p>'


def figure(chart: str | None, missing: str) -> str:
    return f'<figure>{chart}</figure>' if chart else f'<p class="muted">{e(missing)}</p>'


# ---- evaluation --------------------------------------------------------------------------------
def evaluation_section(rows: Sequence[tuple[str, dict[str, Any]]], first_column: str = "evaluation") -> str:
    """The evaluation table (one row per (label, metrics record)), its note, the solve rates per
    difficulty and the pass@k chart."""
    if not rows:
        return '<p class="muted">no evaluation in summary.json or metrics.jsonl</p>'
    ks = ks_of([record for _, record in rows])
    head = [first_column, "RL step", "problems", "greedy accuracy [95% CI]", "greedy reward"]
    diversity = [(key, name) for key, name in _DIVERSITY if any(key in record for _, record in rows)]
    turns = any("mean_turns" in record for _, record in rows)
    head += [f"pass@{k}" for k in ks] + [f"maj@{k}" for k in ks] + ["distinct correct"]
    head += [name for _, name in diversity] + ["mean length"] + (["mean turns"] if turns else [])
    body = []
    for label, record in rows:
        cells = [label, fmt(record.get("step")), fmt(record.get("num_problems")), accuracy(record),
                 with_spread(record, "greedy_reward")]
        keys = [f"pass@{k}" for k in ks] + [f"maj@{k}" for k in ks] + ["distinct_correct"]
        keys += [key for key, _ in diversity] + ["mean_length"] + (["mean_turns"] if turns else [])
        cells += [with_spread(record, key) for key in keys]
        body.append("<tr>" + "".join(f"<td>{e(cell)}</td>" for cell in cells) + "</tr>")
    table = ('<table id="evaluation"><thead><tr>' + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr></thead><tbody>"
             + "".join(body) + "</tbody></table>")
    repeated = [what for key, what in _SPREADS if any(isinstance(record.get(key), dict) for _, record in rows)]
    note = ('<p class="muted">Intervals: Wilson score intervals over the problems (greedy decoding, one '
            'response each). pass@k: the unbiased estimate from the sampled responses, averaged over problems. '
            'maj@k: the most frequent answer class among the first k samples is correct. '
            + ('Semantic entropy: of the answer classes (canonical forms; unreadable answers one class) per '
               'problem; distinct-n: distinct whitespace n-grams over all, per problem; both averaged over '
               'problems. ' if diversity else '')
            + (f'"x ± s": the mean x and standard deviation s over {" and ".join(repeated)}.' if repeated else '')
            + '</p>')
    chart = line_chart([Series(label, ks, [number(record.get(f"pass@{k}")) for k in ks], dots=True, color=i)
                        for i, (label, record) in enumerate(rows)],
                       title="pass@k", xlabel="k (samples per problem)", ylabel="pass@k", y_range=(0.0, 1.0),
                       log2_x=True) if ks else None
    return table + note + _levels(rows, first_column) + figure(chart, "no pass@k in the evaluations")


def with_spread(record: dict[str, Any], key: str) -> str:
    """The metric, with "± std" when the record holds its spread over sampling seeds or wordings."""
    for where, _ in _SPREADS:
        spread = record.get(where)
        entry = spread.get(key) if isinstance(spread, dict) else None
        std = number(entry.get("std")) if isinstance(entry, dict) else math.nan
        if math.isfinite(std):
            return f"{fmt(record.get(key))} ± {fmt(std)}"
    return fmt(record.get(key))


def _levels(rows: Sequence[tuple[str, dict[str, Any]]], first_column: str) -> str:
    """Greedy solve rate (and sampled pass@1 where measured) per difficulty level, for evaluations
    that drew problems at several."""
    lines = []
    for label, record in rows:
        levels = record.get("by_difficulty")
        if isinstance(levels, dict):
            for level, values in list(levels.items())[:_MAX_LEVELS]:
                if isinstance(values, dict):
                    problems = values.get("problems")
                    rate = accuracy({"greedy_accuracy": values.get("greedy_accuracy"), "num_problems": problems})
                    cells = [label, cut(text(level), 200), fmt(problems), rate, fmt(values.get("pass@1"))]
                    lines.append("<tr>" + "".join(f"<td>{e(cell)}</td>" for cell in cells) + "</tr>")
    if not lines:
        return ""
    head = "".join(f"<th>{e(name)}</th>" for name in (first_column, "difficulty", "problems",
                                                        "greedy accuracy [95% CI]", "sampled pass@1"))
    return (f'<h3>Solve rate per difficulty</h3><table id="levels"><thead><tr>{head}</tr></thead><tbody>'
            + "".join(lines) + "</tbody></table>")


def accuracy(record: dict[str, Any]) -> str:
    """Greedy accuracy with its 95% Wilson interval over the record's problems ("–" for none)."""
    rate, problems = number(record.get("greedy_accuracy")), number(record.get("num_problems"))
    if not (0.0 <= rate <= 1.0):
        return "–"
    if not (1 <= problems < 1e9 and float(problems).is_integer()):
        return f"{rate:.3f}"
    low, high = wilson_interval(round(rate * problems), int(problems))
    return f"{rate:.3f} [{low:.3f}, {high:.3f}]"


def ks_of(records: Sequence[dict[str, Any]]) -> list[int]:
    """The k of the pass@k fields the records hold (at most `_MAX_KS`, smallest first)."""
    found = {int(match.group(1)) for record in records for key in record
             if isinstance(key, str) and (match := _PASS_AT.fullmatch(key))}
    return sorted(k for k in found if k >= 1)[:_MAX_KS]


# ---- reproduce ---------------------------------------------------------------------------------
def environment_table(environment: dict[str, Any] | None, missing: str) -> str:
    """Versions, machine and command line from environment.json; `missing` when there is none."""
    if environment is None:
        return f'<p class="muted">{e(missing)}</p>'
    packages = environment.get("packages")
    packages = packages if isinstance(packages, dict) else {}
    facts = [("command it ran as", environment.get("command")), ("recorded", environment.get("recorded_at")),
             ("python", environment.get("python")),
             *((name, version if version is not None else "not installed") for name, version in list(packages.items())[:20]),
             ("rlvr commit", environment.get("rlvr_commit") or "not a git checkout"),
             ("platform", environment.get("platform")), ("CPU", environment.get("cpu")),
             ("CPU cores", environment.get("cpu_count")), ("accelerator", environment.get("accelerator") or "none")]
    return ('<table class="facts">' + "".join(
        f"<tr><th>{e(cut(text(label), 80))}</th><td>{e(cut(text(value), 1000))}</td></tr>" for label, value in facts)
        + "</table>")


# ---- formatting --------------------------------------------------------------------------------
def fmt(value: Any) -> str:
    """A number rounded for reading (integers plainly, others to four significant digits); "–" for
    no number; other values as text.

    >>> fmt(0.30000001192092896), fmt(12.0), fmt(None), fmt(float("nan"))
    ('0.3', '12', '–', '–')
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "–" if value is None else cut(text(value), 200)
    number_ = number(value)
    if not math.isfinite(number_):
        return "–"
    if number_.is_integer() and abs(number_) < 1e15:
        return str(int(number_))
    return f"{number_:.4g}"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


SAMPLES_STYLE = """
.turn { border-left: 3px solid #1f77b4; padding-left: 0.4em; margin: 0.2em 0; }
.turn.env { border-left-color: #999; background: #f4f4f4; } .turn .who { font-size: 0.85em; color: #555; }
.turn.env .who { font-style: italic; }
"""

FILTER_SCRIPT = """
(function () {
  var buttons = document.querySelectorAll("button[data-filter]");
  var rows = document.querySelectorAll("#samples tbody tr");
  var shown = document.getElementById("shown");
  var chosen = {};
  function show() {
    var count = 0;
    rows.forEach(function (row) {
      row.hidden = Object.keys(chosen).some(function (group) {
        return chosen[group] !== "all" && row.getAttribute("data-" + group) !== chosen[group];
      });
      if (!row.hidden) { count += 1; }
    });
    buttons.forEach(function (button) {
      var group = button.getAttribute("data-group");
      button.setAttribute("aria-pressed", String(button.getAttribute("data-filter") === (chosen[group] || "all")));
    });
    if (shown) { shown.textContent = "showing " + count + " of " + rows.length; }
  }
  buttons.forEach(function (button) {
    button.addEventListener("click", function () {
      chosen[button.getAttribute("data-group")] = button.getAttribute("data-filter");
      show();
    });
  });
})();
"""
