"""The entropy estimate of RL step lines: -mean log p of the policy's own sampled tokens."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def test_the_entropy_estimate_is_minus_the_mean_log_prob_of_the_policys_own_tokens():
    from types import SimpleNamespace

    from rlvr.training.sampled_entropy import sampled_entropy_sums

    logprobs = torch.tensor([[-1.0, -2.0, -7.0], [-0.5, 0.0, 0.0]])
    mask = torch.tensor([[True, True, False], [True, False, False]])  # -7: an env token or padding
    total, count = sampled_entropy_sums(SimpleNamespace(loss_mask=mask, sample=SimpleNamespace(logprobs=logprobs)))
    assert (total, count) == (pytest.approx(3.5), 3)


def _batch(logprobs, mask):
    from types import SimpleNamespace

    return SimpleNamespace(loss_mask=mask, sample=SimpleNamespace(logprobs=logprobs))


def test_over_many_samples_the_estimate_approaches_the_entropy():
    from rlvr.training.sampled_entropy import sampled_entropy_sums

    probs = torch.tensor([0.5, 0.25, 0.125, 0.0625, 0.0625])
    entropy = float(-(probs * probs.log()).sum())
    tokens = torch.multinomial(probs, 40_000, replacement=True, generator=torch.Generator().manual_seed(0))
    logprobs = probs.log()[tokens].view(400, 100)
    total, count = sampled_entropy_sums(_batch(logprobs, torch.ones_like(logprobs, dtype=torch.bool)))
    assert total / count == pytest.approx(entropy, abs=0.02)


def test_rl_step_lines_carry_the_estimate_of_their_own_samples(tmp_path):
    from rlvr.training.config import load_config
    from rlvr.training.sampled_entropy import ENTROPY_KEY, sampled_entropy_sums
    from rlvr.training.trainer import Trainer

    config = load_config({"env_id": "rlvr/RandomCalc-v0", "difficulty": {"num_ops": 1, "operators": ["+"]},
                          "prompt_template": "{expression}=", "tiny_hidden_size": 32, "tiny_num_layers": 1,
                          "tiny_num_heads": 2, "tiny_intermediate_size": 64, "max_new_tokens": 4,
                          "prompts_per_step": 2, "group_size": 3, "rl_steps": 1, "eval_every": 0,
                          "eval_problems": 4, "eval_samples": 2, "eval_k": [1, 2], "progress": False,
                          "plots": False, "out_dir": str(tmp_path)})
    trainer = Trainer(config)
    sampled = []
    collect = trainer.collect

    def recording(problems, seed):
        collected = collect(problems, seed)
        sampled.append(sampled_entropy_sums(collected[0]))
        return collected

    trainer.collect = recording
    line = trainer.rl_step()
    total, count = map(sum, zip(*sampled, strict=True))
    assert count > 0 and line[ENTROPY_KEY] == pytest.approx(total / count)


def test_a_steps_estimate_pools_its_batches_by_token():
    from rlvr.training.sampled_entropy import ENTROPY_KEY, step_entropy

    one = _batch(torch.tensor([[-1.0, -3.0]]), torch.tensor([[True, True]]))  # 4 nats over 2 tokens
    other = _batch(torch.tensor([[-4.0, -9.0]]), torch.tensor([[True, False]]))  # 4 nats over 1 token
    assert step_entropy([one, other]) == {ENTROPY_KEY: pytest.approx(8 / 3)}
    assert step_entropy([]) == {}
