"""A training run folder's files as the report reads them: untrusted, bounded, never executed.

    run = read_run("runs/quickstart")
    run.steps, run.evals      # metrics.jsonl records (RL steps; evaluation and warm-up check lines)
    run.summary               # summary.json, or None
    run.samples               # samples.jsonl, at most MAX_SAMPLES, every text field cut to FIELD_LIMIT
                              # (multi-turn samples: their first MAX_TURNS turns)
    run.notes                 # what was missing, damaged or cut, one line each

A run folder may have been copied from elsewhere, cut short by a kill, or edited by hand, so
every reader here takes what it can and says what it could not in `notes` instead of raising:
files are read up to a size limit, JSON is only parsed (never evaluated), a damaged line is
skipped, and every text is a str cut to a bound. The report escapes what it shows; this module
only bounds it.

`record_environment` writes `environment.json` at the end of a run (the versions, machine and
command line of the process that trained), since `rlvr report` may run later somewhere else.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from rlvr.training.tracking import METRICS_FILE, read_metrics

SAMPLES_FILE = "samples.jsonl"
ENVIRONMENT_FILE = "environment.json"
SUMMARY_FILE = "summary.json"
CONFIG_FILE = "config.yaml"
RESULTS_FILE = "results.json"
"""What `rlvr eval` measured, in its output folder."""
METRICS_LIMIT = 64 * 2**20
"""Bytes of metrics.jsonl read (a 1,500-step run writes under 1 MiB)."""
JSON_LIMIT = 4 * 2**20
"""Largest summary.json or environment.json read."""
SAMPLES_LIMIT = 8 * 2**20
"""Bytes of samples.jsonl read."""
MAX_SAMPLES = 200
"""Samples shown at most."""
FIELD_LIMIT = 2000
"""Characters kept of each text field of a sample; the rest is cut with a marker."""
MAX_TURNS = 40
"""Turns of a multi-turn sample shown (the policy's actions and the env's replies, in order)."""
CONFIG_LIMIT = 100_000
"""Characters of config.yaml shown."""
PACKAGES = ("rlvr", "torch", "transformers", "numpy", "gymnasium")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class RunFiles:
    """What `read_run` found in a run folder."""

    run_dir: Path
    steps: list[dict[str, Any]] = field(default_factory=list)
    evals: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    samples: list[dict[str, Any]] = field(default_factory=list)
    config_text: str | None = None
    environment: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def read_run(run_dir: str | Path) -> RunFiles:
    """Everything the report shows from `run_dir`; raises only when `run_dir` is not a folder."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"expected a run folder (the out_dir of `rlvr train`), got {str(run_dir)!r}")
    run = RunFiles(run_dir)
    run.steps, run.evals = _metrics(run_dir / METRICS_FILE, run.notes)
    run.summary = _json_object(run_dir / SUMMARY_FILE, run.notes)
    run.environment = _json_object(run_dir / ENVIRONMENT_FILE, run.notes)
    run.samples = _samples(run_dir / SAMPLES_FILE, run.notes)
    config = _read(run_dir / CONFIG_FILE, CONFIG_LIMIT * 4, run.notes)
    if config is not None:
        run.config_text = cut(config.decode("utf-8", errors="replace"), CONFIG_LIMIT)
    return run


def read_evaluation(out_dir: str | Path) -> RunFiles:
    """An `rlvr eval` output folder: results.json (as `summary`), samples.jsonl and environment.json,
    read like a run folder's files; raises only when `out_dir` is not a folder."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise FileNotFoundError(f"expected an evaluation folder (the --out of `rlvr eval`), got {str(out_dir)!r}")
    run = RunFiles(out_dir)
    run.summary = _json_object(out_dir / RESULTS_FILE, run.notes)
    run.environment = _json_object(out_dir / ENVIRONMENT_FILE, run.notes)
    run.samples = _samples(out_dir / SAMPLES_FILE, run.notes)
    return run


# ---- readers -----------------------------------------------------------------------------------
def _read(path: Path, limit: int, notes: list[str], whole: bool = False) -> bytes | None:
    """The first `limit` bytes of `path` (None with a note when missing, unreadable, or over the
    limit where only the `whole` file makes sense)."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            notes.append(f"{path.name}: expected a file, found something else")
            return None
        if size > limit and whole:
            notes.append(f"{path.name}: {size:,} bytes, over the {limit:,} read at most; not read")
            return None
        if size > limit:
            notes.append(f"{path.name}: {size:,} bytes; only the first {limit:,} were read")
        with open(path, "rb") as handle:
            return handle.read(limit)
    except FileNotFoundError:
        notes.append(f"{path.name}: missing")
    except OSError as error:
        notes.append(f"{path.name}: could not be read ({error.strerror or error})")
    return None


def _metrics(path: Path, notes: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """read_metrics' records; a damaged file is read line by line, skipping what does not parse."""
    data = _read(path, METRICS_LIMIT, notes)
    if data is None:
        return [], []
    if len(data) < METRICS_LIMIT:
        try:
            return read_metrics(path)
        except (OSError, ValueError, RecursionError) as error:
            notes.append(f"{METRICS_FILE}: damaged ({cut(str(error), 200)}); the lines that parse are shown")
    records, skipped = _json_lines(data)
    if skipped:
        notes.append(f"{METRICS_FILE}: {skipped} line(s) skipped (not a JSON object)")
    records = [{key: math.nan if value is None else value for key, value in record.items()} for record in records]
    return [r for r in records if "eval" not in r], [r for r in records if "eval" in r]


def _json_lines(data: bytes, limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """The JSON objects of the first `limit` non-empty lines, and how many of those were not one."""
    records, skipped = [], 0
    lines = [line for line in data.decode("utf-8", errors="replace").splitlines() if line.strip()]
    for line in lines[:limit]:
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            record = None
        if isinstance(record, dict):
            records.append(record)
        else:
            skipped += 1
    return records, skipped


def _json_object(path: Path, notes: list[str]) -> dict[str, Any] | None:
    data = _read(path, JSON_LIMIT, notes, whole=True)
    if data is None:
        return None
    try:
        value = json.loads(data.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError) as error:
        notes.append(f"{path.name}: not JSON ({cut(str(error), 200)})")
        return None
    if not isinstance(value, dict):
        notes.append(f"{path.name}: expected a JSON object, got {type(value).__name__}")
        return None
    return value


def _samples(path: Path, notes: list[str]) -> list[dict[str, Any]]:
    """samples.jsonl's first MAX_SAMPLES records, each reduced to the fields the report shows."""
    data = _read(path, SAMPLES_LIMIT, notes)
    if data is None:
        return []
    records, skipped = _json_lines(data, MAX_SAMPLES)
    if skipped:
        notes.append(f"{SAMPLES_FILE}: {skipped} line(s) skipped (not a JSON object)")
    total = sum(1 for line in data.splitlines() if line.strip())
    if total > MAX_SAMPLES:
        notes.append(f"{SAMPLES_FILE}: {total} samples; the first {MAX_SAMPLES} are shown")
    return [_sample(record, row) for row, record in enumerate(records)]


def _sample(record: dict[str, Any], row: int) -> dict[str, Any]:
    components = record.get("components")
    components = dict(list(components.items())[:20]) if isinstance(components, dict) else {}
    components = {cut(text(name), 60): number(value) for name, value in components.items()}
    correct = record.get("correct")
    if not isinstance(correct, bool):  # no verdict of its own: the "correct" component's, else unknown
        verdict = components.get("correct", math.nan)
        correct = None if math.isnan(verdict) else verdict >= 1.0
    index = record.get("index")
    difficulty = record.get("difficulty")
    turns = record.get("turns")
    return {
        "index": index if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < 10**9 else row,
        "prompt": cut(text(record.get("prompt")), FIELD_LIMIT),
        "response": cut(text(record.get("response")), FIELD_LIMIT),
        "answer": cut(text(record.get("answer")), FIELD_LIMIT),
        "parsed_answer": cut(text(record.get("parsed_answer")), FIELD_LIMIT),
        "reason": cut(text(record.get("reason")), FIELD_LIMIT),
        "reward": number(record.get("reward")),
        "components": components,
        "correct": correct,
        # knob values stay JSON values (the report labels levels with them); at most 20 knobs
        "difficulty": {cut(text(name), 60): value for name, value in list(difficulty.items())[:20]}
        if isinstance(difficulty, dict) else {},
        "turns": [_turn(turn) for turn in turns[:MAX_TURNS] if isinstance(turn, dict)] if isinstance(turns, list) else [],
    }


def _turn(record: dict[str, Any]) -> dict[str, Any]:
    """One turn of a multi-turn sample: whose it is ("env" for the env's reply, else "policy"), its
    text and (the policy's) reward."""
    return {"role": "env" if record.get("role") == "env" else "policy",
            "text": cut(text(record.get("text")), FIELD_LIMIT), "reward": number(record.get("reward"))}


# ---- values ------------------------------------------------------------------------------------
def text(value: Any) -> str:
    """Any JSON value as printable text: strings as they are, None as "", others as compact JSON;
    control characters (but tab and newlines) and lone surrogates become U+FFFD."""
    if value is None:
        return ""
    if not isinstance(value, str):
        try:
            value = json.dumps(value, ensure_ascii=False, allow_nan=True)
        except (TypeError, ValueError, RecursionError):
            value = "(a value that could not be shown)"
    value = value.encode("utf-8", errors="replace").decode("utf-8")  # lone surrogates -> "?"
    return _CONTROL.sub("\ufffd", value)


def cut(value: str, limit: int) -> str:
    """`value` cut to `limit` characters, saying how many more there were.

    >>> cut("abcdef", 3)
    'abc … [3 more characters cut]'
    """
    if len(value) <= limit:
        return value
    return f"{value[:limit]} … [{len(value) - limit:,} more characters cut]"


def number(value: Any) -> float:
    """A JSON number as a float; NaN for anything else (text, bools, null, ints too big)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    try:
        return float(value)
    except OverflowError:
        return math.nan


# ---- the environment record --------------------------------------------------------------------
def record_environment(run_dir: str | Path, argv: list[str] | None = None) -> dict[str, Any]:
    """Write `run_dir/environment.json`: versions, machine and command line of this process."""
    record = {
        "recorded_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join(sys.argv if argv is None else argv),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": {name: _version(name) for name in PACKAGES},
        "rlvr_commit": _rlvr_commit(),
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "accelerator": _accelerator(),
    }
    path = Path(run_dir) / ENVIRONMENT_FILE
    path.write_text(json.dumps(record, indent=2))
    return record


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _rlvr_commit() -> str | None:
    """The git commit of the rlvr source in use ("+ local changes" when the tree differs), or None
    when rlvr is not run from a git checkout of its own."""
    package = Path(__file__).resolve().parents[1]
    try:
        top = _git(package.parent, "rev-parse", "--show-toplevel")
        # an installed copy inside some other repository (a venv in a checkout) has no commit of its own
        if top is None or Path(top).resolve() != package.parent:
            return None
        commit = _git(package.parent, "rev-parse", "HEAD")
        changed = _git(package.parent, "status", "--porcelain", "--untracked-files=no", "--", "rlvr")
    except (OSError, subprocess.SubprocessError):
        return None
    return None if commit is None else commit + (" + local changes" if changed else "")


def _git(folder: Path, *args: str) -> str | None:
    result = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10)
    return result.stdout.strip() if result.returncode == 0 else None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle.read(200_000).splitlines():
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _accelerator() -> str | None:
    """The CUDA device's name when this process already uses torch with one (torch is not imported here)."""
    torch = sys.modules.get("torch")
    try:
        if torch is not None and torch.cuda.is_available():
            return torch.cuda.get_device_name(torch.cuda.current_device())
    except Exception:  # a broken driver must not fail the record; the field just stays empty
        return None
    return None
