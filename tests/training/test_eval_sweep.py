"""`eval_sweep`: a run evaluates at several difficulty levels, each level's solve rate reported."""

from __future__ import annotations

import json

import pytest

from rlvr.training.config import load_config
from rlvr.training.evaluation_run import run_evaluation
from rlvr.training.trainer import Trainer

SMALL = [
    "tiny_hidden_size=32", "tiny_num_layers=1", "tiny_num_heads=2", "tiny_intermediate_size=64",
    "max_new_tokens=4", "prompts_per_step=2", "group_size=2", "eval_problems=6", "eval_samples=2",
    "eval_k=[1]", "eval_every=0", "progress=false", "plots=false", "sft_steps=0", "rl_steps=1",
]


def config_with(tmp_path, *extra):
    return load_config("scenarios/quickstart.yaml", [*SMALL, f"out_dir={tmp_path}", *extra])


def test_each_level_gets_its_own_problems_and_solve_rate(tmp_path):
    trainer = Trainer(config_with(tmp_path, "eval_sweep={num_ops: [1, 2]}"))
    trainer.train()
    problems = trainer._eval_problems
    # eval_problems at each level, in level order, each drawn at its own number of operations
    assert [p.difficulty["num_ops"] for p in problems] == [1] * 6 + [2] * 6
    assert all(p.prompt.count("+") == p.difficulty["num_ops"] for p in problems)
    final = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()][-1]
    assert final["eval"] == "final"
    levels = final["by_difficulty"]
    assert [level["problems"] for level in levels.values()] == [6, 6]
    solved = sum(level["solved"] for level in levels.values())
    assert final["greedy_accuracy"] == pytest.approx(solved / 12)
    # `rlvr eval --run` of that folder evaluates the same levels, and says how many
    again = run_evaluation(run=str(tmp_path))
    assert (again["problems"], again["levels"]) == (12, 2)
    assert again["by_difficulty"] == levels


def test_without_a_sweep_the_training_difficulty_is_the_only_level(tmp_path):
    trainer = Trainer(config_with(tmp_path))
    assert trainer.eval_levels == [trainer.difficulty]


@pytest.mark.parametrize(("value", "message"), [
    ("{num_ops: 2}", "eval_sweep must be a mapping of knob names to non-empty lists"),
    ("{num_ops: []}", "eval_sweep must be a mapping of knob names to non-empty lists"),
])
def test_a_malformed_sweep_is_refused_by_the_config(tmp_path, value, message):
    with pytest.raises(ValueError, match=message):
        config_with(tmp_path, f"eval_sweep={value}")


@pytest.mark.parametrize(("value", "message"), [
    ("{num_opz: [1, 2]}", r"eval_sweep: unknown difficulty knob 'num_opz'.*num_ops"),
    ("{num_ops: [1, 0]}", r"eval_sweep: difficulty knob 'num_ops' must be >= 1"),
])
def test_a_sweep_the_task_cannot_take_is_refused_before_any_work(tmp_path, value, message):
    with pytest.raises(ValueError, match=message):
        Trainer(config_with(tmp_path, f"eval_sweep={value}", "sft_steps=5"))
    assert not (tmp_path / "metrics.jsonl").exists()


def test_each_level_reports_its_sampled_pass_at_k_too(tmp_path):
    config = config_with(tmp_path, "eval_sweep={num_ops: [1, 2]}", "eval_samples=4", "eval_k=[1, 4]")
    Trainer(config).train()
    final = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()][-1]
    levels = final["by_difficulty"]
    for level in levels.values():
        assert {"greedy_accuracy", "sample_accuracy", "pass@1", "pass@4"} <= set(level)
        assert level["pass@1"] <= level["pass@4"]
    # both levels hold 6 problems, so the overall figures are the levels' mean
    for name in ("pass@1", "pass@4", "sample_accuracy"):
        assert final[name] == pytest.approx(sum(level[name] for level in levels.values()) / 2)
