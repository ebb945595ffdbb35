"""The built-in `kgpath_hops` comparison, shrunk to a few steps: its arms train on their own reward
modes, and its evaluations report 1-3 and 4-5 hop problems apart."""

from __future__ import annotations

import json

import pytest
import yaml

pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.cli import BUILTIN_SCENARIOS, main  # noqa: E402

SHRUNK = {
    "tiny_hidden_size": 32, "tiny_num_layers": 1, "tiny_num_heads": 2, "tiny_intermediate_size": 64,
    "sft_steps": 2, "sft_until_accuracy": None, "rl_steps": 1, "prompts_per_step": 2, "group_size": 2,
    "max_new_tokens": 8, "eval_problems": 3, "eval_samples": 2, "eval_k": [1, 2], "eval_every": 0,
    "checkpoint_every": 1, "device": "cpu", "tensorboard": False,
}


def test_shrunk_kgpath_comparison_runs_each_reward_mode_and_reports_both_levels(tmp_path):
    scenario = yaml.safe_load((BUILTIN_SCENARIOS / "kgpath_hops.yaml").read_text())
    scenario["seeds"] = [0]
    scenario["base"].update(SHRUNK)
    path = tmp_path / "kgpath.yaml"
    path.write_text(yaml.safe_dump(scenario))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 0
    report = json.loads((out / "results.json").read_text())
    assert set(report["per_seed"]) == {"outcome", "path", "path_entity"}
    for arm, mode in (("outcome", "binary"), ("path", "paper"), ("path_entity", "paper_entity")):
        folder = out / "seed0" / arm
        assert yaml.safe_load((folder / "config.yaml").read_text())["task_options"]["reward_mode"] == mode
        lines = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
        step = next(line for line in lines if line.get("step") == 1 and "eval" not in line)
        # a random model answers nothing right: 0 in the outcome mode, -1 plus some path credit in the others
        assert step["reward_mean"] == 0.0 if mode == "binary" else -1.0 <= step["reward_mean"] < 0.6
        final = report["per_seed"][arm]["0"]["final"]
        assert [level["problems"] for level in final["by_difficulty"].values()] == [3, 3]
    assert "hops=" in (out / "summary.md").read_text()
