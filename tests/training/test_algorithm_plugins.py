"""The spec's algorithms as plug-ins, without a model: worked numbers reached by name, property
tests, the keep/drop path into the loss normalisers, the entropy option, the GDRO sampler and the
MaxMin transform."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from rlvr.training.advantages import (  # noqa: E402
    Kept,
    compute_advantages,
    grpo_advantages,
    make_advantage,
    max_variance_subset,
    representation_bonus,
    ucas_advantages,
    view_of,
)
from rlvr.training.advantages.base import RolloutView  # noqa: E402
from rlvr.training.groups import centre  # noqa: E402
from rlvr.training.losses import make_loss, ppo_clip_loss  # noqa: E402
from rlvr.training.reward_transforms import RewardBatch, make_reward_transform  # noqa: E402
from rlvr.training.samplers import make_sampler, pass_at_k  # noqa: E402
from rlvr.training.token_aggregation import aggregate_tokens  # noqa: E402

binary_groups = st.lists(st.lists(st.sampled_from([0.0, 1.0]), min_size=4, max_size=4), min_size=1, max_size=4)


def close(actual, expected, atol=1e-4):
    torch.testing.assert_close(actual, torch.as_tensor(expected, dtype=actual.dtype), atol=atol, rtol=0)


# ---- SEED-GRPO -----------------------------------------------------------------------------------------


def test_seed_grpo_keeps_the_advantage_when_every_answer_is_one_class():
    rewards = torch.tensor([[1.0, 0.5, 0.0, 0.0]])  # shaped rewards may differ within one answer class
    out = make_advantage("seed_grpo")(view_of(rewards, answer_class=[[0, 0, 0, 0]]))
    assert torch.equal(out, centre(rewards))


def test_seed_grpo_damps_by_the_semantic_entropy_in_nats():
    rewards = torch.tensor([[1.0, 0, 0, 0], [1.0, 1, 0, 0]])
    out = make_advantage("seed_grpo", {"alpha": 0.5})(view_of(rewards, answer_class=[[0, 1, 2, 3], [0, 0, 1, 1]]))
    close(out[0], centre(rewards)[0] / (1 + 0.5 * math.log(4)))
    close(out[1], centre(rewards)[1] / (1 + 0.5 * math.log(2)))


@given(rewards=binary_groups, data=st.data())
@settings(max_examples=40, deadline=None)
def test_seed_grpo_never_amplifies(rewards, data):
    classes = [[data.draw(st.integers(0, 3)) for _ in row] for row in rewards]
    out = make_advantage("seed_grpo")(view_of(rewards, answer_class=classes))
    plain = centre(torch.tensor(rewards))
    assert (out.abs() <= plain.abs() + 1e-7).all() and torch.equal(out.sign(), plain.sign())


# ---- RiskPO ---------------------------------------------------------------------------------------------


def test_riskpo_worked_numbers_and_the_pinball_step():
    # bundle 2: S = [2, 1, 1, 0]; q_a = .5, q_b = 1.5 -> A_RVaR = [0, -.714, -.714, -1.429],
    # A_CVaR = [0, 0, 0, -2.5], A = [0, -.286, -.286, -2.071]; / std(S) = .8165; / std(question) = .5774
    plugin = make_advantage("riskpo", {"bundle": 2})
    plugin.load_state_dict({"quantiles": [0.5, 1.5]})
    out = plugin(view_of([[1.0, 0, 1, 0], [1.0, 1, 0, 0]]))
    close(out, [[0.0, -0.6061, -0.6061, -4.3942]] * 2)
    # q <- q + .1 (level - share below q): .5 + .1 (.2 - .25), 1.5 + .1 (.9 - .75)
    assert plugin.state_dict()["quantiles"] == pytest.approx([0.495, 1.515])


def test_riskpo_starts_from_the_first_steps_quantiles_and_keeps_them_in_its_state():
    plugin = make_advantage("riskpo", {"bundle": 1})
    plugin(view_of([[0.0, 1.0, 1.0, 1.0, 0.0]]))
    first = plugin.state_dict()["quantiles"]
    # torch.quantile of [0, 1, 1, 1, 0] at .2 and .9 is 0 and 1, then one pinball step each
    assert first == pytest.approx([0.0 + 0.1 * 0.2, 1.0 + 0.1 * (0.9 - 0.4)])
    again = make_advantage("riskpo", {"bundle": 1})
    again.load_state_dict(plugin.state_dict())
    view = view_of([[1.0, 0.0, 0.0, 1.0, 1.0]])
    assert torch.equal(again(view), plugin(view))
    with pytest.raises(ValueError, match=r"state is \{'quantiles'"):
        again.load_state_dict({"quantiles": [1.0]})
    with pytest.raises(ValueError, match=r"needs alpha < beta, got alpha=0.9, beta=0.5"):
        make_advantage("riskpo", {"alpha": 0.9, "beta": 0.5})


def test_riskpo_pushes_the_worst_rollouts_hardest():
    plugin = make_advantage("riskpo", {"bundle": 1})
    out = plugin(view_of([[0.0, 0.2, 0.5, 0.9, 1.0]]))[0]
    assert (out <= 0).all() and out.tolist() == sorted(out.tolist())


# ---- ProGRPO / ARM ------------------------------------------------------------------------------------------


def test_progrpo_leaves_all_zero_groups_and_charges_the_more_confident_correct_answer():
    view = view_of([[0.0, 0, 0, 0], [1.0, 1, 0, 0]], low_token_logprob=[[-0.1, -3, -2, -1], [-0.1, -2.0, -1, -1]],
                   prompt_logprob=[[-0.5] * 4, [-0.5] * 4])
    out = make_advantage("progrpo")(view)
    assert torch.equal(out[0], torch.zeros(4))
    assert out[1, 0] < out[1, 1]  # equal rewards, the first far surer of its least likely tokens
    close(out[1, 0] - out[1, 1], -0.1 * (math.exp(-0.1) - math.exp(-2.0)))
    plain = make_advantage("progrpo", {"alpha": 0.0})(view)
    assert torch.equal(plain, grpo_advantages(view.rewards))


# ---- UCAS token level ------------------------------------------------------------------------------------


def test_ucas_token_level_worked_numbers_and_floor():
    rewards, certainty = [[1.0, 1, 0, 0]], [[10.0, 20, 10, 20]]
    logits = torch.tensor([[1.0, 3.0, 2.0]] * 4)
    out = make_advantage("ucas_token")(view_of(rewards, self_certainty=certainty, chosen_logit=logits))
    response = torch.tensor([1.075, 0.697, -0.640, -1.173])
    close(out, response.unsqueeze(1) - 0.05 * torch.tensor([0.0, 1.0, 0.5]), atol=1e-3)
    floored = make_advantage("ucas_token", {"logit_scale": 5.0})(
        view_of(rewards, self_certainty=certainty, chosen_logit=logits))
    assert (floored[:2] >= 0).all() and floored[0, 1] == 0 and floored[2, 1] < -5
    flat = make_advantage("ucas_token", {"logit_scale": 0.0})(
        view_of(rewards, self_certainty=certainty, chosen_logit=logits))
    close(flat, ucas_advantages(torch.tensor(rewards), certainty=torch.tensor(certainty)).reshape(-1, 1).expand(4, 3),
          atol=1e-6)


# ---- representation bonus and THR ----------------------------------------------------------------------------


@pytest.mark.parametrize("lam", [0.5, 1.0, 3.0])
def test_a_repeated_hidden_state_earns_its_norm_over_lambda_plus_norm(lam):
    h = torch.tensor([1.0, 2.0, -2.0])
    bonus = representation_bonus(h.expand(1, 3, 3).clone(), lam)
    squared = float(h @ h)
    close(bonus[0, 1], squared / (lam + squared))
    close(bonus[0, 0], squared / lam)


@given(st.integers(2, 5), st.integers(1, 6), st.floats(0.1, 5.0), st.integers(0, 2**31 - 1))
@settings(max_examples=30, deadline=None)
def test_the_bonus_in_the_span_equals_the_direct_solve(size, width, lam, seed):
    hidden = torch.randn(2, size, width, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    bonus = representation_bonus(hidden, lam)
    for b, i in itertools.product(range(2), range(size)):
        sigma = lam * torch.eye(width, dtype=torch.float64) + hidden[b, :i].T @ hidden[b, :i]
        direct = hidden[b, i] @ torch.linalg.solve(sigma, hidden[b, i])
        assert float(bonus[b, i]) == pytest.approx(float(direct), rel=1e-4, abs=1e-5)


def test_representation_bonus_is_grpo_on_the_shaped_reward():
    hidden = torch.randn(2, 4, 8, generator=torch.Generator().manual_seed(0))
    rewards = torch.tensor([[1.0, 0, 1, 0], [0.0, 0, 0, 0]])
    out = make_advantage("representation_bonus", {"coef": 0.0})(view_of(rewards, hidden_mean=hidden))
    assert torch.equal(out, grpo_advantages(rewards))
    shaped = make_advantage("representation_bonus")(view_of(rewards, hidden_mean=hidden))
    assert shaped[1].abs().sum() > 0  # the bonus alone separates an all-wrong group's rollouts


@given(rewards=binary_groups, width=st.integers(1, 5), seed=st.integers(0, 2**31 - 1))
@settings(max_examples=40, deadline=None)
def test_thr_with_p_zero_is_grpo_bit_for_bit(rewards, width, seed):
    generator = torch.Generator().manual_seed(seed)
    rows = 4 * len(rewards)
    hidden = torch.randn(rows, width, 3, generator=generator)
    mask = torch.rand(rows, width, generator=generator) < 0.8
    mask[:, 0] = True
    view = view_of(rewards, mask=mask, hidden_state=hidden * mask.unsqueeze(-1), correct=rewards)
    out = make_advantage("thr", {"p": 0.0})(view)
    grpo = grpo_advantages(view.rewards).reshape(-1, 1).expand(rows, width)
    assert torch.equal(out[mask], grpo[mask])
    logp = torch.randn(rows, width, generator=generator) * mask
    old = logp + 0.1 * torch.randn(rows, width, generator=generator) * mask
    assert torch.equal(ppo_clip_loss(logp, old, out, mask), ppo_clip_loss(logp, old, grpo_advantages(view.rewards)
                                                                          .reshape(-1), mask))


def test_thr_weighs_tokens_by_their_alignment_with_the_other_correct_rollouts():
    # rollouts 0 and 1 correct and alike along +x, 2 and 3 wrong along -x; token 1 of rollout 0 points away
    hidden = torch.tensor([[[1.0, 0], [-1.0, 0]], [[1.0, 0], [1.0, 0]], [[-1.0, 0], [-1.0, 0]], [[-1.0, 0], [-1.0, 0]]])
    rewards = [[1.0, 1.0, 0.0, 0.0]]
    out = make_advantage("thr", {"p": 0.5})(view_of(rewards, hidden_state=hidden, correct=rewards))
    a = grpo_advantages(torch.tensor(rewards))[0]
    close(out[0], [a[0] * 1.5, a[0] * 0.5])
    close(out[2], [a[2] * 0.5, a[2] * 0.5])  # wrong and aligned against the correct ones: pushed down less


# ---- TW-GRPO ------------------------------------------------------------------------------------------------


def test_tw_grpo_weights_keep_each_responses_mass_and_are_flat_without_disagreement():
    logp = torch.tensor([[-1.0, -0.5, -0.2], [-3.0, -0.5, -0.2], [-1.0, -0.5, 0.0], [-2.0, -0.5, 0.0]])
    rewards = [[1.0, 0.0], [1.0, 1.0]]
    out = make_advantage("tw_grpo")(view_of(rewards, token_logprob=logp))
    a = grpo_advantages(torch.tensor(rewards)).reshape(-1, 1)
    close(out[:2], a[:2] * torch.tensor([[3.0, 0.0, 0.0]]))  # only position 0 differs between the two
    assert torch.equal(out[2:], torch.zeros(2, 3))
    same = make_advantage("tw_grpo")(view_of([[1.0, 0.0]], token_logprob=logp[:1].expand(2, 3)))
    close(same, grpo_advantages(torch.tensor([[1.0, 0.0]])).reshape(-1, 1).expand(2, 3))


# ---- D3S: the subset, the schedule, and dropped rollouts in the loss ----------------------------------------


def test_d3s_keeps_the_max_variance_pair():
    keep = max_variance_subset(torch.tensor([[2.0, 1.0, 0.0, -1.0, -2.0]]), 2)
    assert keep.tolist() == [[True, False, False, False, True]]


@given(st.lists(st.floats(-3, 3, allow_nan=False), min_size=2, max_size=6), st.data())
@settings(max_examples=60, deadline=None)
def test_d3s_subset_is_the_best_of_all_subsets(values, data):
    k = data.draw(st.integers(1, len(values)))
    keep = max_variance_subset(torch.tensor([values], dtype=torch.float64), k)[0]
    assert int(keep.sum()) == k
    chosen = torch.tensor(values, dtype=torch.float64)[keep].var(unbiased=False)
    best = max(torch.tensor(subset, dtype=torch.float64).var(unbiased=False)
               for subset in itertools.combinations(values, k))
    assert float(chosen) == pytest.approx(float(best), abs=1e-9)


class _Batch:
    """The two fields `drop` touches, as a `RolloutBatch` has them."""

    def __init__(self, mask):
        self.action_mask, self._mask = None, mask

    @property
    def loss_mask(self):
        return self._mask if self.action_mask is None else self.action_mask


def _trainer_view(rewards, mask, **quantities):
    batch = _Batch(mask)
    plain = view_of(rewards, mask=mask, **quantities)

    def drop(keep):
        batch.action_mask = batch.loss_mask & keep

    return RolloutView(plain.rewards, plain.lengths, plain.group_ids, plain.quantities, mask=mask, drop=drop), batch


@pytest.mark.parametrize("aggregation", ["seq_mean_token_mean", "token_mean"])
def test_dropped_rollouts_leave_the_loss_and_its_normaliser(aggregation):
    rewards = [[2.0, 1.0, 0.0, -1.0, -2.0]]
    mask = torch.tensor([[True, True, False], [True, False, False], [True, True, True], [True, True, False],
                         [True, False, False]])
    view, batch = _trainer_view(rewards, mask)
    advantages = compute_advantages(make_advantage("d3s", {"keep": 0.4, "relax_steps": 10}), view)
    kept = torch.tensor([True, False, False, False, True])
    assert torch.equal(advantages[~kept], torch.zeros(3)) and (advantages[kept] != 0).all()
    assert torch.equal(batch.loss_mask, mask & kept.unsqueeze(1))
    logp = -torch.rand(5, 3, generator=torch.Generator().manual_seed(1)) * mask
    old = logp - 0.05
    whole = ppo_clip_loss(logp, old, advantages, batch.loss_mask, aggregation=aggregation)
    only_kept = ppo_clip_loss(logp[kept], old[kept], advantages[kept], mask[kept], aggregation=aggregation)
    torch.testing.assert_close(whole, only_kept, rtol=0, atol=1e-7)


def test_d3s_relaxes_its_keep_ratio_and_resumes_its_step_count():
    plugin = make_advantage("d3s", {"keep": 0.5, "relax_steps": 10})
    assert [plugin.ratio(step) for step in (0, 5, 10, 50)] == [0.5, 0.75, 1.0, 1.0]
    view, _ = _trainer_view([[1.0, 0.0, 0.0, 0.0]], torch.ones(4, 2, dtype=torch.bool))
    for _ in range(3):
        plugin(view)
    assert plugin.state_dict() == {"steps": 3}
    other = make_advantage("d3s", {"keep": 0.5, "relax_steps": 10})
    other.load_state_dict(plugin.state_dict())
    assert int(other(view).keep.sum()) == int(plugin(view).keep.sum()) == math.ceil(0.65 * 4)


def test_d3s_token_level_keeps_the_tokens_with_the_largest_advantage_times_entropy():
    entropy = torch.tensor([[0.1, 2.0], [1.0, 1.0], [3.0, 0.5], [0.2, 0.2]])
    plugin = make_advantage("d3s", {"level": "token", "keep": 0.25, "relax_steps": 100})
    assert plugin.needs == ("token_entropy",) and make_advantage("d3s").needs == ()
    result = plugin(view_of([[1.0, 0.0, 0.0, 0.0]], token_entropy=entropy))
    assert isinstance(result, Kept)
    # |A| = [1.5, .5, .5, .5]: scores [.15, 3, .5, .5, 1.5, .25, .1, .1]; ceil(.25 * 8) = 2 tokens
    assert result.keep.tolist() == [[False, True], [False, False], [True, False], [False, False]]


def test_a_view_without_a_batch_cannot_drop():
    with pytest.raises(ValueError, match=r"leaves rollouts out of the loss, which needs a view of the step's batch"):
        compute_advantages(make_advantage("d3s"), view_of([[1.0, 0.0]]))


def test_sequence_mean_counts_only_rows_that_keep_a_token():
    terms = torch.tensor([[1.0, 2.0], [5.0, 5.0]])
    mask = torch.tensor([[True, True], [False, False]])
    assert float(aggregate_tokens(terms, mask)) == 1.5
    assert float(aggregate_tokens(terms, mask, "seq_mean_token_sum_norm")) == pytest.approx(3 / 4)


# ---- entropy regularisation ---------------------------------------------------------------------------------


def test_entropy_bonus_is_subtracted_per_token_and_asks_for_entropy():
    loss = make_loss("grpo", entropy_coef=0.1)
    assert loss.needs == ("logprobs", "entropy") and make_loss("grpo").needs == ("logprobs",)
    logp = torch.tensor([[-1.0, -2.0]])
    mask = torch.ones(1, 2, dtype=torch.bool)
    entropy = torch.tensor([[1.0, 3.0]])
    base = make_loss("grpo")({"logprobs": logp}, {"logprobs": logp}, torch.tensor([1.0]), mask)
    with_bonus = loss({"logprobs": logp, "entropy": entropy}, {"logprobs": logp}, torch.tensor([1.0]), mask)
    assert float(with_bonus) == pytest.approx(float(base) - 0.1 * 2.0)
    with pytest.raises(ValueError, match=r"entropy_coef to be a finite number >= 0, got -0.1"):
        make_loss("dapo", entropy_coef=-0.1)


def test_entropy_coef_reaches_the_loss_from_a_scenario(tmp_path):
    from rlvr.training.builders import build_loss
    from rlvr.training.config import load_config

    config = load_config({"out_dir": str(tmp_path)}, ["loss=dapo", "loss_settings={entropy_coef: 0.01}"])
    assert build_loss(config).entropy_coef == 0.01 and "entropy" in build_loss(config).needs


# ---- Prompt-GDRO ----------------------------------------------------------------------------------------------


def test_pass_at_k_and_the_bins():
    assert pass_at_k(1, 4, 2) == 0.5 and pass_at_k(2, 4, 1) == 0.5 and pass_at_k(3, 4, 2) == 1.0
    sampler = make_sampler("prompt_gdro", {"k": 2, "bins": 4})
    sampler._group_size = 4
    assert [sampler.bin_of(a) for a in (0.0, 0.25, 0.5, 1.0)] == [0, 2, 3, 3]


def _bound_gdro(**settings_):
    from rlvr.envs.random_calc import RandomCalcTask
    from rlvr.training.rollout import ProblemStream

    sampler = make_sampler("prompt_gdro", {"share": 0.5, **settings_})
    sampler.bind(ProblemStream(RandomCalcTask(), 0, {"max_operand": 50}), 4, seed=3)
    return sampler


def test_gdro_weights_lean_on_the_failing_bin_with_a_debiased_ema():
    sampler = _bound_gdro(k=1, bins=2, eta=1.0, decay=0.9)
    problems = sampler.select(0)
    correct = torch.tensor([[0.0, 0, 0, 1], [0.0, 0, 1, 0], [1.0, 1, 1, 0], [1.0, 1, 1, 1]])
    sampler.observe(problems, correct, correct)
    # bins by pass@1: [.25, .25] -> 0, [.75, 1] -> 1; failure rates .75 and .125, debiased after one update
    assert sampler.ema == pytest.approx([0.075, 0.0125])
    weights = sampler.weights()
    assert weights[0] / weights[1] == pytest.approx(math.exp(0.75 - 0.125))


def test_gdro_state_round_trip_draws_the_same_problems():
    one = _bound_gdro()
    for step in range(3):
        problems = one.select(step)
        correct = torch.tensor([[float((i + step + j) % 3 == 0) for j in range(4)] for i in range(4)])
        one.observe(problems, correct, correct)
    two = _bound_gdro()
    two.stream.index = one.stream.index
    two.load_state_dict(one.state_dict())
    assert [p.problem_id for p in two.select(3)] == [p.problem_id for p in one.select(3)]
    assert two.weights() == one.weights()
    with pytest.raises(ValueError, match=r"state needs \['ema', 'updates', 'log_weights', 'group_size'\]"):
        two.load_state_dict({"ema": [0.0]})


# ---- MaxMin ------------------------------------------------------------------------------------------------------


def _maxmin(components):
    transform = make_reward_transform("maxmin", {"components": ["a", "b"]})
    values = {name: torch.tensor(value) for name, value in components.items()}
    rewards = transform(RewardBatch(torch.zeros_like(values["a"]), torch.ones_like(values["a"]), values, step=0))
    return rewards, transform.metrics()


def test_maxmin_prefers_the_balanced_rollout():
    rewards, metrics = _maxmin({"a": [[1.0, 0.6]], "b": [[0.2, 0.6]]})  # rollouts (1.0, 0.2) and (0.6, 0.6)
    assert rewards.tolist() == [[pytest.approx(0.2), pytest.approx(0.6)]] and metrics["maxmin_choice"] == 1.0
    assert metrics["maxmin_a"] == pytest.approx(0.8) and metrics["maxmin_b"] == pytest.approx(0.4)


def test_maxmin_is_a_min_over_expectations_not_an_expected_min():
    rewards, _ = _maxmin({"a": [[1.0, 0.0]], "b": [[0.0, 0.5]]})
    per_rollout_min = torch.minimum(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.5]]))
    assert per_rollout_min.tolist() == [[0.0, 0.0]]  # would see no difference
    assert rewards.tolist() == [[0.0, 0.5]]  # b lags in expectation (.25 < .5) and drives the step
    # the expectation is over group means, every group counted once
    rewards, metrics = _maxmin({"a": [[1.0, 1.0], [0.0, 0.0]], "b": [[0.4, 0.4], [0.4, 0.4]]})
    assert metrics["maxmin_choice"] == 1.0


def test_maxmin_settings_and_missing_components_are_refused():
    with pytest.raises(ValueError, match=r"two or more distinct component names, got \['a'\]"):
        make_reward_transform("maxmin", {"components": ["a"]})
    with pytest.raises(ValueError, match=r"needs setting\(s\) \['components'\]"):
        make_reward_transform("maxmin", {})
    transform = make_reward_transform("maxmin", {"components": ["correct", "styel"]})
    with pytest.raises(ValueError, match=r"needs components \['styel'\], the verifier reports \['correct'\]"):
        transform(RewardBatch(torch.zeros(1, 2), torch.ones(1, 2), {"correct": torch.zeros(1, 2)}, step=0))
