"""`report.html` of a debate run: one self-contained page with what `rlvr run` found.

    from rlvr.experiments.debate import run_experiment
    from rlvr.experiments.debate_report import write_report
    write_report(run_experiment(20), "runs/debate/report.html")

The page holds the mean belief in the truth per round for each debating protocol, with its 95%
band (inline SVG from `rlvr.core.svg`); the accuracy table with 95% intervals; the scenario's
hypotheses as held, not held or inconclusive; and the first debates of each protocol round by
round (each debater's answer, confidence and verdict), filterable by protocol.

The page (`rlvr.core.page`) loads nothing and its policy forbids every fetch. Every text is
escaped here, whatever its source (questions and answers are a model's or a generator's text),
and the debates shown, their rounds, debaters and text lengths are bounded, so the page stays
small whatever the results hold. Each section is built on its own: one that fails shows its
error and the others stand.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rlvr.core.page import escape, html_page
from rlvr.core.svg import Series, line_chart

if TYPE_CHECKING:  # the runner imports this module: a type-only import keeps the cycle out
    from rlvr.experiments.debate import ExperimentResult, ProtocolResult

MAX_DEBATES = 20
"""Debates shown per protocol (the run may keep more in results.json)."""
MAX_ROUNDS, MAX_DEBATERS, MAX_TEXT = 20, 16, 400
OUTCOMES = ("held", "not held", "inconclusive")


def write_report(result: ExperimentResult, path: str) -> str:
    """Write the page of `result` to `path`, replaced atomically (a failure leaves any old page)."""
    page = build_report(result)
    partial = path + ".tmp"
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(page)
    os.replace(partial, path)
    return path


def build_report(result: ExperimentResult) -> str:
    """The report page of a debate experiment, as HTML text."""
    sections = [
        ("Belief in the truth", lambda: _beliefs(result.protocols)),
        ("Accuracy", lambda: _accuracy(result.protocols)),
        ("Hypotheses", lambda: _hypotheses(result.hypotheses)),
        ("Debates", lambda: _debates(result.protocols)),
        ("Settings", lambda: _settings(result.settings)),
    ]
    body = ["<h1>Debate experiment report</h1>"]
    for title, build in sections:
        body.append(f'<section id="{escape(title.lower().replace(" ", "-"))}"><h2>{escape(title)}</h2>'
                    f"{_guarded(build)}</section>")
    return html_page("rlvr report: debate experiment", "\n".join(body), _SCRIPT, _STYLE)


def _guarded(build: Callable[[], str]) -> str:
    try:
        return build()
    except Exception as error:  # input this code did not foresee: one section lost, not the page
        return f'<p class="error">This section could not be built: {escape(type(error).__name__)}: {escape(error)}</p>'


# ---- sections ----------------------------------------------------------------------------------
def _beliefs(protocols: Sequence[ProtocolResult]) -> str:
    debating = [p for p in protocols if len(p.belief) > 1]
    series = [Series(_cut(p.name, 80), list(range(1, len(p.belief) + 1)), [b[0] for b in p.belief], dots=True,
                     band=([b[1] for b in p.belief], [b[2] for b in p.belief]))
              for p in debating[:8]]
    chart = line_chart(series, title="Mean belief in the truth per round (bands: 95% interval)", xlabel="round",
                       ylabel="mean belief in the truth", y_range=_belief_range(debating),
                       x_ticks=range(1, max(len(p.belief) for p in debating[:8]) + 1)) if series else None
    if chart is None:
        return '<p class="muted">no protocol debates over several rounds: no belief curve to draw</p>'
    return (f"<figure>{chart}</figure><p class=\"muted\">Mean over debaters and debates of each debater's belief "
            "in the gold answer at each round's announcement; the band is the 95% interval over debates.</p>")


def _belief_range(protocols: Sequence[ProtocolResult]) -> tuple[float, float] | None:
    """The finite values of the curves and bands rounded out to tenths, within [0, 1]."""
    values = [v for p in protocols for b in p.belief for v in b if _finite(v)]
    if not values:
        return None
    return max(0.0, math.floor(min(values) * 10) / 10), min(1.0, math.ceil(max(values) * 10) / 10)


def _accuracy(protocols: Sequence[ProtocolResult]) -> str:
    head = ["protocol", "final accuracy", "round-0 majority vote", "belief, first -> last round",
            "belief change", "confidence when right", "confidence when wrong"]
    rows = []
    for p in protocols:
        beliefs = " -> ".join(_number(b[0]) for b in p.belief[:MAX_ROUNDS])
        cells = [p.name, _interval(p.accuracy), _interval(p.baseline_accuracy), beliefs,
                 _interval(p.belief_change, 4), _number(p.confidence_right), _number(p.confidence_wrong)]
        rows.append("<tr>" + "".join(f"<td>{escape(_cut(c))}</td>" for c in cells) + "</tr>")
    return ('<p class="muted">Means with 95% intervals over debates (normal approximation).</p><table><thead><tr>'
            + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>")


def _hypotheses(outcomes: Sequence[Mapping[str, Any]]) -> str:
    if not outcomes:
        return '<p class="muted">the scenario states no hypotheses</p>'
    rows = []
    for o in outcomes:
        outcome = str(o.get("outcome"))
        kind = outcome.replace(" ", "-") if outcome in OUTCOMES else "unknown"
        rows.append(f'<tr class="{kind}"><td>{escape(_cut(o.get("claim")))}</td><td>{escape(_cut(outcome))}</td>'
                    f'<td>{escape(_cut(o.get("evidence")))}</td></tr>')
    return ('<p class="muted">Each claim decided from the 95% intervals: held, not held, or inconclusive.</p>'
            "<table><thead><tr><th>claim</th><th>outcome</th><th>evidence</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _debates(protocols: Sequence[ProtocolResult]) -> str:
    shown = [(p.name, p.debates[:MAX_DEBATES]) for p in protocols if p.debates]
    if not shown:
        return '<p class="muted">no debates kept (report_debates: 0)</p>'
    buttons = [("all", sum(len(d) for _, d in shown))] + [(name, len(d)) for name, d in shown]
    parts = ['<div class="filters">' + "".join(
        f'<button type="button" data-filter="{escape(name)}" aria-pressed="{str(name == "all").lower()}">'
        f"{escape(_cut(name, 80))} ({count})</button>" for name, count in buttons) + "</div>",
        f'<p id="shown" class="muted">showing {buttons[0][1]} of {buttons[0][1]}</p>']
    for name, debates in shown:
        for number, debate in enumerate(debates):
            parts.append(f'<div class="debate" data-protocol="{escape(name)}">{_debate(name, number, debate)}</div>')
    return "".join(parts)


def _debate(protocol: str, number: int, debate: Mapping[str, Any]) -> str:
    """One debate: the question, the gold answer and the vote, then a round x debater table."""
    rounds = [r for r in debate.get("rounds", []) if isinstance(r, Sequence)][:MAX_ROUNDS]
    agents: list[str] = []
    for records in rounds:
        for record in records[:MAX_DEBATERS]:
            agent = _cut(record.get("agent"), 80) if isinstance(record, Mapping) else "?"
            if agent not in agents:
                agents.append(agent)
    vote = {True: "final vote right", False: "final vote wrong"}.get(debate.get("correct"), "final vote unknown")
    head = (f"<h3>{escape(_cut(protocol, 80))}, debate {number + 1} · {escape(vote)}</h3>"
            f"<pre>\n{escape(_cut(debate.get('question'), 2000))}</pre>"
            f"<p>gold answer: <code>{escape(_cut(debate.get('gold')))}</code></p>")
    rows = []
    for index, records in enumerate(rounds):
        by_agent = {_cut(r.get("agent"), 80): r for r in records[:MAX_DEBATERS] if isinstance(r, Mapping)}
        cells = "".join(_turn(by_agent.get(agent)) for agent in agents)
        rows.append(f"<tr><th>round {index + 1}</th>{cells}</tr>")
    return (head + "<table><thead><tr><th></th>" + "".join(f"<th>{escape(a)}</th>" for a in agents)
            + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _turn(record: Mapping[str, Any] | None) -> str:
    """One debater's message in one round: answer, confidence, verdict (and why it had no answer)."""
    if record is None:
        return "<td>–</td>"
    answer = record.get("answer")
    verdict = "right" if record.get("correct") is True else "no answer" if answer is None else "wrong"
    why = f" ({_cut(record.get('error'), 200)})" if answer is None and record.get("error") else ""
    shown = "(none)" if answer is None else _cut(answer)
    return (f'<td class="{verdict.replace(" ", "-")}"><code>{escape(shown)}</code> · confidence '
            f"{escape(_number(record.get('confidence')))} · {escape(verdict)}{escape(why)}</td>")


def _settings(settings: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><th>{escape(_cut(key, 80))}</th><td>{escape(_cut(value, 1000))}</td></tr>"
                   for key, value in list(settings.items())[:40])
    return f'<table class="facts">{rows}</table>'


# ---- formatting --------------------------------------------------------------------------------
def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if _finite(value) else "–"


def _interval(value: Sequence[Any], digits: int = 3) -> str:
    """mean [low, high]; "–" for a missing part (one debate has no interval)."""
    mean, low, high = (list(value) + [None] * 3)[:3]
    return f"{_number(mean, digits)} [{_number(low, digits)}, {_number(high, digits)}]"


def _cut(value: Any, limit: int = MAX_TEXT) -> str:
    """Text at most `limit` characters, the cut marked (escaping comes after: an entity is never split)."""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_STYLE = """
tr.held td:nth-child(2) { color: #080; } tr.not-held td:nth-child(2) { color: #b00; }
tr.inconclusive td:nth-child(2) { color: #a60; }
td.right { background: #eef8ee; } td.wrong { background: #fbeeee; } td.no-answer { background: #f4f4f4; }
.debate { margin-bottom: 1.2em; } .debate h3 { margin-bottom: 0.2em; }
"""

_SCRIPT = """
(function () {
  var buttons = document.querySelectorAll("button[data-filter]");
  var debates = document.querySelectorAll("div.debate");
  var shown = document.getElementById("shown");
  function show(filter) {
    var count = 0;
    debates.forEach(function (debate) {
      debate.hidden = !(filter === "all" || debate.getAttribute("data-protocol") === filter);
      if (!debate.hidden) { count += 1; }
    });
    buttons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-filter") === filter));
    });
    if (shown) { shown.textContent = "showing " + count + " of " + debates.length; }
  }
  buttons.forEach(function (button) {
    button.addEventListener("click", function () { show(button.getAttribute("data-filter")); });
  });
})();
"""
