"""Reward shaping: DAPO's overlong penalty and dynamic sampling, the unlikeliness reward."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from rlvr.training.shaping import (  # noqa: E402
    dynamic_sampling_mask,
    mean_token_logprob,
    overlong_penalty,
    unlikeliness_rewards,
)


def test_overlong_penalty_worked_numbers():
    # L_max = 20, L_cache = 4: free up to 16 tokens, then a ramp of -1/4 a token, -1 past L_max.
    penalty = overlong_penalty(torch.tensor([0, 16, 17, 18, 20, 21]), max_len=20, cache_len=4)
    torch.testing.assert_close(penalty, torch.tensor([0.0, 0.0, -0.25, -0.5, -1.0, -1.0]))


@given(lengths=st.lists(st.integers(0, 100), min_size=2, max_size=10), cache=st.integers(1, 30))
@settings(max_examples=50, deadline=None)
def test_overlong_penalty_is_bounded_and_never_rewards_length(lengths, cache):
    lengths = sorted(lengths)
    penalty = overlong_penalty(torch.tensor(lengths), max_len=50, cache_len=cache)
    assert ((penalty <= 0) & (penalty >= -1)).all()
    assert (penalty[1:] <= penalty[:-1]).all()


def test_overlong_penalty_rejects_bad_settings():
    with pytest.raises(ValueError, match="0 < cache_len <= max_len"):
        overlong_penalty(torch.tensor([3]), max_len=4, cache_len=5)


def test_dynamic_sampling_drops_all_equal_groups():
    rewards = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [0.5, 0.5, 0.6]])
    assert dynamic_sampling_mask(rewards).tolist() == [True, False, False, True]
    assert dynamic_sampling_mask(rewards, tol=0.2).tolist() == [True, False, False, False]


def test_unlikeliness_worked_numbers():
    shaped = unlikeliness_rewards(
        torch.tensor([[1.0, 1.0, 0.0, 0.0]]), torch.tensor([[-0.1, -0.5, -0.3, -0.9]])
    )
    torch.testing.assert_close(shaped, torch.tensor([[0.8125, 0.9375, 0.0, 0.0]]))


@given(
    rewards=st.lists(st.sampled_from([0.0, 1.0]), min_size=2, max_size=8),
    seed=st.integers(0, 10_000),
)
@settings(max_examples=50, deadline=None)
def test_unlikeliness_follows_the_rollouts_under_permutation(rewards, seed):
    size = len(rewards)
    generator = torch.Generator().manual_seed(seed)
    logps = -torch.randperm(size, generator=generator).to(torch.float32) / size  # distinct: no ties
    values = torch.tensor([rewards])
    shaped = unlikeliness_rewards(values, logps[None])
    permutation = torch.randperm(size, generator=generator)
    permuted = unlikeliness_rewards(values[:, permutation], logps[None, permutation])
    torch.testing.assert_close(permuted, shaped[:, permutation])
    # The least likely rollout keeps its reward; no reward grows; wrong answers stay 0.
    least = int(logps.argmin())
    assert shaped[0, least] == values[0, least]
    assert (shaped <= values).all() and (shaped[values == 0] == 0).all()


def test_unlikeliness_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match=r"mean_logprobs shaped like rewards \(1, 2\)"):
        unlikeliness_rewards(torch.tensor([[1.0, 0.0]]), torch.tensor([[-0.1, -0.2, -0.3]]))


def test_mean_token_logprob_ignores_padding():
    logp = torch.tensor([[-1.0, -3.0, 99.0], [0.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, False], [False, False, False]])
    torch.testing.assert_close(mean_token_logprob(logp, mask), torch.tensor([-2.0, 0.0]))
