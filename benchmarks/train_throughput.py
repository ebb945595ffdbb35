"""Training throughput of the project's GRPO loop against TRL's `GRPOTrainer`, same model, task and batch.

Both sides train the tiny Llama-style model (hidden 128, 4 layers, about 1M parameters, random
weights from seed 0, built in code) on RandomCalc sums `a + b` with a, b in 0..99 and the prompt
"{expression}=", in float32 on the CPU: 16 prompts x 8 samples = 128 completions a step, at most
5 new tokens, temperature 1, top-p 1, one AdamW update per batch at lr 5e-5 (constant),
gradient-norm clip 1.0, GRPO advantages, per-sequence token-mean loss, no KL term, no gradient
checkpointing.

- `ours`: `rlvr.training.trainer.Trainer` with a `TransformersPolicy` (its own KV-cached sampler);
  a step is one `trainer.rl_step()`, whose metrics line splits it into sampling, scoring,
  forward+backward and optimizer ("other" is the rest: problems, advantages, logging).
- `trl`: `GRPOTrainer` with `per_device_train_batch_size=128` (completions), `num_generations=8`,
  `max_completion_length=5`, `loss_type="grpo"`, `beta=0`, `num_iterations=1`, `bf16=False`,
  `gradient_checkpointing=False`, TRL's default optimizer, logging once at the end, and the
  project's verifier as its reward (`rlvr.integrations.trl.RlvrReward`). Phases come from timing
  its `_generate`, `_calculate_rewards`, `_generate_and_score_completions` and `training_step`
  methods and the `on_optimizer_step` callback ("other": TRL's batch preparation, advantages,
  metrics, data loading).

The machine is shared and its speed drifts by minutes, so the two run interleaved step by step in
one process: a TRL callback runs one of our steps after each TRL step, and each TRL step is timed
from the end of that step to TRL's next `on_step_end`. Each round is a fresh process with fresh
models; the ratio is reported from the medians and per pair of adjacent steps. Peak memory comes
from separate processes that run each method alone (`resource.getrusage(RUSAGE_SELF).ru_maxrss`,
the whole process: interpreter, torch and, for TRL, its imports). MFU divides model FLOPs per
second by the best fp32 `torch.matmul` rate measured in the same run on the same thread count;
the model FLOPs of a step are estimated as 2 N (P + S) for generation (prefill and decode) plus
6 N (P + S) for the update's forward and backward, with N parameters, P prompt tokens and S
sampled tokens in the batch (padding and attention FLOPs left out). That "nominal MFU" counts
every sample's prompt, as a loop without prompt sharing computes it; our loop runs each of the
B distinct prompts once per pass (G samples share it), so it also reports the executed MFU,
with P / G prompt tokens in place of P. TRL's executed and nominal FLOPs are the same.

    python benchmarks/train_throughput.py --steps 20 --warmup 3 --rounds 3 --threads 1 --out runs/train_throughput.json
    python benchmarks/train_throughput.py --profile     # cProfile of our rl_step, top functions
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DIFFICULTY = {"num_ops": 1, "operators": ["+"], "min_operand": 0, "max_operand": 99}
PROMPT = "{expression}="
PROMPTS, GROUP, NEW_TOKENS, LR = 16, 8, 5, 5e-5
PHASES = ("sampling", "scoring", "fwd_bwd", "optimizer", "other")
FLOPS_FORMULA = "2*N*(P+S) generation + 6*N*(P+S) update; N params, P prompt tokens, S sampled tokens per step"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def matmul_peak_flops(size: int = 1024, repeats: int = 8) -> float:
    """Best fp32 matmul rate (FLOP/s) over `repeats` runs at the current torch thread count."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.matmul(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def tiny_task():
    from rlvr.core.templates import PromptTemplate
    from rlvr.envs.random_calc import RandomCalcTask

    return RandomCalcTask(template=PromptTemplate(instruction="", text=PROMPT))


class Ours:
    """The project's trainer; `step()` runs one `rl_step` and keeps its timings when asked."""

    def __init__(self, seed: int, out_dir: str) -> None:
        from rlvr.agents.hf import TransformersPolicy
        from rlvr.agents.tiny import build_tiny_model
        from rlvr.training.config import TrainConfig
        from rlvr.training.trainer import Trainer

        model, tokenizer = build_tiny_model(seed=0)
        policy = TransformersPolicy(model, tokenizer, device="cpu", dtype="float32", max_new_tokens=NEW_TOKENS)
        config = TrainConfig(
            env_id="rlvr/RandomCalc-v0", difficulty=DIFFICULTY, prompt_template=PROMPT, prompts_per_step=PROMPTS,
            group_size=GROUP, lr=LR, temperature=1.0, top_p=1.0, max_new_tokens=NEW_TOKENS, advantage="grpo",
            loss_aggregation="seq_mean_token_mean", kl_beta=0.0, max_grad_norm=1.0, updates_per_batch=1,
            device="cpu", dtype="float32", progress=False, out_dir=out_dir, seed=seed,
        )
        self.trainer = Trainer(config, policy=policy, task=tiny_task())
        self.optimizer = type(self.trainer.optimizer).__name__
        self.steps: list[dict] = []
        self._tokens = (0, 0)
        sample = policy.sample

        def counting_sample(*args, **kwargs):
            batch = sample(*args, **kwargs)
            self._tokens = (sum(len(ids) for ids in batch.prompt_ids), batch.num_tokens())
            return batch

        policy.sample = counting_sample

    def step(self, keep: bool) -> None:
        start = time.perf_counter()
        record = self.trainer.rl_step()
        wall = time.perf_counter() - start
        if keep:
            phases = {name: record[f"time_{name}"] for name in PHASES[:-1]}
            phases["other"] = wall - sum(phases.values())
            self.steps.append({"step_s": wall, "phases": phases, "prompt_tokens": self._tokens[0],
                               "sampled_tokens": self._tokens[1]})


def build_trl(seed: int, total_steps: int, out_dir: str, between_steps=None):
    """(GRPOTrainer, its timed steps list); `between_steps(global_step)` runs after each step's end
    and is left out of the next step's time."""
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from rlvr.agents.tiny import build_tiny_model
    from rlvr.integrations.trl import RlvrReward, problems_dataset

    model, tokenizer = build_tiny_model(seed=0)
    task = tiny_task()
    dataset = problems_dataset(task, n=PROMPTS * total_steps, seed=seed, difficulty=DIFFICULTY)
    config = GRPOConfig(
        output_dir=out_dir, per_device_train_batch_size=PROMPTS * GROUP, num_generations=GROUP,
        max_completion_length=NEW_TOKENS, max_steps=total_steps, learning_rate=LR, lr_scheduler_type="constant",
        loss_type="grpo", beta=0.0, num_iterations=1, temperature=1.0, top_p=1.0, max_grad_norm=1.0,
        weight_decay=0.0, bf16=False, gradient_checkpointing=False, use_cpu=True, report_to="none",
        save_strategy="no", logging_steps=total_steps, disable_tqdm=True, seed=seed,
    )
    spans: dict[str, float] = {}
    steps: list[dict] = []
    clock = {"start": 0.0}

    class Clock(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            clock["start"] = time.perf_counter()

        def on_optimizer_step(self, args, state, control, **kwargs):
            spans["optimizer"] = time.perf_counter() - spans.pop("train_end")

        def on_step_end(self, args, state, control, **kwargs):
            wall = time.perf_counter() - clock["start"]
            phases = {"sampling": spans["generate"], "scoring": spans["rewards"],
                      "fwd_bwd": spans["train"] - spans["prepare"], "optimizer": spans["optimizer"]}
            phases["other"] = wall - sum(phases.values())
            steps.append({"step_s": wall, "phases": phases, "prompt_tokens": spans["prompt_tokens"],
                          "sampled_tokens": spans["sampled_tokens"]})
            if between_steps is not None:
                between_steps(state.global_step)
            clock["start"] = time.perf_counter()

    trainer = GRPOTrainer(model=model, reward_funcs=RlvrReward(task), args=config, train_dataset=dataset,
                          processing_class=tokenizer, callbacks=[Clock()])

    def timed(name, method):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            output = method(*args, **kwargs)
            spans[name] = time.perf_counter() - start
            if name == "train":
                spans["train_end"] = time.perf_counter()
            if name == "generate":  # returns (prompt_ids, completion_ids, ...)
                spans["prompt_tokens"], spans["sampled_tokens"] = sum(map(len, output[0])), sum(map(len, output[1]))
            return output
        return wrapper

    trainer._generate = timed("generate", trainer._generate)
    trainer._calculate_rewards = timed("rewards", trainer._calculate_rewards)
    trainer._generate_and_score_completions = timed("prepare", trainer._generate_and_score_completions)
    trainer.training_step = timed("train", trainer.training_step)
    return trainer, steps


# ---- processes --------------------------------------------------------------------------------------
def paired_round(steps: int, warmup: int, seed: int) -> dict:
    """TRL and ours interleaved step by step in this process; the first `warmup` pairs untimed."""
    with tempfile.TemporaryDirectory() as out_dir:
        ours = Ours(seed, os.path.join(out_dir, "ours"))
        trainer, trl_steps = build_trl(seed, warmup + steps, os.path.join(out_dir, "trl"),
                                       between_steps=lambda done: ours.step(keep=done > warmup))
        peak = matmul_peak_flops()
        trainer.train()
        peak = max(peak, matmul_peak_flops())
    return {"ours": ours.steps, "trl": trl_steps[warmup:], "matmul_peak_flops": peak,
            "optimizers": {"ours": ours.optimizer, "trl": f"{type(trainer.optimizer).__name__} ({getattr(trainer.args.optim, 'value', trainer.args.optim)})"}}


def memory_run(method: str, steps: int, seed: int) -> dict:
    """`method` alone for `steps` steps: the process's peak resident memory."""
    with tempfile.TemporaryDirectory() as out_dir:
        setup = None
        if method == "ours":
            ours = Ours(seed, out_dir)
            setup = peak_rss_mb()
            for _ in range(steps):
                ours.step(keep=False)
        else:
            trainer, _ = build_trl(seed, steps, out_dir)
            setup = peak_rss_mb()
            trainer.train()
    return {"rss_setup_mb": setup, "rss_peak_mb": peak_rss_mb()}


def worker(args: argparse.Namespace) -> None:
    import torch

    from rlvr.agents.tiny import build_tiny_model, count_parameters

    torch.set_num_threads(args.threads)
    if args.worker == "paired":
        result = paired_round(args.steps, args.warmup, args.seed)
    else:
        result = memory_run(args.worker, args.warmup + 2, args.seed)
    result["params"] = count_parameters(build_tiny_model(seed=0)[0])
    result["torch_threads"] = torch.get_num_threads()
    Path(args.worker_result).write_text(json.dumps(result))


def run_worker(kind: str, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "result.json")
        command = [sys.executable, __file__, "--worker", kind, "--worker-result", path, "--steps", str(args.steps),
                   "--warmup", str(args.warmup), "--threads", str(args.threads), "--seed", str(args.seed)]
        environment = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "TOKENIZERS_PARALLELISM": "false"}
        completed = subprocess.run(command, capture_output=True, text=True, env=environment)
        if completed.returncode != 0:
            raise RuntimeError(f"{kind} worker failed:\n{completed.stderr[-4000:]}")
        return json.loads(Path(path).read_text())


# ---- report -----------------------------------------------------------------------------------------
def summarise(steps: list[dict], params: int, peak: float, prompt_runs: float = 1.0) -> dict:
    """Medians over every timed step of every round of one method. `prompt_runs`: the fraction of
    the sampled rows' prompt tokens the method actually runs (1 / G when G samples share a pass)."""
    step = statistics.median(s["step_s"] for s in steps)
    flops = statistics.median(8 * params * (s["prompt_tokens"] + s["sampled_tokens"]) for s in steps)
    executed = statistics.median(8 * params * (prompt_runs * s["prompt_tokens"] + s["sampled_tokens"]) for s in steps)
    return {
        "samples_per_s": PROMPTS * GROUP / step,
        "step_ms": 1000 * step,
        "rollout_tokens_per_s": statistics.median(s["sampled_tokens"] for s in steps) / step,
        "phase_ms": {name: 1000 * statistics.median(s["phases"][name] for s in steps) for name in PHASES},
        "flops_per_step": flops,
        "mfu": flops / step / peak,
        "executed_flops_per_step": executed,
        "mfu_executed": executed / step / peak,
        "mean_prompt_tokens": statistics.mean(s["prompt_tokens"] for s in steps),
        "mean_sampled_tokens": statistics.mean(s["sampled_tokens"] for s in steps),
    }


def print_table(summary: dict, memory: dict, ratios: dict, peak: float) -> None:
    print(f"{'method':<6} {'samples/s':>9} {'step ms':>8} {'tok/s':>7} " + " ".join(f"{p:>9}" for p in PHASES)
          + f" {'RSS MB':>7} {'MFU nom':>7} {'MFU exe':>7}")
    for method, row in summary.items():
        phases = " ".join(f"{row['phase_ms'][p]:>9.1f}" for p in PHASES)
        print(f"{method:<6} {row['samples_per_s']:>9.0f} {row['step_ms']:>8.1f} {row['rollout_tokens_per_s']:>7.0f} "
              f"{phases} {memory[method]['rss_peak_mb']:>7.0f} {100 * row['mfu']:>6.1f}% {100 * row['mfu_executed']:>6.1f}%")
    print(f"phases: median ms per step; tok/s: sampled tokens per second of step time; RSS: peak ru_maxrss of a "
          f"process running the method alone; fp32 matmul peak {peak / 1e9:.1f} GFLOP/s")
    print(f"nominal FLOPs/step ({FLOPS_FORMULA}): ours {summary['ours']['flops_per_step'] / 1e9:.2f} G, "
          f"trl {summary['trl']['flops_per_step'] / 1e9:.2f} G; executed (ours runs each shared prompt once): "
          f"ours {summary['ours']['executed_flops_per_step'] / 1e9:.2f} G, trl {summary['trl']['executed_flops_per_step'] / 1e9:.2f} G")
    print(f"ours/trl samples/s: {ratios['of_medians']:.2f}x (ratio of medians), {ratios['median_pair']:.2f}x "
          f"(median over adjacent step pairs); per round: " + ", ".join(f"{r:.2f}" for r in ratios["rounds"]))


def profile_ours(args: argparse.Namespace) -> None:
    """cProfile of `rl_step` over the timed steps: where our loop spends its time."""
    import cProfile
    import pstats

    import torch

    torch.set_num_threads(args.threads)
    profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory() as out_dir:
        ours = Ours(args.seed, out_dir)
        for _ in range(args.warmup):
            ours.step(keep=False)
        profiler.runcall(lambda: [ours.step(keep=True) for _ in range(args.steps)])
    print(f"median step {1000 * statistics.median(s['step_s'] for s in ours.steps):.1f} ms; phases (ms): "
          + ", ".join(f"{p} {1000 * statistics.median(s['phases'][p] for s in ours.steps):.1f}" for p in PHASES))
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed step pairs per round")
    parser.add_argument("--warmup", type=int, default=3, help="untimed step pairs before them")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each a fresh process with fresh models")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--profile", action="store_true", help="profile our rl_step instead of comparing")
    parser.add_argument("--worker", choices=("paired", "ours", "trl"), help=argparse.SUPPRESS)
    parser.add_argument("--worker-result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.warmup < 1 or args.steps < 1 or args.rounds < 1:
        parser.error("--steps, --warmup and --rounds must be >= 1")
    if args.worker:
        worker(args)
        return
    if args.profile:
        profile_ours(args)
        return
    rounds = []
    for index in range(args.rounds):
        rounds.append(run_worker("paired", args))
        medians = {m: PROMPTS * GROUP / statistics.median(s["step_s"] for s in rounds[-1][m]) for m in ("ours", "trl")}
        print(f"round {index + 1}: ours {medians['ours']:.0f}, trl {medians['trl']:.0f} samples/s", flush=True)
    memory = {method: run_worker(method, args) for method in ("ours", "trl")}
    peak = max(r["matmul_peak_flops"] for r in rounds)
    params = rounds[0]["params"]
    summary = {m: summarise([s for r in rounds for s in r[m]], params, peak, 1 / GROUP if m == "ours" else 1.0)
               for m in ("ours", "trl")}
    for method in summary:
        summary[method]["optimizer"] = rounds[0]["optimizers"][method]
    ratios = {
        "of_medians": summary["ours"]["samples_per_s"] / summary["trl"]["samples_per_s"],
        "median_pair": statistics.median(t["step_s"] / o["step_s"] for r in rounds
                                         for o, t in zip(r["ours"], r["trl"], strict=True)),
        "rounds": [statistics.median(s["step_s"] for s in r["trl"]) / statistics.median(s["step_s"] for s in r["ours"])
                   for r in rounds],
    }
    print_table(summary, memory, ratios, peak)
    if args.out is not None:
        import torch
        import transformers
        import trl

        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "config": {"steps": args.steps, "warmup": args.warmup, "rounds": args.rounds, "threads": args.threads,
                       "seed": args.seed, "prompts": PROMPTS, "group": GROUP, "max_new_tokens": NEW_TOKENS, "lr": LR,
                       "difficulty": DIFFICULTY, "prompt": PROMPT},
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "trl": trl.__version__},
            "params": params, "flops_formula": FLOPS_FORMULA, "matmul_peak_flops": peak,
            "memory_method": "peak resource.getrusage(RUSAGE_SELF).ru_maxrss of a process running one method alone",
            "memory": memory, "ratio_ours_over_trl": ratios, "summary": summary, "rounds": rounds,
        }, indent=2))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
