"""A step line's token figures are the sampled batch's, whatever the advantage plug-in leaves out of the
loss: a D3S step that drops three quarters of the tokens logs the mean_length and entropy of a GRPO step
on the same samples (and of the sampled tokens counted directly), plus the share it kept."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.training.trainer import Trainer  # noqa: E402
from tests.training.test_advantage_training import EASY  # noqa: E402
from tests.training.test_trainer import small_config  # noqa: E402

ONE_STEP = [*EASY, "sft_steps=0", "eval_every=0", "checkpoint_every=0", "tensorboard=false", "max_new_tokens=6"]


def _first_step(tmp_path, *extra):
    """The first step's line and the batch it sampled (before any update: the same samples for every
    plug-in of one config and seed)."""
    trainer = Trainer(small_config(tmp_path, *ONE_STEP, *extra))
    sampled = []
    real = trainer.collect

    def keeping(*args, **kwargs):
        batch, *times = real(*args, **kwargs)
        sampled.append((batch.sample.completion_mask.clone(), batch.sample.logprobs.clone()))
        return (batch, *times)

    trainer.collect = keeping
    return trainer.rl_step(), sampled[0]


@pytest.mark.parametrize("settings", ["{level: token, keep: 0.25, relax_steps: 100}",
                                      "{level: sample, keep: 0.25, relax_steps: 100}"])
def test_a_d3s_step_logs_the_sampled_length_and_entropy_and_what_it_kept(tmp_path, settings):
    grpo, (mask, logprobs) = _first_step(tmp_path / "grpo", "advantage=grpo")
    d3s, (same_mask, same_logprobs) = _first_step(tmp_path / "d3s", "advantage=d3s", f"advantage_settings={settings}")
    assert torch.equal(mask, same_mask) and torch.equal(logprobs, same_logprobs)  # the same samples
    # the sampled lengths and entropy, counted from the samples themselves
    assert d3s["mean_length"] == grpo["mean_length"] == pytest.approx(float(mask.sum(-1).float().mean()))
    entropy = float(-(logprobs * mask).sum() / mask.sum())
    assert d3s["entropy"] == pytest.approx(grpo["entropy"]) and grpo["entropy"] == pytest.approx(entropy, rel=1e-6)
    # what D3S kept: a quarter of the tokens (ceil over the batch), or a quarter of each group's rollouts
    tokens = int(mask.sum())
    if "token" in settings:
        assert d3s["kept_token_fraction"] == pytest.approx(math.ceil(0.25 * tokens) / tokens)
    else:
        assert 0 < d3s["kept_token_fraction"] < 1
    assert "kept_token_fraction" not in grpo  # a plug-in that never drops says nothing of it
