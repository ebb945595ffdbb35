"""`experiment: compare`: arms share one warm-up per seed; results, table and plots are written."""

from __future__ import annotations

import json

import pytest
import yaml

pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.cli import main  # noqa: E402
from rlvr.training.compare import load_scenario  # noqa: E402

BASE = {
    "env_id": "rlvr/MathTree-v0", "prompt_template": "{numbers}>{target}=",
    "difficulty": {"mode": "countdown", "number_count": 2, "operators": "+*", "parentheses": False, "horizon": 6},
    "tiny_hidden_size": 32, "tiny_num_layers": 1, "tiny_num_heads": 2, "tiny_intermediate_size": 64,
    "sft_steps": 3, "rl_steps": 2, "prompts_per_step": 2, "group_size": 4, "max_new_tokens": 5,
    "eval_problems": 8, "eval_samples": 4, "eval_k": [1, 2, 4], "eval_every": 1, "progress": False,
    "plots": False, "tensorboard": False, "device": "cpu",
}


def test_arms_start_from_one_warmup_and_report_per_seed(tmp_path, capsys):
    scenario = tmp_path / "compare.yaml"
    scenario.write_text(yaml.safe_dump({
        "experiment": "compare", "seeds": [0, 1], "base": BASE,
        "arms": {"grpo": {}, "rover": {"loss": "rover", "advantage": "dr_grpo", "updates_per_batch": 2}},
    }))
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out)]) == 0
    report = json.loads((out / "results.json").read_text())
    for seed in ("0", "1"):
        grpo, rover = report["per_seed"]["grpo"][seed], report["per_seed"]["rover"][seed]
        assert grpo["after_sft"] == rover["after_sft"]  # the same warm-up checkpoint
        assert {"pass@4", "distinct_correct"} <= set(rover["final"])
        steps = [json.loads(line) for line in (out / f"seed{seed}" / "rover" / "metrics.jsonl").read_text().splitlines()]
        assert [line["step"] for line in steps if "eval" not in line] == [1, 2]
    # different seeds warm up differently
    assert report["per_seed"]["grpo"]["0"]["after_sft"] != report["per_seed"]["grpo"]["1"]["after_sft"]
    table = (out / "summary.md").read_text()
    assert "| rover |" in table and "| after SFT |" in table and "pass@4" in table
    assert {"pass_at_k.png", "heldout_accuracy.png"} <= {p.name for p in out.glob("*.png")}


def test_a_bad_arm_fails_before_any_work(tmp_path):
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(yaml.safe_dump({"experiment": "compare", "base": BASE, "arms": {"x": {"los": "rover"}}}))
    with pytest.raises(ValueError, match="did you mean"):
        load_scenario(scenario)
    scenario.write_text(yaml.safe_dump({"experiment": "compare", "base": BASE, "arms": {}}))
    with pytest.raises(ValueError, match="arms"):
        load_scenario(scenario)


def test_the_table_holds_the_diversity_figures_and_solve_rates_per_level():
    from rlvr.training.compare import _mean_over_seeds, summary_table

    def run(seed: int, entropy: float, two_words: bool) -> dict:
        final = {"greedy_accuracy": 0.5, "pass@1": 0.25, "pass@4": 0.75, "maj@4": 0.5, "distinct_correct": 1.5,
                 "semantic_entropy": entropy, "distinct_1": 0.4, "mean_length": 6.0,
                 "by_difficulty": {"num_ops=1": {"problems": 4, "greedy_accuracy": 1.0 - seed / 4},
                                   "num_ops=2": {"problems": 4, "greedy_accuracy": seed / 4}}}
        if two_words:
            final["distinct_2"] = 0.9
        return {"after_sft": final, "final": final}

    per_seed = {0: run(0, 0.2, True), 1: run(1, 0.4, False)}  # distinct-2 from one seed only
    mean = _mean_over_seeds(per_seed)["final"]
    assert mean["semantic_entropy"] == pytest.approx(0.3) and mean["solve_rate[num_ops=2]"] == pytest.approx(0.125)
    assert "distinct_2" not in mean  # no mean over seeds that lack it
    table = summary_table({"seeds": [0, 1], "mean": {"grpo": {"after_sft": mean, "final": mean}}})
    head = table.splitlines()[2]
    for column in ("maj@4", "distinct_correct", "semantic_entropy", "distinct_1", "solve_rate[num_ops=1]",
                   "solve_rate[num_ops=2]"):
        assert f" {column} " in head, column
    assert "| grpo | 0.500 ± 0.000 |" in table and "0.300 ± 0.100" in table  # entropy: mean ± standard error


def test_no_progress_turns_every_runs_bars_off(tmp_path, monkeypatch):
    from rlvr.training import compare

    seen = []

    class Recorder:
        def __init__(self, config):
            seen.append(config.progress)

        def train(self):
            raise SystemExit  # the configs are what this test is about

    monkeypatch.setattr("rlvr.training.trainer.Trainer", Recorder)
    scenario = tmp_path / "compare.yaml"
    scenario.write_text(yaml.safe_dump({"experiment": "compare", "base": {**BASE, "progress": True},
                                        "arms": {"grpo": {}}}))
    for progress, expected in ((False, False), (None, False), (True, True)):  # None: pytest's stderr is no terminal
        with pytest.raises(SystemExit):
            compare.run_scenario(scenario, tmp_path / "out", progress=progress)
        assert seen.pop() is expected
