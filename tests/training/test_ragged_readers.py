"""Everything that reads groups [B, G] under ragged groups: reward transforms, samplers' pass rates,
DAPO's filter, the step's figures and the rows the loss normalises by. Each reads the valid
rollouts only; dense input gives what it always gave."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

torch = pytest.importorskip("torch")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rlvr.training.ragged import signal_share, valid_count, valid_mean  # noqa: E402
from rlvr.training.reward_transforms import (  # noqa: E402
    RewardTransformPlugin,
    apply_reward_transforms,
    make_reward_transform,
    shuffle_in_groups,
)
from rlvr.training.rollout import ProblemStream, select_groups  # noqa: E402
from rlvr.training.samplers import make_sampler  # noqa: E402
from rlvr.training.shaping import dynamic_sampling_mask  # noqa: E402
from rlvr.training.token_aggregation import aggregate_tokens  # noqa: E402
from tests.training.test_ragged import _batch, _valid  # noqa: E402

REWARDS = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
VALID = _valid([2, 3, 1], 3)  # row 0 has signal over its two; row 2's one rollout has none


@settings(max_examples=40, deadline=None)
@given(counts=st.lists(st.integers(1, 5), min_size=1, max_size=6), seed=st.integers(0, 10_000))
def test_random_rewards_permute_each_groups_valid_rollouts_among_themselves(counts, seed):
    valid = _valid(counts, 5)
    rewards = torch.arange(len(counts) * 5, dtype=torch.float32).view(len(counts), 5) + 1
    rewards = rewards * valid
    shuffled = shuffle_in_groups(rewards, seed, valid)
    for row, n in enumerate(counts):
        assert sorted(shuffled[row, :n].tolist()) == sorted(rewards[row, :n].tolist())
        assert (shuffled[row, n:] == 0).all()


def test_transforms_on_ragged_groups_leave_padding_at_zero_and_report_over_valid_rollouts():
    overlong = make_reward_transform("overlong", {"buffer": 2})
    overlong.bind(0, 4)
    lengths = torch.tensor([[4, 1, 0], [1, 1, 4], [4, 0, 0]])
    shaped = apply_reward_transforms([overlong], REWARDS, lengths, {}, 0, VALID)
    assert shaped.tolist() == [[0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [-1.0, 0.0, 0.0]]
    assert overlong.metrics()["overlong_penalty_mean"] == pytest.approx(-3 / 6)  # three of six valid at -1
    inverted = make_reward_transform("corrupt", {"mode": "inverted"})
    flipped = apply_reward_transforms([inverted], REWARDS, lengths, {}, 0, VALID)
    assert flipped.tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    assert inverted.metrics()["corrupt_changed"] == 1.0
    maxmin = make_reward_transform("maxmin", {"components": ["a", "b"]})
    # over valid rollouts a's group means are (1/2, 1, 0) -> 1/2 and b's (1, 0, 1) -> 2/3: a is chosen;
    # a mean over padding too would make a's 4/9 and b's (2/3, 0, 1/3) -> 1/3, choosing b
    b = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    apply_reward_transforms([maxmin], REWARDS, lengths, {"a": REWARDS, "b": b}, 0, VALID)
    assert maxmin.metrics()["maxmin_choice"] == 0.0


def test_a_transform_that_takes_full_groups_is_refused_ragged_ones():
    @dataclass
    class FullOnly(RewardTransformPlugin):
        name: ClassVar[str] = "full_only"

        def __call__(self, batch):
            return batch.rewards

    with pytest.raises(ValueError, match=r"\['full_only'\] take full groups only.*rollout_gdro.*'corrupt'"):
        apply_reward_transforms([FullOnly()], REWARDS, torch.ones(3, 3), {}, 0, VALID)
    assert torch.equal(apply_reward_transforms([FullOnly()], REWARDS, torch.ones(3, 3), {}, 0, None), REWARDS)


def test_dapos_filter_and_the_step_figures_read_valid_rollouts():
    assert dynamic_sampling_mask(REWARDS, valid=VALID).tolist() == [True, False, False]
    assert dynamic_sampling_mask(REWARDS).tolist() == [True, False, False]
    assert dynamic_sampling_mask(torch.tensor([[1.0, 1.0, 0.0]]), valid=_valid([2], 3)).tolist() == [False]
    assert valid_mean(REWARDS, VALID) == pytest.approx(4 / 6) and valid_mean(REWARDS, None) == pytest.approx(4 / 9)
    assert signal_share(REWARDS, VALID) == pytest.approx(1 / 3)
    assert signal_share(torch.tensor([[1.0, 1.0, 0.0]]), _valid([2], 3)) == 0.0
    assert valid_count(REWARDS, VALID) == 6 and valid_count(REWARDS, None) == 9


def test_samplers_take_pass_rates_over_valid_rollouts(tiny_task):
    stream = ProblemStream(tiny_task, seed=0)
    sampler = make_sampler("variance", {"share": 0.5})
    sampler.bind(stream, 3, seed=0)
    problems = sampler.select(0)
    sampler.observe(problems, REWARDS, REWARDS, valid=VALID)
    assert [sampler.pool[p.problem_id].accuracy for p in problems] == [0.5, 1.0, 0.0]
    gdro = make_sampler("prompt_gdro", {"k": 1, "bins": 2, "decay": 0.5})
    gdro.bind(ProblemStream(tiny_task, seed=0), 3, seed=0)
    gdro.observe(gdro.select(0), REWARDS, REWARDS, valid=VALID)
    # pass@1 = accuracy: bins 1, 1, 0; failures: bin 0 [1.0], bin 1 [0.5, 0.0] -> EMAs 0.5 and 0.125
    assert gdro.ema == pytest.approx([0.5, 0.125])


@pytest.fixture
def tiny_task():
    from rlvr.envs.random_calc import RandomCalcTask

    return RandomCalcTask()


def test_the_update_rows_normalise_dr_grpos_constant_by_valid_rollouts():
    three, two = _batch([["1", "22", "1"]], "a"), _batch([["22", "1"], ["1", "1"]], "b")
    merged = select_groups([(two, [0]), (three, [0]), (two, [1])], pad_id=0)
    rows = merged.without_padding()
    terms = torch.ones(rows.loss_mask.shape)
    tokens = int(rows.loss_mask.sum())
    # N * L_max with N = 7 valid rollouts, not the 9 padded rows
    assert float(aggregate_tokens(terms, rows.loss_mask, "seq_mean_token_sum_norm", max_len=4)) == \
        pytest.approx(tokens / (7 * 4))
    assert rows.loss_mask.sum() == merged.loss_mask.sum()  # padding held no token
