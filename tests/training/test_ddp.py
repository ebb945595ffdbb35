"""The data-parallel learner with 2 CPU processes on gloo: the same update as one process on the
whole batch, a rank killed by SIGKILL then resumed with no step lost or repeated, one metrics file.

The sampler's seeded generator draws every row of a batch from one stream, so 2 ranks x B problems
cannot reproduce the samples of 1 rank x 2B; the equivalence is tested on fixed batches instead
(`ddp_workers.fixed_batches`): each rank trains on its half, one process on the whole.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.training.ddp_workers import PASS_RATES, STEPS, run_fixed

pytest.importorskip("torch.distributed")
if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
CASES = {
    "grpo_corrupted": ["loss=grpo", "advantage=grpo", "reward_transforms=[{name: corrupt, mode: random}]"],
    "dapo_filtered": ["loss=dapo", "dynamic_sampling=true", "updates_per_batch=2"],
    "dapo_rank1_empty": ["loss=dapo", "dynamic_sampling=true", "flat_half", "kl_beta=0.05"],
    "fsdp_dapo_rank1_empty": ["loss=dapo", "dynamic_sampling=true", "flat_half", "parallel=fsdp"],
    "dr_grpo_variance": ["loss=dr_grpo", "advantage=dr_grpo", "loss_aggregation=null", "sampler=variance"],
    "dgpo_weighted": ["loss=dgpo", "advantage=dgpo", "advantage_settings={question_weights: true}"],
    "gdro_grpo": ["generator=rollout_gdro", "loss=grpo", "advantage=grpo", "updates_per_batch=2"],
    "gdro_dgpo_corrupted": ["generator=rollout_gdro", "loss=dapo", "advantage=dgpo",
                            "advantage_settings={question_weights: true}", "kl_beta=0.05", "updates_per_batch=2",
                            "reward_transforms=[{name: corrupt, mode: random}]"],
    "gdro_dynamic": ["generator=rollout_gdro", "loss=dapo", "dynamic_sampling=true", "flat_half",
                     "updates_per_batch=2"],
}
"""GRPO's sequence mean (rewards shuffled within groups by the `corrupt` transform), DAPO's token mean with
its filter (uneven shares across ranks) and two updates per batch, the filter leaving one rank no group
(with a KL reference; and under FSDP2, whose empty rank still joins every layer's gather), Dr. GRPO's
constant normaliser (with the variance sampler's memory), DGPO's question weights across the whole batch;
`rollout_gdro`'s ragged groups (`ddp_workers.fixed_sampling`, two updates each) under GRPO's sequence mean
over the valid rows, under DAPO's token mean with DGPO's weights, a KL reference and shuffled rewards, and
with DAPO's filter and refill (the first step leaving rank 1 no group, later ones keeping groups narrower on
one rank than on the other)."""
COMPARED = ("reward_mean", "accuracy", "loss", "grad_norm", "groups_with_signal", "mean_length", "truncated")
GDRO_COMPARED = ("rollout_gdro_min_n", "rollout_gdro_max_n", *(f"rollout_gdro_rollouts_{b}" for b in range(4)),
                 *(f"rollout_gdro_weight_{b}" for b in range(4)))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _clean_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return env


@pytest.fixture(scope="module")
def two_rank_runs(tmp_path_factory):
    """Every case's fixed-batch run on 2 spawned ranks (one spawn for all: process start is the cost)."""
    from torch import multiprocessing

    from tests.training.ddp_workers import rank_main

    out = tmp_path_factory.mktemp("ddp")
    multiprocessing.spawn(rank_main, args=(2, _free_port(), CASES, str(out)), nprocs=2, join=True)
    return out


@pytest.mark.parametrize("case", CASES)
def test_two_ranks_make_the_update_of_one_process_on_the_whole_batch(case, two_rank_runs, tmp_path,
                                                                     monkeypatch):
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    torch.set_num_threads(1)
    one = run_fixed(CASES[case], str(tmp_path))
    two = json.loads((two_rank_runs / case / "records.json").read_text())
    assert [r["step"] for r in two] == list(range(1, STEPS + 1))
    for a, b in zip(one, two, strict=True):
        for key in COMPARED + (GDRO_COMPARED if "gdro" in case else ()):
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-6), (case, a["step"], key)
    if "dynamic_sampling=true" in CASES[case]:  # the filter dropped groups: uneven shares, still the same update
        assert any(r["dynamic_draws"] > 1 for r in one)
    # the trained groups: one process's (in another order: each rank keeps its own), one G on every rank
    single = json.loads((tmp_path / "trained_0.json").read_text())
    double = [json.loads((two_rank_runs / case / f"trained_{rank}.json").read_text()) for rank in range(2)]
    for step, (alone, first, second) in enumerate(zip(single, *double, strict=True)):
        assert first["group_size"] == second["group_size"] == alone["group_size"], (case, step)
        assert sorted(first["counts"] + second["counts"]) == sorted(alone["counts"]), (case, step)
    assert any(abs(r["loss"]) > 1e-4 for r in one), "the fixed batches must carry a gradient"
    # the plug-ins saw the whole step on every rank: their states are one process's
    states = [json.loads((folder / f"states_{rank}.json").read_text())
              for folder, rank in ((tmp_path, 0), (two_rank_runs / case, 0), (two_rank_runs / case, 1))]
    assert states[1] == states[0] and states[2] == states[0]
    for step in (1, STEPS):
        single = torch.load(tmp_path / f"weights_{step}.pt", weights_only=True)
        double = torch.load(two_rank_runs / case / f"weights_{step}.pt", weights_only=True)
        for name, tensor in single.items():
            # Adam divides by sqrt(v): a weight whose gradient is ~1e-8 moves by a visible fraction of lr
            # on float noise alone, so the tolerance is 1% of one step (lr 1e-3); grad_norm above is the
            # sharp check
            torch.testing.assert_close(double[name], tensor, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", [case for case in CASES if "gdro" in case])
def test_rollout_gdro_splits_whole_groups_by_rollouts_and_keeps_one_state_on_every_rank(case, two_rank_runs):
    from rlvr.training.distributed_step import balanced_bounds

    folder = two_rank_runs / case
    shares = [json.loads((folder / f"shares_{rank}.json").read_text()) for rank in range(2)]
    for step, (first, second) in enumerate(zip(*shares, strict=True)):
        counts = first + second  # the step's rollouts per problem, rank 0's groups first
        assert len(counts) == 8 and sum(counts) == 8 * 4, (step, counts)  # every group whole: B * G
        assert [len(first), len(second)] == [stop - start for start, stop in balanced_bounds(counts, 2)]
    assert any(len(first) != 4 for first in shares[0]), "the split follows rollouts, not the group count"
    assert any(min(counts) < max(counts) for rank in shares for counts in rank)  # ragged steps
    states = [json.loads((folder / f"states_{rank}.json").read_text())["generator"] for rank in range(2)]
    assert states[0] == states[1]
    # the problems `fixed_sampling` starts (8 a draw, 3 draws a step with DAPO's refills; a repeated
    # problem shares its id), their pass rates moved off their starts by the gathered `correct`
    draws = 3 if "dynamic_sampling=true" in CASES[case] else 1
    assert 8 < len(states[0]["rates"]) <= STEPS * draws * 8 and set(states[0]["rates"].values()) - set(PASS_RATES)
    assert len(set(states[0]["log_weights"])) > 1  # the weights moved apart: the bins fared differently


def test_dapo_refill_of_ragged_groups_pads_each_ranks_kept_groups_to_the_kept_largest_n(two_rank_runs):
    folder = two_rank_runs / "gdro_dynamic"
    records = json.loads((folder / "records.json").read_text())
    trained = [json.loads((folder / f"trained_{rank}.json").read_text()) for rank in range(2)]
    shares = [json.loads((folder / f"shares_{rank}.json").read_text()) for rank in range(2)]
    draws = [r["dynamic_draws"] for r in records]
    assert sum(draws) == len(shares[0]) and max(draws) > 1  # groups filtered out, then refilled
    for record, first, second in zip(records, *trained, strict=True):
        counts = first["counts"] + second["counts"]
        assert len(counts) == record["groups"] and first["group_size"] == max(counts)
    # step 1 (`flat_half`): rank 1 kept nothing, and rank 0's kept groups are narrower than the first
    # draw's widest (the advantages of the empty rank still gather at the kept G)
    assert trained[1][0]["counts"] == [] and trained[0][0]["group_size"] < max(shares[0][0] + shares[1][0])
    # a later step where one rank's kept groups are all narrower than the other's: padded to them
    assert any(max(mine["counts"]) < mine["group_size"] for rank in trained for mine in rank[1:])


# ---- kill -9 and resume through torchrun -------------------------------------------------------
RUN = [arg for item in ["sft_steps=0", "rl_steps=6", "checkpoint_every=2", "prompts_per_step=4",
                         "eval_every=3",
                         "overlong_buffer=3", "tiny_hidden_size=32", "tiny_num_layers=1", "tiny_num_heads=2",
                         "tiny_intermediate_size=64", "eval_problems=4", "eval_samples=2", "eval_k=[1, 2]"]
       for arg in ("--set", item)]
"""A short run whose rewards vary without a warm-up: DAPO's overlong penalty grades the untrained
model's lengths (the verifier's answers are all wrong yet)."""


def _torchrun(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *args]
    return subprocess.run(command, cwd=ROOT, env=_clean_env(), capture_output=True, text=True, timeout=240)


def _lines(folder: Path) -> tuple[list[dict], list[dict]]:
    records = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    return [r for r in records if "eval" not in r], [r for r in records if "eval" in r]


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    """An uninterrupted 2-rank run launched as the README says: torchrun -m rlvr train."""
    out = tmp_path_factory.mktemp("straight")
    done = _torchrun("-m", "rlvr", "train", "scenarios/ddp_cpu.yaml", "--out", str(out), *RUN)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("greedy_accuracy_after_rl:") == 1, done.stdout[-3000:]  # rank 0 alone prints it
    return out


def test_a_rank_killed_mid_step_resumes_with_no_step_lost_or_repeated(straight_run, tmp_path):
    killed = _torchrun("tests/training/ddp_workers.py", "1", "3", "train", "scenarios/ddp_cpu.yaml",
                       "--out", str(tmp_path), *RUN)
    assert killed.returncode != 0  # torchrun saw rank 1 die and stopped the run
    steps, _ = _lines(tmp_path)
    assert [r["step"] for r in steps] == [1, 2, 3]  # step 3 logged after the checkpoint at 2
    resumed = _torchrun("-m", "rlvr", "train", "scenarios/ddp_cpu.yaml", "--out", str(tmp_path), "--resume",
                        *RUN)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    one, two = _lines(straight_run)[0], _lines(tmp_path)[0]
    assert [r["step"] for r in two] == [1, 2, 3, 4, 5, 6]
    for a, b in zip(one, two, strict=True):
        assert {k: a[k] for k in COMPARED} == {k: b[k] for k in COMPARED}
    assert any(r["loss"] != 0 for r in one)  # the run learned something to compare
    weights = [torch.load(folder / "checkpoint.pt", weights_only=True)["model"]
               for folder in (straight_run, tmp_path)]
    for name, tensor in weights[0].items():
        assert torch.equal(weights[1][name], tensor), name


def test_rank_zero_alone_writes_the_metrics_and_events(straight_run):
    steps, evals = _lines(straight_run)
    assert [r["step"] for r in steps] == [1, 2, 3, 4, 5, 6]  # each step once, not once per rank
    assert [r["eval"] for r in evals] == ["after_sft", "rl", "final"]
    assert len(list(straight_run.glob("events.out.tfevents.*"))) == 1
    assert (straight_run / "report.html").is_file() and (straight_run / "summary.json").is_file()


@pytest.mark.slow
def test_rollout_gdro_killed_mid_step_resumes_from_the_one_state_every_rank_holds(tmp_path):
    """Under torchrun, with problems few enough to repeat (so the pass rates decide ragged steps after
    the checkpoint), a rank killed in step 4 and the run resumed from step 2 repeat the straight run."""
    gdro = [*RUN, "--set", "generator=rollout_gdro",
            "--set", "difficulty={num_ops: 1, operators: ['+'], min_operand: 0, max_operand: 3}"]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    done = _torchrun("-m", "rlvr", "train", "scenarios/ddp_cpu.yaml", "--out", str(straight), *gdro)
    assert done.returncode == 0, done.stderr[-3000:]
    killed = _torchrun("tests/training/ddp_workers.py", "1", "3", "train", "scenarios/ddp_cpu.yaml",
                       "--out", str(resumed), *gdro)
    assert killed.returncode != 0 and [r["step"] for r in _lines(resumed)[0]] == [1, 2, 3]
    again = _torchrun("-m", "rlvr", "train", "scenarios/ddp_cpu.yaml", "--out", str(resumed), "--resume", *gdro)
    assert again.returncode == 0, again.stderr[-3000:]
    one, two = _lines(straight)[0], _lines(resumed)[0]
    assert [r["step"] for r in two] == [1, 2, 3, 4, 5, 6]
    assert any(r["rollout_gdro_min_n"] < r["rollout_gdro_max_n"] for r in one[2:])  # ragged after the resume point
    for a, b in zip(one, two, strict=True):
        assert {k: a[k] for k in COMPARED + GDRO_COMPARED} == {k: b[k] for k in COMPARED + GDRO_COMPARED}
    states = [torch.load(folder / "checkpoint.pt", weights_only=True) for folder in (straight, resumed)]
    assert states[0]["generator"] == states[1]["generator"]
    for name, tensor in states[0]["model"].items():
        assert torch.equal(states[1]["model"][name], tensor), name
