"""Reward transforms in the trainer: a 20-step run per transform on the tiny model, and a killed run
with random rewards resuming to the uninterrupted run's numbers (`test_overlong_before` holds the
runs recorded before transforms were plug-ins)."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from rlvr.training.reward_transforms import Corrupt  # noqa: E402
from rlvr.training.trainer import Trainer  # noqa: E402
from tests.training.interrupt import run_until_killed  # noqa: E402
from tests.training.test_advantage_training import RUN, held_up  # noqa: E402
from tests.training.test_trainer import small_config, step_lines  # noqa: E402


def _run(path, transforms):
    trainer = Trainer(small_config(path, *RUN, "tensorboard=false", f"reward_transforms={transforms}"))
    trainer.train()
    lines = step_lines(path)
    assert [line["step"] for line in lines] == list(range(1, 21))
    for line in lines:
        assert line["skipped_updates"] == 0, line
        assert all(math.isfinite(line[key]) for key in ("loss", "grad_norm", "reward_mean", "raw_reward_mean")), line
    return lines


def _mean(values):
    values = list(values)
    return sum(values) / len(values)


def test_a_short_run_with_the_overlong_transform(tmp_path):
    lines = _run(tmp_path, "[{name: overlong, buffer: 2}]")  # max_new_tokens 3: a 2- or 3-token answer pays
    assert held_up(lines), [line["accuracy"] for line in lines]
    assert any(line["overlong_penalty_mean"] < 0 for line in lines)
    for line in lines:
        assert line["reward_mean"] == pytest.approx(line["raw_reward_mean"] + line["overlong_penalty_mean"], abs=1e-6)


def test_a_short_run_with_accurate_rewards_changes_nothing(tmp_path):
    lines = _run(tmp_path, "[{name: corrupt, mode: accurate}]")
    assert held_up(lines), [line["accuracy"] for line in lines]
    assert all(line["corrupt_changed"] == 0.0 and line["reward_mean"] == line["raw_reward_mean"] for line in lines)


def test_a_short_run_with_random_rewards(tmp_path):
    lines = _run(tmp_path, "[{name: corrupt, mode: random}]")
    # the shuffle keeps every group's rewards, so the mean reward is the verifier's, step by step
    assert all(line["reward_mean"] == line["raw_reward_mean"] for line in lines)
    assert sum(line["corrupt_changed"] for line in lines) > 0
    assert sum(line["groups_with_signal"] for line in lines) > 0


def test_a_short_run_with_inverted_rewards_unlearns(tmp_path):
    """The control that the corruption reaches training: rewarding wrong answers drives accuracy down
    and under 0.1 (on this setup from 0.5 on the machine it was written on, from 0.14 on an AVX2 one, whose
    floats give another warm-up), where accurate rewards hold it."""
    lines = _run(tmp_path, "[{name: corrupt, mode: inverted}]")
    assert all(line["reward_mean"] == pytest.approx(1 - line["raw_reward_mean"]) for line in lines)
    assert all(line["raw_reward_mean"] == line["accuracy"] for line in lines)  # accuracy stays the verifier's
    early, late = _mean(line["accuracy"] for line in lines[:5]), _mean(line["accuracy"] for line in lines[-10:])
    assert late < early and late < 0.1, (early, late)


# ---- exact resume after a kill, with random rewards --------------------------------------------------------------

RESUME = ["difficulty={num_ops: 1, operators: ['+'], min_operand: 0, max_operand: 4}", "max_new_tokens=3",
          "sft_steps=100", "sft_batch_size=32", "sft_lr=3e-3", "lr=5e-4", "eval_every=0", "checkpoint_every=2",
          "rl_steps=6", "reward_transforms=[{name: corrupt, mode: random}]", "tensorboard=false"]
COMPARED = ("reward_mean", "raw_reward_mean", "accuracy", "loss", "grad_norm", "mean_length", "corrupt_changed")


def _killed_then_resumed(path, monkeypatch):
    run_until_killed(small_config(path, *RESUME), monkeypatch)
    Trainer(small_config(path, *RESUME, "resume=true")).train()
    return step_lines(path)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    path = tmp_path_factory.mktemp("straight")
    Trainer(small_config(path, *RESUME)).train()
    return step_lines(path)


def _rows(lines):
    return [[line[key] for key in COMPARED] for line in lines]


def test_a_killed_run_with_random_rewards_resumes_to_the_same_numbers(tmp_path, monkeypatch, straight):
    lines = _killed_then_resumed(tmp_path, monkeypatch)
    assert [line["step"] for line in lines] == [1, 2, 3, 4, 5, 6]
    assert _rows(lines) == _rows(straight)
    assert sum(line["corrupt_changed"] for line in straight[2:]) > 0  # the shuffle was on after the resume point
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["reward_transforms"]
    assert saved == {"corrupt": {}}


def test_a_shuffle_seeded_by_call_count_would_not_resume(tmp_path, monkeypatch, straight):
    """The control: seeding by how many steps this process ran, not by the step, makes the resumed run
    differ after the resume point, so the check above can fail."""
    calls = iter(range(10**6))
    monkeypatch.setattr(Corrupt, "seed_of", lambda self, step: self.seed * 1_000_033 + next(calls) + 0x5EED_C0DE)
    lines = _killed_then_resumed(tmp_path, monkeypatch)
    same = [row == other for row, other in zip(_rows(lines), _rows(straight), strict=True)]
    assert same[:2] == [True, True] and not all(same[2:])
