"""The sample table of a report page: responses (or multi-turn transcripts) with the verifier's
verdict and reason, filterable by verdict and by difficulty level.

    html = samples_section(run.samples, intro="Greedy responses to ...", empty="no samples.jsonl")

Samples come from `rlvr.training.run_files` (bounded, every text a str); everything is escaped
here. A multi-turn sample holds `turns`: each of the policy's actions with its reward, and the
env's replies between them, marked as the env's. The page's script (`report_parts.FILTER_SCRIPT`)
filters the rows: a row shows when it matches the chosen button of every group.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

from rlvr.core.page import escape as e
from rlvr.training.eval_breakdown import difficulty_label
from rlvr.training.report_parts import fmt
from rlvr.training.run_files import cut, number

_VERDICTS = {True: "correct", False: "incorrect", None: "unknown"}
_MAX_LEVEL_BUTTONS = 50
_LABEL_LIMIT = 200


def samples_section(samples: list[dict[str, Any]], intro: str, empty: str) -> str:
    """The filter buttons and the table of `samples`; `empty` (plain text) when there are none."""
    if not samples:
        return f'<p class="muted">{e(empty)}</p>'
    verdicts = [_VERDICTS[sample["correct"]] for sample in samples]
    levels = level_labels(samples)
    counts = Counter(verdicts)
    groups = [_buttons("verdict", "all", [(name, counts[name]) for name in ("correct", "incorrect")],
                       len(samples))]
    level_counts = Counter(levels)
    if len(level_counts) > 1:
        groups.append('<span class="muted">difficulty:</span> ' + _buttons(
            "difficulty", "all levels", list(level_counts.items())[:_MAX_LEVEL_BUTTONS], len(samples)))
    multi_turn = any(sample.get("turns") for sample in samples)
    head = ["#", "verdict", "prompt", "transcript (policy turns, env replies marked)" if multi_turn else "response",
            "parsed answer", "gold answer", "reward", "components", "reason"]
    head += ["difficulty"] if len(level_counts) > 1 else []
    rows = []
    # "<pre>\n": a browser drops one newline right after <pre>, so a text that starts with one keeps it
    for sample, verdict, level in zip(samples, verdicts, levels, strict=True):
        components = ", ".join(f"{name} {fmt(value)}" for name, value in sample["components"].items())
        response = _transcript(sample["turns"]) if sample.get("turns") else f'<pre>\n{e(sample["response"])}</pre>'
        cells = [e(sample["index"]), e(verdict), f'<pre>\n{e(sample["prompt"])}</pre>', response,
                 e(sample["parsed_answer"]), e(sample["answer"]), e(fmt(sample["reward"])), e(components),
                 e(sample["reason"])]
        cells += [e(level)] if len(level_counts) > 1 else []
        rows.append(f'<tr data-verdict="{verdict}" data-difficulty="{e(level)}" class="{verdict}">'
                    + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (f'<p class="muted">{e(intro)}</p><div class="filters">{"<br>".join(groups)}</div>'
            f'<p id="shown" class="muted">showing {len(rows)} of {len(rows)}</p>'
            '<table id="samples"><thead><tr>' + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def level_labels(samples: list[dict[str, Any]]) -> list[str]:
    """Each sample's difficulty as 'knob=value, ...' over the knobs whose values differ between the
    samples (the labels of `rlvr eval --sweep`'s levels); "" for all when every sample shares one."""
    difficulties = [sample.get("difficulty") or {} for sample in samples]
    names = sorted({name for difficulty in difficulties for name in difficulty})
    varying = [name for name in names if len({_compact(difficulty.get(name)) for difficulty in difficulties}) > 1]
    return [cut(_compact_label(difficulty, varying), _LABEL_LIMIT) if varying else "" for difficulty in difficulties]


def _compact(value: Any) -> str:
    """A knob value as compact JSON text (how `difficulty_label` writes it), to compare values."""
    try:
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        return "?"


def _compact_label(difficulty: dict[str, Any], knobs: list[str]) -> str:
    try:
        return difficulty_label(difficulty, knobs)
    except (TypeError, ValueError, RecursionError):  # a value JSON cannot write: the knobs' texts instead
        return ", ".join(f"{knob}={_compact(difficulty.get(knob))}" for knob in knobs)


def _buttons(group: str, everything: str, choices: list[tuple[str, int]], total: int) -> str:
    return "".join(
        f'<button type="button" data-group="{group}" data-filter="{e(value)}" '
        f'aria-pressed="{str(value == "all").lower()}">{e(name)} ({count})</button>'
        for value, name, count in (("all", everything, total), *((v, v, c) for v, c in choices)))


def _transcript(turns: list[dict[str, Any]]) -> str:
    """Each turn in order: the policy's actions numbered with their rewards, the env's replies marked."""
    parts, action = [], 0
    for turn in turns:
        if turn["role"] == "env":
            label = "env reply"
        else:
            action += 1
            reward = number(turn["reward"])
            label = f"policy, turn {action}" + (f" · reward {fmt(reward)}" if math.isfinite(reward) else "")
        parts.append(f'<div class="turn {turn["role"]}"><span class="who">{e(label)}</span>'
                     f'<pre>\n{e(turn["text"])}</pre></div>')
    return "".join(parts)


