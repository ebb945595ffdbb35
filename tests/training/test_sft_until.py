"""A warm-up that ends at an accuracy: checked on train-split problems, logged, capped by sft_steps."""

from __future__ import annotations

import json

import pytest

from rlvr.training import evaluate as evaluate_module
from rlvr.training.builders import heldout_problems
from rlvr.training.config import load_config
from rlvr.training.trainer import Trainer

SMALL = [
    "tiny_hidden_size=32", "tiny_num_layers=1", "tiny_num_heads=2", "tiny_intermediate_size=64",
    "max_new_tokens=4", "prompts_per_step=4", "group_size=4", "eval_problems=16", "eval_samples=4",
    "eval_k=[1, 4]", "eval_every=0", "progress=false", "checkpoint_every=0", "plots=false", "tensorboard=false",
    "rl_steps=1", "sft_check_problems=7", "sft_check_every=2",
]
CHECK_SIZE = 7


def small_config(tmp_path, *extra):
    return load_config("scenarios/quickstart.yaml", [*SMALL, f"out_dir={tmp_path}", *extra])


def scripted_checks(monkeypatch, accuracies):
    """Make the warm-up's checks (the 7-problem evaluations) report `accuracies` in turn; record
    the problems they were asked about. Held-out evaluations stay real."""
    real, seen, script = evaluate_module.evaluate, [], iter(accuracies)

    def fake(policy, task, problems, **kwargs):
        if len(problems) != CHECK_SIZE:
            return real(policy, task, problems, **kwargs)
        seen.append(list(problems))
        return {"greedy_accuracy": next(script), "greedy_reward": 0.0, "mean_length": 1.0,
                "num_problems": float(len(problems))}

    monkeypatch.setattr(evaluate_module, "evaluate", fake)  # the generator evaluates through this module
    return seen


def check_lines(path):
    lines = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
    return [line for line in lines if line.get("eval") == "sft_check"]


def test_warm_up_ends_at_the_first_check_that_reaches_the_target(tmp_path, monkeypatch):
    seen = scripted_checks(monkeypatch, [0.1, 0.25, 0.5, 0.9])
    summary = Trainer(small_config(tmp_path, "sft_steps=40", "sft_until_accuracy=0.4")).train()
    assert summary["sft_steps"] == 6  # checks after steps 2, 4, 6: the third reaches 0.4
    assert [(line["sft_step"], line["train_greedy_accuracy"]) for line in check_lines(tmp_path)] == [
        (2, 0.1), (4, 0.25), (6, 0.5)]
    assert len(seen) == 3 and all(problems == seen[0] for problems in seen)  # one fixed check set


def test_warm_up_that_never_reaches_the_target_takes_every_step(tmp_path, monkeypatch):
    scripted_checks(monkeypatch, [0.1, 0.2, 0.3])
    summary = Trainer(small_config(tmp_path, "sft_steps=5", "sft_until_accuracy=0.9")).train()
    assert summary["sft_steps"] == 5
    assert [line["sft_step"] for line in check_lines(tmp_path)] == [2, 4]


def test_without_a_target_the_warm_up_is_unchanged(tmp_path, monkeypatch):
    seen = scripted_checks(monkeypatch, [])
    summary = Trainer(small_config(tmp_path, "sft_steps=3", "sft_until_accuracy=null")).train()
    assert summary["sft_steps"] == 3 and not seen and not check_lines(tmp_path)


def test_no_warm_up_leaves_the_target_unused(tmp_path, monkeypatch):
    seen = scripted_checks(monkeypatch, [])
    summary = Trainer(small_config(tmp_path, "sft_steps=0", "sft_until_accuracy=0.5")).train()
    assert summary["sft_steps"] == 0 and not seen and not check_lines(tmp_path)


def test_check_problems_are_train_split_and_never_held_out(tmp_path, monkeypatch):
    seen = scripted_checks(monkeypatch, [1.0])
    config = small_config(tmp_path, "sft_steps=4", "sft_until_accuracy=0.5", "sft_check_problems=7")
    trainer = Trainer(config)
    trainer.train()
    check_ids = {problem.problem_id for problem in seen[0]}
    assert len(check_ids) == CHECK_SIZE
    assert {problem.split for problem in seen[0]} == {"train"}
    held_out = heldout_problems(trainer.task, config, trainer.difficulty)
    assert not check_ids & {problem.problem_id for problem in held_out}


@pytest.mark.parametrize("extra, message", [
    (["sft_until_accuracy=0"], "sft_until_accuracy must be in (0, 1]"),
    (["sft_until_accuracy=1.5"], "sft_until_accuracy must be in (0, 1]"),
    (["sft_until_accuracy=.nan"], "finite"),
    (["sft_until_accuracy=0.3", "sft_check_every=0"], "sft_check_every must be >= 1"),
])
def test_invalid_warm_up_targets_fail_before_work(tmp_path, extra, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        small_config(tmp_path, *extra)


def test_a_float32_solve_rate_meets_the_target_it_equals(tmp_path, monkeypatch):
    """70 of 100 as a float32 mean reads 0.699999988; a 0.7 target is met there, not a check later."""
    import torch

    seventy = float(torch.tensor([1.0] * 70 + [0.0] * 30).mean())
    assert seventy < 0.7
    scripted_checks(monkeypatch, [0.5, seventy, 0.9])
    summary = Trainer(small_config(tmp_path, "sft_steps=20", "sft_until_accuracy=0.7")).train()
    assert [line["sft_step"] for line in check_lines(tmp_path)] == [2, 4]
    assert summary["after_sft"]["sft_steps"] == 4
