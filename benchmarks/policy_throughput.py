"""Sampling and scoring throughput of `TransformersPolicy` against `model.generate` in the same run.

Rows of the table:
- `policy.sample dynamic`: our batched KV-cache loop (growing `DynamicCache`, eager steps), which
  also returns each token's log-prob;
- `policy.sample static`: the same loop over a pre-sized `StaticCache` with the one-token step
  compiled (CUDA graphs on CUDA; eager on CPU unless `--compile on`). Its first call, which
  compiles and records the graphs, is timed apart (`first_call_s`) and not in the row;
- `generate`: `model.generate` with the same batch, lengths and sampling settings, returning only
  token ids (the cheapest thing it can do: a floor for the baseline's cost);
- `generate+logprobs`: `generate` asked for its per-step logits (`output_logits=True`) and the
  sampled tokens' log-probs gathered from them: the like-for-like baseline for RL;
- `generate_batch+logprobs` (with `--continuous-batching`): transformers' continuous batching
  asked for log-probs. Not a drop-in for the policy: its log-probs are of the distribution after
  temperature / top-p and it draws from its own generator, not the policy's seeded one; its
  tokens/s counts the tokens it returned (EOS may end its rows early);
- `score(...)`: one forward pass over prompt + completion, with the quantities named; its
  tokens/s counts the completion tokens scored (prompt tokens are processed but not counted).

The bandwidth limit: each decode step reads every weight once, so no sampler can beat
batch / (parameter bytes / memory bandwidth) tokens/s. The bandwidth is measured here as a
device-to-device copy of a 1 GiB buffer (256 MiB on CPU), counted as bytes read + bytes written.
The static path's samples are compared with the dynamic path's (same seed): rows sampled alike
and the largest log-prob difference over tokens both produced.

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
import os
import platform
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


def timed(function, device: str, repeats: int, warmup: int) -> tuple[list[float], object, list[float]]:
    """Wall-clock seconds of `repeats` calls after `warmup` calls timed apart; also the last result."""

    def once():
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = function()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - start, result

    warmup_seconds = [once()[0] for _ in range(warmup)]
    seconds, result = [], None
    for _ in range(repeats):
        elapsed, result = once()
        seconds.append(elapsed)
    return seconds, result, warmup_seconds


def copy_bandwidth(device: str, repeats: int = 10) -> float:
    """Bytes per second moved by a device-to-device copy (read + write), best of `repeats`."""
    size = (1 << 30) if device.startswith("cuda") else (256 << 20)
    source = torch.ones(size // 4, dtype=torch.float32, device=device)
    target = torch.empty_like(source)
    best = float("inf")
    for _ in range(repeats + 1):  # the first copy warms up (page faults, clocks)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        target.copy_(source)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    del source, target
    return 2 * size / best


def machine() -> dict:
    """Where the numbers came from."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def continuous_batching(model, prompts, new_tokens: int, eos_id: int, pad_id: int):
    """A callable running transformers' continuous batching with log-probs; returns tokens made."""
    from transformers import ContinuousBatchingConfig

    config = transformers.GenerationConfig(do_sample=True, temperature=1.0, top_p=1.0, top_k=0,
                                           max_new_tokens=new_tokens, eos_token_id=eos_id, pad_token_id=pad_id)
    batching = ContinuousBatchingConfig(return_logprobs=True)

    def run():
        with torch.no_grad():
            outputs = model.generate_batch(prompts, generation_config=config, continuous_batching_config=batching)
        failed = [output.error for output in outputs.values() if output.error]
        if failed or any(len(output.logprobs) != len(output.generated_tokens) for output in outputs.values()):
            raise RuntimeError(f"generate_batch: {failed[:1] or 'a log-prob missing'}")
        return sum(len(output.generated_tokens) for output in outputs.values())

    return run


def left_padded(prompts: list[list[int]], pad_id: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(prompt) for prompt in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt) :] = torch.tensor(prompt)
        mask[row, width - len(prompt) :] = 1
    return ids.to(device), mask.to(device)


def main(argv: list[str] | None = None) -> dict:
    """Parse the flags, build the model once, measure each batch size; one batch's record or {runs: [...]}."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tiny", choices=["tiny", "qwen2-0.5b"])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--dtype", default="auto", help="auto (bf16 on CUDA, fp32 on CPU), bfloat16, float32")
    parser.add_argument("--batch", type=int, nargs="+", default=[64], help="one or more batch sizes")
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--prompt-length", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compile", default="auto", choices=["auto", "on", "off"],
                        help="the static path's step: auto compiles (CUDA graphs) on CUDA only")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--continuous-batching", action="store_true", help="add transformers' generate_batch")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    model, tokenizer = build_model(args.model, device, dtype, args.seed)
    compile_step = {"auto": None, "on": True, "off": False}[args.compile]
    policies = {
        decode: TransformersPolicy(model, tokenizer, device=device, dtype=dtype, stop_token_ids=[], decode=decode,
                                   compile=compile_step)
        for decode in ("dynamic", "static")
    }
    bandwidth = copy_bandwidth(device)
    # one process for every batch size: the static step compiles once (symbolic shapes), then
    # only records a CUDA graph per shape
    results = [measure(args, batch_size, model, policies, device, dtype, bandwidth) for batch_size in args.batch]
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results[0] if len(results) == 1 else {"runs": results}, indent=2))
    return results[0] if len(results) == 1 else {"runs": results}


def measure(args, batch_size: int, model, policies: dict, device: str, dtype, bandwidth: float) -> dict:
    """Every row at one batch size; prints the table and returns the result record."""
    vocab_size = model.config.vocab_size
    pad_id = model.config.pad_token_id
    eos_id = model.config.eos_token_id
    policy = policies["dynamic"]
    prompts = synthetic_prompts(batch_size, args.prompt_length, vocab_size, args.seed)
    input_ids, attention_mask = left_padded(prompts, pad_id, device)
    generated_tokens = batch_size * args.new_tokens

    def sampler(decode):
        return lambda: policies[decode].sample(prompts, max_new_tokens=args.new_tokens, temperature=1.0, top_p=1.0,
                                               seed=args.seed)

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

    def record(name: str, seconds: list[float], tokens: int, samples: int | None, warmup: list[float]) -> None:
        best = min(seconds)
        rows.append(
            {
                "name": name,
                "seconds_best": best,
                "seconds_median": statistics.median(seconds),
                "seconds_all": seconds,
                "first_call_s": warmup[0] if warmup else None,
                "tokens_per_s": tokens / best,
                "tokens_per_s_median": tokens / statistics.median(seconds),
                "samples_per_s": (samples / best) if samples else None,
            }
        )

    samples = {}
    for decode in ("dynamic", "static"):
        seconds, samples[decode], warmup = timed(sampler(decode), device, args.repeats, args.warmup)
        assert samples[decode].num_tokens() == generated_tokens, (samples[decode].num_tokens(), generated_tokens)
        record(f"policy.sample {decode}", seconds, generated_tokens, batch_size, warmup)
    batch = samples["dynamic"]
    seconds, sequences, warmup = timed(run_generate, device, args.repeats, args.warmup)
    assert sequences.shape == (batch_size, input_ids.shape[1] + args.new_tokens), tuple(sequences.shape)
    record("generate", seconds, generated_tokens, batch_size, warmup)
    seconds, _, warmup = timed(run_generate_with_logprobs, device, args.repeats, args.warmup)
    record("generate+logprobs", seconds, generated_tokens, batch_size, warmup)
    continuous_error = None
    if args.continuous_batching:
        try:
            seconds, made, warmup = timed(continuous_batching(model, prompts, args.new_tokens, eos_id, pad_id),
                                          device, args.repeats, args.warmup)
            record("generate_batch+logprobs", seconds, made, batch_size, warmup)
        except Exception as error:  # recorded, not fatal: the other rows still stand
            continuous_error = f"{type(error).__name__}: {error}"[:500]

    scored_tokens = batch.num_tokens()
    for need in (("logprobs",), ("logprobs", "entropy", "vocab_mean_logprob")):

        def run_score(need=need):
            with torch.no_grad():
                return policy.score(batch.prompt_ids, batch.completion_ids, batch.completion_mask, need=need)

        seconds, scored, warmup = timed(run_score, device, args.repeats, args.warmup)
        record(f"score({', '.join(need)})", seconds, scored_tokens, batch_size, warmup)
    with torch.no_grad():
        consistency = (scored["logprobs"] - batch.logprobs)[batch.completion_mask].abs()
    # static vs dynamic, same seed: rows alike, and log-prob gaps up to each row's first difference
    alike = (samples["static"].completion_ids == batch.completion_ids).long().cumprod(dim=1).bool()
    static_gap = (samples["static"].logprobs - batch.logprobs)[alike].abs()

    parameter_bytes = sum(parameter.numel() * parameter.element_size() for parameter in model.parameters())
    limit = batch_size / (parameter_bytes / bandwidth)
    by_name = {row["name"]: row for row in rows}
    dynamic_rate, static_rate = (by_name[f"policy.sample {decode}"]["tokens_per_s"] for decode in ("dynamic", "static"))
    result = {
        "model": args.model,
        "parameters": count_parameters(model),
        "parameter_bytes": parameter_bytes,
        "device": torch.cuda.get_device_name() if device.startswith("cuda") else "cpu",
        "dtype": str(dtype).removeprefix("torch."),
        "batch": batch_size,
        "new_tokens": args.new_tokens,
        "prompt_length_max": max(len(prompt) for prompt in prompts),
        "compile": args.compile,
        "repeats": args.repeats,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cpu_threads": torch.get_num_threads(),
        "machine": machine(),
        "rows": rows,
        "static_vs_dynamic": static_rate / dynamic_rate,
        "speedup_vs_generate": {decode: by_name[f"policy.sample {decode}"]["tokens_per_s"]
                                / by_name["generate"]["tokens_per_s"] for decode in ("dynamic", "static")},
        "speedup_vs_generate_with_logprobs": {decode: by_name[f"policy.sample {decode}"]["tokens_per_s"]
                                              / by_name["generate+logprobs"]["tokens_per_s"]
                                              for decode in ("dynamic", "static")},
        "copy_bandwidth_bytes_per_s": bandwidth,
        "bandwidth_limit_tokens_per_s": limit,
        "static_share_of_bandwidth_limit": static_rate / limit,
        "static_vs_dynamic_samples": {"rows_alike": float(alike.all(dim=1).float().mean()),
                                      "logprob_abs_diff_max": float(static_gap.max()) if static_gap.numel() else None},
        "sample_vs_score_logprob_abs_diff": {"mean": float(consistency.mean()), "max": float(consistency.max())},
        "continuous_batching_error": continuous_error,
    }
    print(
        f"{args.model} ({result['parameters'] / 1e6:.1f}M parameters) on {result['device']}, {result['dtype']}, "
        f"batch {batch_size}, {args.new_tokens} new tokens, prompts up to {result['prompt_length_max']} tokens, "
        f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} CPU threads"
    )
    print(f"{'what':<46}{'best s':>9}{'median s':>10}{'tokens/s':>12}{'samples/s':>11}{'1st call s':>11}")
    for row in rows:
        per_sample = f"{row['samples_per_s']:.1f}" if row["samples_per_s"] else "-"
        first = f"{row['first_call_s']:.2f}" if row["first_call_s"] is not None else "-"
        print(
            f"{row['name']:<46}{row['seconds_best']:>9.3f}{row['seconds_median']:>10.3f}"
            f"{row['tokens_per_s']:>12.0f}{per_sample:>11}{first:>11}"
        )
    print(
        f"static / dynamic: {result['static_vs_dynamic']:.2f}x; static / generate: "
        f"{result['speedup_vs_generate']['static']:.2f}x; / generate+logprobs: "
        f"{result['speedup_vs_generate_with_logprobs']['static']:.2f}x"
    )
    print(
        f"bandwidth limit: {parameter_bytes / 1e6:.1f} MB of weights a step at {bandwidth / 1e9:.0f} GB/s (copy) "
        f"-> {limit:.0f} tokens/s at batch {batch_size}; static reaches {100 * static_rate / limit:.1f}%"
    )
    print(
        f"static vs dynamic samples: {100 * result['static_vs_dynamic_samples']['rows_alike']:.1f}% of rows alike, "
        f"max log-prob gap {result['static_vs_dynamic_samples']['logprob_abs_diff_max']}; "
        f"|sample - score| log-prob: mean {consistency.mean():.2e}, max {consistency.max():.2e}"
    )
    if continuous_error:
        print(f"generate_batch failed: {continuous_error}")
    return result


if __name__ == "__main__":
    main()
