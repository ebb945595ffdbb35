"""Advantage estimators on the spec's worked numbers, plus properties that must hold for any group."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from rlvr.training.advantages import (  # noqa: E402
    ADVANTAGES,
    Kept,
    dgpo_advantages,
    dgpo_question_weights,
    dr_grpo_advantages,
    grpo_advantages,
    make_advantage,
    rloo_advantages,
    self_certainty,
    ucas_advantages,
    ucas_token_advantages,
    unlikeliness_advantages,
    view_of,
)
from rlvr.training.advantages.base import TOKEN_QUANTITIES, VECTOR_QUANTITIES  # noqa: E402

ONE_RIGHT = torch.tensor([[1.0, 0.0, 0.0, 0.0]])

group = st.lists(st.floats(-10, 10, allow_nan=False, width=32), min_size=2, max_size=8)

UNLIKELINESS_RAISES_ALL_EQUAL = {"unlikeliness", "progrpo"}
"""Their shaping separates the rollouts of an all-correct group (unlikeliness by likelihood, ProGRPO
by confidence; both leave an all-wrong group alone): that is the method."""
PER_ROLLOUT = sorted(name for name in ADVANTAGES if not set(make_advantage(name).needs) & {*TOKEN_QUANTITIES, *VECTOR_QUANTITIES})
"""The plug-ins that read per-rollout quantities only, whose general properties are checked here on
random quantities; the ones reading tokens or hidden states (ucas_token, tw_grpo, thr,
representation_bonus) have their worked numbers and properties in test_algorithm_plugins.py."""


def plugin_advantages(name, rewards, seed=0):
    """The plug-in `name` on `rewards` [B, G], its declared quantities drawn at random (a plug-in that
    leaves rollouts out, D3S, gives its advantages: the left-out ones are 0 there)."""
    rewards = torch.as_tensor(rewards)
    generator = torch.Generator().manual_seed(seed)
    needs = make_advantage(name).needs
    quantities = {need: -torch.rand(rewards.shape, generator=generator, dtype=rewards.dtype) for need in needs}
    result = make_advantage(name)(view_of(rewards, **quantities))
    return result.advantages if isinstance(result, Kept) else result


def close(actual, expected, atol=1e-4):
    torch.testing.assert_close(actual, torch.as_tensor(expected, dtype=actual.dtype), atol=atol, rtol=0)


def test_grpo_worked_numbers_pin_the_unbiased_std():
    # Unbiased std of [1,0,0,0] is 0.5 -> 1.5; the biased std (0.433) would give 1.732.
    close(grpo_advantages(ONE_RIGHT), [[1.5, -0.5, -0.5, -0.5]])
    assert not torch.allclose(grpo_advantages(ONE_RIGHT)[0, 0], torch.tensor(math.sqrt(3)), atol=1e-2)


def test_dr_grpo_and_rloo_worked_numbers():
    close(dr_grpo_advantages(ONE_RIGHT), [[0.75, -0.25, -0.25, -0.25]])
    close(rloo_advantages(ONE_RIGHT), [[1.0, -1 / 3, -1 / 3, -1 / 3]])


def test_dgpo_worked_numbers_and_question_weights():
    close(dgpo_advantages(ONE_RIGHT), [[2.0, -0.667, -0.667, -0.667]], atol=1e-3)
    close(dgpo_question_weights(torch.tensor([0.25, 0.75])), [1.124, 0.876], atol=1e-3)


def test_dgpo_weights_skip_invalid_questions_and_keep_the_scale():
    weights = dgpo_question_weights(torch.tensor([0.25, 1.0, 0.75]), valid=torch.tensor([True, False, True]))
    close(weights, [1.124, 0.0, 0.876], atol=1e-3)
    assert dgpo_question_weights(torch.tensor([0.0, 1.0]), valid=torch.tensor([False, False])).sum() == 0


def test_rows_are_independent_groups():
    rewards = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0]])
    advantages = grpo_advantages(rewards)
    close(advantages[0], [1.5, -0.5, -0.5, -0.5])
    close(advantages[1], [-1.5, 0.5, 0.5, 0.5])
    close(advantages[2], [0.0, 0.0, 0.0, 0.0])


@pytest.mark.parametrize("name", PER_ROLLOUT)
@given(value=st.floats(-5, 5, allow_nan=False), size=st.integers(2, 8))
@settings(max_examples=25, deadline=None)
def test_all_equal_group_gets_exactly_zero(name, value, size):
    if name in UNLIKELINESS_RAISES_ALL_EQUAL and value != 0:
        value = 0.0  # all wrong: nothing to cut, so nothing to learn
    advantages = plugin_advantages(name, torch.full((1, size), value))
    assert torch.equal(advantages, torch.zeros(1, size))


def test_unlikeliness_separates_an_all_correct_group_by_likelihood():
    advantages = plugin_advantages("unlikeliness", torch.ones(1, 4))
    assert advantages.abs().sum() > 0 and abs(float(advantages.sum())) < 1e-5


@given(rewards=group)
@settings(max_examples=50, deadline=None)
def test_rloo_matches_an_explicit_leave_one_out_baseline(rewards):
    values = torch.tensor([rewards], dtype=torch.float64)
    expected = [r - (sum(rewards) - r) / (len(rewards) - 1) for r in rewards]
    close(rloo_advantages(values), [expected], atol=1e-6)


@given(rewards=group)
@settings(max_examples=50, deadline=None)
def test_centred_estimators_sum_to_zero_and_grpo_has_unit_std(rewards):
    values = torch.tensor([rewards], dtype=torch.float64)
    for name in PER_ROLLOUT:
        # certainty (UCAS) and confidence (ProGRPO) rescale or shift each rollout differently, and
        # RiskPO scores bundles against quantiles tracked across steps: not centred by design
        if name not in ("ucas", "progrpo", "riskpo"):
            assert abs(float(plugin_advantages(name, values).sum())) < 1e-6, name
    if values.std() > 1e-3:
        assert float(grpo_advantages(values, eps=0.0).std()) == pytest.approx(1.0, abs=1e-6)


def test_group_of_one_and_bad_shapes():
    assert torch.equal(grpo_advantages(torch.tensor([[3.0]])), torch.zeros(1, 1))
    with pytest.raises(ValueError, match="at least 2 rollouts"):
        rloo_advantages(torch.tensor([[1.0]]))
    with pytest.raises(
        ValueError, match=r"expected rewards shaped \[prompts, rollouts per prompt\].*got shape \(4,\)"
    ):
        grpo_advantages(torch.tensor([1.0, 0.0, 0.0, 0.0]))


def test_integer_rewards_are_accepted():
    close(grpo_advantages(torch.tensor([[1, 0, 0, 0]])), [[1.5, -0.5, -0.5, -0.5]])


def test_unlikeliness_advantages_worked_numbers():
    advantages = unlikeliness_advantages(
        torch.tensor([[1.0, 1.0, 0.0, 0.0]]), mean_logprobs=torch.tensor([[-0.1, -0.5, -0.3, -0.9]])
    )
    close(advantages, [[0.739, 0.985, -0.862, -0.862]], atol=1e-3)


def test_ucas_worked_numbers():
    adjusted = ucas_advantages(
        torch.tensor([[1.0, 1.0, 0.0, 0.0]]), certainty=torch.tensor([[10.0, 20.0, 10.0, 20.0]])
    )
    close(adjusted, [[1.075, 0.697, -0.640, -1.173]], atol=1e-3)


def test_ucas_with_equal_certainty_is_grpo():
    rewards = torch.tensor([[1.0, 0.0, 1.0, 0.0, 0.0]])
    close(ucas_advantages(rewards, certainty=torch.full((1, 5), 7.0)), grpo_advantages(rewards), atol=1e-6)


def test_self_certainty_is_logsumexp_minus_mean_logit():
    logits = torch.randn(2, 3, 11, generator=torch.Generator().manual_seed(0))
    mask = torch.tensor([[True, True, True], [True, False, False]])
    vocab_mean = torch.log_softmax(logits, dim=-1).mean(dim=-1)
    expected = ((torch.logsumexp(logits, dim=-1) - logits.mean(dim=-1)) * mask).sum(dim=-1)
    close(self_certainty(vocab_mean, mask), expected, atol=1e-5)


def test_ucas_token_level_normalises_floors_and_masks():
    chosen = torch.tensor([[1.0, 3.0, 2.0], [5.0, 9.0, 0.0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    tokens = ucas_token_advantages(torch.tensor([0.02, -1.0]), chosen, mask)
    # Row 0: z^ = [0, 1, .5]; 0.02 - 0.05*z^ = [.02, -.03, -.005] floored at 0 because A' > 0.
    close(tokens[0], [0.02, 0.0, 0.0], atol=1e-6)
    # Row 1: z^ = [0, 1] over its own two tokens; no floor for A' < 0; padding stays 0.
    close(tokens[1], [-1.0, -1.05, 0.0], atol=1e-6)


def test_registry_and_lookup_hint():
    assert {"grpo", "dr_grpo", "rloo", "dgpo", "unlikeliness", "ucas"} <= set(ADVANTAGES)
    close(make_advantage("rloo")(view_of(ONE_RIGHT)), rloo_advantages(ONE_RIGHT), atol=0)
    with pytest.raises(ValueError, match="did you mean 'grpo'"):
        make_advantage("grp")
