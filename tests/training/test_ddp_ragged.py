"""Ragged groups (`rollout_gdro`) under the data-parallel learner, in one process: the split of a
step's groups by rollouts, the padding that gives every rank the step's G, the refusals, the gathered
`valid` of one rank. The 2-process equivalence runs in `test_ddp.py` (cases `gdro_*`)."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rlvr.agents.policy import SampleBatch
from rlvr.training.config import load_config
from rlvr.training.distributed import DataParallel, gather_valid
from rlvr.training.distributed_step import balanced_bounds, check_config, gathered_groups
from rlvr.training.generators import GenerationContext, make_generator
from rlvr.training.ragged import cat_groups
from rlvr.training.rollout import RolloutBatch, pad_groups, select_groups


def _best_heaviest_share(sizes: list[int], world: int) -> int:
    """The lightest heaviest share over every contiguous split into `world` non-empty shares."""
    best = None
    for cuts in itertools.combinations(range(1, len(sizes)), world - 1):
        edges = [0, *cuts, len(sizes)]
        heaviest = max(sum(sizes[a:b]) for a, b in itertools.pairwise(edges))
        best = heaviest if best is None else min(best, heaviest)
    return best


def test_a_worked_split_by_rollouts():
    # by count, 3 + 3 groups would be 14 + 18 rollouts; by rollouts, 4 + 2 groups are 16 + 16
    assert balanced_bounds([10, 2, 2, 2, 6, 10], 2) == [(0, 4), (4, 6)]
    assert balanced_bounds([2, 2, 2, 18], 2) == [(0, 3), (3, 4)]  # 6 + 18: the 18 alone bounds it
    assert balanced_bounds([5, 1, 1], 3) == [(0, 1), (1, 2), (2, 3)]  # every rank one group at least
    with pytest.raises(ValueError, match="whole sizes >= 0"):
        balanced_bounds([2, 1.5], 2)


@given(st.lists(st.integers(1, 20), min_size=1, max_size=9), st.integers(1, 4))
def test_the_split_by_rollouts_covers_the_groups_with_the_lightest_heaviest_share(sizes, world):
    bounds = balanced_bounds(sizes, world)
    assert len(bounds) == world and bounds[0][0] == 0 and bounds[-1][1] == len(sizes)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))  # contiguous, in rank order
    if len(sizes) >= world:
        assert all(stop > start for start, stop in bounds)  # whole groups, none empty
        assert max(sum(sizes[a:b]) for a, b in bounds) == _best_heaviest_share(sizes, world)


def _batch(counts: list[int], tokens: int = 3, seed: int = 0) -> RolloutBatch:
    """A ragged batch of len(counts) groups (valid first, padding after) with made-up tokens and rewards."""
    generator = torch.Generator().manual_seed(seed)
    width, rows = max(counts), len(counts) * max(counts)
    valid = torch.arange(width).unsqueeze(0) < torch.tensor(counts).unsqueeze(1)
    keep = valid.reshape(-1)
    mask = (torch.rand(rows, tokens, generator=generator) < 0.7) & keep.unsqueeze(1)
    mask[:, 0] = keep
    sample = SampleBatch(
        prompt_ids=[[100 + row // width] for row in range(rows)], prompt_index=[row // width for row in range(rows)],
        completion_ids=torch.where(mask, torch.randint(1, 50, (rows, tokens), generator=generator), torch.tensor(0)),
        completion_mask=mask, logprobs=torch.where(mask, -torch.rand(rows, tokens, generator=generator), torch.tensor(0.0)),
        texts=[f"t{row}" if keep[row] else "" for row in range(rows)],
        finished=[bool(row % 2) or not keep[row] for row in range(rows)])
    rewards = (torch.rand(len(counts), width, generator=generator) < 0.5).float() * valid
    return RolloutBatch([f"p{seed}-{b}" for b in range(len(counts))], width, sample, rewards,
                        {"correct": rewards.clone()}, [f"e{row}" if keep[row] else None for row in range(rows)],
                        valid=valid)


@pytest.mark.parametrize("counts", [[2, 2, 2], [3, 1, 2]])
def test_padding_a_ranks_groups_gives_the_layout_of_one_batch_with_a_wider_group(counts):
    mine, wider = _batch(counts), _batch([5], seed=1)
    # the reference: select_groups pads the same groups to 5 because a group of 5 rides along
    reference = select_groups([(mine, range(len(counts))), (wider, [0])], pad_id=0)
    padded = pad_groups(mine, 5, pad_id=0)
    rows = len(counts) * 5
    assert padded.group_size == 5 and padded.counts == counts and padded.valid.tolist() == reference.valid[:-1].tolist()
    for name in ("completion_ids", "completion_mask", "logprobs"):
        tokens = getattr(padded.sample, name).shape[1]
        assert torch.equal(getattr(padded.sample, name), getattr(reference.sample, name)[:rows, :tokens]), name
    for name in ("prompt_ids", "prompt_index", "texts", "finished"):
        assert getattr(padded.sample, name) == getattr(reference.sample, name)[:rows], name
    assert torch.equal(padded.rewards, reference.rewards[:-1]) and padded.errors == reference.errors[:rows]
    assert torch.equal(padded.components["correct"], reference.components["correct"][:-1])
    assert pad_groups(mine, max(counts), pad_id=0) is mine  # wide enough already: itself


def test_one_rank_hands_valid_and_the_groups_back():
    dp, batch = DataParallel(), _batch([3, 1, 2])
    assert gather_valid(dp, batch.valid, batch.rewards.shape) is batch.valid
    other = _batch([2, 2], seed=3)
    rewards, correct, valid = gathered_groups(dp, [(None, batch), (None, other)])
    expected, expected_valid = cat_groups([batch.rewards, other.rewards], [batch.valid, None])
    assert torch.equal(rewards, expected) and torch.equal(valid, expected_valid) and torch.equal(correct, expected)


class _Problem:
    def __init__(self, problem_id: str) -> None:
        self.problem_id, self.prompt = problem_id, problem_id


def test_each_rank_of_a_step_takes_its_share_by_rollouts_from_the_same_allocation():
    generator = make_generator("rollout_gdro", {"k": 1, "bins": 10, "minimum": 2})
    generator.bind(GenerationContext(None, None, 4, 4))
    generator.rates = {"a": 0.5, "b": 0.5, "c": 1.0, "d": 1.0, "e": 1.0}
    problems = [_Problem(key) for key in "abcde"]
    # B * G = 20; c, d, e (p = 1, no spread) get the minimum 2, a and b share the other 10: 2 + 5 each
    assert generator.allocation(problems)[0] == [7, 7, 2, 2, 2]
    shares = [generator.shard(problems, DataParallel(rank, 2)) for rank in range(2)]
    # 7 | 13 rollouts (by count, a b c | d e would be 16 | 4)
    assert [[p.problem_id for p in share] for share in shares] == [["a"], ["b", "c", "d", "e"]]
    assert generator.shard(problems, DataParallel()) == problems


def test_a_launched_run_takes_rollout_gdro_with_and_without_dynamic_sampling():
    for extra in ([], ["dynamic_sampling=true"]):
        check_config(load_config("scenarios/ddp_cpu.yaml", ["generator=rollout_gdro", *extra]), DataParallel(0, 2))
    with pytest.raises(ValueError, match="builds groups the data-parallel step does not split"):
        check_config(load_config("scenarios/ddp_cpu.yaml", ["generator=latr"]), DataParallel(0, 2))


@pytest.mark.parametrize("width", [2, 7])
def test_a_rank_that_kept_no_group_takes_the_steps_width(width):
    # DAPO's filter left this rank none of a 5-wide draw's groups; the kept groups are `width` wide
    empty = select_groups([(_batch([5, 3]), [])], pad_id=0)
    assert empty.group_size == 5 and not empty.problems
    padded = pad_groups(empty, width, pad_id=0)
    assert padded.group_size == width and padded.valid is None and not padded.problems
    assert padded.rewards.shape == padded.components["correct"].shape == padded.lengths.shape == (0, width)
    assert padded.sample.completion_ids.shape[0] == 0 and padded.finished.shape == (0, width)


def test_generate_under_a_launcher_without_the_split_is_refused(monkeypatch):
    generator = make_generator("rollout_gdro", {})
    generator.bind(GenerationContext(None, None, 4, 4))
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(RuntimeError, match="call shard\\(problems, dp\\) before generate"):
        generator.generate([_Problem("a")], seed=0, step=0)
