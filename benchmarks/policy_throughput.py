"""Sampling and scoring throughput of `TransformersPolicy` against `model.generate` in the same run.

Rows of the table:
- `policy.sample`: our batched KV-cache loop, which also returns each token's log-prob;
- `generate`: `model.generate` with the same batch, lengths and sampling settings, returning only
  token ids (the cheapest thing it can do: a floor for the baseline's cost);
- `generate+logprobs`: `generate` asked for its per-step logits (`output_logits=True`) and the
  sampled tokens' log-probs gathered from them: the like-for-like baseline for RL;
- `score(...)`: one forward pass over prompt + completion, with the quantities named; its
  tokens/s counts the completion tokens scored (prompt tokens are processed but not counted).

Every row generates exactly `--new-tokens` tokens per sample: the policy runs with no stop token
and `generate` with `min_new_tokens` equal to `max_new_tokens`, so EOS cannot end rows early in
either. Temperature 1, top-p 1 and (for `generate`) top-k 0: plain sampling in both.

Models (random weights, built in code, nothing downloaded):
- `tiny`: the project's tiny Llama-style model (about 1M parameters) and its character tokenizer;
- `qwen2-0.5b`: a Qwen2 config of the 0.5B shape (hidden 896, 24 layers, 14 heads, 2 KV heads,
  MLP 4864, vocabulary 151936, tied embeddings). Prompts are synthetic token ids drawn uniformly
  from the vocabulary (no tokenizer is needed for ids), so the policy runs without a tokenizer and
  returns empty texts.

Prompt lengths vary between half of `--prompt-length` and `--prompt-length`, so left padding is
exercised. Example:
    python benchmarks/policy_throughput.py --model qwen2-0.5b --device cuda --dtype bfloat16 \\
        --batch 64 --new-tokens 128 --out runs/policy_throughput.json
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import transformers

from rlvr.agents.hf import TransformersPolicy, resolve_device, resolve_dtype
from rlvr.agents.tiny import build_tiny_model, count_parameters


def build_model(name: str, device: str, dtype: torch.dtype, seed: int):
    """(model, tokenizer or None) with random weights, already on `device` in `dtype`."""
    if name == "tiny":
        model, tokenizer = build_tiny_model(seed=seed)
        return model.to(device=device, dtype=dtype), tokenizer
    if name == "qwen2-0.5b":
        config = transformers.Qwen2Config(
            vocab_size=151936,
            hidden_size=896,
            intermediate_size=4864,
            num_hidden_layers=24,
            num_attention_heads=14,
            num_key_value_heads=2,
            max_position_embeddings=32768,
            tie_word_embeddings=True,
            bos_token_id=151643,
            eos_token_id=151645,
            pad_token_id=151643,
        )
        torch.manual_seed(seed)
        with torch.device(device):  # initialise on the device: far faster than on CPU for 0.5B
            model = transformers.AutoModelForCausalLM.from_config(config, dtype=dtype)
        return model.eval(), None
    raise ValueError(f"--model must be 'tiny' or 'qwen2-0.5b', got {name!r}")


def synthetic_prompts(batch: int, max_length: int, vocab_size: int, seed: int) -> list[list[int]]:
    """Random token-id prompts of lengths in [max_length // 2, max_length], avoiding ids 0-3."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(max(1, max_length // 2), max_length + 1, size=batch)
    return [rng.integers(4, vocab_size, size=int(length)).tolist() for length in lengths]


def timed(function, device: str, repeats: int, warmup: int) -> tuple[list[float], object]:
    """Wall-clock seconds of `repeats` calls after `warmup` untimed ones; also the last result."""
    result = None
    for _ in range(warmup):
        result = function()
    seconds = []
    for _ in range(repeats):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = function()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
    return seconds, result


def left_padded(prompts: list[list[int]], pad_id: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(prompt) for prompt in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt) :] = torch.tensor(prompt)
        mask[row, width - len(prompt) :] = 1
    return ids.to(device), mask.to(device)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tiny", choices=["tiny", "qwen2-0.5b"])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--dtype", default="auto", help="auto (bf16 on CUDA, fp32 on CPU), bfloat16, float32")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--prompt-length", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    model, tokenizer = build_model(args.model, device, dtype, args.seed)
    vocab_size = model.config.vocab_size
    pad_id = model.config.pad_token_id
    eos_id = model.config.eos_token_id
    policy = TransformersPolicy(model, tokenizer, device=device, dtype=dtype, stop_token_ids=[])
    prompts = synthetic_prompts(args.batch, args.prompt_length, vocab_size, args.seed)
    input_ids, attention_mask = left_padded(prompts, pad_id, device)
    generated_tokens = args.batch * args.new_tokens

    def run_policy():
        return policy.sample(prompts, max_new_tokens=args.new_tokens, temperature=1.0, top_p=1.0, seed=args.seed)

    generation_config = transformers.GenerationConfig(
        do_sample=True,
        temperature=1.0,
        top_p=1.0,
        top_k=0,
        max_new_tokens=args.new_tokens,
        min_new_tokens=args.new_tokens,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
    )

    def run_generate():
        with torch.no_grad():
            return model.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=generation_config)

    logits_config = copy.deepcopy(generation_config)
    logits_config.return_dict_in_generate, logits_config.output_logits = True, True

    def run_generate_with_logprobs():
        with torch.no_grad():
            output = model.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=logits_config)
            tokens = output.sequences[:, input_ids.shape[1] :]
            logits = torch.stack(output.logits, dim=1).float()
            return torch.log_softmax(logits, dim=-1).gather(-1, tokens[..., None]).squeeze(-1)

    rows = []

    def record(name: str, seconds: list[float], tokens: int, samples: int | None) -> None:
        best = min(seconds)
        rows.append(
            {
                "name": name,
                "seconds_best": best,
                "seconds_median": statistics.median(seconds),
                "tokens_per_s": tokens / best,
                "samples_per_s": (samples / best) if samples else None,
            }
        )

    seconds, batch = timed(run_policy, device, args.repeats, args.warmup)
    assert batch.num_tokens() == generated_tokens, (batch.num_tokens(), generated_tokens)
    record("policy.sample", seconds, generated_tokens, args.batch)
    seconds, sequences = timed(run_generate, device, args.repeats, args.warmup)
    assert sequences.shape == (args.batch, input_ids.shape[1] + args.new_tokens), tuple(sequences.shape)
    record("generate", seconds, generated_tokens, args.batch)
    seconds, _ = timed(run_generate_with_logprobs, device, args.repeats, args.warmup)
    record("generate+logprobs", seconds, generated_tokens, args.batch)

    scored_tokens = batch.num_tokens()
    for need in (("logprobs",), ("logprobs", "entropy", "vocab_mean_logprob")):

        def run_score(need=need):
            with torch.no_grad():
                return policy.score(batch.prompt_ids, batch.completion_ids, batch.completion_mask, need=need)

        seconds, scored = timed(run_score, device, args.repeats, args.warmup)
        record(f"score({', '.join(need)})", seconds, scored_tokens, args.batch)
    with torch.no_grad():
        consistency = (scored["logprobs"] - batch.logprobs)[batch.completion_mask].abs()

    by_name = {row["name"]: row for row in rows}
    result = {
        "model": args.model,
        "parameters": count_parameters(model),
        "device": torch.cuda.get_device_name() if device.startswith("cuda") else "cpu",
        "dtype": str(dtype).removeprefix("torch."),
        "batch": args.batch,
        "new_tokens": args.new_tokens,
        "prompt_length_max": max(len(prompt) for prompt in prompts),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cpu_threads": torch.get_num_threads(),
        "rows": rows,
        "speedup_vs_generate": by_name["policy.sample"]["tokens_per_s"] / by_name["generate"]["tokens_per_s"],
        "speedup_vs_generate_with_logprobs": by_name["policy.sample"]["tokens_per_s"]
        / by_name["generate+logprobs"]["tokens_per_s"],
        "sample_vs_score_logprob_abs_diff": {"mean": float(consistency.mean()), "max": float(consistency.max())},
    }
    print(
        f"{args.model} ({result['parameters'] / 1e6:.1f}M parameters) on {result['device']}, {result['dtype']}, "
        f"batch {args.batch}, {args.new_tokens} new tokens, prompts up to {result['prompt_length_max']} tokens, "
        f"torch {torch.__version__}, transformers {transformers.__version__}"
    )
    print(f"{'what':<52}{'best s':>9}{'median s':>10}{'tokens/s':>12}{'samples/s':>11}")
    for row in rows:
        samples = f"{row['samples_per_s']:.1f}" if row["samples_per_s"] else "-"
        print(
            f"{row['name']:<52}{row['seconds_best']:>9.3f}{row['seconds_median']:>10.3f}"
            f"{row['tokens_per_s']:>12.0f}{samples:>11}"
        )
    print(
        f"policy.sample / generate: {result['speedup_vs_generate']:.2f}x; "
        f"/ generate+logprobs: {result['speedup_vs_generate_with_logprobs']:.2f}x; "
        f"|sample - score| log-prob: mean {consistency.mean():.2e}, max {consistency.max():.2e}"
    )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
