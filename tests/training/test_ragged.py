"""Ragged groups: the padded [B, G_max] layout with `valid`, and the estimators over it. A batch whose
groups are all full is the dense batch bit for bit; a ragged one equals its groups computed one by
one; padding holds no token and gets advantage 0."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rlvr.agents.policy import SampleBatch  # noqa: E402
from rlvr.core.problem import Problem  # noqa: E402
from rlvr.training.advantages import compute_advantages, make_advantage, view_of  # noqa: E402
from rlvr.training.advantages.dgpo import dgpo_advantages  # noqa: E402
from rlvr.training.ragged import cat_groups, check_valid, group_means, group_spread  # noqa: E402
from rlvr.training.rollout import RolloutBatch, select_groups  # noqa: E402

RAGGED = ["grpo", "dr_grpo", "rloo", "dgpo"]


def _valid(counts, width):
    return torch.arange(width).unsqueeze(0) < torch.tensor(counts).unsqueeze(1)


@st.composite
def ragged_rewards(draw, binary=False):
    """Rewards [B, G_max] with counts n_b in [2, G_max] (padding 0), and their valid mask."""
    width = draw(st.integers(2, 6))
    counts = draw(st.lists(st.integers(2, width), min_size=1, max_size=5))
    values = st.sampled_from([0.0, 1.0]) if binary else st.floats(-3, 3, allow_nan=False, width=32)
    rows = [draw(st.lists(values, min_size=n, max_size=n)) + [0.0] * (width - n) for n in counts]
    return torch.tensor(rows, dtype=torch.float32), _valid(counts, width), counts


@pytest.mark.parametrize("name", RAGGED)
@settings(max_examples=40, deadline=None)
@given(case=ragged_rewards())
def test_a_ragged_batch_equals_its_groups_one_by_one(name, case):
    rewards, valid, counts = case
    plugin = make_advantage(name)
    ragged = compute_advantages(plugin, view_of(rewards, valid=valid)).view(rewards.shape)
    for row, n in enumerate(counts):
        alone = compute_advantages(plugin, view_of(rewards[row : row + 1, :n]))
        assert torch.equal(ragged[row, :n], alone), (row, n)
        assert (ragged[row, n:] == 0).all()  # padding teaches nothing


@pytest.mark.parametrize("name", RAGGED)
@settings(max_examples=25, deadline=None)
@given(case=ragged_rewards())
def test_full_groups_with_valid_all_true_are_the_dense_path_bit_for_bit(name, case):
    rewards = case[0]
    plugin = make_advantage(name)
    dense = compute_advantages(plugin, view_of(rewards))
    full = compute_advantages(plugin, view_of(rewards, valid=torch.ones(rewards.shape, dtype=torch.bool)))
    assert torch.equal(dense, full)


def test_dgpo_question_weights_read_each_groups_valid_rollouts():
    # group 0: [1, 0] (accuracy 1/2) padded with a 0 that would make it 1/3; group 1 full, no signal
    rewards = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    valid = _valid([2, 3], 3)
    plugin = make_advantage("dgpo", {"question_weights": True})
    advantages = compute_advantages(plugin, view_of(rewards, valid=valid, correct=rewards)).view(2, 3)
    # one valid question: lambda = 1; its advantages are DGPO's of [1, 0] alone
    torch.testing.assert_close(advantages[0, :2], dgpo_advantages(torch.tensor([[1.0, 0.0]]))[0])
    assert advantages[0, 2] == 0 and (advantages[1] == 0).all()
    assert group_means(rewards, valid).tolist() == [0.5, 1.0]
    assert group_spread(rewards, valid).tolist() == [1.0, 0.0]


def test_plugins_that_take_full_groups_refuse_ragged_ones_naming_those_that_do(monkeypatch):
    # every registered plug-in takes them today: one that did not would be refused like this
    from rlvr.training.advantages import Unlikeliness

    monkeypatch.setattr(Unlikeliness, "ragged", False)
    view = view_of([[1.0, 0.0, 0.0]], valid=[[True, True, False]], mean_logprob=[[-1.0, -2.0, 0.0]])
    with pytest.raises(ValueError, match=r"advantage 'unlikeliness' takes full groups only.*rollout_gdro.*"
                                         r"\['grpo', 'dr_grpo', 'rloo', 'd3s', 'dgpo', .*'tw_grpo'\]"):
        compute_advantages(make_advantage("unlikeliness"), view)


@pytest.mark.parametrize(("valid", "message"), [
    ([[True, False, True]], r"valid rollouts first .* row 0 = \[True, False, True\]"),
    ([[False, False, False]], "at least one"),
    ([[True, True]], r"shaped like the rewards \(1, 3\), got \(1, 2\)"),
])
def test_a_malformed_valid_mask_is_refused(valid, message):
    with pytest.raises(ValueError, match=message):
        check_valid(torch.tensor(valid), (1, 3))


# ---- the batch: padding, merging, the rows the update trains on -------------------------------------------


def _batch(texts_per_problem, prefix="p"):
    """A dense scored batch of len(texts_per_problem) problems of one group size; reward = 1 for "1"."""
    size = len(texts_per_problem[0])
    texts = [text for texts in texts_per_problem for text in texts]
    problems = [Problem("t", 0, {"b": b}, f"{prefix}{b}", (), "1", problem_id=f"{prefix}{b}")
                for b in range(len(texts_per_problem))]
    ids = torch.tensor([[5, 6] for _ in texts])
    mask = torch.tensor([[True, len(text) > 1] for text in texts])
    sample = SampleBatch([[7, b] for b in range(len(problems)) for _ in range(size)],
                         [row // size for row in range(len(texts))], ids, mask, -mask.float(), texts, [True] * len(texts))
    rewards = torch.tensor([[float(text == "1") for text in group] for group in texts_per_problem])
    return RolloutBatch(problems, size, sample, rewards, {"correct": rewards.clone()}, [None] * len(texts))


def test_groups_of_different_sizes_merge_into_a_padded_ragged_batch():
    three, two = _batch([["1", "22", "1"]], "a"), _batch([["22", "1"], ["1", "1"]], "b")
    merged = select_groups([(two, [0]), (three, [0]), (two, [1])], pad_id=0)
    assert merged.group_size == 3 and merged.counts == [2, 3, 2]
    assert merged.valid.tolist() == [[True, True, False], [True, True, True], [True, True, False]]
    assert merged.rewards.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]]
    assert merged.components["correct"].tolist() == merged.rewards.tolist()
    padded = [2, 8]
    assert [merged.sample.texts[row] for row in padded] == ["", ""]
    assert not merged.sample.completion_mask[padded].any() and (merged.sample.logprobs[padded] == 0).all()
    assert merged.lengths[:, 2].tolist() == [0, 1, 0]
    assert merged.sample.prompt_ids[2] == two.sample.prompt_ids[0]  # a padded row keeps its group's prompt
    # the update's rows: the valid rollouts alone, in order, as groups of one
    rows = merged.without_padding()
    assert rows.group_size == 1 and len(rows.problems) == 7 and rows.valid is None
    assert rows.sample.texts == ["22", "1", "1", "22", "1", "1", "1"]
    assert rows.rewards.view(-1).tolist() == [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0]
    # full groups only: the dense batch, `valid` None
    dense = select_groups([(two, [1, 0])], pad_id=0)
    assert dense.valid is None and dense.without_padding() is dense
    assert RolloutBatch(dense.problems, 2, dense.sample, dense.rewards, valid=torch.ones(2, 2, dtype=torch.bool)).valid \
        is None


def test_full_groups_kept_from_a_wider_ragged_batch_make_a_dense_one():
    merged = select_groups([(_batch([["22", "1"], ["1", "1"]]), [0, 1]), (_batch([["1", "22", "1"]], "a"), [0])], 0)
    kept = select_groups([(merged, [0, 1])], pad_id=0)  # the two groups of 2 from a batch padded to 3
    assert kept.valid is None and kept.group_size == 2 and kept.rewards.shape == (2, 2)
    assert kept.sample.texts == ["22", "1", "1", "1"] and kept.rewards.tolist() == [[0.0, 1.0], [1.0, 1.0]]


def test_cat_groups_pads_to_the_widest_and_is_torch_cat_when_dense():
    a, b = torch.ones(1, 2), torch.full((2, 3), 2.0)
    values, valid = cat_groups([a, b], [None, _valid([3, 1], 3)])
    assert values.tolist() == [[1, 1, 0], [2, 2, 2], [2, 2, 2]]
    assert valid.tolist() == [[True, True, False], [True, True, True], [True, False, False]]
    assert cat_groups([b, b], [None, None])[1] is None
