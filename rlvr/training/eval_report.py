"""What `rlvr eval` leaves in its output folder, and the folder's `report.html`.

    write_evaluation("runs/quickstart/eval", metrics, responses, given=vars(args))

The folder holds `results.json` (the metrics, what was evaluated, and `command`: the `rlvr eval`
line that repeats the evaluation with every setting spelled out), `samples.jsonl` (greedy responses
to some of the problems, or multi-turn episodes, each with the verifier's verdict and reason),
`environment.json` (versions and machine) and `report.html`: the evaluation table with 95%
intervals, solve rates per difficulty, the pass@k chart, the spread over sampling seeds or prompt
wordings, the samples filterable by verdict and difficulty, and the command.

The page is built from the folder's files alone (`rlvr.training.run_files.read_evaluation`, which
bounds them), with the same pieces as a training run's report (`rlvr.training.report_parts`).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rlvr.training.metrics import json_safe
from rlvr.training.report_parts import e, environment_table, evaluation_section, fmt, report_page, write_page
from rlvr.training.report_samples import samples_section
from rlvr.training.run_files import (
    RESULTS_FILE,
    SAMPLES_FILE,
    RunFiles,
    cut,
    number,
    read_evaluation,
    record_environment,
    text,
)

REPORT_FILE = "report.html"
DEFAULT_OUT = Path("runs") / "eval"
"""Output folder of an evaluation of a model or server; a run's evaluation goes to RUN/eval."""
_FACTS = (("source", "model"), ("env_id", "env"), ("split", "split"), ("problems", "problems"),
          ("samples", "samples per problem"), ("k", "k of pass@k / maj@k"), ("temperature", "temperature"),
          ("max_new_tokens", "max new tokens"), ("seed", "seed"), ("sampling_seeds", "sampling seeds"),
          ("prompt_templates", "prompt templates (paraphrases)"), ("identical_sample_groups",
          "problems whose samples were one text repeated"), ("completion_tokens", "completion tokens (greedy)"))
_REPEATS = (("across_seeds", "Spread over sampling seeds"), ("across_paraphrases", "Spread over prompt wordings"))
_MAX_SPREAD_ROWS = 60


def default_out(run: str | None) -> Path:
    """Where an evaluation goes without --out: RUN/eval for a run folder, else runs/eval."""
    return Path(run) / "eval" if run else DEFAULT_OUT


def write_evaluation(out_dir: str | Path, result: Mapping[str, Any], responses: Sequence[Mapping[str, Any]],
                     given: Mapping[str, Any]) -> Path:
    """Write results.json (with the command that repeats the evaluation, from the `rlvr eval`
    options `given`), samples.jsonl, environment.json and report.html into `out_dir`; the report's path."""
    from rlvr.training.evaluate import save_records

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    record = {**result, "command": shlex.join(eval_command(result, {**given, "out": str(out)}))}
    (out / RESULTS_FILE).write_text(json.dumps(json_safe(record), indent=2, allow_nan=False, default=str))
    save_records(out / SAMPLES_FILE, responses)
    record_environment(out)
    return write_eval_report(out)


def eval_command(result: Mapping[str, Any], given: Mapping[str, Any]) -> list[str]:
    """The `rlvr eval` command line that repeats the evaluation `result` describes: the source and
    the options as given, and every setting a run or a default chose spelled out.

    >>> result = {"env_id": "rlvr/RandomCalc-v0", "problems": 6, "split": "eval", "seed": 0, "samples": 0,
    ...           "k": [1], "temperature": 1.0, "max_new_tokens": 256}
    >>> shlex.join(eval_command(result, {"model": "tiny", "set": ["num_ops=2"], "out": "runs/eval"}))
    'rlvr eval --model tiny --env rlvr/RandomCalc-v0 --split eval --problems 6 --samples 0 --seed 0 \
--temperature 1 --max-new-tokens 256 --set num_ops=2 --out runs/eval'
    """
    from rlvr.training.eval_breakdown import sweep_difficulties

    argv = ["rlvr", "eval"]
    if given.get("run"):
        argv += ["--run", str(given["run"])]
    elif given.get("base_url"):
        argv += ["--base-url", str(given["base_url"]), "--model", str(given.get("model")),
                 "--endpoint", str(given.get("endpoint") or "chat")]
    else:
        argv += ["--model", str(given.get("model") or "tiny")]
    sweep = given.get("sweep_values") or {}
    levels = result.get("levels") or (len(sweep_difficulties({}, sweep)) if sweep else 1)  # a run's eval_sweep too
    problems = result.get("problems")
    settings = [("--env", result.get("env_id")), ("--split", result.get("split")),
                ("--problems", problems // levels if isinstance(problems, int) else None),
                ("--samples", result.get("samples")),
                ("--k", " ".join(map(str, result.get("k") or [])) if result.get("samples") else None),
                ("--seed", result.get("seed")), ("--temperature", result.get("temperature")),
                ("--max-new-tokens", result.get("max_new_tokens"))]
    for flag, value in settings:  # a setting the result does not record is left to the default
        if value is not None:
            argv += [flag, *(value.split() if flag == "--k" else [f"{value:g}" if isinstance(value, float) else str(value)])]
    if given.get("sampling_seeds"):
        argv += ["--sampling-seeds", *map(str, given["sampling_seeds"])]
    for flag, key in (("--set", "set"), ("--option", "option"), ("--sweep", "sweep"), ("--paraphrase", "paraphrase")):
        for value in given.get(key) or []:
            argv += [flag, str(value)]
    for flag, key in (("--prompt-template", "prompt_template"), ("--extra-body", "extra_body"), ("--out", "out")):
        if given.get(key) is not None:
            argv += [flag, str(given[key])]
    return argv


def write_eval_report(out_dir: str | Path) -> Path:
    """Build `out_dir/report.html` from the folder's files (replaced atomically)."""
    return write_page(Path(out_dir) / REPORT_FILE, build_eval_report(out_dir))


def build_eval_report(out_dir: str | Path) -> str:
    """The report page of the evaluation in `out_dir`, as HTML text."""
    run = read_evaluation(out_dir)
    result = run.summary or {}
    label = cut(text(result.get("source") or "evaluation"), 200)
    sections = [
        ("Overview", lambda: _overview(result)),
        ("Evaluation", lambda: (evaluation_section([(label, result)], "model") + _repeats(result)) if run.summary
         else '<p class="muted">no results.json</p>'),
        ("Sample responses", lambda: _samples(run)),
        ("Reproduce", lambda: _reproduce(run)),
    ]
    heading = f"Evaluation report: {cut(text(result.get('env_id') or run.run_dir.name), 200)}"
    return report_page(f"rlvr eval: {run.run_dir.name}", heading, str(run.run_dir), run.notes, sections)


def _overview(result: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><th>{e(label)}</th><td>{e(_value(result[key]))}</td></tr>" for key, label in _FACTS
                   if key in result)
    return f'<table class="facts">{rows}</table>' if rows else '<p class="muted">nothing recorded</p>'


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_value(item) for item in value[:50])
    return fmt(value)


def _repeats(result: Mapping[str, Any]) -> str:
    """Each metric's mean, std, min and max over the repeated evaluations (seeds, wordings)."""
    parts = []
    for key, title in _REPEATS:
        table = result.get(key)
        if not isinstance(table, dict):
            continue
        rows = []
        for name, values in list(table.items())[:_MAX_SPREAD_ROWS]:
            if isinstance(values, dict):
                cells = [cut(text(name), 80)] + [fmt(number(values.get(stat))) for stat in ("mean", "std", "min", "max")]
                rows.append("<tr>" + "".join(f"<td>{e(cell)}</td>" for cell in cells) + "</tr>")
        head = "".join(f"<th>{name}</th>" for name in ("metric", "mean", "std", "min", "max"))
        parts.append(f"<h3>{e(title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    return "".join(parts)


def _samples(run: RunFiles) -> str:
    multi_turn = any(sample.get("turns") for sample in run.samples)
    what = ("Greedy episodes on some of the problems: each turn of the policy with its reward, the env's replies "
            "marked, and the verifier's final verdict." if multi_turn else
            "Greedy responses to some of the problems (taken in turn from each difficulty level), scored by "
            "the task's verifier.")
    return samples_section(run.samples, what, "no samples.jsonl in the folder")


def _reproduce(run: RunFiles) -> str:
    command = (run.summary or {}).get("command")
    parts = [f"<p>The same evaluation, every setting spelled out:</p><pre>\n{e(cut(text(command), 4000))}</pre>"
             if command else '<p class="muted">no command in results.json</p>']
    parts.append(environment_table(run.environment, "versions and machine not recorded (no environment.json)"))
    return "".join(parts)
