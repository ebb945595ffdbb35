"""The GRPO loop on the tiny model, on CPU: SFT, RL steps, zero-signal groups, skips, exact resume."""

from __future__ import annotations

import json

import pytest
import torch

from rlvr.training import trainer as trainer_module
from rlvr.training.builders import build_policy, build_task
from rlvr.training.config import load_config
from rlvr.training.rollout import ProblemStream, collect_group_rollouts
from rlvr.training.sft import sft_batch, sft_loss
from rlvr.training.trainer import Trainer

# a smaller model than the quickstart's keeps these tests quick; the loop is the same
SMALL = [
    "tiny_hidden_size=32", "tiny_num_layers=1", "tiny_num_heads=2", "tiny_intermediate_size=64",
    "max_new_tokens=4", "prompts_per_step=4", "group_size=4", "eval_problems=16", "eval_samples=4",
    "eval_k=[1, 4]", "eval_every=2", "progress=false", "checkpoint_every=1", "plots=false",
]


def small_config(tmp_path, *extra):
    return load_config("scenarios/quickstart.yaml", [*SMALL, f"out_dir={tmp_path}", *extra])


def step_lines(path):
    lines = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
    return [line for line in lines if "eval" not in line]


def test_sft_lowers_the_loss_on_a_fixed_batch(tmp_path):
    config = small_config(tmp_path)
    task, policy = build_task(config), build_policy(config)
    prompt_ids, targets = sft_batch(policy, task, ProblemStream(task, 0, config.difficulty).take(16), "answer")
    # the target is the answer's digits and EOS, nothing of the prompt
    assert all(ids[-1] == policy.stop_token_ids[0] for ids in targets)
    optimizer = torch.optim.AdamW(policy.model.parameters(), lr=3e-3)
    with torch.no_grad():
        before = float(sft_loss(policy, prompt_ids, targets))
    for _ in range(15):
        optimizer.zero_grad()
        sft_loss(policy, prompt_ids, targets).backward()
        optimizer.step()
    with torch.no_grad():
        after = float(sft_loss(policy, prompt_ids, targets))
    assert after < before - 0.5, (before, after)


def test_grpo_steps_give_finite_metrics_and_a_run_folder(tmp_path):
    config = small_config(tmp_path, "sft_steps=2", "rl_steps=3", "plots=true")
    summary = Trainer(config).train()
    lines = step_lines(tmp_path)
    assert [line["step"] for line in lines] == [1, 2, 3]
    keys = ("reward_mean", "accuracy", "loss", "grad_norm", "samples_per_s", "time_sampling", "time_scoring",
            "time_fwd_bwd", "time_optimizer")
    for line in lines:
        assert all(torch.isfinite(torch.tensor(float(line[key]))) for key in keys), line
        assert 0.0 <= line["reward_mean"] <= 1.0 and line["skipped_updates"] == 0
    assert {"pass@1", "pass@4", "maj@4", "greedy_accuracy", "mean_length"} <= set(summary["final"])
    assert (tmp_path / "config.yaml").is_file() and (tmp_path / "checkpoint.pt").is_file()
    assert load_config(tmp_path / "config.yaml") == config  # the saved config reloads to the same run
    assert len(list((tmp_path / "plots").glob("*.png"))) == 5
    assert list(tmp_path.glob("events.out.tfevents.*"))  # TensorBoard scalars beside the JSONL


def test_groups_with_equal_rewards_contribute_no_gradient(tmp_path):
    config = small_config(tmp_path)
    trainer = Trainer(config)
    problems = trainer.train_stream.take(2)
    batch = collect_group_rollouts(trainer.policy, trainer.task, problems, 4, max_new_tokens=4, seed=0)

    def gradient(rewards):
        batch.rewards = rewards
        trainer.model.zero_grad()
        trainer.policy_loss(batch, trainer.advantages(batch))[0].backward()
        return torch.cat([p.grad.flatten() for p in trainer.model.parameters() if p.grad is not None])

    all_equal = gradient(torch.ones(2, 4))
    assert torch.count_nonzero(all_equal) == 0
    mixed = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 0.0, 0.0, 1.0]])
    with_group = gradient(mixed)
    assert torch.count_nonzero(with_group) > 0
    # swapping the all-equal group's completions changes nothing: it contributes no gradient
    ids = batch.sample.completion_ids
    ids[:4] = ids[:4].flip(0)
    batch.sample.logprobs[:4] = batch.sample.logprobs[:4].flip(0)
    batch.sample.completion_mask[:4] = batch.sample.completion_mask[:4].flip(0)
    torch.testing.assert_close(gradient(mixed), with_group, rtol=1e-5, atol=1e-7)


class _ScaledLoss:
    """A loss wrapper that multiplies the wrapped loss (to make it non-finite on purpose)."""

    def __init__(self, loss, factor):
        self.loss, self.factor = loss, factor
        self.needs, self.needs_reference = loss.needs, loss.needs_reference

    def __call__(self, *args, **kwargs):
        return self.loss(*args, **kwargs) * self.factor


def test_non_finite_loss_skips_the_update_and_is_logged(tmp_path, monkeypatch):
    config = small_config(tmp_path, "sft_steps=0", "rl_steps=1", "eval_every=0")
    trainer = Trainer(config)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    real_loss = trainer.loss_fn
    monkeypatch.setattr(trainer, "loss_fn", _ScaledLoss(real_loss, float("nan")))
    record = trainer.rl_step()
    assert record["skipped_updates"] == 1
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.model.parameters(), strict=True))
    assert step_lines(tmp_path)[0]["skipped_updates"] == 1
    # the NaN loss and gradient norm are written as null: every line is strict JSON
    def refuse(constant):
        raise AssertionError(f"metrics.jsonl holds a bare {constant}, which is not JSON")

    (line,) = (tmp_path / "metrics.jsonl").read_text().splitlines()
    logged = json.loads(line, parse_constant=refuse)
    assert logged["loss"] is None and logged["grad_norm"] is None


def test_resume_repeats_the_uninterrupted_run_exactly(tmp_path):
    compared = ("reward_mean", "accuracy", "loss", "grad_norm", "mean_length", "groups_with_signal")
    straight = tmp_path / "straight"
    Trainer(small_config(straight, "sft_steps=3", "rl_steps=4", "eval_every=0")).train()
    interrupted = tmp_path / "interrupted"
    Trainer(small_config(interrupted, "sft_steps=3", "rl_steps=2", "eval_every=0")).train()
    # a step logged after the checkpoint (as after a kill) must be dropped and redone, not repeated
    with open(interrupted / "metrics.jsonl", "a") as handle:
        handle.write(json.dumps({"step": 3, "reward_mean": -1.0}) + "\n")
    Trainer(small_config(interrupted, "sft_steps=3", "rl_steps=4", "eval_every=0", "resume=true")).train()
    one, two = step_lines(straight), step_lines(interrupted)
    assert [line["step"] for line in two] == [1, 2, 3, 4]
    for a, b in zip(one, two, strict=True):
        assert {key: a[key] for key in compared} == {key: b[key] for key in compared}


def test_train_from_scenario_applies_overrides(tmp_path):
    summary = trainer_module.train_from_scenario(
        "scenarios/quickstart.yaml", [*SMALL, "sft_steps=1", "rl_steps=1"], out_dir=str(tmp_path)
    )
    assert summary["steps"] == 1 and (tmp_path / "summary.json").is_file()


def test_unknown_difficulty_knob_fails_before_work(tmp_path):
    with pytest.raises(KeyError, match="max_operand"):
        build_task(load_config({"env_id": "rlvr/RandomCalc-v0", "difficulty": {"max_opernd": 5}}))


def test_sft_baseline_trains_the_same_start_for_the_run_wall_time(tmp_path):
    from rlvr.training.baseline import sft_only_baseline

    config = small_config(tmp_path, "sft_steps=2", "rl_steps=1", "eval_problems=8", "eval_samples=2", "eval_k=[1, 2]")
    result = sft_only_baseline(config, seconds=0.5, trainer_class=Trainer)
    assert result["sft_only_steps"] >= 1 and result["sft_only_s"] >= 0.5
    assert 0.0 <= result["greedy_accuracy_sft_only"] <= 1.0
    run = small_config(tmp_path / "run", "sft_steps=2", "rl_steps=1", "eval_problems=8", "eval_samples=2", "eval_k=[1, 2]",
                       "sft_baseline=true")
    summary = Trainer(run).train()
    assert summary["sft_only_s"] >= summary["sft_s"] + summary["rl_s"]
    assert "greedy_accuracy_sft_only" in summary
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["sft_only_steps"] == summary["sft_only_steps"]


def test_kill_9_mid_run_then_resume_loses_and_repeats_no_step(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    steps = 12
    sets = [*SMALL, "sft_steps=3", f"rl_steps={steps}", "eval_every=0"]
    command = [sys.executable, "-m", "rlvr.cli", "train", "scenarios/quickstart.yaml", "--out", str(tmp_path / "killed")]
    for item in sets:
        command += ["--set", item]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics = tmp_path / "killed" / "metrics.jsonl"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if metrics.is_file() and metrics.read_text().count('"reward_mean"') >= 4:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the run ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    logged_before = [line["step"] for line in step_lines(tmp_path / "killed")]
    assert 4 <= len(logged_before) < steps
    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    Trainer(small_config(tmp_path / "straight", "sft_steps=3", f"rl_steps={steps}", "eval_every=0")).train()
    killed, straight = step_lines(tmp_path / "killed"), step_lines(tmp_path / "straight")
    assert [line["step"] for line in killed] == list(range(1, steps + 1))
    for a, b in zip(killed, straight, strict=True):
        assert a["loss"] == b["loss"] and a["reward_mean"] == b["reward_mean"], (a["step"], a, b)


def test_dynamic_sampling_trains_only_groups_with_signal_and_refills(tmp_path):
    config = small_config(tmp_path, "sft_steps=20", "rl_steps=2", "eval_every=0", "dynamic_sampling=true",
                          "dynamic_sampling_max_draws=4", "prompts_per_step=3")
    trainer = Trainer(config)
    record = trainer.rl_step()
    assert 1 <= record["dynamic_draws"] <= 4 and record["groups"] <= 3
    # every draw took prompts_per_step problems from the stream
    assert trainer.train_stream.state_dict()["index"] == 3 * record["dynamic_draws"]
    batch, *_ = trainer.collect(trainer.train_stream.take(3), seed=11)
    from rlvr.training.rollout import select_groups

    mixed = select_groups([(batch, [2]), (batch, [0])], trainer.policy.pad_token_id)
    assert mixed.problems == [batch.problems[2], batch.problems[0]]
    assert torch.equal(mixed.rewards, batch.rewards[[2, 0]])
    g = batch.group_size
    assert mixed.sample.texts == batch.sample.texts[2 * g : 3 * g] + batch.sample.texts[:g]
    width = batch.sample.completion_ids.shape[1]
    assert torch.equal(mixed.sample.completion_ids[:g, :width], batch.sample.completion_ids[2 * g : 3 * g])


def test_dynamic_sampling_keeps_only_mixed_groups(tmp_path, monkeypatch):
    config = small_config(tmp_path, "sft_steps=0", "rl_steps=1", "eval_every=0", "dynamic_sampling=true",
                          "dynamic_sampling_max_draws=2", "prompts_per_step=2")
    trainer = Trainer(config)
    real_collect = trainer.collect
    verdicts = iter([[[1.0, 1.0, 1.0, 1.0], [1.0, 0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0]]])

    def scripted(problems, seed):  # the verifier's verdicts replaced: group 1 of each draw has signal
        batch, sampling, scoring = real_collect(problems, seed)
        batch.components["correct"] = torch.tensor(next(verdicts))
        batch.rewards = batch.components["correct"].clone()
        return batch, sampling, scoring

    monkeypatch.setattr(trainer, "collect", scripted)
    record = trainer.rl_step()
    assert record["dynamic_draws"] == 2 and record["groups"] == 2
    assert record["reward_mean"] == pytest.approx((1 + 2) / 8)  # [1,0,0,0] and [0,1,1,0] kept


def test_overlong_penalty_lowers_rewards_of_long_responses(tmp_path):
    plain = Trainer(small_config(tmp_path / "a", "sft_steps=0", "rl_steps=1", "eval_every=0")).rl_step()
    shaped = Trainer(small_config(tmp_path / "b", "sft_steps=0", "rl_steps=1", "eval_every=0",
                                  "overlong_buffer=2")).rl_step()
    # the same samples (same seeds); random weights rarely stop early, so most lose reward
    assert shaped["mean_length"] == plain["mean_length"] and shaped["mean_length"] > 2
    assert shaped["reward_mean"] < plain["reward_mean"]
    with pytest.raises(ValueError, match="overlong_buffer"):
        small_config(tmp_path, "overlong_buffer=99")


def test_a_run_without_rl_steps_evaluates_once(tmp_path, monkeypatch):
    """With no RL step after the warm-up the final evaluation would repeat the after-SFT one (same
    weights, problems and sampling seeds), so it is that one, logged again as `final`."""
    config = small_config(tmp_path, "sft_steps=2", "rl_steps=0")
    trainer = Trainer(config)
    calls = []
    real = trainer._evaluate_on
    monkeypatch.setattr(trainer, "_evaluate_on", lambda *args, **kwargs: calls.append(1) or real(*args, **kwargs))
    summary = trainer.train()
    assert len(calls) == 1
    evals = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines() if "eval" in line]
    after, final = evals[-2], evals[-1]
    assert (after["eval"], final["eval"]) == ("after_sft", "final")
    assert {**after, "eval": "final"} == final
    assert summary["final"]["greedy_accuracy"] == after["greedy_accuracy"]
    # the repeat it replaces gives the same numbers
    assert real(trainer._eval_problems, num_samples=config.eval_samples)["pass@4"] == after["pass@4"]


def test_a_resumed_run_without_rl_steps_reuses_the_saved_after_sft_evaluation(tmp_path, monkeypatch):
    """Stopped after the warm-up's checkpoint (as a kill during the old repeat left it), the resumed
    run takes the saved after-SFT evaluation as final rather than evaluating again."""
    config = small_config(tmp_path, "sft_steps=2", "rl_steps=0")
    first = Trainer(config)
    real_save = first.save_checkpoint
    saves = []

    def save_then_stop():
        real_save()
        saves.append(1)
        raise KeyboardInterrupt

    monkeypatch.setattr(first, "save_checkpoint", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        first.train()
    after = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines() if "eval" in line][-1]
    assert after["eval"] == "after_sft" and saves == [1]
    resumed = Trainer(small_config(tmp_path, "sft_steps=2", "rl_steps=0", "resume=true"))
    monkeypatch.setattr(resumed, "_evaluate_on", lambda *args, **kwargs: pytest.fail("evaluated again"))
    summary = resumed.train()
    assert summary["final"]["pass@4"] == after["pass@4"]
    # with RL steps after it, the final evaluation is a new one
    more = Trainer(small_config(tmp_path, "sft_steps=2", "rl_steps=1", "resume=true", "force_resume=true"))
    calls = []
    real = more._evaluate_on
    monkeypatch.setattr(more, "_evaluate_on", lambda *args, **kwargs: calls.append(1) or real(*args, **kwargs))
    more.train()
    assert calls
