"""`benchmarks/warmup_curve.py`: a compare scenario's base warmed up for a few steps, checked on
problems of their own, written with versions and machine."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["tiny_hidden_size=32", "tiny_num_layers=1", "tiny_num_heads=2", "tiny_intermediate_size=64",
         "sft_steps=12", "sft_batch_size=16", "sft_lr=3e-3"]


def load_benchmark():
    spec = importlib.util.spec_from_file_location("warmup_curve", ROOT / "benchmarks" / "warmup_curve.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_curve_of_a_compare_scenarios_base(tmp_path):
    benchmark = load_benchmark()
    argv = [str(ROOT / "rlvr" / "scenarios" / "reward_corruption.yaml"), *[f"--set={item}" for item in SMALL],
            "--check-every", "4", "--check-problems", "8", "--out", str(tmp_path / "curve.json")]
    record = benchmark.main(argv)
    assert json.loads((tmp_path / "curve.json").read_text()) == record and record["finished"]
    assert record["config"]["env_id"] == "rlvr/RandomCalc-v0"  # the scenario's base, with the overrides
    assert record["config"]["tiny_hidden_size"] == 32
    curve = record["curve"]
    assert [point["step"] for point in curve] == [4, 8, 12]
    assert all(math.isfinite(point["loss"]) and 0.0 <= point["greedy_accuracy"] <= 1.0 for point in curve)
    assert curve[-1]["loss"] < curve[0]["loss"]  # from near-uniform over ~100 characters, 12 steps lower it
    assert record["example"]["gold"] and record["environment"]["packages"]["torch"]


def test_the_time_budget_ends_the_warm_up(tmp_path):
    record = load_benchmark().main([str(ROOT / "rlvr" / "scenarios" / "quickstart.yaml"),
                                    *[f"--set={item}" for item in SMALL], "--set=sft_steps=100000",
                                    "--minutes", "0.02", "--check-every", "1", "--check-problems", "2"])
    steps = [point["step"] for point in record["curve"]]
    assert steps and steps == list(range(1, len(steps) + 1)) and len(steps) < 100000


def test_a_run_stopped_early_leaves_its_curve(tmp_path, monkeypatch):
    benchmark = load_benchmark()
    out = tmp_path / "curve.json"

    real = benchmark.evaluate
    calls = []

    def counting_evaluate(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # stopped during the third check
        return real(*args, **kwargs)

    monkeypatch.setattr(benchmark, "evaluate", counting_evaluate)
    with pytest.raises(KeyboardInterrupt):
        benchmark.main([str(ROOT / "rlvr" / "scenarios" / "quickstart.yaml"), *[f"--set={item}" for item in SMALL],
                        "--check-every", "2", "--check-problems", "2", "--out", str(out)])
    record = json.loads(out.read_text())
    assert not record["finished"] and [point["step"] for point in record["curve"]] == [2, 4]
