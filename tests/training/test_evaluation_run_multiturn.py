"""`rlvr eval --run` on a multi-turn run: the run's own settings by default, and sampling seeds
(each seed one full episode evaluation, combined like single-turn ones)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.training.config import load_config  # noqa: E402
from rlvr.training.evaluation_run import run_evaluation  # noqa: E402
from rlvr.training.trainer import Trainer  # noqa: E402


def test_a_multi_turn_run_evaluates_to_its_final_figures_and_repeats_over_seeds(tmp_path):
    run = tmp_path / "run"
    Trainer(load_config({
        "env_id": "rlvr/MathTreeStep-v0", "difficulty": {"number_count": 2}, "max_turns": 2,
        "tiny_hidden_size": 32, "tiny_num_layers": 1, "tiny_num_heads": 2, "tiny_intermediate_size": 64,
        "max_new_tokens": 6, "prompts_per_step": 2, "group_size": 2, "rl_steps": 1, "eval_every": 0,
        "eval_problems": 4, "eval_samples": 2, "eval_k": [1, 2], "progress": False, "out_dir": str(run),
        "prompt_template": "{numbers}>{target}:", "plots": False, "tensorboard": False, "sft_steps": 0,
    })).train()
    final = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()][-1]
    # no flags: the run's settings (4 problems, 2 samples, k 1 and 2), seed 0 being the run's own
    repeated = run_evaluation(run=str(run), sampling_seeds=[0, 1])
    second = run_evaluation(run=str(run), sampling_seeds=[1])
    assert (repeated["problems"], repeated["samples"], repeated["k"]) == (4, 2, [1, 2])
    for key in ("greedy_accuracy", "mean_turns", "greedy_reward"):  # greedy: once, as training measured it
        assert repeated[key] == pytest.approx(final[key]) and key not in repeated["across_seeds"], key
    for key in ("pass@1", "pass@2", "sample_accuracy"):
        assert repeated[key] == pytest.approx((final[key] + second[key]) / 2), key
        assert repeated["across_seeds"][key]["min"] == min(final[key], second[key]), key
