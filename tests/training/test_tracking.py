"""Metric sinks: JSONL round trip and truncation, TensorBoard scalars read back, no-TensorBoard path."""

from __future__ import annotations

import importlib
import json
import math
import sys
import time
import warnings

import pytest

from rlvr.training.tracking import METRICS_FILE, MetricsLogger, read_metrics, scalar_value


def step_record(step: int, scale: float = 1.0) -> dict:
    return {
        "step": step,
        "reward_mean": scale * step / 10,
        "accuracy": scale * step / 20,
        "loss": -0.01 * step,
        "grad_norm": math.nan if step == 2 else 1.0 + step,
        "skipped_updates": int(step == 2),
        "samples_per_s": 100.0 + step,
        "note": "text is logged to JSONL only",
    }


def eval_record(phase: str, step: int, accuracy: float) -> dict:
    return {"eval": phase, "step": step, "greedy_accuracy": accuracy, "pass@8": min(1.0, accuracy + 0.2),
            "maj@8": accuracy, "num_problems": 16.0, "early_stopped": step == 3}


def run_records() -> list[dict]:
    return [eval_record("after_sft", 0, 0.25), *(step_record(s) for s in range(1, 4)),
            eval_record("rl", 3, 0.5), *(step_record(s) for s in range(4, 6)), eval_record("final", 5, 0.75)]


def load_scalars(directory):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(directory))
    accumulator.Reload()
    return {tag: [(event.step, event.value) for event in accumulator.Scalars(tag)]
            for tag in accumulator.Tags()["scalars"]}


# ---- JSONL ---------------------------------------------------------------------------------------
def test_jsonl_round_trip_keeps_every_field_and_splits_steps_from_evals(tmp_path):
    records = run_records()
    with MetricsLogger(tmp_path, tensorboard=False) as metrics:
        for record in records:
            metrics.log(record)
    lines = (tmp_path / METRICS_FILE).read_text().splitlines()
    assert len(lines) == len(records)
    steps, evals = read_metrics(tmp_path / METRICS_FILE)
    assert [r["step"] for r in steps] == [1, 2, 3, 4, 5]
    assert [e["eval"] for e in evals] == ["after_sft", "rl", "final"]
    assert evals[1]["pass@8"] == pytest.approx(0.7)
    assert steps[0] == records[1]  # strings, ints and floats come back as they went in
    assert math.isnan(steps[1]["grad_norm"])
    assert read_metrics(tmp_path) == (steps, evals)  # the run folder works as well as the file


def strict_json(line: str):
    """json.loads that refuses NaN / Infinity, as strict JSON readers do."""
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(line, parse_constant=refuse)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_written_as_null_and_read_back_as_nan(tmp_path, bad):
    import numpy as np

    with MetricsLogger(tmp_path, tensorboard=False) as metrics:
        metrics.log({"step": 1, "loss": bad, "grad_norm": np.float32(bad), "nested": {"xs": [1.0, bad]}, "ok": 0.5})
    line = (tmp_path / METRICS_FILE).read_text().splitlines()[0]
    record = strict_json(line)  # a bare NaN / Infinity would raise here
    assert record == {"step": 1, "loss": None, "grad_norm": None, "nested": {"xs": [1.0, None]}, "ok": 0.5}
    (step,), _ = read_metrics(tmp_path)
    assert math.isnan(step["loss"]) and math.isnan(step["grad_norm"]) and step["ok"] == 0.5


def test_truncate_after_keeps_lines_up_to_the_step_and_appends_after_them(tmp_path):
    with MetricsLogger(tmp_path, tensorboard=False) as metrics:
        for record in run_records():
            metrics.log(record)
        metrics.truncate_after(3)
        steps, evals = read_metrics(tmp_path)
        assert [r["step"] for r in steps] == [1, 2, 3]
        assert [(e["eval"], e["step"]) for e in evals] == [("after_sft", 0), ("rl", 3)]
        metrics.log(step_record(4, scale=2.0))
    steps, _ = read_metrics(tmp_path)
    assert [r["step"] for r in steps] == [1, 2, 3, 4]
    assert steps[-1]["reward_mean"] == pytest.approx(0.8)


def test_a_last_line_cut_short_is_skipped_and_then_repaired(tmp_path):
    path = tmp_path / METRICS_FILE
    full = json.dumps(step_record(1)) + "\n" + json.dumps(step_record(2))
    path.write_text(full[:-7])  # killed mid-write: the second record lacks its end
    steps, evals = read_metrics(path)
    assert [r["step"] for r in steps] == [1] and evals == []
    with MetricsLogger(tmp_path, tensorboard=False) as metrics:
        metrics.log(step_record(2))
    assert [r["step"] for r in read_metrics(path)[0]] == [1, 2]  # the new line did not merge into the stub


def test_a_whole_last_record_without_newline_is_kept(tmp_path):
    path = tmp_path / METRICS_FILE
    path.write_text(json.dumps(step_record(1)))
    with MetricsLogger(tmp_path, tensorboard=False) as metrics:
        metrics.log(step_record(2))
    assert [r["step"] for r in read_metrics(path)[0]] == [1, 2]


def test_truncate_after_tolerates_a_cut_last_line(tmp_path):
    path = tmp_path / METRICS_FILE
    path.write_text(json.dumps(step_record(1)) + "\n" + json.dumps(step_record(2)) + "\n" + '{"step": 3, "lo')
    MetricsLogger(tmp_path, tensorboard=False).truncate_after(5)
    assert [r["step"] for r in read_metrics(path)[0]] == [1, 2]
    assert path.read_text().endswith("\n")


def test_a_broken_line_in_the_middle_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / METRICS_FILE
    path.write_text(json.dumps(step_record(1)) + "\nnot json\n" + json.dumps(step_record(2)) + "\n")
    with pytest.raises(ValueError, match=r"metrics\.jsonl:2"):
        read_metrics(path)


def test_clear_removes_metrics_and_event_files(tmp_path):
    pytest.importorskip("tensorboard")
    with MetricsLogger(tmp_path) as metrics:
        metrics.log(step_record(1))
        assert list(tmp_path.glob("events.out.tfevents.*"))
        metrics.clear()
        assert not (tmp_path / METRICS_FILE).exists()
        assert not list(tmp_path.glob("events.out.tfevents.*"))
        metrics.log(step_record(1))
    assert len(read_metrics(tmp_path)[0]) == 1


# ---- TensorBoard ---------------------------------------------------------------------------------
def test_tensorboard_scalars_read_back_with_train_and_eval_tags(tmp_path):
    pytest.importorskip("tensorboard")
    metrics = MetricsLogger(tmp_path)
    for record in run_records():
        metrics.log(record)
    scalars = load_scalars(tmp_path)  # before close: the writer flushed every record
    metrics.close()
    assert scalars["train/reward_mean"] == [(s, pytest.approx(s / 10)) for s in range(1, 6)]
    assert scalars["train/skipped_updates"] == [(s, float(s == 2)) for s in range(1, 6)]
    # NaN is not a point: step 2 has no grad_norm
    assert [step for step, _ in scalars["train/grad_norm"]] == [1, 3, 4, 5]
    # one curve per metric across phases, at the step of each evaluation
    assert scalars["eval/greedy_accuracy"] == [(0, 0.25), (3, 0.5), (5, 0.75)]
    assert scalars["eval/pass@8"] == [(0, pytest.approx(0.45)), (3, pytest.approx(0.7)), (5, pytest.approx(0.95))]
    assert scalars["eval/early_stopped"] == [(0, 0.0), (3, 1.0), (5, 0.0)]  # bools as 0/1
    assert not any(tag.endswith(("/note", "/eval", "/step")) for tag in scalars)
    assert not any(tag.startswith("train/") and "greedy" in tag for tag in scalars)


def test_resume_hides_the_old_values_after_the_checkpoint_step(tmp_path):
    pytest.importorskip("tensorboard")
    with MetricsLogger(tmp_path) as metrics:
        for step in range(1, 6):
            metrics.log(step_record(step))
    # a new process resumes from the checkpoint at step 3 and logs steps 4-5 again, differently
    with MetricsLogger(tmp_path) as resumed:
        resumed.truncate_after(3)
        for step in range(4, 6):
            resumed.log(step_record(step, scale=3.0))
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 2
    rewards = load_scalars(tmp_path)["train/reward_mean"]
    assert [step for step, _ in rewards] == [1, 2, 3, 4, 5]
    assert [value for _, value in rewards] == pytest.approx([0.1, 0.2, 0.3, 1.2, 1.5])


def test_resume_without_new_steps_still_hides_the_dropped_ones(tmp_path):
    pytest.importorskip("tensorboard")
    with MetricsLogger(tmp_path) as metrics:
        for step in range(1, 6):
            metrics.log(step_record(step))
        metrics.truncate_after(2)
    assert [step for step, _ in load_scalars(tmp_path)["train/reward_mean"]] == [1, 2]


def test_the_new_event_file_sorts_after_the_old_ones_written_the_same_second(tmp_path):
    pytest.importorskip("tensorboard")
    importlib.import_module("torch.utils.tensorboard")  # ahead, so the writer below opens within this second
    # TensorBoard reads event files in name order; within one second the name's tail decides
    old = tmp_path / f"events.out.tfevents.{int(time.time()):010d}.~host.99999.99"
    old.write_bytes(b"")
    with MetricsLogger(tmp_path) as metrics:
        metrics.truncate_after(0)
    newest = sorted(tmp_path.glob("events.out.tfevents.*"))[-1]
    assert newest != old


def test_without_tensorboard_jsonl_goes_on_and_the_warning_comes_once(tmp_path, monkeypatch):
    # None in sys.modules makes `from torch.utils.tensorboard import ...` raise ImportError
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.warns(RuntimeWarning, match="pip install tensorboard") as caught, MetricsLogger(tmp_path) as metrics:
        for record in run_records():
            metrics.log(record)
    assert len([w for w in caught if issubclass(w.category, RuntimeWarning)]) == 1
    assert not list(tmp_path.glob("events.out.tfevents.*"))
    steps, evals = read_metrics(tmp_path)
    assert len(steps) == 5 and len(evals) == 3


def test_tensorboard_off_writes_no_event_file_and_no_warning(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with MetricsLogger(tmp_path, tensorboard=False) as metrics:
            metrics.log(step_record(1))
            metrics.truncate_after(0)
    assert not list(tmp_path.glob("events.out.tfevents.*"))


@pytest.mark.parametrize(("value", "expected"), [
    (False, 0.0), (7, 7.0), (-1.5, -1.5), (math.inf, None), (math.nan, None), ("0.5", None), ({"a": 1}, None),
])
def test_scalar_value_keeps_finite_numbers_only(value, expected):
    assert scalar_value(value) == expected
