"""Where a run's metrics go: one JSON line per record, and TensorBoard scalars when available.

    with MetricsLogger("runs/quickstart") as metrics:
        metrics.log({"step": 1, "reward_mean": 0.25, "loss": 0.1})      # -> train/reward_mean, train/loss
        metrics.log({"eval": "rl", "step": 1, "greedy_accuracy": 0.5})   # -> eval/greedy_accuracy
    steps, evals = read_metrics("runs/quickstart/metrics.jsonl")

`metrics.jsonl` is the record of truth: every record, every field, always. TensorBoard gets the
finite numbers only, as scalars: RL step records under `train/<key>`, evaluation records under
`eval/<key>` whatever their phase (after SFT, during RL, final), so one curve per metric runs
across the whole run. The event files sit in the run folder itself, so `tensorboard --logdir runs`
names each run by its folder. Without the `tensorboard` package (or torch) the logger warns once
and keeps writing JSONL.

Resuming from a checkpoint at step s drops the records logged after s, which the resumed run
will log again. JSONL lines can be removed; event files cannot be edited, so the logger starts a
new event file that begins with a restart marker at step s + 1 (SummaryWriter's `purge_step`):
TensorBoard then hides every older event at or after that step, and the curves show each step
once.
"""

from __future__ import annotations

import json
import math
import numbers
import time
import warnings
from pathlib import Path
from typing import Any

from rlvr.training.metrics import json_safe

METRICS_FILE = "metrics.jsonl"
_EVENT_FILE_GLOB = "events.out.tfevents.*"


class MetricsLogger:
    """Appends records to `out_dir/metrics.jsonl` and mirrors their numbers to TensorBoard."""

    def __init__(self, out_dir: str | Path, tensorboard: bool = True, enabled: bool = True) -> None:
        self.enabled = enabled
        """False on the ranks other than 0 of a data-parallel run: rank 0 alone writes the files."""
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / METRICS_FILE
        self.tensorboard = tensorboard
        self._writer: Any = None
        self._purge_step: int | None = None
        self._tail_checked = False

    # ---- writing -------------------------------------------------------------------------------
    def log(self, record: dict[str, Any]) -> None:
        """Append `record` as one JSON line; its finite numbers go to TensorBoard too (flushed)."""
        if not self.enabled:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if not self._tail_checked:
            _repair_tail(self.path)  # a record cut short by a kill would swallow the next one
            self._tail_checked = True
        with open(self.path, "a") as handle:
            # NaN/inf become null: a bare NaN is not JSON, and strict readers reject the whole file
            handle.write(json.dumps(json_safe(record), allow_nan=False) + "\n")
        writer = self._get_writer()
        if writer is None:
            return
        step = int(record.get("step", 0))
        prefix = "eval" if "eval" in record else "train"
        for key, value in record.items():
            if key in ("step", "eval"):
                continue
            number = scalar_value(value)
            if number is not None:
                writer.add_scalar(f"{prefix}/{key}", number, step)
        writer.flush()  # a live TensorBoard (or a test) sees the step now, not at close

    def truncate_after(self, step: int) -> None:
        """Forget the records logged after `step` (resuming from a checkpoint taken at `step`)."""
        if not self.enabled:
            return
        if self.path.is_file():
            lines = _parsed_lines(self.path)
            kept = [text for text, record in lines if record.get("step", 0) <= step]
            self.path.write_text("".join(text + "\n" for text in kept))
        self._tail_checked = True
        self._close_writer()
        # the next event file opens with a restart marker: TensorBoard drops older events >= step + 1
        self._purge_step = step + 1
        if self.tensorboard and _event_files(self.out_dir):
            self._get_writer()  # write the marker now, so the old values are hidden even if no step follows

    def clear(self) -> None:
        """Delete this folder's metrics and event files: a fresh run starts fresh logs."""
        if not self.enabled:
            return
        self._close_writer()
        self.path.unlink(missing_ok=True)
        for event_file in _event_files(self.out_dir):
            event_file.unlink()
        self._purge_step = None
        self._tail_checked = True

    def close(self) -> None:
        """Flush and close the TensorBoard writer (JSONL lines are written as they come)."""
        self._close_writer()

    def __enter__(self) -> MetricsLogger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- TensorBoard ---------------------------------------------------------------------------
    def _get_writer(self) -> Any:
        if not self.tensorboard:
            return None
        if self._writer is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as error:
                warnings.warn(
                    f"TensorBoard logging is off ({error}); metrics go to {self.path} only. "
                    "Install it with `pip install tensorboard`.",
                    RuntimeWarning,
                    stacklevel=3,
                )
                self.tensorboard = False  # warn once, then stay quiet
                return None
            if self._purge_step is not None:
                _wait_until_newer_than(_event_files(self.out_dir))
            self._writer = SummaryWriter(log_dir=str(self.out_dir), purge_step=self._purge_step)
            self._purge_step = None
        return self._writer

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def scalar_value(value: Any) -> float | None:
    """`value` as a TensorBoard scalar: finite reals as floats, bools as 0/1, anything else None.

    >>> scalar_value(True), scalar_value(3), scalar_value(0.5)
    (1.0, 3.0, 0.5)
    >>> scalar_value(float("nan")), scalar_value("rl"), scalar_value(None), scalar_value([1.0])
    (None, None, None, None)
    """
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def read_metrics(path: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(RL step records, evaluation records) from a metrics.jsonl (or the run folder holding it).

    A last line cut short (the process was killed mid-write) is skipped; a broken line anywhere
    else is an error, because it means the file was damaged, not interrupted.
    A null value (a NaN or infinity when it was logged) reads back as NaN.
    """
    path = Path(path)
    if path.is_dir():
        path = path / METRICS_FILE
    # a non-finite number is written as null; it reads back as NaN, the "no number" every plot skips
    records = [{key: math.nan if value is None else value for key, value in record.items()}
               for _, record in _parsed_lines(path)]
    steps = [record for record in records if "eval" not in record]
    evals = [record for record in records if "eval" in record]
    return steps, evals


def _parsed_lines(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(line text, record) for each line; a broken last line is dropped, any other one raises."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    parsed = []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            if number == len(lines):
                break
            raise ValueError(f"{path}:{number}: expected one JSON record per line, got {line[:80]!r} ({error})") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path}:{number}: expected a JSON object, got {type(record).__name__}")
        parsed.append((line, record))
    return parsed


def _repair_tail(path: Path) -> None:
    """End the file with a newline: close a whole last record, cut a partial one."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    data = path.read_bytes()
    if data.endswith(b"\n"):
        return
    cut = data.rfind(b"\n") + 1
    try:
        json.loads(data[cut:])
        path.write_bytes(data + b"\n")
    except ValueError:
        path.write_bytes(data[:cut])


def _event_files(directory: Path) -> list[Path]:
    return sorted(directory.glob(_EVENT_FILE_GLOB)) if directory.is_dir() else []


def _wait_until_newer_than(event_files: list[Path]) -> None:
    """Sleep (under a second) until a new event file's name sorts after `event_files`.

    TensorBoard reads a folder's event files in name order, and names start with the creation
    second; within one second the rest of the name (host, process id, counter) may sort either
    way, and a restart marker read before the events it should hide would hide nothing.
    """
    newest = 0
    for event_file in event_files:
        stamp = event_file.name.split(".")[3]
        if stamp.isdigit():
            newest = max(newest, int(stamp))
    while time.time() < newest + 1:
        time.sleep(max(0.0, newest + 1 - time.time()) + 0.001)
