"""The decode benchmarks: `benchmarks/policy_throughput.py` on a tiny run, the GRPO step breakdown
of `benchmarks/gpu/step_breakdown.py` on hand-made metrics, and the README's CPU decode figures
against the recorded JSON."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load(relative: str):
    spec = importlib.util.spec_from_file_location(Path(relative).stem, ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_step_breakdown_takes_medians_of_steps_after_the_warm_up(tmp_path):
    breakdown = load("benchmarks/gpu/step_breakdown.py").breakdown
    lines = [{"eval": "after_sft", "step": 0}]
    for step, (total, sampling, scoring, problems) in enumerate(
        [(9.0, 8.0, 0.5, 0.5), (1.0, 0.6, 0.02, 0.02), (2.0, 1.5, 0.1, 0.1), (1.5, 1.0, 0.03, 0.03)], start=1
    ):
        lines.append({"step": step, "time_total": total, "time_sampling": sampling, "time_scoring": scoring,
                      "time_problems": problems, "time_fwd_bwd": 0.2, "time_optimizer": 0.01, "samples_per_s": 100 * step})
    lines.append({"eval": "final", "step": 4})
    path = tmp_path / "metrics.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines))
    run = breakdown(path, skip=1)  # step 1 (compilation) left out
    assert run["steps"] == 3
    assert run["median_s"]["time_total"] == 1.5 and run["median_s"]["time_sampling"] == 1.0
    assert run["samples_per_s"] == 300
    assert run["env_reward_share"] == pytest.approx(0.04)  # shares 0.04, 0.1, 0.04
    with pytest.raises(ValueError, match="after step 4"):
        breakdown(path, skip=4)


def test_step_breakdown_keeps_the_other_runs_when_one_is_missing(tmp_path, capsys):
    main = load("benchmarks/gpu/step_breakdown.py").main
    path = tmp_path / "metrics.jsonl"
    path.write_text(json.dumps({"step": 2, "time_total": 2.0, "time_problems": 0.1, "time_scoring": 0.1}))
    result = main([f"good={path}", f"gone={tmp_path / 'nothing.jsonl'}", "--out", str(tmp_path / "out.json")])
    assert result["runs"]["good"]["env_reward_share"] == pytest.approx(0.1)
    assert "error" in result["runs"]["gone"]
    assert json.loads((tmp_path / "out.json").read_text())["runs"]["good"]["steps"] == 1


def test_policy_throughput_compares_both_decode_paths(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    main = load("benchmarks/policy_throughput.py").main
    result = main(["--model", "tiny", "--batch", "3", "--new-tokens", "4", "--prompt-length", "6", "--repeats", "1",
                   "--warmup", "0", "--out", str(tmp_path / "out.json")])
    names = [row["name"] for row in result["rows"]]
    assert names[:4] == ["policy.sample dynamic", "policy.sample static", "generate", "generate+logprobs"]
    assert result["static_vs_dynamic_samples"]["rows_alike"] == 1.0
    assert result["static_vs_dynamic_samples"]["logprob_abs_diff_max"] < 1e-5
    limit = 3 * result["copy_bandwidth_bytes_per_s"] / result["parameter_bytes"]
    assert result["bandwidth_limit_tokens_per_s"] == pytest.approx(limit)
    assert json.loads((tmp_path / "out.json").read_text())["batch"] == 3
    assert "bandwidth limit" in capsys.readouterr().out


def test_readme_cpu_decode_figures_equal_the_recorded_run():
    recorded = json.loads((ROOT / "benchmarks/results/policy_throughput_tiny_cpu.json").read_text())
    tokens = recorded["batch"] * recorded["new_tokens"]
    rates = {row["name"]: [tokens / seconds for seconds in row["seconds_all"]] for row in recorded["rows"]}
    readme = " ".join((ROOT / "README.md").read_text().split())
    match = re.search(r"one thread: ([\d,]+) to ([\d,]+) tokens/s against ([\d,]+) to ([\d,]+) over", readme)
    assert match, "the README's decode sentence moved"
    quoted = [int(value.replace(",", "")) for value in match.groups()]
    expected = [min(rates["policy.sample static"]), max(rates["policy.sample static"]),
                min(rates["policy.sample dynamic"]), max(rates["policy.sample dynamic"])]
    assert quoted == [round(value, -2) for value in expected]
