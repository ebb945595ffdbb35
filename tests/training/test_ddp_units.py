"""The data-parallel pieces in one process: shards that partition a batch, one rank of one as the
identity, the refusals a launched run makes before any work, the checkpoint layout check."""

from __future__ import annotations

import types

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rlvr.training.checkpoint import CheckpointError, check_layout
from rlvr.training.config import load_config
from rlvr.training.distributed import DataParallel, launched
from rlvr.training.distributed_step import check_config
from rlvr.training.token_aggregation import AGGREGATIONS, aggregate_tokens, aggregation_count
from rlvr.training.tracking import MetricsLogger


@given(st.integers(0, 64), st.integers(1, 9))
def test_the_shares_of_the_ranks_concatenate_to_the_batch(count, world):
    items = list(range(count))
    shares = [DataParallel(rank, world).shard(items) for rank in range(world)]
    assert [item for share in shares for item in share] == items
    assert max(map(len, shares)) - min(map(len, shares)) <= 1  # whole groups, as even as they divide


@given(st.lists(st.lists(st.booleans(), min_size=3, max_size=3), min_size=1, max_size=6),
       st.integers(1, 5), st.sampled_from(AGGREGATIONS))
def test_shares_of_the_count_rebuild_the_whole_batch_loss(rows, cut, aggregation):
    """What the ranks' scaled losses sum to is the one-process loss of the whole batch."""
    mask = torch.tensor(rows)
    terms = torch.arange(mask.numel(), dtype=torch.float32).view(mask.shape) / 7
    cut = min(cut, len(rows))
    parts = [(terms[:cut], mask[:cut]), (terms[cut:], mask[cut:])]
    total = sum(aggregation_count(m, aggregation) for _, m in parts)
    summed = sum(aggregate_tokens(t, m, aggregation, max_len=3) * aggregation_count(m, aggregation)
                 / total.clamp_min(1) for t, m in parts if len(m))
    whole = aggregate_tokens(terms, mask, aggregation, max_len=3)
    assert float(summed) == pytest.approx(float(whole), abs=1e-6)


def test_one_rank_of_one_is_the_identity():
    dp = DataParallel()
    tensor = torch.arange(6.0).view(2, 3)
    assert not dp.active and dp.is_main and not dp.fsdp
    assert dp.gather_rows(tensor) is tensor and dp.local_rows(tensor, 2) is tensor
    assert float(dp.sum(2.5)) == 2.5 and dp.max([1.0, 2.0]) == [1.0, 2.0]
    assert dp.all_true(True) and not dp.all_true(False)
    assert dp.broadcast_json({"a": [1, 2]}) == {"a": [1, 2]} and dp.gather_json("x") == ["x"]
    with dp.gathered():
        pass
    assert dp.policy_device("cpu") == "cpu" and dp.gradient_factor == 1.0


def test_the_environment_of_a_launcher_is_read_with_clear_errors(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert not launched() and DataParallel.from_env("cpu").world == 1
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ValueError, match="WORLD_SIZE must be an integer.*'two'"):
        launched()
    with pytest.raises(ValueError, match="rank 2 of 2"):
        DataParallel(2, 2)


@pytest.mark.parametrize(("overrides", "message"), [
    (["prompts_per_step=1"], "prompts_per_step \\(1\\) must be at least the number of ranks \\(2\\)"),
    (["sft_baseline=true"], "sft_baseline trains a single-process comparison"),
    (["parallel=fsdp", "kl_beta=0.1"], "kl_beta > 0 needs a frozen reference model"),
])
def test_a_launched_run_refuses_what_it_cannot_do_before_any_work(overrides, message):
    config = load_config("scenarios/ddp_cpu.yaml", overrides)
    with pytest.raises(ValueError, match=message):
        check_config(config, DataParallel(0, 2))
    check_config(load_config("scenarios/ddp_cpu.yaml"), DataParallel(0, 2))  # the scenario itself is fine


@pytest.mark.parametrize(("field", "value"), [("objective", "robust_dpo"), ("generator", "hbpo")])
def test_plug_ins_that_train_or_group_outside_the_split_step_are_refused(field, value):
    config = types.SimpleNamespace(**{**load_config("scenarios/ddp_cpu.yaml").to_dict(), field: value})
    with pytest.raises(ValueError, match=f"config {field} '{value}'.*run it in one process"):
        check_config(config, DataParallel(0, 2))


def test_the_parallel_mode_is_a_checked_choice():
    assert load_config("scenarios/ddp_cpu.yaml", ["parallel=fsdp"]).parallel == "fsdp"
    with pytest.raises(ValueError, match="parallel must be one of \\['ddp', 'fsdp'\\], got 'fsd'"):
        load_config("scenarios/ddp_cpu.yaml", ["parallel=fsd"])


def test_a_checkpoint_layout_is_checked_on_resume(tmp_path):
    single, sharded = DataParallel(), DataParallel(0, 2)
    sharded._sharded = [object()]  # as `shard_model` leaves it
    assert check_layout({"world_size": 1, "sharded": False}, single, tmp_path) is None
    assert check_layout({}, single, tmp_path) is None  # a checkpoint from before data-parallel runs
    note = check_layout({"world_size": 2}, single, tmp_path)
    assert "resuming on 1 rank(s) a run checkpointed on 2" in note
    with pytest.raises(CheckpointError, match="written by a run with FSDP sharding, this one runs without"):
        check_layout({"world_size": 2, "sharded": True}, single, tmp_path)
    with pytest.raises(CheckpointError, match="without FSDP sharding, this one runs with"):
        check_layout({"world_size": 2, "sharded": False}, sharded, tmp_path)


def test_a_disabled_logger_writes_nothing(tmp_path):
    logger = MetricsLogger(tmp_path / "run", tensorboard=True, enabled=False)
    logger.log({"step": 1, "loss": 0.5})
    logger.truncate_after(0)
    logger.clear()
    logger.close()
    assert not (tmp_path / "run").exists()
