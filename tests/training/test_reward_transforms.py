"""Reward transforms without a model: the spec's overlong numbers, corruption's exact flips and
shuffles, the order and seeding rules, and every config mistake refused before any work."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rlvr.training.builders import build_reward_transforms  # noqa: E402
from rlvr.training.config import load_config  # noqa: E402
from rlvr.training.reward_transforms import (  # noqa: E402
    REWARD_TRANSFORMS,
    RewardBatch,
    apply_reward_transforms,
    make_reward_transform,
)


def _bound(name, seed=0, max_new_tokens=20, **settings):
    transform = make_reward_transform(name, settings)
    transform.bind(seed, max_new_tokens)
    return transform


def _batch(rewards, lengths=None, step=0):
    rewards = torch.as_tensor(rewards, dtype=torch.float32)
    lengths = torch.ones(rewards.shape, dtype=torch.long) if lengths is None else torch.as_tensor(lengths)
    return RewardBatch(rewards, lengths, {"correct": (rewards > 0).float()}, step)


binary_groups = st.integers(1, 6).flatmap(lambda width: st.lists(
    st.lists(st.sampled_from([0.0, 1.0]), min_size=width, max_size=width), min_size=1, max_size=5))


# ---- overlong -----------------------------------------------------------------------------------------------

def test_overlong_gives_the_specs_numbers():
    # spec (DAPO): L_max = 20, L_cache = 4, |y| = 18 -> -0.5; inside the budget 0; at and past L_max -1
    transform = _bound("overlong", buffer=4)
    shaped = transform(_batch([[1.0, 1.0, 0.0, 0.0, 1.0]], [[16, 18, 18, 20, 25]]))
    assert shaped.tolist() == [[1.0, 0.5, -0.5, -1.0, 0.0]]
    assert transform.metrics() == {"overlong_penalty_mean": pytest.approx(-3.0 / 5)}


def test_overlong_takes_its_own_max_len_over_the_runs_budget():
    transform = _bound("overlong", max_new_tokens=64, buffer=4, max_len=20)
    assert transform(_batch([[0.0]], [[18]])).tolist() == [[-0.5]]


def test_the_overlong_buffer_shorthand_builds_the_same_transform_last():
    config = load_config({"overlong_buffer": 4, "max_new_tokens": 20,
                          "reward_transforms": [{"name": "corrupt", "mode": "random"}]})
    transforms = build_reward_transforms(config, bind=True)
    assert [t.name for t in transforms] == ["corrupt", "overlong"]
    assert (transforms[1].buffer, transforms[1].max_len, transforms[1].max_new_tokens) == (4, None, 20)


# ---- corrupt ------------------------------------------------------------------------------------------------

def test_inverted_flips_every_binary_reward_exactly():
    transform = _bound("corrupt", mode="inverted")
    rewards = [[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]]
    assert transform(_batch(rewards)).tolist() == [[0.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]]
    assert transform.metrics() == {"corrupt_changed": 1.0}


@settings(max_examples=60, deadline=None)
@given(binary_groups, st.integers(0, 2**20))
def test_inverted_twice_is_accurate_and_accurate_changes_nothing(rewards, step):
    inverted, accurate = _bound("corrupt", mode="inverted"), _bound("corrupt", mode="accurate")
    batch = _batch(rewards, step=step)
    once = inverted(batch)
    assert torch.equal(inverted(RewardBatch(once, batch.lengths, batch.components, step)), batch.rewards)
    assert torch.equal(accurate(batch), batch.rewards) and accurate.metrics() == {"corrupt_changed": 0.0}


@pytest.mark.parametrize("bad", [0.5, -0.25, 2.0])
def test_inverted_refuses_rewards_that_are_not_0_or_1(bad):
    with pytest.raises(ValueError, match=rf"expects 0/1 rewards, got \[{bad}\].*mode 'random'"):
        _bound("corrupt", mode="inverted")(_batch([[1.0, bad, 0.0]]))


@settings(max_examples=60, deadline=None)
@given(binary_groups, st.integers(0, 2**31), st.integers(0, 10**6))
def test_random_keeps_each_groups_rewards_and_is_a_function_of_seed_and_step(rewards, seed, step):
    transform = _bound("corrupt", mode="random", seed=seed)
    batch = _batch(rewards, step=step)
    shuffled = transform(batch)
    # the reward distribution is kept exactly: each group holds the same rewards, only who gets which moves
    assert torch.equal(shuffled.sort(dim=1).values, batch.rewards.sort(dim=1).values)
    assert transform.metrics()["corrupt_changed"] == float((shuffled != batch.rewards).float().mean())
    # no memory: a fresh transform (a resumed run) corrupts step `step` as this one did
    assert torch.equal(_bound("corrupt", mode="random", seed=seed)(batch), shuffled)


def test_random_gives_each_rollout_any_reward_of_its_group_alike():
    """Whatever a rollout answered, its reward is a uniform draw from its group's: the one correct
    rollout of [1, 0, 0, 0] keeps its 1 about a quarter of the time, and so does every other slot."""
    transform = _bound("corrupt", mode="random", seed=7)
    rewards = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    counts = sum(transform(RewardBatch(rewards, torch.ones(1, 4), {}, step)) for step in range(4000))
    assert counts.sum() == 4000
    assert ((counts / 4000 - 0.25).abs() < 0.03).all(), counts  # 0.03 is ~4.4 standard errors
    other_seed = _bound("corrupt", mode="random", seed=8)
    assert any(not torch.equal(transform(_batch([[1.0, 0.0, 0.0, 0.0]] * 4, step=s)),
                               other_seed(_batch([[1.0, 0.0, 0.0, 0.0]] * 4, step=s))) for s in range(3))


def test_transforms_apply_in_order_and_their_output_is_checked():
    corrupt, overlong = _bound("corrupt", mode="inverted"), _bound("overlong", buffer=4)
    shaped = apply_reward_transforms([corrupt, overlong], torch.tensor([[1.0, 0.0]]), torch.tensor([[18, 18]]),
                                     {}, step=0)
    assert shaped.tolist() == [[-0.5, 0.5]]  # inverted first, then the penalty

    class Broken:
        name = "broken"

        def __call__(self, batch):
            return torch.full((1,), float("nan"))

    with pytest.raises(ValueError, match="'broken' returned shape"):
        apply_reward_transforms([Broken()], torch.zeros(1, 2), torch.ones(1, 2), {}, step=0)


def test_stateless_transforms_refuse_a_state():
    for name, values in (("corrupt", {"mode": "random"}), ("overlong", {"buffer": 2})):
        transform = make_reward_transform(name, values)
        assert transform.state_dict() == {}
        transform.load_state_dict({})
        with pytest.raises(ValueError, match="keeps no state"):
            transform.load_state_dict({"position": 3})


def test_every_transform_says_what_it_is():
    for name, cls in REWARD_TRANSFORMS.items():
        assert cls.name == name and cls.source and cls.summary, name


# ---- config errors, before any work --------------------------------------------------------------------------

@pytest.mark.parametrize(("values", "message"), [
    ({"reward_transforms": [{"name": "corupt", "mode": "random"}]},
     r"unknown reward transform 'corupt' \(did you mean 'corrupt'\?\)"),
    ({"reward_transforms": [{"name": "corrupt", "mod": "random"}]},
     r"'corrupt' takes settings \['mode'\], got 'mod' \(did you mean: mode\?\)"),
    ({"reward_transforms": [{"name": "corrupt"}]}, r"'corrupt' needs setting\(s\) \['mode'\]"),
    ({"reward_transforms": [{"name": "corrupt", "mode": "invert"}]},
     r"mode must be one of .*did you mean 'inverted'"),
    ({"reward_transforms": [{"name": "overlong", "buffer": 2.5}]}, r"setting buffer expects int, got 2.5"),
    ({"reward_transforms": [{"name": "overlong", "buffer": 0}]}, r"setting buffer must be in \[1, inf\], got 0"),
    ({"reward_transforms": [{"name": "overlong", "buffer": 80}], "max_new_tokens": 64},
     r"buffer must be <= L_max=64 \(max_new_tokens\), got 80"),
    ({"reward_transforms": [{"name": "overlong", "buffer": 4}], "overlong_buffer": 4},
     r"overlong_buffer and reward_transforms' 'overlong' both set .* give it once"),
    ({"reward_transforms": [{"name": "overlong", "buffer": 4}, {"name": "corrupt", "mode": "inverted"}]},
     r"'corrupt' with these settings needs 0/1 rewards, but \['overlong'\] before it"),
    ({"reward_transforms": [{"name": "corrupt", "mode": "random"}, {"name": "corrupt", "mode": "inverted"}]},
     r"'corrupt' is listed twice"),
    ({"reward_transforms": ["corrupt"]}, r"config reward_transforms expects a list of dict"),
    ({"reward_transforms": [{"mode": "random"}]}, r"reward transform 0 must be a mapping with a name"),
    ({"reward_transforms": [{"name": "corrupt", "mode": "random"}, {"name": ["corrupt"]}]},
     r"reward transform 1 must be a mapping with a name \(text\)"),
    ({"reward_transforms": [{"name": "corrupt", "mode": ["random"]}]},
     r"setting mode must be one of .*got \['random'\]"),
    ({"reward_transforms": [{"name": "corrupt", "mode": "random"}], "env_id": "rlvr/MathTreeStep-v0",
      "max_turns": 2}, r"\['corrupt'\] work on single responses; with max_turns > 1"),
])
def test_bad_reward_transforms_are_refused_when_the_config_loads(values, message):
    with pytest.raises(ValueError, match=message):
        load_config(values)


def test_a_list_of_transforms_loads_from_an_override():
    config = load_config({}, ["reward_transforms=[{name: corrupt, mode: inverted}, {name: overlong, buffer: 8}]"])
    assert [t.name for t in build_reward_transforms(config)] == ["corrupt", "overlong"]
