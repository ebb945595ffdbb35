"""The static-cache decode path compiled into CUDA graphs against the eager path, bf16 on CUDA
(skipped without a GPU): the same samples within bfloat16 rounding, graphs that see weight updates."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

VOCAB = 1000


def qwen2_model():
    """A small random Qwen2 (grouped-query attention, biases) in bf16 on the GPU."""
    config = transformers.Qwen2Config(vocab_size=VOCAB, hidden_size=256, intermediate_size=512, num_hidden_layers=4,
                                      num_attention_heads=8, num_key_value_heads=2, max_position_embeddings=1024,
                                      bos_token_id=1, eos_token_id=2, pad_token_id=0)
    torch.manual_seed(0)
    return transformers.AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16).cuda().eval()


def id_prompts(lengths, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randint(3, VOCAB, (length,), generator=generator).tolist() for length in lengths]


@pytest.fixture(scope="module")
def policies():
    from rlvr.agents.hf import TransformersPolicy

    model = qwen2_model()
    options = dict(device="cuda", stop_token_ids=[], max_new_tokens=16)
    return (TransformersPolicy(model, decode="dynamic", **options),
            TransformersPolicy(model, decode="static", **options))


def agreement(eager, graphs):
    """The share of rows sampled alike (the same seeded noise: only a near tie flipped by rounding
    parts them), and the log-prob differences over each row's tokens up to its first difference."""
    same = (eager.completion_ids == graphs.completion_ids).long().cumprod(dim=1).bool()
    differences = (eager.logprobs - graphs.logprobs)[same].abs()
    return same.all(dim=1).float().mean().item(), differences


def test_static_graphs_match_eager_in_bfloat16(policies):
    eager, graphs = policies
    prompts = id_prompts([5, 40, 17, 3, 60, 9, 28, 12])
    for seed in (0, 1):
        first = eager.sample(prompts, num_samples=8, seed=seed, temperature=1.0)
        second = graphs.sample(prompts, num_samples=8, seed=seed, temperature=1.0)
        # a broken step (positions, mask, cache rows) parts nearly every row at its second token
        assert (first.completion_ids[:, 1] == second.completion_ids[:, 1]).float().mean() >= 0.9
        rows_alike, differences = agreement(first, second)
        assert rows_alike >= 0.5, rows_alike
        assert differences.mean() < 0.02 and differences.max() < 0.25
        with torch.no_grad():
            scored = graphs.score(second.prompt_ids, second.completion_ids, second.completion_mask)["logprobs"]
        gap = (scored - second.logprobs)[second.completion_mask].abs()
        assert gap.mean() < 0.02 and gap.max() < 0.25


def test_no_graph_was_skipped(policies):
    from torch._dynamo.utils import counters

    _, graphs = policies
    graphs.sample(id_prompts([7, 21]), num_samples=4, seed=3)
    assert counters["inductor"].get("cudagraph_skips", 0) == 0


def test_graphs_read_the_updated_weights(policies):
    eager, graphs = policies
    prompts = id_prompts([11, 30, 6])
    before = graphs.sample(prompts, num_samples=4, seed=5, temperature=0.0)  # graphs recorded here
    with torch.no_grad():  # an optimiser step changes weights in place: the graphs must read them
        for parameter in graphs.model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    after_eager = eager.sample(prompts, num_samples=4, seed=5, temperature=0.0)
    after_graphs = graphs.sample(prompts, num_samples=4, seed=5, temperature=0.0)
    assert not torch.equal(before.completion_ids, after_graphs.completion_ids)
    assert (after_eager.completion_ids[:, 1] == after_graphs.completion_ids[:, 1]).float().mean() >= 0.9
    _, differences = agreement(after_eager, after_graphs)
    assert differences.max() < 0.25


def test_float32_graphs_equal_eager_with_stops(tiny):
    """In float32 the compiled step rounds like the eager one to ~1e-6: the same samples, stops included."""
    from rlvr.agents.hf import TransformersPolicy

    model, tokenizer = tiny
    prompts = ["1+2=", "What is 12*7? Answer: ", "(3-4)/5 ="]
    options = dict(device="cuda", dtype="float32", max_new_tokens=24)
    eager = TransformersPolicy(model, tokenizer, **options)
    graphs = TransformersPolicy(model, tokenizer, decode="static", **options)
    for seed in (2, 3):
        first, second = eager.sample(prompts, num_samples=8, seed=seed), graphs.sample(prompts, num_samples=8, seed=seed)
        rows_alike, differences = agreement(first, second)
        assert rows_alike >= 0.95 and differences.max() < 1e-3
        assert first.finished == second.finished or rows_alike < 1
        assert (second.logprobs[~second.completion_mask] == 0).all()
