"""Losses: aggregation modes and clipping on hand-computed numbers, PPO clip gradients with autograd,
the k3 KL, and ROVER's target, shift and its gradient identity at theta = theta_old."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from rlvr.agents.policy import SCORE_QUANTITIES  # noqa: E402
from rlvr.training.losses import (  # noqa: E402
    LOSSES,
    Loss,
    PPOClipLoss,
    RoverLoss,
    aggregate_tokens,
    clip_fraction,
    kl_penalty,
    make_loss,
    next_state_values,
    ppo_clip_loss,
    rover_loss,
)

# Two rows: three tokens and one token (then padding).
MASK = torch.tensor([[True, True, True], [True, False, False]])


def test_aggregations_on_hand_computed_numbers():
    # ratio = 1 everywhere, so l_t = -A: row 0 terms [-1, -1, -1], row 1 term [2].
    logp = torch.tensor([[-1.0, -2.0, -0.5], [-0.7, 0.0, 0.0]])
    advantages = torch.tensor([1.0, -2.0])
    loss = {
        mode: ppo_clip_loss(logp, logp, advantages, MASK, aggregation=mode, max_len=5).item()
        for mode in ("seq_mean_token_mean", "token_mean", "seq_mean_token_sum_norm")
    }
    assert loss["seq_mean_token_mean"] == pytest.approx((-1 + 2) / 2)  # GRPO: mean of row means
    assert loss["token_mean"] == pytest.approx((-3 + 2) / 4)  # DAPO: sum / number of tokens
    assert loss["seq_mean_token_sum_norm"] == pytest.approx((-3 + 2) / (2 * 5))  # Dr. GRPO: sum / (N * L_max)
    # Without max_len Dr. GRPO normalises by the batch width T = 3.
    assert ppo_clip_loss(
        logp, logp, advantages, MASK, aggregation="seq_mean_token_sum_norm"
    ).item() == pytest.approx(-1 / 6)


def test_padding_values_do_not_leak_into_any_aggregation():
    terms = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    noisy = terms.clone()
    noisy[1, 1:] = 1000.0
    for mode in ("seq_mean_token_mean", "token_mean", "seq_mean_token_sum_norm"):
        assert aggregate_tokens(noisy, MASK, mode) == aggregate_tokens(terms, MASK, mode)


def test_unknown_aggregation_is_refused_with_a_hint():
    with pytest.raises(ValueError, match="did you mean 'token_mean'"):
        aggregate_tokens(torch.zeros(1, 1), torch.ones(1, 1), "token_means")
    with pytest.raises(ValueError, match="did you mean"):
        PPOClipLoss(aggregation="seq_mean")


def single_token_loss(ratio: float, advantage: float, eps_low: float = 0.2, eps_high: float = 0.2):
    """(loss, d loss / d logp) for one token whose importance ratio is `ratio`."""
    logp = torch.tensor([[math.log(ratio)]], requires_grad=True)
    loss = ppo_clip_loss(
        logp,
        torch.zeros(1, 1),
        torch.tensor([advantage]),
        torch.ones(1, 1, dtype=torch.bool),
        eps_low=eps_low,
        eps_high=eps_high,
    )
    loss.backward()
    return loss.item(), logp.grad.item()


def test_clipped_values_on_hand_computed_numbers():
    assert single_token_loss(1.5, 1.0)[0] == pytest.approx(-1.2)  # -min(1.5, 1.2)
    assert single_token_loss(1.5, 1.0, eps_high=0.28)[0] == pytest.approx(-1.28)
    assert single_token_loss(0.5, -1.0)[0] == pytest.approx(0.8)  # -min(-0.5, -0.8)
    assert single_token_loss(1.1, 2.0)[0] == pytest.approx(-2.2)  # inside the range: unclipped


@given(
    log_ratio=st.floats(-1.0, 1.0),
    advantage=st.floats(-3.0, 3.0).filter(lambda a: abs(a) > 1e-3),
    eps_low=st.sampled_from([0.1, 0.2]),
    eps_high=st.sampled_from([0.2, 0.28]),
)
@settings(max_examples=60, deadline=None)
def test_gradient_vanishes_exactly_when_clipped_in_the_advantage_direction(
    log_ratio, advantage, eps_low, eps_high
):
    ratio = math.exp(log_ratio)
    if abs(ratio - (1 + eps_high)) < 1e-4 or abs(ratio - (1 - eps_low)) < 1e-4:
        return  # at the kink the subgradient is either
    _, grad = single_token_loss(ratio, advantage, eps_low, eps_high)
    clipped = (advantage > 0 and ratio > 1 + eps_high) or (advantage < 0 and ratio < 1 - eps_low)
    if clipped:
        assert grad == 0.0
    else:
        # d(-ratio * A)/d logp = -ratio * A: outside in the other direction the gradient stays.
        assert grad == pytest.approx(-ratio * advantage, rel=1e-5)


def test_clip_higher_keeps_gradient_that_symmetric_clipping_drops():
    assert single_token_loss(1.25, 1.0, eps_high=0.2)[1] == 0.0
    assert single_token_loss(1.25, 1.0, eps_high=0.28)[1] == pytest.approx(-1.25, rel=1e-5)


def test_clip_fraction_counts_only_clipped_masked_tokens():
    old = torch.zeros(2, 3)
    logp = torch.log(torch.tensor([[1.5, 1.0, 0.5], [0.5, 1.5, 1.5]]))
    # Row 0 (A > 0): only the 1.5 is clipped; row 1 (A < 0): only the 0.5; its padding is ignored.
    assert clip_fraction(logp, old, torch.tensor([1.0, -1.0]), MASK).item() == pytest.approx(2 / 4)


@given(logps=st.lists(st.tuples(st.floats(-8, 0), st.floats(-8, 0)), min_size=1, max_size=6))
@settings(max_examples=50, deadline=None)
def test_k3_is_non_negative_and_zero_when_equal(logps):
    logp = torch.tensor([[a for a, _ in logps]], dtype=torch.float64)
    ref = torch.tensor([[b for _, b in logps]], dtype=torch.float64)
    mask = torch.ones_like(logp, dtype=torch.bool)
    assert (kl_penalty(logp, ref, mask) >= 0).all()
    assert torch.equal(kl_penalty(logp, logp, mask), torch.zeros_like(logp))


def test_k3_expectation_under_pi_is_the_exact_kl():
    pi = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    ref = torch.tensor([0.2, 0.2, 0.6], dtype=torch.float64)
    per_action = kl_penalty(pi.log()[None], ref.log()[None], torch.ones(1, 3, dtype=torch.bool))[0]
    exact = float((pi * (pi / ref).log()).sum())
    assert float((pi * per_action).sum()) == pytest.approx(exact, rel=1e-12)


def test_kl_term_is_added_with_its_coefficient():
    logp = torch.tensor([[-1.0, -2.0, -0.5], [-0.7, 0.0, 0.0]])
    ref = torch.tensor([[-1.5, -1.0, -0.5], [-0.2, 0.0, 0.0]])
    advantages = torch.tensor([1.0, -2.0])
    plain = ppo_clip_loss(logp, logp, advantages, MASK)
    with_kl = ppo_clip_loss(logp, logp, advantages, MASK, ref_logp=ref, kl_coef=0.04)
    expected = plain + 0.04 * aggregate_tokens(kl_penalty(logp, ref, MASK), MASK, "seq_mean_token_mean")
    assert with_kl.item() == pytest.approx(expected.item())
    with pytest.raises(ValueError, match="needs ref_logp"):
        ppo_clip_loss(logp, logp, advantages, MASK, kl_coef=0.04)


def test_next_state_values_shift_left_and_stop_at_the_end():
    values = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert torch.equal(next_state_values(values, MASK), torch.tensor([[2.0, 3.0, 0.0], [0.0, 0.0, 0.0]]))


def test_rover_loss_worked_number():
    # rho = 2: Q = 2*([-1, -2] - [-1.5, -2]) = [1, 0]; Vbar = 2*([-3, -2.5] - [-3, -3]) = [0, 1];
    # next-state Vbar = [1, 0] (the second token is last); target = 0.5 + [1, 0] = [1.5, 0.5];
    # errors [-0.5, -0.5] -> token mean of squares 0.25.
    loss = rover_loss(
        torch.tensor([[-1.0, -2.0]]),
        torch.tensor([[-1.5, -2.0]]),
        torch.tensor([[-3.0, -2.5]]),
        torch.tensor([[-3.0, -3.0]]),
        torch.tensor([0.5]),
        torch.ones(1, 2, dtype=torch.bool),
        rho=2.0,
    )
    assert loss.item() == pytest.approx(0.25)


def test_rover_loss_is_zero_when_q_equals_the_target():
    generator = torch.Generator().manual_seed(1)
    old_logp = -torch.rand(2, 3, generator=generator)
    vocab_new, vocab_old = (
        -3 - torch.rand(2, 3, generator=generator),
        -3 - torch.rand(2, 3, generator=generator),
    )
    centred, rho = torch.tensor([0.5, -0.5]), 0.7
    target = centred[:, None] + next_state_values(rho * (vocab_new - vocab_old), MASK)
    logp = (old_logp + target / rho) * MASK
    loss = rover_loss(logp, old_logp * MASK, vocab_new * MASK, vocab_old * MASK, centred, MASK, rho=rho)
    assert loss.item() == pytest.approx(0.0, abs=1e-10)
    # A different reward moves the target, so the same policy no longer fits it.
    assert (
        rover_loss(logp, old_logp * MASK, vocab_new * MASK, vocab_old * MASK, -centred, MASK, rho=rho) > 0.1
    )


def linear_softmax_policy(vocab=5, dim=4, rows=6, length=4, seed=0):
    """A tiny policy pi(.|s) = softmax(W x_s) over fixed state features, tokens sampled from it."""
    generator = torch.Generator().manual_seed(seed)
    weights = torch.randn(vocab, dim, generator=generator, dtype=torch.float64, requires_grad=True)
    features = torch.randn(rows, length, dim, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        probs = torch.softmax(features @ weights.T, dim=-1)
        tokens = torch.multinomial(probs.reshape(-1, vocab), 1, generator=generator).reshape(rows, length)
    lengths = torch.tensor([4, 2, 3, 1, 4, 2])[:rows]
    mask = torch.arange(length)[None, :] < lengths[:, None]

    def score():
        log_probs = torch.log_softmax(features @ weights.T, dim=-1)
        logp = log_probs.gather(-1, tokens[..., None])[..., 0] * mask
        return logp, log_probs.mean(dim=-1) * mask

    return weights, score, mask


@pytest.mark.parametrize("rho", [1.0, 0.5])
def test_rover_gradient_at_theta_old_is_2_rho_times_centred_reinforce(rho):
    weights, score, mask = linear_softmax_policy()
    rewards = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]], dtype=torch.float64)
    centred = (rewards - rewards.mean(dim=1, keepdim=True)).reshape(-1)
    with torch.no_grad():
        old_logp, old_vocab_mean = score()

    logp, vocab_mean = score()
    rover = rover_loss(logp, old_logp, vocab_mean, old_vocab_mean, centred, mask, rho=rho)
    (rover_grad,) = torch.autograd.grad(rover, weights)

    logp, _ = score()
    reinforce = -aggregate_tokens(centred[:, None] * logp, mask, "token_mean")
    (reinforce_grad,) = torch.autograd.grad(reinforce, weights)

    assert reinforce_grad.abs().max() > 1e-3  # the identity is not 0 == 0
    torch.testing.assert_close(rover_grad, 2 * rho * reinforce_grad, rtol=1e-10, atol=1e-12)


def test_rover_target_is_stop_gradient():
    vocab_new = torch.tensor([[-3.0, -2.5]], requires_grad=True)
    loss = rover_loss(
        torch.tensor([[-1.0, -2.0]], requires_grad=True),
        torch.tensor([[-1.5, -2.0]]),
        vocab_new,
        torch.tensor([[-3.0, -3.0]]),
        torch.tensor([0.5]),
        torch.ones(1, 2, dtype=torch.bool),
    )
    loss.backward()
    assert vocab_new.grad is None or torch.equal(vocab_new.grad, torch.zeros_like(vocab_new))


def test_losses_declare_known_score_quantities():
    assert PPOClipLoss().needs == ("logprobs",)
    assert RoverLoss().needs == ("logprobs", "vocab_mean_logprob")
    for name in LOSSES:
        loss = make_loss(name)
        assert isinstance(loss, Loss)
        assert set(loss.needs) <= set(SCORE_QUANTITIES), name
    assert not PPOClipLoss().needs_reference and PPOClipLoss(kl_coef=0.04).needs_reference


def test_presets_and_overrides():
    dapo = make_loss("dapo")
    assert (dapo.eps_low, dapo.eps_high, dapo.aggregation) == (0.2, 0.28, "token_mean")
    assert make_loss("dr_grpo", max_len=512).max_len == 512
    assert make_loss("grpo").aggregation == "seq_mean_token_mean"
    with pytest.raises(ValueError, match="did you mean 'rover'"):
        make_loss("rovr")


def test_loss_objects_match_the_functions():
    logp = torch.tensor([[-1.0, -2.0, -0.5], [-0.7, 0.0, 0.0]])
    old = torch.tensor([[-1.2, -1.5, -0.5], [-0.2, 0.0, 0.0]])
    vocab_new, vocab_old = torch.full((2, 3), -2.0) * MASK, torch.full((2, 3), -2.2) * MASK
    advantages = torch.tensor([1.0, -2.0])
    dapo = make_loss("dapo")
    assert dapo({"logprobs": logp}, {"logprobs": old}, advantages, MASK) == ppo_clip_loss(
        logp, old, advantages, MASK, eps_high=0.28, aggregation="token_mean"
    )
    rover = make_loss("rover", rho=0.5)
    new_q = {"logprobs": logp, "vocab_mean_logprob": vocab_new}
    old_q = {"logprobs": old, "vocab_mean_logprob": vocab_old}
    assert rover(new_q, old_q, advantages, MASK) == rover_loss(
        logp, old, vocab_new, vocab_old, advantages, MASK, rho=0.5
    )
    with pytest.raises(ValueError, match=r"missing \['vocab_mean_logprob'\]"):
        rover({"logprobs": logp}, old_q, advantages, MASK)
    with pytest.raises(ValueError, match="reference"):
        make_loss("grpo", kl_coef=0.1)({"logprobs": logp}, {"logprobs": old}, advantages, MASK)


# ---- presets built from a config: every related field honoured or refused -----------------------
def config_loss(**values):
    from rlvr.training.builders import build_loss
    from rlvr.training.config import load_config

    return build_loss(load_config(values))


def test_dr_grpo_from_a_config_divides_by_the_generation_budget():
    # Dr. GRPO [spec]: loss = sum l_t / (G * L_max), L_max the budget, not this batch's width (3 here)
    loss = config_loss(loss="dr_grpo", max_new_tokens=8)
    logp = torch.tensor([[-1.0, -2.0, -0.5], [-0.7, 0.0, 0.0]])
    advantages = torch.tensor([1.0, -2.0])  # ratio 1: l_t = -A; terms -1, -1, -1 and +2 -> sum -1
    value = loss({"logprobs": logp}, {"logprobs": logp}, advantages, MASK)
    assert value.item() == pytest.approx(-1.0 / (2 * 8))
    assert config_loss(loss="dr_grpo", max_new_tokens=8, max_turns=3).max_len == 24


def test_dapo_from_a_config_honours_the_clip_ranges_and_keeps_its_defaults():
    dapo = config_loss(loss="dapo")
    assert (dapo.eps_low, dapo.eps_high, dapo.aggregation) == (0.2, 0.28, "token_mean")  # [spec]
    tuned = config_loss(loss="dapo", clip_eps_low=0.1, clip_eps_high=0.35, kl_beta=0.01)
    assert (tuned.eps_low, tuned.eps_high, tuned.kl_coef, tuned.needs_reference) == (0.1, 0.35, 0.01, True)
    assert config_loss(loss="grpo", kl_beta=0.04).kl_coef == 0.04  # GRPO has a KL term


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"loss": "dapo", "loss_aggregation": "seq_mean_token_mean"},
         "loss 'dapo' uses aggregation='token_mean', got aggregation='seq_mean_token_mean'"),
        ({"loss": "dr_grpo", "loss_aggregation": "token_mean"}, "loss 'dr_grpo' uses aggregation="),
        ({"loss": "grpo", "loss_settings": {"aggregation": "token_mean"}}, "loss 'grpo' uses aggregation="),
        ({"loss": "ppo_clip", "clip_eps_high": 0.3, "loss_settings": {"eps_high": 0.28}},
         "clip_eps_high=0.3 and loss_settings eps_high=0.28 disagree"),
        ({"loss": "dapo", "loss_settings": {"eps_hgh": 0.3}}, r"got unknown \['eps_hgh'\]"),
        ({"loss": "dapo", "loss_settings": {"max_len": 0}}, "max_len to be None or an int >= 1, got 0"),
        ({"loss": "rover", "clip_eps_high": 0.28}, "clip_eps_high=0.28 set PPO-clip losses, but loss 'rover'"),
        ({"loss": "rover", "loss_aggregation": "token_mean"}, "loss_aggregation='token_mean' set PPO-clip"),
        ({"loss": "rover", "kl_beta": 0.1}, "kl_beta=0.1 set PPO-clip losses"),
        ({"loss": "rover", "loss_settings": {"rh": 1.0}}, "do not fit loss 'rover'"),
    ],
)
def test_a_setting_a_preset_would_ignore_is_refused_when_the_config_loads(values, message):
    from rlvr.training.config import load_config

    with pytest.raises(ValueError, match=message):
        load_config(values)


@given(
    name=st.sampled_from(["ppo_clip", "grpo", "dapo", "dr_grpo", "dgpo"]),
    eps_low=st.none() | st.floats(0, 1), eps_high=st.none() | st.floats(0, 1),
    aggregation=st.none() | st.sampled_from(["seq_mean_token_mean", "token_mean", "seq_mean_token_sum_norm"]),
    kl=st.sampled_from([0.0, 0.05]), budget=st.integers(1, 64),
)
@settings(max_examples=200, deadline=None)
def test_a_preset_built_from_a_config_honours_every_field_or_refuses(name, eps_low, eps_high, aggregation, kl,
                                                                      budget):
    values = {"loss": name, "clip_eps_low": eps_low, "clip_eps_high": eps_high, "loss_aggregation": aggregation,
              "kl_beta": kl, "max_new_tokens": budget}
    try:
        loss = config_loss(**values)
    except ValueError as error:
        assert f"loss {name!r} uses aggregation=" in str(error)
        return
    assert loss.eps_low == (0.2 if eps_low is None else eps_low)
    assert loss.eps_high == ((0.28 if name == "dapo" else 0.2) if eps_high is None else eps_high)
    assert aggregation is None or loss.aggregation == aggregation
    assert (loss.kl_coef, loss.max_len) == (kl, budget)
