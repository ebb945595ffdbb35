"""The single-file examples in examples/ run and log (a few hundred steps each)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_cleanrl_ppo_runs_logs_and_is_seeded(tmp_path):
    pytest.importorskip("torch")
    ppo = load_example("cleanrl_ppo_mathtree")
    args = ppo.parse_args(["--total-timesteps", "512", "--num-envs", "16", "--num-steps", "8", "--log-every", "1",
                           "--seed", "3", "--no-anneal-lr"])
    assert args.anneal_lr is False and args.num_envs == 16
    first, second = ppo.train(args, quiet=True), ppo.train(args, quiet=True)
    assert first["global_step"] == 512 and len(first["history"]) == 4
    assert first["episodes"] > 40 and 0.0 <= first["success_rate_overall"] <= 1.0
    assert [h["success_rate"] for h in first["history"]] == [h["success_rate"] for h in second["history"]]
    assert [h["entropy"] for h in first["history"]] == [h["entropy"] for h in second["history"]]


def test_cleanrl_ppo_command_line_prints_success_and_writes_json(tmp_path, capsys):
    pytest.importorskip("torch")
    out = tmp_path / "metrics.json"
    load_example("cleanrl_ppo_mathtree").main(["--total-timesteps", "256", "--num-envs", "8", "--num-steps", "8",
                                               "--log-every", "2", "--json-out", str(out)])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step ")]
    assert len(lines) == 2 and all("success_rate" in line for line in lines)
    metrics = json.loads(out.read_text())
    assert metrics["global_step"] == 256 and metrics["args"]["num_envs"] == 8


def test_cleanrl_ppo_help_documents_every_flag():
    pytest.importorskip("torch")
    ppo = load_example("cleanrl_ppo_mathtree")
    docs = ppo.field_docs(ppo.Args)
    assert set(docs) == {f.name for f in ppo.fields(ppo.Args)} and all(docs.values())
    with pytest.raises(SystemExit):
        ppo.parse_args(["--num-envs", "many"])


def test_readme_baseline_table_equals_the_recorded_results():
    """Every figure of the README's classic RL table is what classic_rl_baselines.py recorded."""
    import re

    root = EXAMPLES.parent
    summary = json.loads((root / "benchmarks" / "results" / "classic_rl_baselines_cpu.json").read_text())["summary"]
    rows = {"random tokens": "random", "SB3 PPO, default settings": "sb3_ppo_defaults",
            "SB3 PPO, the example's settings": "sb3_ppo_tuned", "`examples/cleanrl_ppo_mathtree.py`": "cleanrl_ppo"}
    seen = set()
    for line in (root / "README.md").read_text().splitlines():
        label = next((k for k in rows if line.startswith(f"| {k}")), None)
        if label is None:
            continue
        seen.add(label)
        cells = [c.strip() for c in line.strip("|").split("|")][1:]
        recorded = summary[rows[label]]
        for cell, key in zip(cells, ("sampled", "greedy"), strict=True):
            if cell == "n/a":
                assert key not in recorded
                continue
            mean, se = map(float, re.fullmatch(r"([\d.]+)% ± ([\d.]+)", cell).groups())
            assert (mean, se) == (round(100 * recorded[key][0], 1), round(100 * recorded[key][1], 1)), label
    assert seen == set(rows)
