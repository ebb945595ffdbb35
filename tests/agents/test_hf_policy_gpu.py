"""TransformersPolicy in bfloat16 on CUDA (skipped without a GPU): sampling and score consistency."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

PROMPTS = ["1+2=", "What is 12*7? Answer: ", "(3-4)/5 =", "Evaluate 2*(3+4) exactly."]


@pytest.fixture(scope="module")
def cuda_policy():
    from rlvr.agents.hf import TransformersPolicy
    from rlvr.agents.tiny import build_tiny_model

    model, tokenizer = build_tiny_model(seed=0)
    return TransformersPolicy(model, tokenizer, device="cuda", max_new_tokens=32)


def test_cuda_defaults_to_bfloat16(cuda_policy):
    assert cuda_policy.dtype == torch.bfloat16
    assert next(cuda_policy.model.parameters()).dtype == torch.bfloat16


def test_sampling_a_batch_on_cuda_is_seeded(cuda_policy):
    batch = cuda_policy.sample(PROMPTS, num_samples=16, seed=0)
    again = cuda_policy.sample(PROMPTS, num_samples=16, seed=0)
    assert batch.completion_ids.device.type == "cuda"
    assert batch.completion_ids.shape[0] == 64 and len(batch.texts) == 64
    assert torch.equal(batch.completion_ids, again.completion_ids)
    assert torch.isfinite(batch.logprobs).all()
    assert batch.logprobs.dtype == torch.float32


def test_score_matches_sample_logprobs_at_bfloat16_tolerance(cuda_policy):
    batch = cuda_policy.sample(PROMPTS, num_samples=16, seed=1)
    with torch.no_grad():
        scored = cuda_policy.score(
            batch.prompt_ids, batch.completion_ids, batch.completion_mask, need=("logprobs", "entropy", "vocab_mean_logprob")
        )
    mask = batch.completion_mask
    difference = (scored["logprobs"] - batch.logprobs)[mask].abs()
    # bf16 weights and activations: cached decoding and one full pass round differently
    assert difference.mean() < 0.02 and difference.max() < 0.25
    assert torch.isfinite(scored["entropy"][mask]).all()
    assert (scored["vocab_mean_logprob"][mask] < scored["logprobs"][mask].max()).all()
