"""The RL loop, top to bottom: sample -> score -> advantages -> policy-gradient update.

    trainer = Trainer(load_config("scenarios/quickstart.yaml"))
    summary = trainer.train()        # SFT warm-up, evaluation, RL steps, final evaluation

One RL step:
1. ask the sampler plug-in for B problems (`rlvr.training.samplers`; `stream`: the next ones of the
   train split's seeded stream) and have the generator plug-in, chosen once, produce G rollouts
   each (`rlvr.training.generators`: `plain` samples G completions, pi_old log-probs coming with
   the samples; `episodes`, for `max_turns > 1`, plays G multi-turn episodes; `hbpo`, `latr`); with
   DAPO's dynamic sampling, drop groups without signal and ask for more problems; the sampler then
   observes every group scored;
2. score every completion with the task's verifier -> rewards [B, G], then the configured reward
   transforms in order (`rlvr.training.reward_transforms`: DAPO's overlong penalty, corruption);
   `reward_mean` is what the advantage sees, `raw_reward_mean` the verifier's (with transforms);
3. advantages per group from the configured plug-in (`rlvr.training.advantages`; GRPO: (r - mean)
   / (std + eps)), given a view of the batch with only the per-rollout quantities it declares (pi_old's
   mean log-prob, self-certainty, ...), computed once; a group whose rewards are all equal gets zero
   advantage under the mean-centred ones, hence no gradient: it carries no information about which
   answer is better;
4. `updates_per_batch` times: re-score the completions with gradients, the configured loss
   (PPO-clip for GRPO / DAPO / Dr. GRPO, or ROVER), backward, clip the gradient norm, AdamW step.
   A non-finite loss or gradient skips the step (logged). An objective plug-in
   (`rlvr.training.objectives`: trajectory balance, robust DPO) replaces steps 3 and 4.

Everything random is a function of (seed, step): problem i of the stream, the sampler's seed of
step s. With the weights, the optimizer state and the global RNGs (Python, numpy, torch CPU and
CUDA) saved in a checkpoint, a resumed run repeats the uninterrupted run's steps exactly (on the
same device). A resume whose config differs from the checkpoint's stops and names the keys
(`force_resume` / `--force` continues anyway; `rlvr.training.checkpoint.RESUMABLE_CHANGES` lists
what may change).

Run folder: `config.yaml`, `metrics.jsonl` (one line per RL step, plus `eval` lines), TensorBoard
event files (`tensorboard --logdir <folder>`), `plots/*.png` (drawn at the end), `checkpoint.pt`
(newest state, replaced atomically, read back with `weights_only=True`) and `checkpoint.json` (its
sha256, checked before it is read); at the end `samples.jsonl`, `environment.json` and
`report.html`, the run report (`rlvr.training.report`; `rlvr report <folder>` rebuilds it).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from rlvr.agents.policy import check_trainable
from rlvr.training.advantages import compute_advantages, rollout_view, turn_level_names
from rlvr.training.builders import (
    EVAL_STREAM_OFFSET,
    build_advantage,
    build_env,
    build_loss,
    build_policy,
    build_reward_transforms,
    build_sampler,
    eval_levels,
    evaluation_problems,
)
from rlvr.training.checkpoint import (
    CHECKPOINT_KEYS,
    check_layout,
    check_resume_config,
    checkpoint_paths,
    read_checkpoint,
    restore_trainer,
    trainer_state,
    write_checkpoint,
)
from rlvr.training.config import TrainConfig
from rlvr.training.distributed import DataParallel
from rlvr.training.distributed_step import check_config, gathered_advantages, gathered_groups, whole_batch
from rlvr.training.generators.wiring import trainer_generator, with_companions
from rlvr.training.metrics import describe_evaluation, json_safe, run_summary
from rlvr.training.multiturn import EpisodeBatch, oracle_transcripts
from rlvr.training.objectives.update import add_objective_parameters, objective_update, trainer_objective
from rlvr.training.optim import adamw
from rlvr.training.reward_transforms import apply_reward_transforms
from rlvr.training.rollout import ProblemStream, RolloutBatch
from rlvr.training.sft import run_sft
from rlvr.training.shaping import refill_groups
from rlvr.training.step_tokens import SampledTokens
from rlvr.training.tracking import MetricsLogger
from rlvr.training.update import policy_update, step_record
from rlvr.training.workers import workers_from_config

_SFT_STREAM_OFFSET = 1_000_003
_SFT_CHECK_STREAM_OFFSET = 3_000_017
"""SFT problems come from stream seed + this, so warm-up and RL draw different problem sequences."""
_SAMPLE_SEED_STRIDE = 1_000_033
"""Step s samples with seed * stride + s: distinct per (seed, step), fixed across resumes."""
_REFILL_SEED_STRIDE = 7_919_111
"""Extra draws of dynamic sampling use seed + draw * this (far from every other step's seed)."""
_ACCURACY_ROUNDING = 1e-6
"""How far below `sft_until_accuracy` a check's accuracy may read and still meet it (a solve rate
computed in float32; far under one problem in a million)."""
_RANK_SEED_STRIDE = 15_485_863
"""Rank r of a data-parallel run samples its share with the step's seed + r * this."""


class Trainer:
    """Owns the policy, its optimizer, the problem streams and the run folder."""

    def __init__(self, config: TrainConfig, policy: Any = None, task: Any = None) -> None:
        self.config = config.validate()
        self.env = build_env(config) if task is None else None
        self.task = task if task is not None else self.env.task
        self.difficulty = dict(config.difficulty) if self.env is None else dict(self.env.difficulty)
        self.eval_levels = eval_levels(self.task, config, self.difficulty)  # checked before any work
        if config.max_turns > 1 and self.env is None:
            raise ValueError("multi-turn training (max_turns > 1) plays the env of env_id: do not pass a task")
        self._env_pool: list[Any] = []  # multi-turn: envs reused across steps
        if config.rollout_workers and self.env is None:
            raise ValueError("rollout workers build the env of env_id: do not pass a task")
        self._workers: Any = None  # rollout workers (`rollout_workers` > 0), started by the first step
        self.dp = DataParallel.from_env(config.device)  # one rank of one unless a launcher started several
        if self.dp.active:
            check_config(config, self.dp)
        self.policy = policy if policy is not None else \
            build_policy(dataclasses.replace(config, device=self.dp.policy_device(config.device)))
        check_trainable(self.policy)  # what is missing, named now rather than mid-run
        self.model = self.policy.model
        if config.parallel == "fsdp":
            self.dp.shard_model(self.model)  # several ranks only; before the optimizer takes the parameters
        self.out_dir = Path(config.out_dir)
        self.train_stream = ProblemStream(self.task, config.seed, self.difficulty, "train")
        self.sft_stream = ProblemStream(self.task, config.seed + _SFT_STREAM_OFFSET, self.difficulty, "train")
        self.advantage = build_advantage(config)  # the plug-in; its state is saved in checkpoints
        self.sampler = build_sampler(config, self.train_stream)  # which problems; its state too
        self.reward_transforms = build_reward_transforms(config, bind=True)  # shaping before the advantage
        # how rollouts are produced, chosen once: plain, episodes (max_turns > 1) or the configured one,
        # whose companions (HBPO's reward and advantage) replace the configured ones
        self.generator = trainer_generator(self)
        self.advantage, self.reward_transforms = with_companions(self.generator, self.advantage, self.reward_transforms)
        self.objective = trainer_objective(self)  # training other than policy gradient; None: the PPO-style step
        self.loss_fn = build_loss(config)
        self.optimizer = self._new_optimizer()
        self.reference = None  # frozen copy for the KL penalty, made when RL starts
        self.step = 0
        self.sft_done = False
        self.evaluations: list[dict[str, Any]] = []
        self._eval_problems: list | None = None
        self.metrics = MetricsLogger(self.out_dir, tensorboard=config.tensorboard, enabled=self.dp.is_main)

    def _new_optimizer(self) -> torch.optim.Optimizer:
        optimizer = adamw(self.model.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay)
        return add_objective_parameters(optimizer, self.objective, self.config.lr)  # a learned log Z

    @property
    def needs_reference(self) -> bool:
        """Whether the loss (a KL penalty) or the objective (robust DPO) reads the frozen reference."""
        return self.loss_fn.needs_reference or bool(self.objective is not None and self.objective.needs_reference)

    # ---- logging -------------------------------------------------------------------------------
    def log(self, record: dict[str, Any]) -> None:
        """One line in metrics.jsonl; its numbers as TensorBoard scalars too."""
        self.metrics.log(record)

    def _say(self, text: str) -> None:
        """Print a line (rank 0 only); through tqdm when bars are shown, so the line does not break a bar."""
        if not self.dp.is_main:
            return
        if self.config.progress:
            from tqdm.auto import tqdm

            tqdm.write(text)
        else:
            print(text, flush=True)

    # ---- evaluation ----------------------------------------------------------------------------
    def evaluate(self, phase: str, with_samples: bool = False, **extra: Any) -> dict[str, Any]:
        """Greedy metrics on the held-out set (pass@k / maj@k too when `with_samples`), with `extra`
        fields; logged. With several ranks rank 0 evaluates and hands the numbers to the others."""
        config = self.config
        metrics = None
        with self.dp.gathered():
            if self.dp.is_main:
                metrics = self._evaluate_on(self.heldout(), num_samples=config.eval_samples if with_samples else 0)
        metrics = self.dp.broadcast_json(metrics)
        record = {"eval": phase, "step": self.step, **extra, **metrics}
        self.evaluations.append(record)
        self.log(record)
        return record

    def heldout(self) -> list:
        """The held-out problems of every evaluation (each `eval_sweep` level's), drawn once."""
        if self._eval_problems is None:
            self._eval_problems = evaluation_problems(self.task, self.config, self.eval_levels)
        return self._eval_problems

    def _evaluate_on(self, problems: list, num_samples: int) -> dict[str, Any]:
        """Greedy metrics on `problems` (single responses or multi-turn episodes), plus pass@k and
        maj@k over `num_samples` samples when > 0."""
        config = self.config
        sampling = {"num_samples": num_samples, "ks": config.eval_k, "max_new_tokens": config.max_new_tokens,
                    "temperature": config.temperature, "top_p": config.top_p, "batch_size": config.eval_batch_size,
                    "seed": config.seed + EVAL_STREAM_OFFSET}
        return self.generator.evaluate(problems, **sampling)  # episodes for max_turns > 1

    def warm_up(self, steps: int, stop_after_s: float | None = None,
                until_accuracy: float | None = None) -> list[float]:
        """SFT on oracle solutions from the SFT stream (multi-turn: the env's oracle transcripts,
        env replies as context only); returns the losses. With `until_accuracy` it ends at the first
        check (every `sft_check_every` steps) whose greedy accuracy on the check problems reaches it."""
        config = self.config
        stop_when = None if until_accuracy is None else self._accuracy_reached(until_accuracy)
        batch_fn = None
        if config.max_turns > 1:
            def batch_fn(problems: list) -> tuple:
                return oracle_transcripts(self.policy, self._make_env, problems, config.max_turns, self._env_pool)
        return run_sft(self.policy, self.task, self.sft_stream, steps, lr=config.sft_lr,
                       batch_size=config.sft_batch_size, weight_decay=config.weight_decay,
                       max_grad_norm=config.max_grad_norm, target=config.sft_target,
                       progress=config.progress and stop_after_s is None and self.dp.is_main, stop_after_s=stop_after_s,
                       stop_when=stop_when, batch_fn=batch_fn)

    def _accuracy_reached(self, target: float) -> Any:
        """`stop_when(step)` for the warm-up: every `sft_check_every` steps, greedy accuracy on
        train-split check problems (a stream of their own: the held-out set must not choose when
        training changes), logged as an `sft_check` line; true once it reaches `target`."""
        config = self.config
        stream = ProblemStream(self.task, config.seed + _SFT_CHECK_STREAM_OFFSET, self.difficulty, "train")
        problems = stream.distinct(config.sft_check_problems)

        def reached(step: int) -> bool:
            if step % config.sft_check_every:
                return False
            with self.dp.gathered():  # every rank checks (each warms up alike), with whole weights
                accuracy = float(self._evaluate_on(problems, num_samples=0)["greedy_accuracy"])
            self.log({"eval": "sft_check", "sft_step": step, "train_greedy_accuracy": accuracy})
            # a float32 mean reads 70 of 100 as 0.69999999: the target counts as met within that rounding
            return accuracy >= target - _ACCURACY_ROUNDING

        return reached

    def _make_env(self) -> Any:
        """A fresh copy of the training env (multi-turn episodes need one per rollout)."""
        return build_env(self.config)

    # ---- one RL step ---------------------------------------------------------------------------
    def collect(self, problems: list, seed: int) -> tuple[RolloutBatch, float, float]:
        """G rollouts per problem from the generator (single responses scored by the task, multi-turn
        episodes, budget subgroups, trees), with the seconds spent sampling and scoring (multi-turn:
        the env scores inside the episode loop, counted as sampling)."""
        if self.config.rollout_workers and self._workers is None:
            self._workers = workers_from_config(self.config, functools.partial(build_env, self.config))
        return self.generator.generate(problems, seed, self.step)

    def _sample_seed(self, draws: int = 0) -> int:
        """Seed of a step's sampling: a function of (seed, step, draw), and of the rank, whose share of
        the problems is sampled apart (rank 0 keeps the single-process seed)."""
        return (self.config.seed * _SAMPLE_SEED_STRIDE + self.step + draws * _REFILL_SEED_STRIDE
                + self.dp.rank * _RANK_SEED_STRIDE)

    def advantages(self, batch: RolloutBatch, probe: RolloutBatch | None = None) -> torch.Tensor:
        """[N] per rollout, or [N, T] per token (multi-turn episodes: each turn its own), from the
        plug-in, given a view with the quantities it declares (computed here, once per step). With
        several ranks the plug-in sees every rank's view (`probe`: a batch that gives the view its
        shapes when this rank kept no group)."""
        if isinstance(batch, EpisodeBatch) and not self.advantage.turn_level:
            raise ValueError(f"advantage {self.advantage.name!r} works on single responses; multi-turn "
                             f"episodes take one of {turn_level_names()}")
        if not self.dp.active:
            return compute_advantages(self.advantage, rollout_view(batch, self.advantage.needs, self.policy))
        rows = len(batch.problems)
        view = rollout_view(batch if rows or probe is None else probe, self.advantage.needs, self.policy)
        return gathered_advantages(self.dp, self.advantage, view, rows, batch.loss_mask.shape[1])

    def policy_loss(self, batch: RolloutBatch, advantages: torch.Tensor, ref: Any = None,
                    old: dict[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The configured loss of `batch` under the current weights (with grad when enabled).

        `advantages` is [N] (one per rollout) or [N, T] (per token), as `advantages()` returns.
        Returns the loss and pi_old's quantities for later updates on the same batch. pi_old's
        log-probs are the sampler's; any other quantity the loss needs (ROVER's vocabulary mean) is
        taken, detached, from this forward pass on the first update, when the weights still equal
        the sampler's: no extra pass computes pi_old.
        """
        sample = batch.sample
        attention = sample.completion_mask.to(self.policy.device)
        loss_mask = batch.loss_mask.to(self.policy.device)
        new = self.policy.score(sample.prompt_ids, sample.completion_ids, attention, need=self.loss_fn.needs)
        if old is None:
            old = {name: value.detach() for name, value in new.items() if name != "logprobs"}
            old["logprobs"] = sample.logprobs.to(attention.device) * loss_mask
        return self.loss_fn(new, old, advantages.to(attention.device), loss_mask, ref), old

    def rl_step(self) -> dict[str, Any]:
        """One sample -> score -> advantage -> update step; returns its metrics line. With several
        ranks each plays its share of the problems; what decides (rewards, DAPO's filter, what the
        sampler observes, the metrics) is the gathered whole step."""
        config = self.config
        started = time.perf_counter()
        problems = self.sampler.select(self.step)
        sample_start = time.perf_counter()
        with self.dp.gathered():  # FSDP: whole weights while each rank samples its share
            batch, sampling_time, scoring_time = self.collect(self.generator.shard(problems, self.dp), self._sample_seed())
        draws, scored = 1, [(problems, batch)]
        if config.dynamic_sampling:
            batch, draws, more_sampling, more_scoring = refill_groups(self, batch, scored)
            sampling_time, scoring_time = sampling_time + more_sampling, scoring_time + more_scoring
        # before shaping: the sampler judges problems by the verifier's rewards, dropped groups included
        seen, correct, valid = gathered_groups(self.dp, scored)  # valid: ragged groups
        self.sampler.observe([p for chosen, _ in scored for p in chosen], seen, correct,
                             **({} if valid is None else {"valid": valid}))
        whole = whole_batch(self.dp, batch)  # lengths and `sampled` (entropy) before a plug-in drops tokens (D3S)
        sampled = SampledTokens(self, scored, batch)
        raw_rewards = whole["rewards"]  # `correct` stays the verifier's: accuracy is never shaped
        rewards = apply_reward_transforms(self.reward_transforms, raw_rewards, whole["lengths"],
                                          whole["components"], self.step, whole["valid"])
        batch.rewards = self.dp.local_rows(rewards, len(batch.problems))
        numbers: dict[str, float] = {}
        if self.objective is not None:  # trajectory balance, robust DPO: in place of advantage and loss
            update, numbers = objective_update(self, batch)
        else:
            sample = batch.sample
            advantages = self.advantages(batch, probe=scored[0][1])
            if batch.valid is not None:  # ragged groups: the update trains on the valid rollouts alone
                advantages = advantages[batch.valid.reshape(-1).to(advantages.device)]
                batch = batch.without_padding()
                sample = batch.sample
            ref = None
            if self.loss_fn.needs_reference and batch.problems:
                with torch.no_grad():
                    ref = self.reference.score(sample.prompt_ids, sample.completion_ids, sample.completion_mask)
            update = policy_update(self, batch, advantages, ref, probe=scored[0][1])
        self._weights_changed()
        self.step += 1
        elapsed = time.perf_counter() - started
        record = step_record(self, whole, rewards, raw_rewards, update, draws, {
            "total": elapsed, "problems": sample_start - started, "sampling": sampling_time, "scoring": scoring_time})
        record.update({**self.generator.metrics(), **numbers})  # none for plain or episodes: the line as it was
        record.update(sampled.line(batch))  # the policy's entropy along its samples, every rank's (no extra pass)
        if update.skipped:
            self._say(f"step {self.step}: non-finite loss or gradient, {update.skipped} update(s) skipped")
        self.log(record)
        return record

    def _weights_changed(self) -> None:
        """Tell the policy the learner's weights moved (one with a separate rollout engine, vLLM or a
        server, pushes them there)."""
        self.policy.after_update()

    # ---- checkpoints ---------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return checkpoint_paths(self.out_dir)[0]

    def save_checkpoint(self) -> Path:
        """Weights, optimizer, RNG states, step, stream positions, config and the advantage, sampler and
        reward transform plug-ins' states, as tensors and plain values (`rlvr.training.checkpoint`:
        loadable without running code, sha256 beside it)."""
        state = trainer_state(self)
        path = write_checkpoint(self.out_dir, state) if self.dp.is_main else self.checkpoint_path
        self.dp.barrier()  # rank 0 wrote it (every rank holds the same state): the others may read it now
        return path

    def load_checkpoint(self) -> bool:
        """Restore the newest checkpoint; drop metric lines logged after it. False when none.

        Refuses (ValueError naming the keys) a checkpoint whose config differs from this run's
        outside `rlvr.training.checkpoint.RESUMABLE_CHANGES`, unless `force_resume`.
        """
        if not self.checkpoint_path.is_file():
            return False
        state = read_checkpoint(self.out_dir, map_location=self.policy.device, required=CHECKPOINT_KEYS)
        differences = check_resume_config(state["config"], self.config)  # raises unless forced
        if differences:
            self._say(f"resuming with a changed config (forced): {'; '.join(differences)}")
        note = check_layout(state, self.dp, self.checkpoint_path)  # raises where it cannot be read
        if note:
            self._say(note)
        restore_trainer(self, state)
        self.metrics.truncate_after(self.step)  # a step logged after the checkpoint will be redone
        return True

    def _frozen_copy(self) -> Any:
        import copy

        reference = copy.copy(self.policy)
        reference.model = copy.deepcopy(self.model).eval().requires_grad_(False)
        return reference

    # ---- the whole run -------------------------------------------------------------------------
    def train(self) -> dict[str, Any]:
        """SFT warm-up (if any), evaluate, RL steps with periodic evaluation, evaluate; a summary."""
        config = self.config
        self.out_dir.mkdir(parents=True, exist_ok=True)
        resumed = config.resume and self.load_checkpoint()
        if not resumed:
            self.metrics.clear()  # a fresh run starts fresh logs
        # written after the checkpoint was accepted: a refused resume leaves the folder's config as it was
        if self.dp.is_main:
            (self.out_dir / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
        timings: dict[str, float] = {}
        if not self.sft_done:
            start = time.perf_counter()
            sft_steps_taken = len(self.warm_up(config.sft_steps, until_accuracy=config.sft_until_accuracy)) \
                if config.sft_steps else 0
            self.sft_done = True
            if config.sft_steps:
                self.dp.broadcast_module(self.model)  # every rank warmed up alike; rank 0's weights are the run's
                self._weights_changed()
            timings["sft_s"] = time.perf_counter() - start
            after_sft = self.evaluate("after_sft", with_samples=True, sft_steps=sft_steps_taken)
            self._say(describe_evaluation("after SFT", after_sft, config.eval_k))
            if self.needs_reference:
                self.reference = self._frozen_copy()
            self.save_checkpoint()
        if self.needs_reference and self.reference is None:
            self.reference = self._frozen_copy()
        start = time.perf_counter()
        bar = None
        if config.progress and self.dp.is_main:
            from tqdm.auto import tqdm

            bar = tqdm(total=config.rl_steps, initial=self.step, desc="GRPO", dynamic_ncols=True)
        while self.step < config.rl_steps:
            record = self.rl_step()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(reward=f"{record['reward_mean']:.2f}", sps=f"{record['samples_per_s']:.0f}")
            if config.eval_every and self.step % config.eval_every == 0 and self.step < config.rl_steps:
                evaluation = self.evaluate("rl")
                if bar is not None:
                    bar.set_postfix(reward=f"{record['reward_mean']:.2f}", eval=f"{evaluation['greedy_accuracy']:.3f}")
            if config.checkpoint_every and self.step % config.checkpoint_every == 0:
                self.save_checkpoint()
        if bar is not None:
            bar.close()
        timings["rl_s"] = time.perf_counter() - start
        if self._workers is not None:
            self._workers.close()
            self._workers = None
        last = self.evaluations[-1] if self.evaluations else {}
        if last.get("eval") in ("after_sft", "final") and last.get("step") == self.step:
            # no RL step since (in this process or before a resume): the same weights, problems and seeds
            final = {**last, "eval": "final"}
            self.evaluations.append(final)
            self.log(final)
        else:
            final = self.evaluate("final", with_samples=True)
        self.save_checkpoint()
        summary = self.summary(final, timings)
        self.metrics.close()
        self.dp.keep_gathered()  # FSDP: whole weights from here on, for rank 0's samples (training is over)
        if not self.dp.is_main:  # the run folder's files are rank 0's
            return summary
        if config.plots:
            self.plot()
        if config.sft_baseline:
            from rlvr.training.baseline import sft_only_baseline

            summary.update(sft_only_baseline(config, timings.get("sft_s", 0.0) + timings["rl_s"], type(self)))
            self._say(describe_evaluation("SFT alone for the same wall time", summary["sft_only"], config.eval_k))
            (self.out_dir / "summary.json").write_text(json.dumps(json_safe(summary), indent=2, allow_nan=False))
        from rlvr.training.report import write_report

        self.generator.write_samples(self.out_dir / "samples.jsonl", self.heldout(),  # the report's samples
                                     max_new_tokens=config.max_new_tokens, batch_size=config.eval_batch_size)
        self._say(f"report: {write_report(self.out_dir, environment=True)}")
        return summary

    def plot(self) -> list[Path]:
        """Draw the run's curves into `out_dir/plots/`; none (with a note) without matplotlib."""
        from rlvr.training.plots import plot_run

        try:
            paths = plot_run(self.out_dir)
        except ImportError as error:
            self._say(f"no plots: {error}")
            return []
        self._say(f"{len(paths)} plots in {self.out_dir / 'plots'}")
        return paths

    def summary(self, final: dict[str, Any], timings: dict[str, float]) -> dict[str, Any]:
        """After-SFT and after-RL figures; the RL figure is the mean of the last three evaluations."""
        result = run_summary(self.evaluations, final, timings, self.step)
        self._say(describe_evaluation("after RL", final, self.config.eval_k))
        if self.dp.is_main:
            (self.out_dir / "summary.json").write_text(json.dumps(json_safe(result), indent=2, allow_nan=False))
        return result


def train_from_scenario(path: str | os.PathLike, overrides: list[str] | tuple[str, ...] = (), out_dir: str | None = None) -> dict:
    """Load a scenario YAML, apply `key=value` overrides (and `out_dir`), train; the summary."""
    from rlvr.training.config import load_config

    overrides = list(overrides)
    if out_dir is not None:
        overrides.append(f"out_dir={out_dir}")
    return Trainer(load_config(path, overrides)).train()
