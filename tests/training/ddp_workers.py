"""What the data-parallel tests run in their processes: the fixed-batch updates (one rank or each of
several), and, as a script under torchrun, `rlvr train` with one rank killed by SIGKILL mid-step.

    python -m torch.distributed.run --standalone --nproc-per-node 2 tests/training/ddp_workers.py \
        KILL_RANK KILL_AT_STEP train SCENARIO --set ...
"""

from __future__ import annotations

import json
import os
import signal
import sys
import zlib
from pathlib import Path

import torch

SMALL = [
    "tiny_hidden_size=32", "tiny_num_layers=1", "tiny_num_heads=2", "tiny_intermediate_size=64",
    "max_new_tokens=4", "group_size=4", "eval_problems=8", "eval_samples=2", "eval_k=[1, 2]",
    "progress=false", "plots=false", "tensorboard=false", "sft_steps=0", "lr=1e-3", "eval_every=0",
    "checkpoint_every=0", "prompts_per_step=8",
]
"""A model and run small enough that the per-process start dominates."""
GROUPS = 8
"""Groups (problems) per fixed batch: each of 2 ranks holds 4."""
STEPS = 3


def fixed_batches(config, count: int, flat_half: bool = False) -> list:
    """`count` batches of GROUPS groups sampled by the initial policy with fixed seeds, their rewards
    replaced by a fixed 0/1 pattern (about a third of the groups all equal, for DAPO's filter; with
    `flat_half` the second half all equal, so DAPO leaves rank 1 of 2 nothing): the same on every
    process that builds them."""
    from rlvr.training.builders import build_policy, build_task
    from rlvr.training.rollout import ProblemStream, collect_group_rollouts

    task, policy = build_task(config), build_policy(config)
    stream = ProblemStream(task, 123, config.difficulty)
    batches = []
    for index in range(count):
        batch = collect_group_rollouts(policy, task, stream.take(GROUPS), config.group_size,
                                       max_new_tokens=config.max_new_tokens, seed=1000 + index)
        generator = torch.Generator().manual_seed(index)
        rewards = (torch.rand(GROUPS, config.group_size, generator=generator) < 0.5).float()
        rewards[torch.randperm(GROUPS, generator=generator)[: GROUPS // 3]] = float(index % 2)
        if flat_half:
            rewards[GROUPS // 2 :] = 1.0
        batch.rewards, batch.components = rewards, {**batch.components, "correct": rewards.clone()}
        batches.append(batch)
    return batches


PASS_RATES = (0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5)
"""`rollout_gdro`'s starting pass rates, cycled over the run's problems: bin 3 of pass@4 with the
largest spread and bin 0 with none, so the steps are ragged from the first (10, 10 and six 2s: rank 0
plays the two 10s, rank 1 the 2s padded to the step's 10, each rank's own groups all full)."""


def _pad_columns(tensor: torch.Tensor, width: int, fill) -> torch.Tensor:
    return torch.cat([tensor, tensor.new_full((tensor.shape[0], width - tensor.shape[1]), fill)], dim=1)


class PatternTask:
    """A verifier of a fixed 0/1 pattern of (problem, completion text): the same on every process;
    every rollout of a problem in `flat` is right (a group DAPO's filter drops)."""

    def __init__(self, task, flat: frozenset = frozenset()) -> None:
        self.task, self.flat = task, flat

    def score(self, problem, response: str):
        from rlvr.core import Score

        right = problem.problem_id in self.flat or zlib.crc32(f"{problem.problem_id}|{response}".encode()) % 2 == 1
        return Score.binary(right)


def fixed_sampling(trainer, flat_half: bool = False) -> None:
    """For a generator that allocates rollouts itself (`rollout_gdro`), in place of fixed batches:
    its policy samples each prompt on its own with a seed of the prompt and the count, and its
    verifier is `PatternTask`, so a problem's rollouts and rewards are the same whichever rank (or
    the one process) plays it while the generator allocates, splits, pads and learns for real; its
    pass rates start at `PASS_RATES` over the run's problems (what the stream sampler will draw). With
    `flat_half` every draw of the first step (DAPO's refills too) has signal in its second group only,
    every other group all right: the filter leaves rank 1 of 2 (which plays a draw's last groups)
    nothing to train on in that step, and rank 0 groups narrower than the first draw's widest."""
    from rlvr.agents.policy import SampleBatch
    from rlvr.training.rollout import ProblemStream

    policy, generator = trainer.policy, trainer.generator
    real = policy.sample

    def sample(prompts, num_samples=1, seed=None, **kwargs):
        parts = [real([prompt], num_samples=num_samples, seed=zlib.crc32(repr(prompt).encode()) + num_samples,
                      **kwargs) for prompt in prompts]
        width = max(part.completion_ids.shape[1] for part in parts)
        return SampleBatch(
            prompt_ids=[ids for part in parts for ids in part.prompt_ids],
            prompt_index=[index for index, part in enumerate(parts) for _ in range(len(part))],
            completion_ids=torch.cat([_pad_columns(part.completion_ids, width, policy.pad_token_id) for part in parts]),
            completion_mask=torch.cat([_pad_columns(part.completion_mask, width, False) for part in parts]),
            logprobs=torch.cat([_pad_columns(part.logprobs, width, 0.0) for part in parts]),
            texts=[text for part in parts for text in part.texts],
            finished=[flag for part in parts for flag in part.finished])

    policy.sample = sample
    config = trainer.config
    draws = config.dynamic_sampling_max_draws if config.dynamic_sampling else 1  # DAPO's refills draw more
    upcoming = ProblemStream(trainer.task, config.seed, trainer.difficulty, "train").take(
        STEPS * draws * config.prompts_per_step)
    flat = frozenset(problem.problem_id for index, problem in enumerate(upcoming[: draws * config.prompts_per_step])
                     if flat_half and index % config.prompts_per_step != 1)
    generator.context.task = PatternTask(generator.context.task, flat)
    generator.rates = {problem.problem_id: PASS_RATES[index % len(PASS_RATES)] for index, problem in enumerate(upcoming)}


def run_fixed(overrides: list[str], out_dir: str) -> list[dict]:
    """STEPS RL steps of a trainer whose rollouts are the fixed batches (this rank's share of each;
    with `rollout_gdro`, `fixed_sampling`), the weights saved after the first and the last step in
    `out_dir` (rank 0); the step lines. An override `flat_half` builds the batches (or the sampling)
    with `flat_half`. Each rank writes the plug-ins' states (`states_RANK.json`), the rollouts per
    group of each batch it played (`shares_RANK.json`) and G and the rollouts per group of each step's
    trained batch (`trained_RANK.json`: after DAPO's filter)."""
    flat_half = "flat_half" in overrides
    overrides = [item for item in overrides if item != "flat_half"]
    from rlvr.training.config import load_config
    from rlvr.training.rollout import select_groups
    from rlvr.training.trainer import Trainer

    config = load_config("scenarios/ddp_cpu.yaml", [*SMALL, f"out_dir={out_dir}", *overrides])
    trainer = Trainer(config)
    if trainer.loss_fn.needs_reference:  # what train() makes when RL starts
        trainer.reference = trainer._frozen_copy()
    draws = config.dynamic_sampling_max_draws if config.dynamic_sampling else 1
    if config.generator == "rollout_gdro":
        fixed_sampling(trainer, flat_half)
        collect = trainer.collect
    else:
        batches, calls = fixed_batches(config, STEPS * draws, flat_half), [0]

        def collect(problems, seed):  # the fixed batch of this call, this rank's groups of it
            batch = batches[calls[0]]
            calls[0] += 1
            start, stop = trainer.dp.bounds(GROUPS)
            return select_groups([(batch, list(range(start, stop)))], trainer.policy.pad_token_id), 0.0, 0.0
    shares = []

    def played(problems, seed):
        batch, sampling, scoring = collect(problems, seed)
        shares.append(batch.counts)
        return batch, sampling, scoring

    trainer.collect = played
    trained, advantages = [], trainer.advantages

    def kept(batch, probe=None):  # the batch the step trains on: DAPO's kept groups, padded
        trained.append({"group_size": batch.group_size, "counts": batch.counts})
        return advantages(batch, probe=probe)

    trainer.advantages = kept
    records = []
    for step in range(STEPS):
        records.append(trainer.rl_step())
        if step in (0, STEPS - 1):
            weights = trainer.dp.model_state(trainer.model)  # FSDP: gathered, a collective every rank joins
            if trainer.dp.is_main:
                torch.save(weights, Path(out_dir) / f"weights_{step + 1}.pt")
    states = {"sampler": trainer.sampler.state_dict(), "advantage": trainer.advantage.state_dict(),
              "reward_transforms": [transform.state_dict() for transform in trainer.reward_transforms],
              "train_stream": trainer.train_stream.state_dict(), "generator": trainer.generator.state_dict()}
    (Path(out_dir) / f"states_{trainer.dp.rank}.json").write_text(json.dumps(states, sort_keys=True))
    (Path(out_dir) / f"shares_{trainer.dp.rank}.json").write_text(json.dumps(shares))
    (Path(out_dir) / f"trained_{trainer.dp.rank}.json").write_text(json.dumps(trained))
    return records


def rank_main(rank: int, world: int, port: int, cases: dict[str, list[str]], out_root: str) -> None:
    """A spawned rank: the torchrun environment by hand, then every case's fixed-batch run."""
    os.environ.update({"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(1)
    for name, overrides in cases.items():
        out_dir = Path(out_root) / name
        out_dir.mkdir(parents=True, exist_ok=True)
        records = run_fixed(overrides, str(out_dir))
        if rank == 0:
            (out_dir / "records.json").write_text(json.dumps(records))


def kill_main(argv: list[str]) -> int:
    """`KILL_RANK KILL_AT_STEP rlvr-arguments...`: rank KILL_RANK SIGKILLs itself inside the step after
    KILL_AT_STEP steps (after sampling, before the update), as a crashed node would."""
    kill_rank, kill_at, args = int(argv[0]), int(argv[1]), argv[2:]
    from rlvr.cli import main
    from rlvr.training import trainer as trainer_module

    real = trainer_module.policy_update

    def dies(trainer, *rest, **kwargs):
        if trainer.dp.rank == kill_rank and trainer.step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(trainer, *rest, **kwargs)

    trainer_module.policy_update = dies
    return main(args)


if __name__ == "__main__":
    sys.exit(kill_main(sys.argv[1:]))
