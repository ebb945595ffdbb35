"""Ragged groups in every advantage plug-in beyond the four baselines of `test_ragged.py`: a ragged
batch equals its groups computed one by one, each as a full group of its own size (with all the
quantities the plug-in reads); padding gets 0 and whatever it holds changes nothing; the plug-ins
that read across groups (RiskPO's bundles and tracked quantiles, D3S's token share) against a
reference computed from the valid rollouts; a worked example by hand; the quantities of a ragged
batch hold 0 in the padding and never score it."""

from __future__ import annotations

import dataclasses
import math
import zlib

import pytest

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rlvr.training.advantages import ADVANTAGES, compute_advantages, make_advantage, rollout_view, view_of  # noqa: E402
from rlvr.training.advantages.base import TOKEN_QUANTITIES  # noqa: E402
from rlvr.training.rollout import select_groups  # noqa: E402
from tests.training.test_ragged import _batch  # noqa: E402

WITHIN_GROUPS = ["seed_grpo", "progrpo", "ucas", "ucas_token", "unlikeliness", "representation_bonus", "thr",
                 "tw_grpo"]
"""Plug-ins whose every statistic is within a group: a ragged batch is its groups one by one."""
KEPT = [("d3s", {"keep": 0.5, "relax_steps": 10})]
"""Plug-ins that leave rollouts out, per group (D3S at sample level)."""
HIDDEN = 3


@st.composite
def ragged_batches(draw):
    """Rewards [B, W] with counts n_b in [1, W] (at least one group short of W), their `valid`, and
    every quantity a plug-in may read: per rollout [B, W] (hidden means [B, W, H]), per token
    [B * W, T] (hidden states [B * W, T, H]) under a mask whose padded rows hold no token. The
    padding holds 0 everywhere, as in a trainer's batch."""
    width, tokens = draw(st.integers(2, 5)), draw(st.integers(1, 4))
    counts = draw(st.lists(st.integers(1, width), min_size=1, max_size=4))
    if min(counts) == width:
        counts[0] = width - 1
    valid = torch.arange(width).unsqueeze(0) < torch.tensor(counts).unsqueeze(1)
    groups, rows = len(counts), len(counts) * width
    seed = draw(st.integers(0, 2**16))
    generator = torch.Generator().manual_seed(seed)

    def uniform(*shape, low=-2.0, high=2.0):
        return low + (high - low) * torch.rand(*shape, generator=generator)

    binary = draw(st.booleans())  # verifier-like 0/1 rewards, or shaped ones
    rewards = (torch.rand(groups, width, generator=generator) < 0.5).float() if binary else uniform(groups, width)
    lengths = torch.randint(1, tokens + 1, (groups, width), generator=generator) * valid
    mask = torch.arange(tokens).unsqueeze(0) < lengths.reshape(-1, 1)
    classes = torch.stack([torch.randint(0, width, (width,), generator=generator) % max(1, n) for n in counts])
    quantities = {
        "mean_logprob": uniform(groups, width, low=-3.0, high=0.0),
        "low_token_logprob": uniform(groups, width, low=-5.0, high=0.0),
        "prompt_logprob": uniform(groups, 1, low=-3.0, high=0.0).expand(groups, width),
        "self_certainty": uniform(groups, width, low=0.0, high=20.0),
        "correct": rewards.clone() if binary else (torch.rand(groups, width, generator=generator) < 0.5).float(),
        "answer_class": classes.float(),
        "hidden_mean": uniform(groups, width, HIDDEN),
        "token_logprob": uniform(rows, tokens, low=-4.0, high=0.0),
        "chosen_logit": uniform(rows, tokens, low=-5.0, high=5.0),
        "token_entropy": uniform(rows, tokens, low=0.0, high=3.0),
        "hidden_state": uniform(rows, tokens, HIDDEN),
    }
    quantities = {name: _zero_padding(name, value, valid, mask) for name, value in quantities.items()}
    return rewards * valid, valid, counts, lengths, mask, quantities


def _zero_padding(name, value, valid, mask, fill=0.0):
    """`value` with `fill` in the padding (padded rollouts, and masked tokens for per-token ones)."""
    if name in TOKEN_QUANTITIES:
        keep = mask if value.dim() == 2 else mask.unsqueeze(-1)
    else:
        keep = valid if value.dim() == 2 else valid.unsqueeze(-1)
    return torch.where(keep, value, torch.full_like(value, fill))


def _view(rewards, lengths, mask, quantities, names, valid=None):
    """The view a trainer would give: the named quantities, the mask, and a `drop` that records."""
    dropped = {}
    view = view_of(rewards, lengths=lengths, mask=mask, valid=valid, **{name: quantities[name] for name in names})
    return dataclasses.replace(view, drop=lambda keep: dropped.setdefault("keep", keep)), dropped


def _alone(case, row, plugin_names):
    """Group `row` of a ragged case as a batch of its own: [1, n] per rollout, its n rows per token."""
    rewards, valid, counts, lengths, mask, quantities = case
    width, n = rewards.shape[1], counts[row]
    rows = slice(row * width, row * width + n)
    part = {name: value[rows] if name in TOKEN_QUANTITIES else value[row : row + 1, :n]
            for name, value in quantities.items()}
    return _view(rewards[row : row + 1, :n], lengths[row : row + 1, :n], mask[rows], part, plugin_names)


def _check_groups_one_by_one(name, make, case):
    rewards, valid, counts, lengths, mask, quantities = case
    needs = make().needs
    ragged_view, ragged_dropped = _view(rewards, lengths, mask, quantities, needs, valid)
    ragged = compute_advantages(make(), ragged_view)
    width = rewards.shape[1]
    per_token = ragged.dim() == 2
    table = ragged if per_token else ragged.view(rewards.shape)
    for row, n in enumerate(counts):
        alone_view, alone_dropped = _alone(case, row, needs)
        alone = compute_advantages(make(), alone_view)  # a fresh plug-in: stateful ones start alike
        got = table[row * width : row * width + n] if per_token else table[row, :n]
        torch.testing.assert_close(got, alone.view(got.shape), rtol=1e-5, atol=1e-6, msg=f"{name} group {row}")
        padding = table[row * width + n : (row + 1) * width] if per_token else table[row, n:]
        assert (padding == 0).all(), (name, row)
        if "keep" in alone_dropped:  # what leaves the loss: the same rollouts, padding never kept
            assert torch.equal(ragged_dropped["keep"][row * width : row * width + n], alone_dropped["keep"])
            assert not ragged_dropped["keep"][row * width + n : (row + 1) * width].any()


@pytest.mark.parametrize("name", WITHIN_GROUPS)
@settings(max_examples=25, deadline=None)
@given(case=ragged_batches())
def test_a_ragged_batch_equals_its_groups_one_by_one(name, case):
    _check_groups_one_by_one(name, lambda: make_advantage(name), case)


@pytest.mark.parametrize(("name", "options"), KEPT)
@settings(max_examples=25, deadline=None)
@given(case=ragged_batches())
def test_d3s_keeps_each_groups_own_max_variance_share(name, options, case):
    _check_groups_one_by_one(name, lambda: make_advantage(name, options), case)


@pytest.mark.parametrize(("name", "options"), [*((name, {}) for name in WITHIN_GROUPS), ("riskpo", {"bundle": 2}),
                                               ("d3s", {"level": "both", "keep": 0.5, "relax_steps": 10})])
@settings(max_examples=15, deadline=None)
@given(case=ragged_batches(), fill=st.sampled_from([1e6, -1e6, 7.0]))
def test_what_the_padding_holds_changes_nothing(name, options, case, fill):
    rewards, valid, counts, lengths, mask, quantities = case
    plugin, dirty_plugin = make_advantage(name, options), make_advantage(name, options)
    clean_view, clean_dropped = _view(rewards, lengths, mask, quantities, plugin.needs, valid)
    garbage = {key: _zero_padding(key, value, valid, mask, fill) for key, value in quantities.items()}
    dirty_view, dirty_dropped = _view(torch.where(valid, rewards, torch.full_like(rewards, fill)), lengths, mask,
                                      garbage, plugin.needs, valid)
    for _ in range(2):  # twice: a stateful plug-in's next step reads the state the first one left
        clean, dirty = compute_advantages(plugin, clean_view), compute_advantages(dirty_plugin, dirty_view)
        assert torch.equal(clean, dirty), name
        assert plugin.state_dict() == dirty_plugin.state_dict()
        assert clean_dropped.keys() == dirty_dropped.keys()
        if clean_dropped:
            assert torch.equal(clean_dropped.pop("keep"), dirty_dropped.pop("keep"))
        padded_rows = ~valid.reshape(-1)
        assert (clean[padded_rows] == 0).all()


@pytest.mark.parametrize("name", [*WITHIN_GROUPS, "riskpo", "d3s"])
@settings(max_examples=10, deadline=None)
@given(case=ragged_batches())
def test_full_groups_with_valid_all_true_are_the_dense_path_bit_for_bit(name, case):
    rewards, _, _, lengths, mask, quantities = case
    full = torch.ones(rewards.shape, dtype=torch.bool)
    mask = torch.ones(mask.shape, dtype=torch.bool)  # every rollout holds tokens in a dense batch
    plugin = make_advantage(name)
    dense = compute_advantages(make_advantage(name), _view(rewards, lengths, mask, quantities, plugin.needs)[0])
    flagged = compute_advantages(plugin, _view(rewards, lengths, mask, quantities, plugin.needs, full)[0])
    assert torch.equal(dense, flagged)


def test_every_registered_advantage_takes_ragged_groups():
    # the list these tests and test_ragged.py cover; a new plug-in that does not take them says why
    assert sorted(name for name, cls in ADVANTAGES.items() if cls.ragged) == sorted(
        [*WITHIN_GROUPS, "riskpo", "d3s", "grpo", "dr_grpo", "rloo", "dgpo"])


# ---- a worked example by hand ---------------------------------------------------------------------------


def test_unlikeliness_on_a_ragged_batch_by_hand():
    # group 0 has 3 rollouts (padding at the end), group 1 is full (4)
    rewards = torch.tensor([[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    mean_logprob = torch.tensor([[-0.1, -0.5, -0.3, 0.0], [-0.2, -0.4, -0.6, -0.8]])
    valid = torch.tensor([[True, True, True, False], [True, True, True, True]])
    out = compute_advantages(make_advantage("unlikeliness", {"beta_rank": 0.25}),
                             view_of(rewards, valid=valid, mean_logprob=mean_logprob)).view(2, 4)
    # group 0, G = 3: ranks by ascending log-prob are 2, 0, 1, so r~ = [1 - .25 * 2/3, 1, 0] = [5/6, 1, 0];
    # mean 11/18, deviations [4, 7, -11] / 18, unbiased variance (16 + 49 + 121) / 324 / 2 = 31 / 108
    std = math.sqrt(31 / 108)
    expected0 = [4 / 18 / std, 7 / 18 / std, -11 / 18 / std, 0.0]
    # group 1, G = 4: the correct one is the likeliest (rank 3): r~ = [1 - .25 * 3/4, 0, 0, 0] = [13/16, 0, 0, 0];
    # A = (r~ - mean) / std = [1.5, -.5, -.5, -.5] as for any one-hot group
    expected1 = [1.5, -0.5, -0.5, -0.5]
    torch.testing.assert_close(out, torch.tensor([expected0, expected1]), rtol=0, atol=1e-5)


def test_d3s_keeps_ceil_ratio_of_each_groups_own_size():
    rewards = torch.tensor([[2.0, 1.0, 0.0, 0.0, 0.0], [2.0, 1.0, 0.0, -1.0, -2.0]])
    valid = torch.tensor([[True, True, True, False, False], [True] * 5])
    mask = torch.ones(10, 2, dtype=torch.bool) & valid.reshape(-1, 1)
    view, dropped = _view(rewards, None, mask, {}, (), valid)
    advantages = compute_advantages(make_advantage("d3s", {"keep": 0.5, "relax_steps": 10}), view).view(2, 5)
    kept = dropped["keep"].any(dim=1).view(2, 5)
    # group 0 (n = 3): ceil(1.5) = 2 kept, the extremes 2 and 0; group 1 (n = 5): ceil(2.5) = 3 of 5, the
    # max-variance triple is the two lowest and the highest or the lowest and the two highest (equal: j smallest)
    assert kept[0].tolist() == [True, False, True, False, False]
    assert int(kept[1].sum()) == 3 and kept[1, 0] and kept[1, 4]
    assert (advantages[~kept] == 0).all()
    # group 0's advantages are GRPO's of [2, 1, 0] alone: (r - 1) / 1
    assert advantages[0, :3].tolist() == pytest.approx([1.0, 0.0, -1.0], abs=1e-5) and advantages[0, 1] == 0


# ---- RiskPO against a reference computed from the valid rollouts ---------------------------------------------


def _std_or_one(values):
    if len(values) < 2:
        return 1.0
    std = float(np.std(values, ddof=1))
    return 1.0 if std < 1e-3 else std


def _riskpo_reference(groups, bundle, quantiles, alpha=0.2, beta=0.9, lr=0.1, weight=1.5):
    """RiskPO's advantages of ragged `groups` (lists of valid rewards) from the module doc's formulas,
    in plain numpy: bundle scores over the questions that reach rollout k, scaled to `bundle`."""
    scores = {}  # (bundle index, k) -> score
    for start in range(0, len(groups), bundle):
        members = groups[start : start + bundle]
        for k in range(max(len(group) for group in members)):
            reached = [group[k] for group in members if len(group) > k]
            scores[(start // bundle, k)] = bundle * sum(reached) / len(reached)
    values = np.array(list(scores.values()), dtype=np.float64)
    if quantiles is None:
        quantiles = list(np.quantile(values, [alpha, beta]))
    q_a, q_b = quantiles
    spread = _std_or_one(values)

    def advantage(score):
        rvar = (max(score - q_a, 0) - max(score - q_b, 0) + q_a - q_b) / (beta - alpha)
        cvar = -max(q_a - score, 0) / alpha
        return (weight * cvar + rvar) / (weight + 1) / spread

    out = [[advantage(scores[(b // bundle, k)]) / _std_or_one(group) for k in range(len(group))]
           for b, group in enumerate(groups)]
    after = [q_a + lr * (alpha - float(np.mean(values < q_a))), q_b + lr * (beta - float(np.mean(values < q_b)))]
    return out, after


@settings(max_examples=40, deadline=None)
@given(case=ragged_batches(), bundle=st.integers(1, 3), preset=st.booleans())
def test_riskpo_on_ragged_groups_matches_the_reference(case, bundle, preset):
    rewards, valid, counts, *_ = case
    plugin = make_advantage("riskpo", {"bundle": bundle})
    quantiles = None
    if preset:  # quantiles from earlier steps, or the first step's own
        quantiles = [-0.5, 1.0]
        plugin.load_state_dict({"quantiles": quantiles})
    groups = [rewards[row, :n].double().tolist() for row, n in enumerate(counts)]
    expected, after = _riskpo_reference(groups, bundle, quantiles)
    out = compute_advantages(plugin, view_of(rewards, valid=valid)).view(rewards.shape)
    for row, n in enumerate(counts):
        torch.testing.assert_close(out[row, :n].double(), torch.tensor(expected[row], dtype=torch.float64),
                                   rtol=1e-4, atol=1e-4)
        assert (out[row, n:] == 0).all()
    scores_near = [abs(float(value) - q) < 1e-4 for value in _bundle_values(groups, bundle) for q in
                   (quantiles or np.quantile(_bundle_values(groups, bundle), [0.2, 0.9]))]
    if not any(scores_near):  # a score on a quantile: float32 and float64 may count it on either side
        assert plugin.state_dict()["quantiles"] == pytest.approx(after, abs=1e-5)


def _bundle_values(groups, bundle):
    return [bundle * sum(reached) / len(reached) for start in range(0, len(groups), bundle)
            for k in range(max(len(group) for group in groups[start : start + bundle]))
            for reached in [[group[k] for group in groups[start : start + bundle] if len(group) > k]]]


# ---- the quantities of a ragged batch -------------------------------------------------------------------------


class _Task:
    """Reads the answer as the text itself; records what it was asked to score."""

    def __init__(self):
        self.scored = []

    def score(self, problem, text):
        self.scored.append(text)
        return type("Score", (), {"parsed_answer": text or None})()

    def canonical_answer(self, parsed):
        return parsed


def test_the_view_of_a_ragged_batch_holds_zero_in_the_padding_and_never_scores_it():
    merged = select_groups([(_batch([["22", "1"]], "b"), [0]), (_batch([["1", "22", "3"]], "a"), [0])], pad_id=0)
    merged.task = task = _Task()
    assert merged.valid.tolist() == [[True, True, False], [True, True, True]]
    view = rollout_view(merged, ("answer_class", "mean_logprob", "correct"))
    assert sorted(task.scored) == ["1", "1", "22", "22", "3"]  # the five rollouts, no padded ""
    # classes in order of first appearance within the group; the padded slot holds 0 like every other
    assert view["answer_class"].tolist() == [[0.0, 1.0, 0.0], [0.0, 1.0, 2.0]]
    assert view["mean_logprob"][0, 2] == 0 and view["correct"][0, 2] == 0
    assert view.valid.tolist() == merged.valid.tolist()


# ---- in the trainer, with the generator that makes ragged groups -------------------------------------------------

RAGGED_RUNS = [("seed_grpo", "{}"), ("d3s", "{level: both, keep: 0.5}")]
SLOW_RAGGED_RUNS = [("riskpo", "{bundle: 2}"), ("progrpo", "{}"), ("ucas_token", "{}"), ("unlikeliness", "{}"),
                    ("representation_bonus", "{}"), ("thr", "{}"), ("tw_grpo", "{}")]


def _ragged_run(tmp_path, monkeypatch, advantage, settings):
    """Three steps of `advantage` on groups made ragged from the first step on."""
    pytest.importorskip("transformers")
    from rlvr.training.generators import RolloutGDRO
    from rlvr.training.trainer import Trainer
    from tests.training.test_algorithm_runs import RESUME
    from tests.training.test_trainer import small_config, step_lines

    # pass rates spread over the bins from the first step (fresh problems would all sit at the prior)
    monkeypatch.setattr(RolloutGDRO, "estimate", lambda self, problem_id: zlib.crc32(problem_id.encode()) % 5 / 5)
    Trainer(small_config(tmp_path, *RESUME, "generator=rollout_gdro", "sft_steps=30", "rl_steps=3", "checkpoint_every=0",
                         f"advantage={advantage}", f"advantage_settings={settings}")).train()
    lines = step_lines(tmp_path)
    assert len(lines) == 3 and all(line["rollout_gdro_min_n"] < line["rollout_gdro_max_n"] for line in lines), lines
    for line in lines:
        assert line["skipped_updates"] == 0 and all(math.isfinite(line[key]) for key in ("loss", "grad_norm")), line


@pytest.mark.parametrize(("advantage", "settings"), RAGGED_RUNS)
def test_a_short_ragged_run(tmp_path, monkeypatch, advantage, settings):
    _ragged_run(tmp_path, monkeypatch, advantage, settings)


@pytest.mark.slow
@pytest.mark.parametrize(("advantage", "settings"), SLOW_RAGGED_RUNS)
def test_a_short_ragged_run_of_each_other_plugin(tmp_path, monkeypatch, advantage, settings):
    _ragged_run(tmp_path, monkeypatch, advantage, settings)
